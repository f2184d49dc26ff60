// dnsmasq on the daemon lifecycle of appliance/host/, with a fake daemon
// process (the real supervisor is tested in host/supervisor.test.ts) and the
// real `dnsmasq --test` for the checks.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { DaemonLifecycle, type DaemonControl } from '../../host/daemon-config.js';
import { CommandRunner } from '../../host/exec.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { dnsmasqDefinition, dnsmasqFiles, dnsmasqPaths, type DnsmasqFile } from './driver.js';
import type { DhcpDesired } from './render.js';

const logger = pino({ level: 'silent' });

/** Records what the lifecycle asks of the daemon instead of running dnsmasq. */
class FakeDaemon implements DaemonControl {
  running = false;
  wanted = false;
  calls: string[] = [];
  failStart = false;

  constructor(
    private readonly log: string,
    private readonly paths: { hosts: string; options: string },
  ) {}

  start(): Promise<void> {
    this.calls.push('start');
    this.wanted = true;
    if (this.failStart) {
      this.running = false;
      return Promise.reject(new Error('dnsmasq exited at start-up'));
    }
    this.running = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.running = false;
    this.wanted = false;
    return Promise.resolve();
  }

  /** Logs the re-read as dnsmasq does, which the lifecycle waits for. */
  signal(name: NodeJS.Signals): void {
    this.calls.push(name);
    if (name === 'SIGHUP' && this.running) appendFileSync(this.log, `dnsmasq-dhcp[1]: read ${this.paths.hosts}\ndnsmasq-dhcp[1]: read ${this.paths.options}\n`);
  }
}

const CONFIG = 'port=0\ninterface=eth2\ndhcp-range=set:ge2-s0,198.51.100.0,static,255.255.255.192,86400s\n';
const BASE: DhcpDesired = {
  config: CONFIG,
  hosts: '02:00:00:00:02:0a,198.51.100.10,guest-a\n',
  options: 'tag:ge2-s0,option:router,198.51.100.1\n',
};
const NONE: DhcpDesired = { config: undefined, hosts: '', options: '' };

describe('dnsmasq on the daemon lifecycle', () => {
  let stateDir: string;
  let daemon: FakeDaemon;
  let dnsmasq: DaemonLifecycle<DnsmasqFile>;
  let runner: FakeRunner;
  const dir = () => join(stateDir, 'dnsmasq');
  const apply = (desired: DhcpDesired) => dnsmasq.apply(dnsmasqFiles(desired), { runner, logger });
  const onDisk = async () => ({
    config: await readFile(join(dir(), 'dnsmasq.conf'), 'utf8').catch(() => undefined),
    hosts: await readFile(join(dir(), 'hosts'), 'utf8').catch(() => undefined),
    options: await readFile(join(dir(), 'options'), 'utf8').catch(() => undefined),
  });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-dhcp-'));
    mkdirSync(dir());
    const definition = dnsmasqDefinition(stateDir);
    daemon = new FakeDaemon(definition.folder.log, dnsmasqPaths(stateDir));
    dnsmasq = new DaemonLifecycle(definition, daemon);
    runner = new FakeRunner();
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs dnsmasq in the foreground on its own config, under the supervisor', () => {
    const definition = dnsmasqDefinition('/s');
    assert.deepEqual(definition.argv, ['dnsmasq', '--keep-in-foreground', '--conf-file=/s/dnsmasq/dnsmasq.conf']);
    assert.deepEqual(dnsmasqPaths('/s'), { hosts: '/s/dnsmasq/hosts', options: '/s/dnsmasq/options', leases: '/s/dnsmasq/leases' });
    assert.equal(definition.folder.record, '/s/dnsmasq/daemon.json');
    assert.equal(definition.folder.log, '/s/dnsmasq/dnsmasq.log');
  });

  it('starts dnsmasq on the first apply and does nothing when applied again', async () => {
    const first = await apply(BASE);
    assert.equal(first.changed, true);
    assert.deepEqual(daemon.calls, ['start']);
    assert.deepEqual(await onDisk(), BASE);
    const mtime = (await stat(join(dir(), 'dnsmasq.conf'))).mtimeMs;

    daemon.calls = [];
    const again = await apply(BASE);
    assert.deepEqual(again, { changed: false });
    assert.deepEqual(daemon.calls, []);
    assert.equal((await stat(join(dir(), 'dnsmasq.conf'))).mtimeMs, mtime);
    assert.deepEqual(runner.calls, [], 'no command runs');
  });

  it('sends SIGHUP for changed hosts or options and restores them on undo', async () => {
    await apply(BASE);
    daemon.calls = [];
    const changed = { ...BASE, hosts: '02:00:00:00:02:0a,198.51.100.11,guest-a\n' };
    const outcome = await apply(changed);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['SIGHUP']);
    assert.deepEqual(await onDisk(), changed);

    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(await onDisk(), BASE);
    assert.deepEqual(daemon.calls, ['SIGHUP']);
  });

  it('restarts for a changed main config, and again with the old one on undo', async () => {
    await apply(BASE);
    daemon.calls = [];
    const changed = { ...BASE, config: `${CONFIG}interface=eth3\n` };
    const outcome = await apply(changed);
    assert.deepEqual(daemon.calls, ['start']);
    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['start']);
    assert.deepEqual(await onDisk(), BASE);
  });

  it('undoes a first start by stopping dnsmasq and removing its files', async () => {
    const outcome = await apply(BASE);
    await outcome.undo!();
    assert.equal(daemon.running, false);
    assert.equal(daemon.wanted, false);
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
  });

  it('stops dnsmasq and removes its files when no subnet has DHCP; undo brings it back', async () => {
    assert.deepEqual(await apply(NONE), { changed: false });
    assert.deepEqual(daemon.calls, []);

    await apply(BASE);
    daemon.calls = [];
    const outcome = await apply(NONE);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['stop']);
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
    assert.deepEqual(await apply(NONE), { changed: false });

    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['start']);
    assert.deepEqual(await onDisk(), BASE);
  });

  it('starts a dnsmasq that is not running even when its files are unchanged (after an agent restart)', async () => {
    await apply(BASE);
    daemon.running = false;
    daemon.wanted = false;
    daemon.calls = [];
    const outcome = await apply(BASE);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['start']);
  });

  it('restores the previous files when dnsmasq fails to start, and throws; dnsmasq stays wanted, so the supervisor keeps trying', async () => {
    await apply(BASE);
    daemon.failStart = true;
    daemon.calls = [];
    await assert.rejects(apply({ ...BASE, config: `${CONFIG}interface=eth9\n` }), /exited at start-up.*restoring the previous dnsmasq failed too/);
    assert.deepEqual(await onDisk(), BASE);
    assert.deepEqual(daemon.calls, ['start', 'start'], 'the new config, then the old one');
    assert.equal(daemon.wanted, true);
  });

  it("checks the config, hosts and options with dnsmasq's own parser", async () => {
    const real = new CommandRunner();
    await dnsmasq.check(dnsmasqFiles(NONE), real);
    await dnsmasq.check(dnsmasqFiles(BASE), real);
    await assert.rejects(dnsmasq.check(dnsmasqFiles({ ...BASE, options: 'tag:ge2-s0,option:no-such-option,1\n' }), real), /bad dhcp-option/);
    await assert.rejects(dnsmasq.check(dnsmasqFiles({ ...BASE, hosts: '02:00:00:00:02:0a,198.51.100.10,bad_name!\n' }), real), /dnsmasq refused/);
    assert.equal(existsSync(join(dir(), 'check.conf')), false);
    // The check never touches the files dnsmasq reads.
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
  });

  it('gives the checker one file: the config with the host and option lines as the directives they stand for', async () => {
    let candidate = '';
    runner.on('dnsmasq', async (call) => {
      candidate = await readFile(call.argv[2]!.slice('--conf-file='.length), 'utf8');
      return {};
    });
    await dnsmasq.check(dnsmasqFiles(BASE), runner);
    assert.deepEqual(
      runner.calls.map((c) => c.argv),
      [['dnsmasq', '--test', `--conf-file=${join(dir(), 'check.conf')}`]],
    );
    assert.equal(candidate, `${CONFIG}\ndhcp-host=02:00:00:00:02:0a,198.51.100.10,guest-a\ndhcp-option=tag:ge2-s0,option:router,198.51.100.1\n`);
  });

  it('fails (and restores the files) when dnsmasq does not confirm a re-read', async () => {
    await apply(BASE);
    // A dnsmasq that ignores the signal and then dies.
    daemon.signal = () => undefined;
    const silent = apply({ ...BASE, hosts: '' });
    setTimeout(() => (daemon.running = false), 50);
    await assert.rejects(silent, /exited before it could re-read/);
    assert.deepEqual(await onDisk(), BASE);
  });
});
