import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedRead } from './cache.js';

describe('SharedRead', () => {
  it('shares one read between concurrent callers and within the time to live', async () => {
    let loads = 0;
    const read = new SharedRead(60_000, () => Promise.resolve(++loads));
    assert.deepEqual(await Promise.all([read.get(), read.get(), read.get()]), [1, 1, 1]);
    assert.equal(await read.get(), 1);
    assert.equal(loads, 1);
  });

  it('reads again for another key, after invalidate, and after a failed read', async () => {
    let loads = 0;
    let fail = false;
    const read = new SharedRead(60_000, (key) => (fail ? Promise.reject(new Error('down')) : Promise.resolve(`${key}${++loads}`)));
    assert.equal(await read.get('a'), 'a1');
    assert.equal(await read.get('b'), 'b2');
    read.invalidate();
    fail = true;
    await assert.rejects(read.get('b'), /down/);
    fail = false;
    assert.equal(await read.get('b'), 'b3');
  });

  it('expires after the time to live', async () => {
    let loads = 0;
    const read = new SharedRead(0, () => Promise.resolve(++loads));
    await read.get();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await read.get(), 2);
  });

  it('with serveStale, answers the last value at once and refreshes it in the background', async () => {
    let loads = 0;
    let release: () => void = () => undefined;
    const read = new SharedRead(0, () => new Promise<number>((resolve) => {
      loads++;
      release = () => resolve(loads);
    }), true);
    const first = read.get();
    release();
    assert.equal(await first, 1);
    // Expired: the stale value comes back without waiting for the new read.
    assert.equal(await read.get(), 1);
    assert.equal(await read.get(), 1, 'one background read at a time');
    assert.equal(loads, 2);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await read.get(), 2);
  });
});
