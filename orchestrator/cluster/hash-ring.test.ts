import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildHashRing, DESIGNATED_COORDINATOR_KEY, hostsFor } from './hash-ring.js';

// The original's golden vectors (hash_partition_exponent 5): any drift in the
// partition hashing or the probing would move resources between implementations.
describe('hash ring', () => {
  it('maps fake to foo of foo and bar', () => {
    assert.deepEqual(hostsFor(buildHashRing(['foo', 'bar'], 5), 'fake'), ['foo']);
  });

  it('gives the replicas in ring order', () => {
    const hosts = ['foo', 'bar', 'baz'];
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 1), 'fake'), ['foo']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 2), 'fake'), ['foo', 'bar']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 3), 'fake'), ['foo', 'bar', 'baz']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 1), 'fake-again'), ['bar']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 2), 'fake-again'), ['bar', 'baz']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 3), 'fake-again'), ['bar', 'baz', 'foo']);
  });

  it('skips ignored hosts', () => {
    const hosts = ['foo', 'bar', 'baz'];
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 1), 'fake', ['foo']), ['bar']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 2), 'fake', ['foo']), ['bar', 'baz']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 1), 'fake', ['foo', 'bar']), ['baz']);
    assert.deepEqual(hostsFor(buildHashRing(hosts, 5, 1), 'fake', ['foo', 'bar', 'baz']), []);
  });

  it('agrees with the original on a router id and the designated coordinator key', () => {
    const ring = buildHashRing(['host-a', 'host-b', 'host-c'], 5);
    assert.deepEqual(hostsFor(ring, '18ffa532-3c74-11e5-a0e7-eb9f90a17ffb'), ['host-c']);
    assert.deepEqual(hostsFor(ring, DESIGNATED_COORDINATOR_KEY), ['host-a']);
  });

  it('has 2^exponent partitions per host and caps replicas at the host count', () => {
    const ring = buildHashRing(['foo', 'bar', 'bar'], 3, 5);
    assert.equal(ring.partitions.length, 16);
    assert.equal(ring.replicas, 2);
  });

  it('maps nothing on an empty ring', () => {
    assert.deepEqual(hostsFor(buildHashRing([], 5), 'fake'), []);
  });

  it('refuses a negative exponent', () => {
    assert.throws(() => buildHashRing(['foo'], -1), /hash_partition_exponent/);
  });
});
