import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { NotifyFifo, pairState, parseNotifyLine, type InstanceReport } from './state.js';

describe('parseNotifyLine', () => {
  it("reads an instance's state change, and nothing else", () => {
    assert.deepEqual(parseNotifyLine('INSTANCE "ge1" MASTER 100'), { instance: 'ge1', state: 'MASTER' });
    assert.deepEqual(parseNotifyLine('INSTANCE "ge12" FAULT 50\n'), { instance: 'ge12', state: 'FAULT' });
    assert.deepEqual(parseNotifyLine('INSTANCE "ge2" STOP'), { instance: 'ge2', state: 'STOP' });
    for (const line of ['GROUP "astara" MASTER 0', 'INSTANCE "ge1" MASTER_RX_LOWER_PRI 100', 'INSTANCE "ge1 x" MASTER 100', 'INSTANCE ge1 MASTER 100', '', 'garbage']) {
      assert.equal(parseNotifyLine(line), undefined, line);
    }
  });
});

describe('pairState', () => {
  const state = (entries: [string, 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'][]) => pairState(['ge1', 'ge2'], new Map(entries));
  it('is MASTER only once every instance is', () => {
    assert.equal(state([['ge1', 'MASTER']]), 'BACKUP');
    assert.equal(state([['ge1', 'MASTER'], ['ge2', 'BACKUP']]), 'BACKUP');
    assert.equal(state([['ge1', 'MASTER'], ['ge2', 'MASTER']]), 'MASTER');
  });

  it('is FAULT while any instance is, INIT before any said anything, STOP once keepalived stops', () => {
    assert.equal(state([['ge1', 'MASTER'], ['ge2', 'FAULT']]), 'FAULT');
    assert.equal(state([]), 'INIT');
    assert.equal(pairState([], new Map([['ge1', 'MASTER']])), 'INIT');
    assert.equal(state([['ge3', 'MASTER']]), 'INIT', 'an instance of another configuration does not count');
    assert.equal(state([['ge1', 'STOP'], ['ge2', 'STOP']]), 'STOP');
    assert.equal(state([['ge1', 'BACKUP'], ['ge2', 'BACKUP']]), 'BACKUP');
  });
});

describe('NotifyFifo', () => {
  it('makes the FIFO in place of anything else and reads whole lines, however they arrive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-fifo-'));
    const path = join(dir, 'keepalived', 'notify.fifo');
    const reports: InstanceReport[] = [];
    const fifo = new NotifyFifo(path, (report) => reports.push(report));
    const runner = new FakeRunner().on('mkfifo', ({ argv }) => {
      execFileSync('mkfifo', argv.slice(1));
      return {};
    });
    try {
      await fifo.start(runner);
      await fifo.start(runner);
      assert.deepEqual(runner.changes(), [`mkfifo -m 600 ${path}`], 'made once');
      assert.ok((await stat(path)).isFIFO());
      // A writer that opens, writes part of a line, closes, and another that finishes it: the reader never ends.
      await writeFile(path, 'INSTANCE "ge1" BACKUP 100\nINSTANCE "ge1" MAS');
      await writeFile(path, 'TER 100\nGROUP "astara" MASTER 0\n');
      await waitUntil(() => reports.length === 2);
      assert.deepEqual(reports, [
        { instance: 'ge1', state: 'BACKUP' },
        { instance: 'ge1', state: 'MASTER' },
      ]);
      fifo.stop();

      // A plain file where the FIFO goes (left by anything) is replaced.
      await rm(path);
      await writeFile(path, 'not a fifo');
      const again = new NotifyFifo(path, (report) => reports.push(report));
      await again.start(runner);
      assert.ok((await stat(path)).isFIFO());
      again.stop();
    } finally {
      fifo.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
