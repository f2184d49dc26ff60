import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RequestCounter } from './counters.js';

describe('RequestCounter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'astara-requests-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const log = (port: number) => join(dir, `requests-${port}.log`);

  it("counts one request per byte of each listener's log, zero before its first", () => {
    appendFileSync(log(80), '\n'.repeat(5));
    assert.deepEqual([...new RequestCounter(log).count([80, 8080])], [
      [80, 5],
      [8080, 0],
    ]);
  });

  it('empties a log at the limit and keeps counting from what it held', () => {
    const counter = new RequestCounter(log, 10);
    appendFileSync(log(80), '\n'.repeat(9));
    assert.equal(counter.count([80]).get(80), 9);
    appendFileSync(log(80), '\n'.repeat(3));
    assert.equal(counter.count([80]).get(80), 12);
    assert.equal(statSync(log(80)).size, 0);
    appendFileSync(log(80), '\n'.repeat(4));
    assert.equal(counter.count([80]).get(80), 16);
  });
});
