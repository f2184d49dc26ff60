// Dispatch: sharding by tenant (the original's vector), one runner per
// resource, arrival order, bounded runners per shard, wildcards, debug mode at
// every scope, the deleted-id memory, id-less events, and operator commands.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { BadCommandError, UnknownTargetError } from './control.js';
import { DebugStore } from './debug-store.js';
import { Dispatcher, normalizeTenant, shardIndex, type ManagedResource, type ResourceHooks } from './dispatcher.js';
import { CREATE, DELETE, POLL, REBUILD, UPDATE, event, type Event, type ResourceRef } from './events.js';
import type { InstanceManager } from './instance-manager.js';
import type { Automaton } from './state-machine.js';

const TENANT_A = '00000001-0002-0003-0405-000000000000';
const TENANT_B = '00000001-0002-0003-0405-000000000001';

/** A state machine that records what it is sent and when its updates run. */
class FakeMachine {
  readonly received: string[] = [];
  readonly handled: string[] = [];
  queue: string[] = [];
  deleted = false;
  error = false;
  running = 0;
  maxRunning = 0;
  /** How long each update() takes. */
  updateMs = 0;
  stateName = 'CalcAction';
  action = POLL;
  onUpdate: (() => void) | undefined;
  constructor(
    readonly ref: ResourceRef,
    private readonly hooks: ResourceHooks,
    private readonly shared: { running: number; maxRunning: number },
  ) {}
  sendMessage(message: Event): boolean {
    if (this.deleted) return false;
    if (message.crud === POLL && this.error) return false;
    this.received.push(message.crud);
    this.queue.push(message.crud);
    return true;
  }
  async update(): Promise<void> {
    this.running++;
    this.shared.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.shared.maxRunning = Math.max(this.shared.maxRunning, this.shared.running);
    await new Promise((resolve) => setTimeout(resolve, this.updateMs));
    const crud = this.queue.shift();
    if (crud) this.handled.push(crud);
    this.onUpdate?.();
    if (crud === DELETE) {
      this.deleted = true;
      this.hooks.onDelete();
    }
    this.running--;
    this.shared.running--;
  }
  hasMoreWork() {
    return !this.deleted && this.queue.length > 0;
  }
  hasError() {
    return this.error;
  }
  takeRetryDelay() {
    return 0;
  }
}

async function setup(options: { shards?: number; runners?: number; known?: ResourceRef[]; tenantResource?: string } = {}) {
  const machines = new Map<string, FakeMachine>();
  const instances = new Map<string, { lastDocument: unknown }>();
  const shared = { running: 0, maxRunning: 0 };
  const debug = await DebugStore.open(undefined);
  const reloads: number[] = [];
  const dispatcher = new Dispatcher({
    shards: options.shards ?? 4,
    runnersPerShard: options.runners ?? 2,
    debug,
    log: pino({ level: 'silent' }),
    create: (ref, hooks): ManagedResource => {
      const machine = new FakeMachine(ref, hooks, shared);
      machines.set(ref.id, machine);
      const instance = { state: 'configured', attempts: 0, instances: [], lastPush: undefined, lastError: undefined, lastDocument: undefined };
      instances.set(ref.id, instance);
      return { machine: machine as unknown as Automaton, instance: instance as unknown as InstanceManager };
    },
    resourceForTenant: () => Promise.resolve(options.tenantResource),
    findResource: (id) => Promise.resolve(options.known?.find((r) => r.id === id)),
    onConfigReload: () => {
      reloads.push(Date.now());
      return Promise.resolve();
    },
  });
  /** Let every queued update run. */
  const settle = async () => {
    for (let i = 0; i < 200 && [...machines.values()].some((m) => m.hasMoreWork() || m.running > 0); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { dispatcher, machines, instances, shared, debug, reloads, settle };
}

const ref = (id: string, tenantId = TENANT_A): ResourceRef => ({ driver: 'router', id, tenantId });

describe('sharding', () => {
  it('a UUID tenant goes to uuid.int % shards: the original vector', () => {
    for (let i = 0; i < 5; i++) assert.equal(shardIndex(`00000001-0002-0003-0405-${i.toString(16).padStart(12, '0')}`, 5), i);
    assert.equal(shardIndex(' 00000001-0002-0003-0405-000000000003 ', 5), 3);
    assert.equal(shardIndex('00000001000200030405000000000004', 5), 4);
  });

  it('another tenant id goes to a stable shard', () => {
    assert.equal(shardIndex('tenant-a', 7), shardIndex('tenant-a', 7));
    assert.ok(shardIndex('tenant-a', 7) < 7);
  });

  it('tenant ids are normalised like UUIDs when they are UUIDs', () => {
    assert.equal(normalizeTenant('C25992581E574B6485DBFDF39A3DF46C'), 'c2599258-1e57-4b64-85db-fdf39a3df46c');
    assert.equal(normalizeTenant('tenant-a'), 'tenant-a');
  });

  it('refuses zero shards', () => {
    assert.throws(() => new Dispatcher({ shards: 0 } as never), /at least one/);
  });
});

describe('views', () => {
  it('shows the last document with every VPN pre-shared key redacted', async () => {
    const { dispatcher, instances } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    const connection = { id: 'c1', psk: 'hunter2', peer_address: '198.51.100.7' };
    instances.get('r1')!.lastDocument = { hostname: 'ak-router-r1', vpn: { ipsec: [{ id: 's1', ipsec_connections: [connection] }] } };
    const shown = JSON.stringify(dispatcher.getResource('r1')?.last_document);
    assert.ok(!shown.includes('hunter2'), shown);
    assert.ok(shown.includes('"psk":"<redacted>"'), shown);
    assert.ok(shown.includes('198.51.100.7'), shown);
  });
});

describe('delivery', () => {
  it('creates a state machine for a new resource and hands it the event', async () => {
    const { dispatcher, machines, settle } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await settle();
    assert.deepEqual(machines.get('r1')?.handled, [CREATE]);
    assert.equal(dispatcher.listResources()[0]?.tenant_id, TENANT_A);
  });

  it('handles the events of one resource in arrival order, never two updates at once', async () => {
    const { dispatcher, machines, settle } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    machines.get('r1')!.updateMs = 10;
    for (const crud of [UPDATE, POLL, REBUILD, UPDATE, DELETE] as const) await dispatcher.handleMessage(TENANT_A, event(ref('r1'), crud));
    await settle();
    const machine = machines.get('r1')!;
    assert.deepEqual(machine.handled, [CREATE, UPDATE, POLL, REBUILD, UPDATE, DELETE]);
    assert.equal(machine.maxRunning, 1);
  });

  it('runs at most runnersPerShard resources of a shard at once', async () => {
    const { dispatcher, machines, shared, settle } = await setup({ shards: 1, runners: 3 });
    for (let i = 0; i < 10; i++) {
      await dispatcher.handleMessage(TENANT_A, event(ref(`r${i}`), CREATE));
      machines.get(`r${i}`)!.updateMs = 20;
    }
    await settle();
    assert.equal(shared.maxRunning, 3);
    assert.ok([...machines.values()].every((m) => m.handled.length === 1));
  });

  it('a slow resource holds one runner, not its shard', async () => {
    const { dispatcher, machines, settle } = await setup({ shards: 1, runners: 2 });
    await dispatcher.handleMessage(TENANT_A, event(ref('slow'), CREATE));
    await settle();
    machines.get('slow')!.updateMs = 500;
    await dispatcher.handleMessage(TENANT_A, event(ref('slow'), UPDATE));
    const started = Date.now();
    await dispatcher.handleMessage(TENANT_B, event(ref('fast', TENANT_B), CREATE));
    await new Promise<void>((resolve) => {
      const fast = machines.get('fast')!;
      if (fast.handled.length > 0) resolve();
      else fast.onUpdate = resolve;
    });
    assert.ok(Date.now() - started < 400, 'the other tenant was served while the slow one ran');
    await settle();
  });

  it("'*' reaches every resource and 'error' only those in ERROR", async () => {
    const { dispatcher, machines, settle } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await dispatcher.handleMessage(TENANT_B, event(ref('r2', TENANT_B), CREATE));
    await settle();
    machines.get('r2')!.error = true;
    await dispatcher.handleMessage('*', event({ driver: '*', id: '*', tenantId: '*' }, UPDATE));
    await dispatcher.handleMessage('error', event({ driver: '*', id: 'error', tenantId: 'error' }, REBUILD));
    await settle();
    assert.deepEqual(machines.get('r1')!.handled, [CREATE, UPDATE]);
    assert.deepEqual(machines.get('r2')!.handled, [CREATE, UPDATE, REBUILD]);
  });

  it('remembers deleted ids: later events are dropped, a CREATE brings the resource back', async () => {
    const { dispatcher, machines, settle } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), DELETE));
    await settle();
    const first = machines.get('r1')!;
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), UPDATE));
    await settle();
    assert.equal(machines.get('r1'), first, 'no new machine for a late UPDATE');
    assert.deepEqual(dispatcher.listResources(), []);
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await settle();
    assert.notEqual(machines.get('r1'), first);
    assert.deepEqual(machines.get('r1')!.handled, [CREATE]);
  });

  it('an event without a resource id goes to the tenant resource, or nowhere', async () => {
    const found = await setup({ tenantResource: 'r9' });
    await found.dispatcher.handleMessage(TENANT_A, event({ driver: 'router', id: '', tenantId: TENANT_A }, UPDATE));
    await found.settle();
    assert.deepEqual(found.machines.get('r9')?.handled, [UPDATE]);
    const none = await setup();
    await none.dispatcher.handleMessage(TENANT_A, event({ driver: 'router', id: '', tenantId: TENANT_A }, UPDATE));
    assert.equal(none.machines.size, 0);
  });
});

describe('debug mode', () => {
  it('a resource, its tenant or everything in debug mode gets no event; managed again, it gets an UPDATE', async () => {
    const known = [ref('r1')];
    const { dispatcher, machines, settle } = await setup({ known });
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await settle();
    const machine = machines.get('r1')!;

    await dispatcher.command({ command: 'resource-debug', resource_id: 'r1', reason: 'look' });
    assert.deepEqual(dispatcher.getResource('r1')?.debug, { enabled: true, scope: 'resource', reason: 'look' });
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), UPDATE));
    await dispatcher.command({ command: 'resource-manage', resource_id: 'r1' });
    await settle();
    assert.deepEqual(machine.handled, [CREATE, UPDATE], 'only the catch-up UPDATE');

    await dispatcher.command({ command: 'tenant-debug', tenant_id: TENANT_A.replace(/-/g, '') });
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), POLL));
    assert.equal(dispatcher.getResource('r1')?.debug.scope, 'tenant');
    await dispatcher.command({ command: 'tenant-manage', tenant_id: TENANT_A });
    await settle();
    assert.deepEqual(machine.handled, [CREATE, UPDATE, UPDATE]);

    await dispatcher.command({ command: 'global-debug', enabled: 1, reason: 'upgrade' });
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), UPDATE));
    await dispatcher.handleMessage('*', event({ driver: '*', id: '*', tenantId: '*' }, POLL));
    await settle();
    assert.equal(machine.handled.length, 3, 'nothing while global debug is on');
    assert.deepEqual(dispatcher.workers().global_debug, { enabled: true, scope: 'global', reason: 'upgrade' });
    await dispatcher.command({ command: 'global-debug', enabled: 0 });
    await settle();
    assert.deepEqual(machine.handled.slice(3), [UPDATE]);
  });

  it('persists the flags with their reasons', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'astara-debug-')), 'debug.json');
    const store = await DebugStore.open(path);
    await store.enableResource('r1', 'why');
    await store.enableTenant('t1', undefined);
    await store.enableGlobal('all');
    const again = await DebugStore.open(path);
    assert.equal(again.resource('r1'), 'why');
    assert.equal(again.tenant('t1'), null);
    assert.deepEqual(again.global(), { enabled: true, reason: 'all' });
    await again.disableResource('r1');
    assert.equal((await DebugStore.open(path)).resource('r1'), undefined);
  });
});

describe('commands', () => {
  it('update and rebuild reach a known resource; an unknown one is an error', async () => {
    const known = [ref('r1')];
    const { dispatcher, machines, settle } = await setup({ known });
    await dispatcher.command({ command: 'router-update', router_id: 'r1' });
    await dispatcher.command({ command: 'resource-rebuild', resource_id: 'r1' });
    await settle();
    assert.deepEqual(machines.get('r1')!.handled, [UPDATE, REBUILD]);
    await assert.rejects(dispatcher.command({ command: 'router-rebuild', router_id: 'nope' }), UnknownTargetError);
    await assert.rejects(dispatcher.command({ command: 'resource-debug', resource_id: 'nope' }), UnknownTargetError);
  });

  it('refuses to debug every resource or every tenant, and a global-debug without a value', async () => {
    const { dispatcher } = await setup();
    await assert.rejects(dispatcher.command({ command: 'resource-debug', resource_id: '*' }), BadCommandError);
    await assert.rejects(dispatcher.command({ command: 'tenant-debug', tenant_id: 'error' }), BadCommandError);
    await assert.rejects(dispatcher.command({ command: 'global-debug' }), BadCommandError);
    await assert.rejects(dispatcher.command({ command: 'resource-update' }), BadCommandError);
  });

  it('poll reaches every resource; config-reload calls the service; workers-debug reports', async () => {
    const { dispatcher, machines, reloads, settle } = await setup();
    await dispatcher.handleMessage(TENANT_A, event(ref('r1'), CREATE));
    await dispatcher.command({ command: 'poll' });
    await dispatcher.command({ command: 'config-reload' });
    await settle();
    assert.deepEqual(machines.get('r1')!.handled, [CREATE, POLL]);
    assert.equal(reloads.length, 1);
    const view = dispatcher.workers();
    assert.equal(view.shards.length, 4);
    assert.equal(view.shards.reduce((n, s) => n + s.resources, 0), 1);
    assert.ok(view.shards.every((s) => s.runners.length === 2 && s.runners_busy === 0));
  });
});
