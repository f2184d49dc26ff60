import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linesBeforeFailure } from './ip-batch.js';

describe('linesBeforeFailure', () => {
  it('counts the lines before the one ip reports as failed', () => {
    assert.equal(linesBeforeFailure('Error: Nexthop has invalid gateway.\nCommand failed -:3\n', 5), 2);
    assert.equal(linesBeforeFailure('Command failed -:1', 5), 0);
  });

  it('assumes every line ran when ip does not say which failed', () => {
    assert.equal(linesBeforeFailure('Cannot open netlink socket', 4), 4);
  });
});
