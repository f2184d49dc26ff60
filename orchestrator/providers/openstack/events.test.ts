import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notificationQueueName, reconnectDelay } from './events.js';

describe('Neutron notification source', () => {
  it('doubles the wait between reconnect attempts up to the maximum', () => {
    assert.deepEqual([0, 1, 2, 3, 6, 7, 100].map((attempt) => reconnectDelay(attempt, 500, 30_000)), [500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  it('names its queue after the host, so that each orchestrator hears every notification once', () => {
    assert.equal(notificationQueueName('orch-1'), 'astara.notifications.orch-1');
  });
});
