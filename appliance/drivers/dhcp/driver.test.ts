import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { CommandRunner } from '../../host/exec.js';
import { dnsmasqFiles, DnsmasqDriver, type DaemonControl, type DnsmasqFiles } from './driver.js';
import type { DhcpDesired } from './render.js';

const logger = pino({ level: 'silent' });

/** Records what the driver asks of the daemon instead of running dnsmasq. */
class FakeDaemon implements DaemonControl {
  running = false;
  calls: string[] = [];
  failStart = false;

  constructor(private readonly files: DnsmasqFiles) {}

  restart(): Promise<void> {
    this.calls.push('restart');
    if (this.failStart) return Promise.reject(new Error('dnsmasq exited at start-up'));
    this.running = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.running = false;
    return Promise.resolve();
  }

  /** Logs the re-read as dnsmasq does, which the driver waits for. */
  signal(name: NodeJS.Signals): void {
    this.calls.push(name);
    if (name === 'SIGHUP' && this.running) appendFileSync(this.files.log, `dnsmasq-dhcp[1]: read ${this.files.hosts}\ndnsmasq-dhcp[1]: read ${this.files.options}\n`);
  }
}

const CONFIG = 'port=0\ninterface=eth2\ndhcp-range=set:ge2-s0,198.51.100.0,static,255.255.255.192,86400s\n';
const BASE: DhcpDesired = {
  config: CONFIG,
  hosts: '02:00:00:00:02:0a,198.51.100.10,guest-a\n',
  options: 'tag:ge2-s0,option:router,198.51.100.1\n',
};
const NONE: DhcpDesired = { config: undefined, hosts: '', options: '' };

describe('DnsmasqDriver', () => {
  let stateDir: string;
  let daemon: FakeDaemon;
  let driver: DnsmasqDriver;
  const files = () => dnsmasqFiles(stateDir);
  const onDisk = async () => ({
    config: await readFile(files().config, 'utf8').catch(() => undefined),
    hosts: await readFile(files().hosts, 'utf8').catch(() => undefined),
    options: await readFile(files().options, 'utf8').catch(() => undefined),
  });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-dhcp-'));
    mkdirSync(files().dir);
    daemon = new FakeDaemon(files());
    driver = new DnsmasqDriver(dnsmasqFiles(stateDir), daemon);
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts dnsmasq on the first apply and does nothing when applied again', async () => {
    const first = await driver.apply(BASE, logger);
    assert.equal(first.changed, true);
    assert.deepEqual(daemon.calls, ['restart']);
    assert.deepEqual(await onDisk(), BASE);
    const mtime = (await stat(files().config)).mtimeMs;

    daemon.calls = [];
    const again = await driver.apply(BASE, logger);
    assert.deepEqual(again, { changed: false });
    assert.deepEqual(daemon.calls, []);
    assert.equal((await stat(files().config)).mtimeMs, mtime);
  });

  it('sends SIGHUP for changed hosts or options and restores them on undo', async () => {
    await driver.apply(BASE, logger);
    daemon.calls = [];
    const changed = { ...BASE, hosts: '02:00:00:00:02:0a,198.51.100.11,guest-a\n' };
    const outcome = await driver.apply(changed, logger);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['SIGHUP']);
    assert.deepEqual(await onDisk(), changed);

    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(await onDisk(), BASE);
    assert.deepEqual(daemon.calls, ['SIGHUP']);
  });

  it('restarts for a changed main config, and again with the old one on undo', async () => {
    await driver.apply(BASE, logger);
    daemon.calls = [];
    const changed = { ...BASE, config: `${CONFIG}interface=eth3\n` };
    const outcome = await driver.apply(changed, logger);
    assert.deepEqual(daemon.calls, ['restart']);
    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['restart']);
    assert.deepEqual(await onDisk(), BASE);
  });

  it('undoes a first start by stopping dnsmasq and removing its files', async () => {
    const outcome = await driver.apply(BASE, logger);
    await outcome.undo!();
    assert.equal(daemon.running, false);
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
  });

  it('stops dnsmasq and removes its files when no subnet has DHCP; undo brings it back', async () => {
    assert.deepEqual(await driver.apply(NONE, logger), { changed: false });
    assert.deepEqual(daemon.calls, []);

    await driver.apply(BASE, logger);
    daemon.calls = [];
    const outcome = await driver.apply(NONE, logger);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['stop']);
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
    assert.deepEqual(await driver.apply(NONE, logger), { changed: false });

    daemon.calls = [];
    await outcome.undo!();
    assert.deepEqual(daemon.calls, ['restart']);
    assert.deepEqual(await onDisk(), BASE);
  });

  it('starts a dnsmasq that is not running even when its files are unchanged (after an agent restart)', async () => {
    await driver.apply(BASE, logger);
    daemon.running = false;
    daemon.calls = [];
    const outcome = await driver.apply(BASE, logger);
    assert.equal(outcome.changed, true);
    assert.deepEqual(daemon.calls, ['restart']);
  });

  it('restores the previous files when dnsmasq fails to start, and throws', async () => {
    await driver.apply(BASE, logger);
    daemon.failStart = true;
    await assert.rejects(driver.apply({ ...BASE, config: `${CONFIG}interface=eth9\n` }, logger), /exited at start-up/);
    assert.deepEqual(await onDisk(), BASE);
  });

  it("checks the config, hosts and options with dnsmasq's own parser", async () => {
    const runner = new CommandRunner();
    await driver.check(NONE, runner);
    await driver.check(BASE, runner);
    await assert.rejects(driver.check({ ...BASE, options: 'tag:ge2-s0,option:no-such-option,1\n' }, runner), /bad dhcp-option/);
    await assert.rejects(driver.check({ ...BASE, hosts: '02:00:00:00:02:0a,198.51.100.10,bad_name!\n' }, runner), /dnsmasq refused/);
    assert.equal(existsSync(files().candidate), false);
    // The check never touches the files dnsmasq reads.
    assert.deepEqual(await onDisk(), { config: undefined, hosts: undefined, options: undefined });
  });

  it('fails (and restores the files) when dnsmasq does not confirm a re-read', async () => {
    await driver.apply(BASE, logger);
    // A dnsmasq that ignores the signal and then dies.
    daemon.signal = () => undefined;
    const silent = driver.apply({ ...BASE, hosts: '' }, logger);
    setTimeout(() => (daemon.running = false), 50);
    await assert.rejects(silent, /exited before it could re-read/);
    assert.deepEqual(await onDisk(), BASE);
  });
});
