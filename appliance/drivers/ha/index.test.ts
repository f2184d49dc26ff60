// The ha subsystem with fake keepalived and conntrackd processes (the fake
// keepalived logs on SIGHUP what the real one logs), `keepalived -t` and
// conntrackd's commands answered by the fake runner, and keepalived's state
// changes written into the real notify FIFO, as keepalived writes them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ConfigModel } from '../../../contract/index.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { LAB_HOST, labModel } from '../../../test/support/lab-model.js';
import type { ApplyContext } from '../../engine/subsystem.js';
import type { DaemonControl } from '../../host/daemon-config.js';
import { DaemonRegistry } from '../../host/daemons.js';
import { InterfaceNames } from '../../host/interfaces.js';
import { VrrpState } from '../../host/vrrp.js';
import { createHaSubsystem, type HaSubsystem } from './index.js';

const logger = pino({ level: 'silent' });
const PEER = 'fdca:3ba5:a17a:acda::3';
const HOST = { ...LAB_HOST, contributions: [] };
const pair = (peers = [PEER]) =>
  labModel<Record<string, unknown>>((doc) => {
    doc.ha_resource = true;
    doc.ha_config = { peers, priority: 100 };
  });

class FakeDaemon implements DaemonControl {
  running = false;
  wanted = false;

  constructor(
    private readonly name: string,
    private readonly calls: string[],
    private readonly log?: string,
  ) {}

  start(): Promise<void> {
    this.calls.push(`${this.name} start`);
    this.running = this.wanted = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push(`${this.name} stop`);
    this.running = this.wanted = false;
    return Promise.resolve();
  }

  signal(name: NodeJS.Signals): void {
    this.calls.push(`${this.name} ${name}`);
    if (this.log) appendFileSync(this.log, 'Mon Nov 30 14:17:07 2026: Reload complete\n');
  }
}

describe('the ha subsystem', () => {
  let stateDir: string;
  let calls: string[];
  let keepalived: FakeDaemon;
  let conntrackd: FakeDaemon;
  let runner: FakeRunner;
  let vrrp: VrrpState;
  let ha: HaSubsystem;

  const context = (): ApplyContext<never> => ({ runner, logger, memory: undefined, remember: () => Promise.resolve() });
  const apply = async (model: ConfigModel) => {
    const desired = ha.render(model, HOST);
    await ha.check!(desired, context());
    const outcome = await ha.apply(desired, context());
    await outcome.commit?.();
    return outcome;
  };
  /** keepalived writing its state changes into the FIFO. */
  const say = (...lines: string[]) => writeFile(join(stateDir, 'keepalived', 'notify.fifo'), lines.map((l) => `${l}\n`).join(''));
  const conntrackdFlags = () => runner.changes().filter((c) => c.startsWith('conntrackd ')).map((c) => c.split(' ').pop());
  const instances = ['ge1', 'ge2', 'ge3'];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-ha-'));
    mkdirSync(join(stateDir, 'keepalived'), { recursive: true });
    calls = [];
    keepalived = new FakeDaemon('keepalived', calls, join(stateDir, 'keepalived', 'keepalived.log'));
    conntrackd = new FakeDaemon('conntrackd', calls);
    runner = new FakeRunner().on('mkfifo', ({ argv }) => {
      execFileSync('mkfifo', argv.slice(1));
      return {};
    });
    vrrp = new VrrpState();
    ha = createHaSubsystem({ stateDir, interfaces: new InterfaceNames(runner), daemons: new DaemonRegistry(), logger, vrrp }, { keepalived, conntrackd, resyncAgainMs: [20, 60] });
  });
  afterEach(async () => {
    await ha.stop?.();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts conntrackd, then keepalived on its checked file, and reads its state from the FIFO', async () => {
    const outcome = await apply(pair());
    assert.ok(outcome.changed);
    assert.equal(outcome.unsettling, true, 'keepalived may move the shared addresses: later steps are applied in full');
    assert.deepEqual(calls, ['conntrackd start', 'keepalived start']);
    assert.ok(runner.calls.some((c) => c.argv[0] === 'keepalived' && c.argv[1] === '-t'), 'keepalived -t before anything is replaced');
    assert.match(await readFile(join(stateDir, 'keepalived', 'keepalived.conf'), 'utf8'), /^vrrp_instance ge2 \{$/m);
    assert.match(await readFile(join(stateDir, 'conntrackd', 'conntrackd.conf'), 'utf8'), /IPv6_Destination_Address fdca:3ba5:a17a:acda::3/);
    assert.equal(ha.status()?.state, 'INIT');
    assert.equal(ha.status()?.peer, PEER);

    await say(...instances.map((i) => `INSTANCE "${i}" BACKUP 100`));
    await until(() => ha.status()?.state === 'BACKUP');
    assert.equal(vrrp.master, false);
  });

  it('tells conntrackd to commit the synchronised connections once every instance is master, and to resync as backup', async () => {
    await apply(pair());
    await say(...instances.map((i) => `INSTANCE "${i}" BACKUP 100`));
    // And the resync asked twice more: a member just back may lose its first request.
    await until(() => conntrackdFlags().length === 4);
    assert.deepEqual(conntrackdFlags(), ['-t', '-n', '-n', '-n']);

    // Instance by instance: the member is master, and commits, only with the last one.
    await say('INSTANCE "ge1" MASTER 100', 'INSTANCE "ge2" MASTER 100');
    await say('GROUP "astara" MASTER 0');
    assert.equal(ha.status()?.state, 'BACKUP');
    await say('INSTANCE "ge3" MASTER 100');
    await until(() => conntrackdFlags().length === 8);
    assert.deepEqual(conntrackdFlags().slice(4), ['-c', '-f', '-R', '-B']);
    assert.equal(ha.status()?.state, 'MASTER');
    assert.equal(vrrp.master, true);
    assert.equal(vrrp.status?.transitions, 2);

    await say('INSTANCE "ge2" FAULT 100');
    await until(() => conntrackdFlags().length === 9);
    assert.equal(conntrackdFlags()[8], '-t');
    assert.equal(ha.status()?.state, 'FAULT');
    for (const argv of runner.calls.filter((c) => c.argv[0] === 'conntrackd').map((c) => c.argv)) {
      assert.deepEqual(argv.slice(0, 3), ['conntrackd', '-C', join(stateDir, 'conntrackd', 'conntrackd.conf')]);
    }
  });

  it('asks for no more resync once the member is no longer backup', async () => {
    await ha.stop?.();
    const scheduled: { send: () => void; delayMs: number; cancelled: boolean }[] = [];
    const schedule = (send: () => void, delayMs: number) => {
      const entry = { send, delayMs, cancelled: false };
      scheduled.push(entry);
      return () => { entry.cancelled = true; };
    };
    ha = createHaSubsystem({ stateDir, interfaces: new InterfaceNames(runner), daemons: new DaemonRegistry(), logger, vrrp }, { keepalived, conntrackd, schedule });
    await apply(pair());
    await say(...instances.map((i) => `INSTANCE "${i}" BACKUP 100`));
    await until(() => conntrackdFlags().length === 2);
    assert.deepEqual(scheduled.map((s) => s.delayMs), [2000, 6000], 'two more resync requests due as backup');
    await say(...instances.map((i) => `INSTANCE "${i}" MASTER 100`));
    await until(() => conntrackdFlags().length === 6);
    assert.ok(scheduled.every((s) => s.cancelled), 'every pending resync cancelled by the move to master');
    assert.deepEqual(conntrackdFlags(), ['-t', '-n', '-c', '-f', '-R', '-B']);
  });

  it('says STOP while keepalived does not run', async () => {
    await apply(pair());
    await say(...instances.map((i) => `INSTANCE "${i}" MASTER 100`));
    await until(() => ha.status()?.state === 'MASTER');
    keepalived.running = false;
    assert.equal(ha.status()?.state, 'STOP');
  });

  it('changes nothing when the same document comes again, and reloads keepalived for a new address', async () => {
    await apply(pair());
    calls.length = 0;
    const again = await apply(pair());
    assert.deepEqual(again, { changed: false });
    assert.deepEqual(calls, []);
    const moved = labModel<Record<string, unknown> & { floating_ips: unknown[] }>((doc) => {
      doc.ha_resource = true;
      doc.ha_config = { peers: [PEER], priority: 100 };
      doc.floating_ips = [...doc.floating_ips, { floating_ip: '203.0.113.12', fixed_ip: '198.51.100.12' }];
    });
    await apply(moved);
    assert.deepEqual(calls, ['keepalived SIGHUP']);
  });

  it('stops both daemons when HA is turned off, and its undo brings them back', async () => {
    await apply(pair());
    await say(...instances.map((i) => `INSTANCE "${i}" MASTER 100`));
    await until(() => vrrp.master);
    calls.length = 0;
    // Not committed: the engine undoes an apply only before it persisted it.
    const off = await ha.apply(ha.render(labModel(), HOST), context());
    assert.deepEqual(calls, ['conntrackd stop', 'keepalived stop']);
    assert.equal(ha.status(), undefined);
    assert.equal(vrrp.status, undefined);
    await off.undo!();
    assert.deepEqual(calls.slice(2), ['keepalived start', 'conntrackd start']);
    assert.equal(ha.status()?.peer, PEER);
  });

  it('asks the firewall for VRRP and conntrackd sync from the peer, on the management network', () => {
    const model = pair();
    assert.deepEqual(ha.firewall!(ha.render(model, HOST), model, HOST), [
      { family: 6, hook: 'management-input', rule: `-s ${PEER}/128 -p vrrp -j ACCEPT` },
      { family: 6, hook: 'management-input', rule: `-s ${PEER}/128 -p udp -m udp --dport 3780 -j ACCEPT` },
    ]);
    const single = labModel();
    assert.deepEqual(ha.firewall!(ha.render(single, HOST), single, HOST), []);
  });

  it('runs nothing for a single router', async () => {
    const outcome = await apply(labModel());
    assert.deepEqual(outcome, { changed: false });
    assert.deepEqual(calls, []);
    assert.deepEqual(runner.calls, []);
    assert.equal(ha.status(), undefined);
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
