import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amqpUrlsOf, redactedUrl } from './transport.js';

describe('transport_url', () => {
  it('gives one AMQP URL per host, the default virtual host as %2F', () => {
    assert.deepEqual(amqpUrlsOf('rabbit://guest:guest@127.0.0.1:5672/'), ['amqp://guest:guest@127.0.0.1:5672/%2F']);
    assert.deepEqual(amqpUrlsOf('rabbit://astara:s3cret@192.0.2.5/openstack'), ['amqp://astara:s3cret@192.0.2.5:5672/openstack']);
  });

  it('lets later hosts take the first one\'s credentials, as oslo.messaging does', () => {
    assert.deepEqual(amqpUrlsOf('rabbit://u:p@192.0.2.1:5672,192.0.2.2:5673,[2001:db8::3]/'), [
      'amqp://u:p@192.0.2.1:5672/%2F',
      'amqp://u:p@192.0.2.2:5673/%2F',
      'amqp://u:p@[2001:db8::3]:5672/%2F',
    ]);
  });

  it('refuses what is not a rabbit URL, naming it', () => {
    assert.throws(() => amqpUrlsOf('kafka://192.0.2.1:9092/'), /must be rabbit:\/\/user:password@host:port\/vhost, not "kafka/);
    assert.throws(() => amqpUrlsOf('rabbit://u:p@192.0.2.1:99999/'), /port 99999/);
    assert.throws(() => amqpUrlsOf('rabbit://u:p@/'), /"u:p@" is not user:password@host:port/);
  });

  it('hides the password in logs', () => {
    assert.equal(redactedUrl('amqp://guest:guest@127.0.0.1:5672/%2F'), 'amqp://guest:***@127.0.0.1:5672/%2F');
  });
});
