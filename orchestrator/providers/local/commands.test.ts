import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ipArgv, parseIpJson, runCommand, writeJsonAtomic } from './commands.js';

describe('ipArgv', () => {
  it('runs ip in the named namespace, or in the current one', () => {
    assert.deepEqual(ipArgv('astorch-host', ['link', 'show']), ['ip', '-n', 'astorch-host', 'link', 'show']);
    assert.deepEqual(ipArgv(undefined, ['link', 'show']), ['ip', 'link', 'show']);
  });
});

describe('parseIpJson', () => {
  it('reads an empty answer as no entries', () => {
    assert.deepEqual(parseIpJson(['ip', '-j', 'link'], ''), []);
  });

  it('names the command whose output is not JSON', () => {
    assert.throws(() => parseIpJson(['ip', '-j', 'link'], 'Device "x" does not exist'), /^Error: ip -j link: output is not JSON/);
  });
});

describe('runCommand', () => {
  it('names the command, its exit status and its message when it fails', async () => {
    await assert.rejects(runCommand(['sh', '-c', 'echo nope >&2; exit 3']), /^CommandError: sh -c echo nope >&2; exit 3 exited 3: nope$/);
    assert.equal((await runCommand(['sh', '-c', 'exit 3'], { allowFailure: true })).exitCode, 3);
  });

  it('stops a command at its timeout and says so', async () => {
    await assert.rejects(runCommand(['sleep', '5'], { timeoutMs: 50 }), /sleep 5 exited .*timed out after 50 ms/);
  });
});

describe('writeJsonAtomic', () => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-record-'));
    try {
      const path = join(dir, 'sub', 'record.json');
      await writeJsonAtomic(path, { a: 1 });
      await writeJsonAtomic(path, { a: 2 });
      assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { a: 2 });
      assert.deepEqual(await readdir(join(dir, 'sub')), ['record.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
