// The dispatcher in a cluster (notes 10.3): events wait for the first
// rebalance; a resource another member owns is not taken; a rebalance lets go
// of what moved (without touching it) and takes what arrived with an UPDATE;
// out of reach of the coordination service nothing new is taken.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { BadCommandError } from '../core/control.js';
import { DebugStore } from '../core/debug-store.js';
import { Dispatcher, type ManagedResource } from '../core/dispatcher.js';
import { POLL, RESOURCE_UPDATE, UPDATE, event, type Event, type ResourceRef } from '../core/events.js';
import type { InstanceManager } from '../core/instance-manager.js';
import type { ClusterView, Ownership } from '../core/ownership.js';
import type { Automaton } from '../core/state-machine.js';
import { buildHashRing, hostsFor } from './hash-ring.js';

const TENANT = '00000001-0002-0003-0405-000000000000';
const ref = (id: string): ResourceRef => ({ driver: 'router', id, tenantId: TENANT });

/** Ownership by a real hash ring over members the test sets. */
class TestOwnership implements Ownership {
  readonly enabled = true;
  readonly ready: Promise<void>;
  #resolve: () => void = () => undefined;
  members: string[] = [];
  connected = true;
  constructor(readonly host: string) {
    this.ready = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  balance(members: string[]): void {
    this.members = members;
    this.#resolve();
  }
  owner(key: string): string | null {
    return hostsFor(buildHashRing(this.members, 5), key)[0] ?? null;
  }
  owns(key: string): boolean {
    return this.owner(key) === this.host;
  }
  canTakeNew(): boolean {
    return this.connected;
  }
  view(): ClusterView {
    return { enabled: true, host: this.host, members: this.members, connected: this.connected, problem: this.connected ? null : 'down', rebalances: 1 };
  }
}

/** A state machine that records what it was sent and handles it at once. */
class RecordingMachine {
  readonly received: string[] = [];
  queue: string[] = [];
  deleted = false;
  stateName = 'CalcAction';
  action = POLL;
  sendMessage(message: Event): boolean {
    this.received.push(message.crud);
    this.queue.push(message.crud);
    return true;
  }
  update(): Promise<void> {
    this.queue.shift();
    return Promise.resolve();
  }
  hasMoreWork(): boolean {
    return this.queue.length > 0;
  }
  hasError(): boolean {
    return false;
  }
  takeRetryDelay(): number {
    return 0;
  }
}

async function setup(host: string) {
  const ownership = new TestOwnership(host);
  const machines = new Map<string, RecordingMachine>();
  const dispatcher = new Dispatcher({
    shards: 2,
    runnersPerShard: 2,
    debug: await DebugStore.open(undefined),
    log: pino({ level: 'silent' }),
    ownership,
    create: (r): ManagedResource => {
      const machine = new RecordingMachine();
      machines.set(r.id, machine);
      const instance = { state: 'configured', attempts: 0, instances: [], applianceViews: [], lastPush: undefined, lastError: undefined, lastDocument: undefined };
      return { machine: machine as unknown as Automaton, instance: instance as unknown as InstanceManager };
    },
    resourceForTenant: () => Promise.resolve(undefined),
    findResource: (id) => Promise.resolve(ref(id)),
    onConfigReload: () => Promise.resolve(),
  });
  return { ownership, machines, dispatcher };
}

const ids = Array.from({ length: 40 }, (_, i) => `router-${i}`);

describe('dispatcher ownership', () => {
  it('holds every event until the first rebalance, then handles only its own resources', async () => {
    const { ownership, machines, dispatcher } = await setup('a');
    const handled = Promise.all(ids.map((id) => dispatcher.handleMessage(TENANT, event(ref(id), POLL))));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(machines.size, 0, 'nothing is taken before the first rebalance');
    ownership.balance(['a', 'b', 'c']);
    await handled;
    const mine = ids.filter((id) => ownership.owns(id));
    assert.ok(mine.length > 0 && mine.length < ids.length);
    assert.deepEqual([...machines.keys()].sort(), [...mine].sort());
    assert.ok(dispatcher.listResources().every((r) => r.owner === 'a'));
    assert.deepEqual(dispatcher.workers().cluster?.members, ['a', 'b', 'c']);
  });

  it('lets go of what moved without touching it and takes what arrived with an UPDATE', async () => {
    const { ownership, machines, dispatcher } = await setup('a');
    ownership.balance(['a', 'b']);
    for (const id of ids) await dispatcher.handleMessage(TENANT, event(ref(id), POLL));
    const before = new Set(dispatcher.listResources().map((r) => r.id));
    ownership.members = ['a', 'c'];
    await dispatcher.rebalance(ids.map(ref));
    const after = new Set(dispatcher.listResources().map((r) => r.id));
    assert.deepEqual([...after].sort(), ids.filter((id) => ownership.owns(id)).sort());
    const lost = [...before].filter((id) => !after.has(id));
    const gained = [...after].filter((id) => !before.has(id));
    assert.ok(lost.length > 0 && gained.length > 0, 'the example must move resources both ways');
    for (const id of lost) assert.deepEqual(machines.get(id)!.received, [POLL], `${id} was sent nothing more`);
    for (const id of gained) assert.deepEqual(machines.get(id)!.received, [UPDATE], `${id} is adopted with an UPDATE`);
    // A later event for a resource that left is not handled here.
    await dispatcher.handleMessage(TENANT, event(ref(lost[0]!), UPDATE));
    assert.deepEqual(machines.get(lost[0]!)!.received, [POLL]);
  });

  it('takes nothing new while the coordination service is out of reach, and keeps serving what it has', async () => {
    const { ownership, machines, dispatcher } = await setup('a');
    ownership.balance(['a']);
    await dispatcher.handleMessage(TENANT, event(ref('kept'), POLL));
    ownership.connected = false;
    await dispatcher.handleMessage(TENANT, event(ref('new'), POLL));
    await dispatcher.handleMessage(TENANT, event(ref('kept'), UPDATE));
    assert.equal(machines.has('new'), false);
    assert.deepEqual(machines.get('kept')!.received, [POLL, UPDATE]);
  });

  it('refuses an update command for a resource another member owns, naming it', async () => {
    const { ownership, dispatcher } = await setup('a');
    ownership.balance(['a', 'b']);
    const theirs = ids.find((id) => ownership.owner(id) === 'b')!;
    await assert.rejects(dispatcher.command({ command: RESOURCE_UPDATE, resource_id: theirs }), (error: unknown) => error instanceof BadCommandError && error.message.includes('orchestrator b'));
  });
});
