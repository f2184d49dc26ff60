// The load-balancer subsystem in a real apply engine, with a fake nginx
// process (it logs on SIGHUP what a real one logs), `nginx -t` answered by
// the fake runner, and fake health monitors the test drives: what the
// monitors say reaches nginx.conf by a reload, never during an apply, and
// never changes the persisted document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument } from '../../../contract/index.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { ApplyEngine } from '../../engine/engine.js';
import type { Subsystem } from '../../engine/subsystem.js';
import type { DaemonControl } from '../../host/daemon-config.js';
import { DaemonRegistry } from '../../host/daemons.js';
import { InterfaceNames } from '../../host/interfaces.js';
import { createLoadBalancerSubsystem, type HealthMonitors, type LoadBalancerSubsystem } from './index.js';
import type { HealthChange, MonitorTarget } from './monitor.js';

const logger = pino({ level: 'silent' });
const NOTES = readFileSync(new URL('../../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8');
const M22 = 'e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06/1b3d5f7a-9c1e-4a3b-9d7f-1c3e5a7b9d09';

class FakeMonitors implements HealthMonitors {
  targets: readonly MonitorTarget[] = [];
  readonly health = new Map<string, HealthChange>();
  stopped = false;

  constructor(private readonly onChange: (change: HealthChange) => void) {}

  update(targets: readonly MonitorTarget[]): void {
    this.targets = targets;
    for (const key of this.health.keys()) if (!targets.some((t) => t.key === key)) this.health.delete(key);
    for (const t of targets) if (!this.health.has(t.key)) this.health.set(t.key, { key: t.key, status: 'ONLINE', since: 1, reason: 'monitoring started' });
  }

  snapshot(): ReadonlyMap<string, HealthChange> {
    return new Map(this.health);
  }

  stop(): void {
    this.stopped = true;
  }

  say(key: string, status: HealthChange['status'], reason: string): void {
    const change = { key, status, since: Date.now(), reason };
    this.health.set(key, change);
    this.onChange(change);
  }
}

class FakeNginx implements DaemonControl {
  running = false;
  wanted = false;
  readonly calls: string[] = [];

  constructor(private readonly log: string) {}

  start(): Promise<void> {
    this.calls.push('start');
    this.running = this.wanted = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.running = this.wanted = false;
    return Promise.resolve();
  }

  signal(name: NodeJS.Signals): void {
    this.calls.push(name);
    appendFileSync(this.log, '[notice] 11#11: gracefully shutting down\n');
  }
}

/** A subsystem applied before the load balancer that waits for the test to let it go. */
class Gate implements Subsystem<string> {
  readonly name = 'gate';
  #held: Promise<void> | undefined;
  #release: (() => void) | undefined;
  #entered: (() => void) | undefined;

  render(): string {
    return 'gate';
  }

  /** The next apply waits in this subsystem until `release`; resolves once it waits. */
  hold(): Promise<void> {
    this.#held = new Promise((resolve) => (this.#release = resolve));
    return new Promise((resolve) => (this.#entered = resolve));
  }

  release(): void {
    this.#release?.();
  }

  async apply(): Promise<{ changed: boolean }> {
    this.#entered?.();
    await this.#held;
    this.#held = undefined;
    return { changed: false };
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function document(edit: (lb: any) => void = () => undefined): { document: unknown; model: ReturnType<typeof modelOf> } {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
  const doc = JSON.parse(NOTES);
  edit(doc.services.loadbalancer);
  return { document: doc, model: modelOf(doc) };
}

function modelOf(doc: unknown) {
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.model;
}

describe('the loadbalancer subsystem with its health monitors', () => {
  let stateDir: string;
  let engine: ApplyEngine;
  let monitors: FakeMonitors;
  let nginx: FakeNginx;
  let gate: Gate;
  let lb: LoadBalancerSubsystem;
  const runner = new FakeRunner().on('nginx', { exitCode: 0 });
  const conf = () => readFile(join(stateDir, 'nginx', 'nginx.conf'), 'utf8');
  const persisted = () => readFile(join(stateDir, 'applied.json'), 'utf8');
  const apply = ({ document: doc, model }: ReturnType<typeof document>) => engine.apply(doc, model);
  /** Every task queued before this one has run (health reloads are queued like applies). */
  const settled = () => engine.exclusive(() => Promise.resolve());

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'astara-lb-'));
    nginx = new FakeNginx(join(stateDir, 'nginx', 'nginx.log'));
    gate = new Gate();
    lb = createLoadBalancerSubsystem(
      { stateDir, interfaces: new InterfaceNames(runner), daemons: new DaemonRegistry(), logger, exclusive: (task) => engine.exclusive(task) },
      { nginx, monitors: (onChange) => (monitors = new FakeMonitors(onChange)) },
    );
    engine = new ApplyEngine(stateDir, [gate, lb], runner, logger, { realName: (generic) => generic.replace('ge', 'eth') });
  });
  afterEach(async () => {
    await engine.shutdown();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('gives the monitors the targets of the persisted apply, and reports every status', async () => {
    await apply(document());
    assert.deepEqual(
      monitors.targets.map((t) => t.key),
      [
        'e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06/0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08',
        M22,
        'f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12/1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14',
      ],
    );
    assert.equal(lb.status()?.operating_status, 'ONLINE');
    assert.deepEqual(nginx.calls, ['start']);
  });

  it('reloads nginx with a member held down, and back, without touching the persisted document', async () => {
    await apply(document());
    const document1 = await persisted();
    monitors.say(M22, 'OFFLINE', '3 consecutive HTTP probes failed: connect ECONNREFUSED');
    await settled();
    assert.match(await conf(), /^ {4}server 198\.51\.100\.22:8080 weight=2 down;$/m);
    assert.deepEqual(nginx.calls, ['start', 'SIGHUP']);
    const member = lb.status()!.listeners[0]!.members[1]!;
    assert.deepEqual([member.operating_status, member.reason], ['OFFLINE', '3 consecutive HTTP probes failed: connect ECONNREFUSED']);
    assert.equal(lb.status()!.listeners[0]!.operating_status, 'DEGRADED');

    monitors.say(M22, 'ONLINE', '3 consecutive HTTP probes succeeded');
    await settled();
    assert.match(await conf(), /^ {4}server 198\.51\.100\.22:8080 weight=2;$/m);
    assert.deepEqual(nginx.calls, ['start', 'SIGHUP', 'SIGHUP']);
    assert.equal(await persisted(), document1);
    assert.equal(engine.current?.generation, 1);
  });

  it('never reloads during an apply: a health change waits for the apply in progress', async () => {
    await apply(document());
    const waiting = gate.hold();
    const second = apply(document((l) => (l.listeners[1].protocol_port = 5433)));
    await waiting;
    monitors.say(M22, 'OFFLINE', 'probes failed');
    // The reload is queued behind the apply that holds the engine: nothing has run.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(nginx.calls, ['start']);
    assert.match(await conf(), /^ {4}server 198\.51\.100\.22:8080 weight=2;$/m);
    gate.release();
    await second;
    await settled();
    const text = await conf();
    assert.match(text, /listen 198\.51\.100\.10:5433;/);
    assert.match(text, /^ {4}server 198\.51\.100\.22:8080 weight=2 down;$/m);
    assert.deepEqual(nginx.calls, ['start', 'SIGHUP', 'SIGHUP']);
  });

  it('an apply keeps a member held down while it is monitored, and lets it go with its monitor', async () => {
    await apply(document());
    monitors.say(M22, 'OFFLINE', 'probes failed');
    await settled();
    await apply(document((l) => (l.listeners[1].protocol_port = 5433)));
    assert.match(await conf(), /^ {4}server 198\.51\.100\.22:8080 weight=2 down;$/m);
    await apply(document((l) => (l.listeners[0].default_pool.healthmonitor = null)));
    assert.match(await conf(), /^ {4}server 198\.51\.100\.22:8080 weight=2;$/m);
    assert.equal(lb.status()!.listeners[0]!.members[1]!.operating_status, 'NO_MONITOR');
  });

  it("keeps the request log of an HTTP listener and drops it with the listener; traffic counts it", async () => {
    await apply(document());
    const log = join(stateDir, 'nginx', 'requests-80.log');
    appendFileSync(log, '\n'.repeat(7));
    runner.on(/^iptables-save -c/, { stdout: '[5:300] -A astara-internal -d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m comment --comment lb-listener-80 -j ACCEPT\n' });
    assert.deepEqual(await lb.traffic(runner), [
      { listener_id: 'c5e7a9b1-3d5f-4a7c-9e1b-5d7f9b1d3f05', protocol_port: 80, connections: 5, requests: 7 },
      { listener_id: 'd6f8b0c2-4e6a-4b8d-8f2c-6e8a0c2e4a11', protocol_port: 5432, connections: 0, requests: null },
    ]);
    await apply(
      document((l) => {
        l.listeners.shift();
      }),
    );
    await assert.rejects(readFile(log), { code: 'ENOENT' });
  });

  it('stops the monitors and nginx with the agent', async () => {
    await apply(document());
    await lb.stop!();
    assert.equal(monitors.stopped, true);
    assert.deepEqual(nginx.calls.slice(-1), ['stop']);
  });
});
