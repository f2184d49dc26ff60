// BIRD's definition on the daemon lifecycle: how it runs, loads a change and
// is checked (with the real `bird -p` when BIRD is installed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DaemonLifecycle, type DaemonControl } from '../../host/daemon-config.js';
import { CommandRunner } from '../../host/exec.js';
import { labModel, LAB_HOST } from '../../../test/support/lab-model.js';
import { birdDefinition, greets } from './driver.js';
import { renderRouting } from './render.js';

const idle: DaemonControl = { running: false, wanted: false, start: () => Promise.resolve(), stop: () => Promise.resolve(), signal: () => undefined };

describe('BIRD on the daemon lifecycle', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-bird-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs BIRD in the foreground with its files in its folder and loads changes with birdc configure', () => {
    const bird = birdDefinition('/s');
    assert.deepEqual(bird.argv, ['bird', '-f', '-c', '/s/bird/bird.conf', '-s', '/s/bird/bird.ctl', '-P', '/s/bird/bird.pid']);
    assert.deepEqual(bird.files, { 'bird.conf': 'reload' });
    assert.equal(bird.folder.record, '/s/bird/daemon.json');
    assert.equal(bird.folder.log, '/s/bird/bird.log');
    assert.ok(bird.reload && 'command' in bird.reload);
    assert.deepEqual(bird.reload.command, ['birdc', '-s', '/s/bird/bird.ctl', 'configure']);
    assert.equal(bird.reload.accepted({ exitCode: 0, stdout: 'BIRD 2.0.12 ready.\nReading configuration from /s/bird/bird.conf\nReconfigured\n', stderr: '' }), true);
    assert.equal(bird.reload.accepted({ exitCode: 0, stdout: 'Reconfiguration in progress\n', stderr: '' }), true);
    assert.equal(bird.reload.accepted({ exitCode: 0, stdout: '/s/bird/bird.conf:3:1 syntax error\n', stderr: '' }), false);
    assert.equal(bird.reload.accepted({ exitCode: 1, stdout: '', stderr: 'Unable to connect to server control socket' }), false);
  });

  it('refuses a state directory too long for its control socket', () => {
    assert.throws(() => birdDefinition(`/${'d'.repeat(100)}`), /control socket path .* is longer than 107 bytes/);
  });

  it('knows BIRD is not ready while nothing greets on its socket', async () => {
    assert.equal(await greets(join(stateDir, 'no-such.ctl')), false);
  });

  const bird = spawnSync('bird', ['--version']);
  it('checks with bird -p: the rendered configuration passes, a broken one is refused with what BIRD said', { skip: bird.error ? 'bird is not installed' : false }, async () => {
    const lifecycle = new DaemonLifecycle(birdDefinition(stateDir), idle);
    const runner = new CommandRunner();
    await lifecycle.check({ 'bird.conf': renderRouting(labModel(), LAB_HOST).config }, runner);
    await assert.rejects(lifecycle.check({ 'bird.conf': 'router id 192.0.2.1;\nprotocol nonsense {}\n' }, runner), /^Error: bird refused the configuration: .*check\.conf/);
  });
});
