// The daemon lifecycle with the shared fake runner and a fake daemon process:
// what each change takes (nothing, a reload by command or signal, a restart,
// a start, a stop), the checker on candidates, and exact undo.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeRunner } from '../../test/support/fake-runner.js';
import { daemonFolder, DaemonLifecycle, type DaemonControl, type DaemonDefinition, type DaemonFiles } from './daemon-config.js';

const logger = pino({ level: 'silent' });

type File = 'main.conf' | 'data';

class FakeDaemon implements DaemonControl {
  running = false;
  wanted = false;
  calls: string[] = [];
  /** How many of the next starts fail. */
  failStarts = 0;
  onSignal: (name: NodeJS.Signals) => void = () => undefined;

  start(): Promise<void> {
    this.calls.push('start');
    this.wanted = true;
    this.running = this.failStarts === 0;
    if (this.failStarts > 0) {
      this.failStarts--;
      return Promise.reject(new Error('fake exited during start-up (exit code 3): cannot bind'));
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.running = false;
    this.wanted = false;
    return Promise.resolve();
  }

  signal(name: NodeJS.Signals): void {
    this.calls.push(name);
    this.onSignal(name);
  }
}

const A: DaemonFiles<File> = { 'main.conf': 'listen 1\n', data: 'x\n' };

describe('DaemonLifecycle', () => {
  let stateDir: string;
  let runner: FakeRunner;
  let daemon: FakeDaemon;
  const folder = () => daemonFolder(stateDir, 'fake');
  const definition = (overrides: Partial<DaemonDefinition<File>> = {}): DaemonDefinition<File> => ({
    folder: folder(),
    files: { 'main.conf': 'restart', data: 'reload' },
    argv: ['fake', '-f'],
    checker: { candidate: (files) => `${files['main.conf']}${files.data}`, argv: (candidate) => ['fake', '-t', candidate] },
    reload: { command: ['fakectl', 'reload'], accepted: (result) => result.exitCode === 0 && result.stdout.includes('reloaded') },
    ready: { logLine: /ready/ },
    ...overrides,
  });
  const lifecycle = (overrides: Partial<DaemonDefinition<File>> = {}) => new DaemonLifecycle(definition(overrides), daemon);
  const onDisk = async () => ({
    'main.conf': await readFile(join(folder().dir, 'main.conf'), 'utf8').catch(() => undefined),
    data: await readFile(join(folder().dir, 'data'), 'utf8').catch(() => undefined),
  });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-lifecycle-'));
    runner = new FakeRunner().on('fakectl', { stdout: 'reloaded\n' });
    daemon = new FakeDaemon();
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('names every file after the daemon, under its own folder', () => {
    assert.deepEqual(daemonFolder('/s', 'nginx'), { name: 'nginx', dir: '/s/nginx', log: '/s/nginx/nginx.log', record: '/s/nginx/daemon.json', candidate: '/s/nginx/check.conf' });
  });

  it('loads a change with the control command, counted as a change to the host, and undoes it with the same', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    daemon.calls = [];
    const outcome = await fake.apply({ ...A, data: 'y\n' }, { runner, logger });
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, []);
    assert.deepEqual(runner.changes(), ['fakectl reload']);
    await outcome.undo!();
    assert.deepEqual(await onDisk(), A);
    assert.deepEqual(runner.changes(), ['fakectl reload', 'fakectl reload']);
  });

  it('restores the files when the control command refuses the change, and throws what it said', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    runner.on('fakectl', { exitCode: 1, stdout: 'syntax error, line 3\n' });
    await assert.rejects(fake.apply({ ...A, data: 'broken\n' }, { runner, logger }), /fakectl reload failed: syntax error, line 3/);
    assert.deepEqual(await onDisk(), A);
  });

  it('restarts when a file that needs it changed, also together with files a reload would do', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    daemon.calls = [];
    await fake.apply({ 'main.conf': 'listen 2\n', data: 'y\n' }, { runner, logger });
    assert.deepEqual(daemon.calls, ['start']);
    assert.deepEqual(runner.changes(), []);
  });

  it('restarts for every change when the daemon has no way to reload', async () => {
    const fake = lifecycle({ reload: undefined });
    await fake.apply(A, { runner, logger });
    daemon.calls = [];
    await fake.apply({ ...A, data: 'y\n' }, { runner, logger });
    assert.deepEqual(daemon.calls, ['start']);
  });

  it('waits for the daemon to log that it re-read its files after a signal', async () => {
    const fake = lifecycle({ reload: { signal: 'SIGUSR1', confirmed: /re-read data$/m } });
    await fake.apply(A, { runner, logger });
    daemon.onSignal = () => setTimeout(() => appendFileSync(folder().log, 'fake: re-read data\n'), 30);
    const outcome = await fake.apply({ ...A, data: 'y\n' }, { runner, logger });
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls.slice(-1), ['SIGUSR1']);
    assert.match(await readFile(folder().log, 'utf8'), /re-read data/);
  });

  it('starts again a wanted daemon that is down, even with unchanged files', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    daemon.running = false;
    daemon.calls = [];
    assert.equal((await fake.apply(A, { runner, logger })).changed, true);
    assert.deepEqual(daemon.calls, ['start']);
  });

  it('leaves a daemon it cannot bring back wanted (the supervisor keeps trying), and says so', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    daemon.failStarts = 2;
    daemon.calls = [];
    await assert.rejects(
      fake.apply({ ...A, 'main.conf': 'listen 2\n' }, { runner, logger }),
      /^Error: fake exited during start-up \(exit code 3\): cannot bind; restoring the previous fake failed too \(the supervisor keeps trying\): fake exited during start-up/,
    );
    assert.deepEqual(await onDisk(), A);
    assert.deepEqual(daemon.calls, ['start', 'start']);
    assert.equal(daemon.wanted, true);
  });

  it("undoes a reload by a restart when the daemon died since", async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    const outcome = await fake.apply({ ...A, data: 'y\n' }, { runner, logger });
    daemon.running = false;
    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['start']);
    assert.deepEqual(await onDisk(), A);
  });

  it('stops the daemon and removes its files for no desired files; undo starts it again on the old files', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    daemon.calls = [];
    const noDaemon: DaemonFiles<File> | undefined = undefined;
    const outcome = await fake.apply(noDaemon, { runner, logger });
    assert.deepEqual(daemon.calls, ['stop']);
    assert.deepEqual(await onDisk(), { 'main.conf': undefined, data: undefined });
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['stop', 'start']);
    assert.deepEqual(await onDisk(), A);
    await fake.stop();
    assert.equal(daemon.running, false);
  });

  it('runs the checker on one candidate file, removed after, and blames a refusal on the configuration', async () => {
    const fake = lifecycle();
    let candidate = '';
    runner.on('fake', async (call) => {
      candidate = await readFile(call.argv[2]!, 'utf8');
      return { exitCode: 1, stderr: 'fake: bad directive at line 1\n' };
    });
    await assert.rejects(fake.check(A, runner), /^Error: fake refused the configuration: fake: bad directive at line 1$/);
    assert.equal(candidate, 'listen 1\nx\n');
    assert.deepEqual(runner.calls.map((c) => [c.argv.join(' '), c.mutating]), [[`fake -t ${folder().candidate}`, false]]);
    assert.equal(existsSync(folder().candidate), false);
    assert.deepEqual(await onDisk(), { 'main.conf': undefined, data: undefined }, 'the live files are untouched');
  });

  it('skips the checker for files equal to the live ones (they passed it), and for no daemon', async () => {
    const fake = lifecycle();
    await fake.apply(A, { runner, logger });
    await fake.check(A, runner);
    await fake.check(undefined, runner);
    assert.deepEqual(runner.calls.map((c) => c.argv[0]), []);
  });

  it('checks nothing for a daemon without a checker (conntrackd has none)', async () => {
    const fake = lifecycle({ checker: undefined });
    await fake.check(A, runner);
    assert.deepEqual(runner.calls, []);
    assert.equal(existsSync(folder().candidate), false);
  });

  it('lets a host failure writing the candidate through as one (not a refusal), and leaves no file', async () => {
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'fake'), 'a file where the folder should be');
    await assert.rejects(lifecycle().check(A, runner), (error: NodeJS.ErrnoException) => typeof error.code === 'string');
    assert.deepEqual(runner.calls, []);
  });
});
