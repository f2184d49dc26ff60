// Atomic files: a failed write leaves no temporary file; a replaced file can
// be put back without writing (so on a full disk too).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { replaceFile, sweepLeftovers, writeFileAtomic } from './store.js';

describe('state files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a write that fails leaves no temporary file behind', async () => {
    // A directory where the file should go makes the rename fail after the temporary file was written.
    await writeFile(join(dir, 'other'), 'x');
    const target = join(dir, 'blocked');
    await mkdir(join(target, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual((await readdir(dir)).sort(), ['blocked', 'other']);
  });

  it('replaceFile: undo puts the previous content back, commit forgets it', async () => {
    const path = join(dir, 'hosts');
    await writeFile(path, 'old\n');
    const first = await replaceFile(path, 'new\n');
    assert.equal(await readFile(path, 'utf8'), 'new\n');
    await first.undo();
    assert.equal(await readFile(path, 'utf8'), 'old\n');
    assert.deepEqual(await readdir(dir), ['hosts'], 'no copy left after an undo');
    const second = await replaceFile(path, 'newer\n');
    await second.commit();
    assert.equal(await readFile(path, 'utf8'), 'newer\n');
    assert.deepEqual(await readdir(dir), ['hosts'], 'no copy left after a commit');
  });

  it('replaceFile of a file that did not exist: undo removes it', async () => {
    const path = join(dir, 'options');
    const replaced = await replaceFile(path, 'x\n');
    await replaced.undo();
    assert.deepEqual(await readdir(dir), []);
  });

  it('sweepLeftovers removes temporary files and undo copies a killed agent left, and nothing else', async () => {
    await mkdir(join(dir, 'dnsmasq'));
    for (const name of ['applied.json', 'applied.json.tmp-123', 'dnsmasq/hosts', 'dnsmasq/hosts.prev-77', 'dnsmasq/hosts.tmp-9']) await writeFile(join(dir, name), 'x');
    const removed = await sweepLeftovers(dir);
    assert.equal(removed.length, 3);
    assert.deepEqual((await readdir(dir)).sort(), ['applied.json', 'dnsmasq']);
    assert.deepEqual(await readdir(join(dir, 'dnsmasq')), ['hosts']);
  });
});
