import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { conntrackdCommands, conntrackdDefinition, haSettings, keepalivedDefinition } from './driver.js';

describe('the HA daemons', () => {
  it('run keepalived in the foreground, VRRP only, on files of its folder; checked with -t, reloaded by SIGHUP', () => {
    const definition = keepalivedDefinition('/var/lib/astara');
    assert.deepEqual(definition.argv, [
      'keepalived', '-n', '-P', '-l', '-D', '-G',
      '-f', '/var/lib/astara/keepalived/keepalived.conf',
      '-p', '/var/lib/astara/keepalived/keepalived.pid',
      '-r', '/var/lib/astara/keepalived/vrrp.pid',
    ]);
    assert.deepEqual(definition.checker?.argv('/var/lib/astara/keepalived/check.conf'), ['keepalived', '-t', '-f', '/var/lib/astara/keepalived/check.conf']);
    assert.deepEqual(definition.files, { 'keepalived.conf': 'reload' });
    assert.ok(definition.reload && 'signal' in definition.reload && definition.reload.signal === 'SIGHUP');
    assert.ok(definition.reload.confirmed.test('Mon Nov 30 14:17:07 2026: Reload complete'));
  });

  it('run conntrackd in the foreground on its file, restarted on a change, its stale lock removed before every start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-ha-'));
    try {
      const definition = conntrackdDefinition(dir);
      assert.deepEqual(definition.argv, ['conntrackd', '-C', join(dir, 'conntrackd', 'conntrackd.conf')]);
      assert.deepEqual(definition.files, { 'conntrackd.conf': 'restart' });
      assert.equal(definition.checker, undefined);
      assert.equal(definition.reload, undefined);
      const lock = join(dir, 'conntrackd', 'conntrackd.lock');
      // Nothing to remove is fine too (a first start).
      await definition.beforeStart!();
      await mkdir(join(dir, 'conntrackd'));
      await writeFile(lock, '');
      await definition.beforeStart!();
      await assert.rejects(stat(lock), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse a state directory that cannot be written into their files, or too long for the control socket', () => {
    assert.throws(() => haSettings('/var/lib/astara #1'), /cannot be written into keepalived.conf/);
    assert.throws(() => haSettings(`/var/lib/${'a'.repeat(90)}`), /control socket path .* is longer than 107 bytes/);
  });

  it('tell conntrackd what the conntrackd manual\'s primary-backup script does on each state', () => {
    const conf = '/var/lib/astara/conntrackd/conntrackd.conf';
    const flags = (state: 'MASTER' | 'BACKUP' | 'FAULT') => conntrackdCommands(state, conf).map((argv) => { assert.deepEqual(argv.slice(0, 3), ['conntrackd', '-C', conf]); return argv[3]; });
    assert.deepEqual(flags('MASTER'), ['-c', '-f', '-R', '-B']);
    assert.deepEqual(flags('BACKUP'), ['-t', '-n']);
    assert.deepEqual(flags('FAULT'), ['-t']);
  });
});
