// Dispatch (the original's scheduler, worker and tenant resource managers, in
// one process): events are sharded by tenant over `num_worker_processes`
// shards; each shard runs at most `num_worker_threads` state machines at once
// and never the same one twice; events for one resource are handled in the
// order they arrived. Operator commands are handled here too.
//
// Deliberate differences from the original, each marked where it happens:
// - a resource in debug mode is skipped when its turn comes, whatever
//   brought it there (the original checked only the resource, not its tenant
//   or the global switch, for wildcard POLLs);
// - putting a resource, tenant or everything back under management sends it
//   an UPDATE, so an appliance catches up with what changed meanwhile;
// - a CREATE for a recently deleted id brings the resource back (the local
//   resource file can re-add an id; Neutron never reuses one);
// - a tenant id that is not a UUID is sharded by a hash of its text instead of
//   being dropped;
// - clustered, a command reaches only the member whose API it was sent to (the
//   original's went to every member): debug commands act through the shared
//   flag store whoever owns the resource, and an update or rebuild of another
//   member's resource is refused with its owner's name.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { redactSecrets } from '../../contract/redact.js';
import {
  BadCommandError,
  UnknownTargetError,
  type DebugView,
  type OrchestratorControl,
  type ResourceDetailView,
  type ResourceView,
  type TransitionView,
  type WorkersView,
} from './control.js';
import type { DebugFlagStore } from './debug-store.js';
import {
  COMMAND,
  CONFIG_RELOAD,
  CREATE,
  EVERY_RESOURCE,
  GLOBAL_DEBUG,
  POLL,
  POLL_COMMAND,
  REBUILD,
  RESOURCE_DEBUG,
  RESOURCE_MANAGE,
  RESOURCE_REBUILD,
  RESOURCE_UPDATE,
  ROUTER_DEBUG,
  ROUTER_MANAGE,
  ROUTER_REBUILD,
  ROUTER_UPDATE,
  TENANT_DEBUG,
  TENANT_MANAGE,
  UPDATE,
  WORKERS_DEBUG,
  event,
  isWildcard,
  type CommandBody,
  type Event,
  type ResourceRef,
} from './events.js';
import type { InstanceManager } from './instance-manager.js';
import { singleNode, type Ownership } from './ownership.js';
import type { Automaton, Transition } from './state-machine.js';

/** How many recent transitions each resource keeps for the admin API. */
const TRANSITIONS_KEPT = 50;
/** How many deleted ids each tenant remembers, so late events for them are dropped. */
const DELETED_KEPT = 50;

/** The pieces of one managed resource, made by the service's factory. */
export interface ManagedResource {
  readonly machine: Automaton;
  readonly instance: InstanceManager;
}

export interface ResourceHooks {
  readonly onDelete: () => void;
  readonly onTransition: (transition: Transition) => void;
}

export interface DispatcherOptions {
  readonly shards: number;
  readonly runnersPerShard: number;
  readonly debug: DebugFlagStore;
  readonly log: Logger;
  /** Which resources are this orchestrator's (all of them when it is alone). */
  readonly ownership?: Ownership;
  /** Build the state machine of a resource; undefined when its driver is not enabled. */
  readonly create: (ref: ResourceRef, hooks: ResourceHooks) => ManagedResource | undefined;
  /** The resource of a tenant, for events that do not name one (the original assumed one router per tenant). */
  readonly resourceForTenant: (driver: string, tenantId: string) => Promise<string | undefined>;
  /** Look a resource up in the cloud by id (for commands naming one the dispatcher has not seen yet). */
  readonly findResource: (id: string) => Promise<ResourceRef | undefined>;
  readonly onConfigReload: () => Promise<void>;
  readonly onWorkersDebug?: (view: WorkersView) => void;
}

interface Entry {
  readonly ref: ResourceRef;
  readonly machine: Automaton;
  readonly instance: InstanceManager;
  readonly shard: Shard;
  /** In the shard's queue, running, or waiting for its retry delay. */
  scheduled: boolean;
  timer: NodeJS.Timeout | undefined;
  readonly transitions: TransitionView[];
  /** Another cluster member owns it now: no longer handled here, its appliance left as it is. */
  released: boolean;
}

interface TenantResources {
  readonly resources: Map<string, Entry>;
  /** Recently deleted ids, oldest first. */
  readonly deleted: string[];
}

interface Shard {
  readonly index: number;
  readonly tenants: Map<string, TenantResources>;
  readonly queue: Entry[];
  /** What each runner is doing, as the original's thread status. */
  readonly runners: string[];
}

/** The tenant id as the original normalised UUIDs (lower case, dashed); other ids as they are. */
export function normalizeTenant(value: string): string {
  const hex = value.trim().toLowerCase().replace(/^urn:uuid:/, '').replace(/[{}-]/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return value.trim();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The shard of a tenant: the UUID's integer modulo the shard count, as the original; a hash for other ids. */
export function shardIndex(tenantId: string, shards: number): number {
  const hex = tenantId.trim().toLowerCase().replace(/^urn:uuid:/, '').replace(/[{}-]/g, '');
  const value = /^[0-9a-f]{32}$/.test(hex) ? BigInt(`0x${hex}`) : BigInt(`0x${createHash('md5').update(tenantId).digest('hex')}`);
  return Number(value % BigInt(shards));
}

export class Dispatcher implements OrchestratorControl {
  readonly #shards: Shard[];
  readonly #ownership: Ownership;
  #intake: Promise<void> = Promise.resolve();
  #stopping = false;

  constructor(private readonly options: DispatcherOptions) {
    if (options.shards < 1) throw new Error('Need at least one worker process');
    this.#ownership = options.ownership ?? singleNode('');
    this.#shards = Array.from({ length: options.shards }, (_, index) => ({
      index,
      tenants: new Map(),
      queue: [],
      runners: Array.from({ length: options.runnersPerShard }, () => 'waiting for task'),
    }));
  }

  get #log(): Logger {
    return this.options.log;
  }

  /**
   * Take an event for `target` (a tenant id, or a wildcard). Events are taken
   * one at a time in arrival order, so two events for one resource can never
   * overtake each other; the returned promise settles once this one is queued.
   */
  handleMessage(target: string, message: Event): Promise<void> {
    const run = this.#intake.then(() => this.#handle(target, message));
    this.#intake = run.catch((error: unknown) => {
      this.#log.error({ err: error, target, crud: message.crud }, 'Error processing data');
    });
    return run;
  }

  async #handle(target: string, message: Event): Promise<void> {
    // Clustered, everything waits for the first rebalance (the original deferred and replayed it).
    await this.#ownership.ready;
    if (this.#stopping) return;
    if (message.crud === COMMAND) {
      await this.#command(message.body as unknown as CommandBody);
      return;
    }
    const accepted = await this.#shouldProcess(target, message);
    if (accepted) this.#deliver(target, accepted);
  }

  async #shouldProcess(target: string, message: Event): Promise<Event | undefined> {
    const global = this.options.debug.global();
    if (global.enabled) {
      this.#log.info({ reason: global.reason }, `Skipping incoming event, cluster in global debug mode. (reason: ${global.reason ?? 'none'})`);
      return undefined;
    }
    let resource = message.resource;
    if (!isWildcard(resource.id)) {
      if (resource.id === '') {
        const id = await this.options.resourceForTenant(resource.driver, resource.tenantId);
        if (!id) {
          this.#log.warn({ tenant: resource.tenantId, crud: message.crud }, 'Ignoring message with no resource found.');
          return undefined;
        }
        resource = { ...resource, id };
      }
      const scope = this.#debugScope(resource);
      if (scope) {
        this.#log.info({ resource: resource.id, tenant: resource.tenantId, crud: message.crud, debug: scope.scope, reason: scope.reason }, `Skipping incoming event, ${scope.scope} in debug mode`);
        return undefined;
      }
      if (!this.#ownership.owns(resource.id)) {
        this.#log.debug({ resource: resource.id, crud: message.crud, owner: this.#ownership.owner(resource.id) }, 'another orchestrator owns this resource');
        return undefined;
      }
    }
    return resource === message.resource ? message : { ...message, resource };
  }

  /** Why a resource is in debug mode (itself, its tenant, everything), or undefined. */
  #debugScope(ref: ResourceRef): DebugView | undefined {
    const { debug } = this.options;
    const global = debug.global();
    if (global.enabled) return { enabled: true, scope: 'global', reason: global.reason };
    const resource = debug.resource(ref.id);
    if (resource !== undefined) return { enabled: true, scope: 'resource', reason: resource };
    const tenant = debug.tenant(normalizeTenant(ref.tenantId));
    if (tenant !== undefined) return { enabled: true, scope: 'tenant', reason: tenant };
    return undefined;
  }

  #deliver(target: string, message: Event): void {
    for (const tenants of this.#tenantsFor(target)) {
      for (const entry of this.#entriesFor(tenants, message)) {
        if (entry.machine.sendMessage(message)) this.#schedule(entry);
      }
    }
  }

  #tenantsFor(target: string): TenantResources[] {
    if (isWildcard(target)) return this.#shards.flatMap((shard) => [...shard.tenants.values()]);
    const tenantId = normalizeTenant(target);
    const shard = this.#shards[shardIndex(tenantId, this.#shards.length)]!;
    let tenants = shard.tenants.get(tenantId);
    if (!tenants) {
      tenants = { resources: new Map(), deleted: [] };
      shard.tenants.set(tenantId, tenants);
    }
    return [tenants];
  }

  #entriesFor(tenants: TenantResources, message: Event): Entry[] {
    const id = message.resource.id;
    if (!id) return [];
    if (id === '*') return [...tenants.resources.values()];
    if (id.toLowerCase() === 'error') return [...tenants.resources.values()].filter((e) => e.machine.hasError());
    const deletedAt = tenants.deleted.indexOf(id);
    if (deletedAt >= 0) {
      if (message.crud !== CREATE) return [];
      // Deviation: the resource file may bring an id back.
      tenants.deleted.splice(deletedAt, 1);
    }
    const existing = tenants.resources.get(id);
    if (existing) return existing.machine.deleted ? [] : [existing];
    if (isWildcard(message.resource.driver)) return [];
    if (!this.#ownership.canTakeNew()) {
      this.#log.warn({ resource: id, problem: this.#ownership.view().problem }, 'coordination service out of reach: not taking a new resource');
      return [];
    }
    const entry = this.#create(tenants, message.resource);
    return entry ? [entry] : [];
  }

  #create(tenants: TenantResources, ref: ResourceRef): Entry | undefined {
    const tenantId = normalizeTenant(ref.tenantId);
    const shard = this.#shards[shardIndex(tenantId, this.#shards.length)]!;
    const transitions: TransitionView[] = [];
    const managed = this.options.create(ref, {
      onDelete: () => {
        const entry = tenants.resources.get(ref.id);
        if (entry?.timer) clearTimeout(entry.timer);
        tenants.resources.delete(ref.id);
        tenants.deleted.push(ref.id);
        if (tenants.deleted.length > DELETED_KEPT) tenants.deleted.shift();
        this.#log.info({ resource: ref.id }, 'resource deleted');
      },
      onTransition: (t) => {
        transitions.push({ at: new Date().toISOString(), from: t.from, to: t.to, action: t.action, instance_state: t.instanceState });
        if (transitions.length > TRANSITIONS_KEPT) transitions.shift();
      },
    });
    if (!managed) {
      this.#log.warn({ resource: ref.id, driver: ref.driver }, 'no enabled driver for this resource, ignoring it');
      return undefined;
    }
    const entry: Entry = { ref: { ...ref, tenantId }, machine: managed.machine, instance: managed.instance, shard, scheduled: false, timer: undefined, transitions, released: false };
    tenants.resources.set(ref.id, entry);
    return entry;
  }

  #schedule(entry: Entry): void {
    if (entry.scheduled || this.#stopping) return;
    entry.scheduled = true;
    entry.shard.queue.push(entry);
    this.#pump(entry.shard);
  }

  #pump(shard: Shard): void {
    for (;;) {
      const runner = shard.runners.indexOf('waiting for task');
      if (runner < 0 || shard.queue.length === 0 || this.#stopping) return;
      const entry = shard.queue.shift()!;
      shard.runners[runner] = `updating ${entry.ref.id}`;
      void this.#run(shard, runner, entry);
    }
  }

  async #run(shard: Shard, runner: number, entry: Entry): Promise<void> {
    try {
      // Deviation: whatever brought the resource here, debug mode (its own, its tenant's or global) holds it.
      const scope = this.#debugScope(entry.ref);
      if (!this.#ownership.owns(entry.ref.id)) {
        this.#release(entry);
      } else if (scope) {
        this.#log.info({ resource: entry.ref.id, debug: scope.scope }, 'resource in debug mode, not updating it');
      } else {
        await entry.machine.update();
      }
    } catch (error) {
      this.#log.error({ err: error, resource: entry.ref.id }, `could not complete update for ${entry.ref.id}`);
    } finally {
      shard.runners[runner] = `finalizing task for ${entry.ref.id}`;
      entry.scheduled = false;
      if (!entry.released && !this.#debugScope(entry.ref) && entry.machine.hasMoreWork()) {
        const delay = entry.machine.takeRetryDelay();
        if (delay > 0) {
          entry.scheduled = true;
          entry.timer = setTimeout(() => {
            entry.timer = undefined;
            entry.scheduled = false;
            this.#schedule(entry);
          }, delay);
        } else {
          this.#schedule(entry);
        }
      }
      shard.runners[runner] = 'waiting for task';
      this.#pump(shard);
    }
  }

  /**
   * Stop handling a resource another member owns now. Its appliance is left
   * running and untouched: the new owner adopts it.
   */
  #release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    const queued = entry.shard.queue.indexOf(entry);
    if (queued >= 0) entry.shard.queue.splice(queued, 1);
    entry.shard.tenants.get(entry.ref.tenantId)?.resources.delete(entry.ref.id);
    this.#log.info({ resource: entry.ref.id, owner: this.#ownership.owner(entry.ref.id) }, 'resource moved to another orchestrator; no longer handling it');
  }

  /**
   * After the cluster's members changed: let go of what is no longer this
   * orchestrator's, and take what now is (the original's repopulate), each
   * with an UPDATE so its running appliance is adopted and brought up to date.
   */
  rebalance(resources: readonly ResourceRef[]): Promise<void> {
    const run = this.#intake.then(async () => {
      for (const entry of this.#entries()) if (!this.#ownership.owns(entry.ref.id)) this.#release(entry);
      const managed = new Set(this.#entries().map((e) => e.ref.id));
      for (const ref of resources) {
        if (this.#ownership.owns(ref.id) && !managed.has(ref.id)) await this.#handle(ref.tenantId, event(ref, UPDATE));
      }
    });
    // Settles, never rejects: a failure is logged, and the next rebalance starts afresh.
    this.#intake = run.catch((error: unknown) => {
      this.#log.error({ err: error }, 'rebalance failed');
    });
    return this.#intake;
  }

  /** Every managed resource. */
  #entries(): Entry[] {
    return this.#shards.flatMap((shard) => [...shard.tenants.values()].flatMap((t) => [...t.resources.values()]));
  }

  /** A managed resource by id; astara-ctl lower-cases ids (Neutron's are), so a case-blind match is the fallback. */
  #find(id: string): Entry | undefined {
    const entries = this.#entries();
    return entries.find((e) => e.ref.id === id) ?? entries.find((e) => e.ref.id.toLowerCase() === id.toLowerCase());
  }

  /** A POLL for every managed resource, each at a random moment within `spreadMs` (0: now). */
  pollAll(spreadMs: number): void {
    for (const entry of this.#entries()) {
      const poll = () => void this.handleMessage(entry.ref.tenantId, event(entry.ref, POLL));
      if (spreadMs <= 0) poll();
      else setTimeout(poll, Math.random() * spreadMs).unref();
    }
  }

  /** The resource whose appliance has `address` on the management network (the metadata service asks, per guest request). */
  resourceAt(address: string): string | undefined {
    for (const entry of this.#entries()) {
      for (const instance of entry.instance.instances) {
        if (instance.managementPort?.fixed_ips.some((ip) => ip.ip_address === address)) return entry.ref.id;
      }
    }
    return undefined;
  }

  // --- operator commands (the original's _dispatch_command) -------------------

  command(body: CommandBody): Promise<void> {
    return this.handleMessage('*', event(EVERY_RESOURCE, COMMAND, body as unknown as Record<string, unknown>));
  }

  async #command(body: CommandBody): Promise<void> {
    const { debug } = this.options;
    this.#log.info({ command: body }, 'operator command');
    switch (body.command) {
      case WORKERS_DEBUG:
        this.#reportStatus();
        return;
      case CONFIG_RELOAD:
        await this.options.onConfigReload();
        return;
      case POLL_COMMAND:
        this.#deliver('*', event(EVERY_RESOURCE, POLL));
        return;
      case RESOURCE_DEBUG:
      case ROUTER_DEBUG: {
        const ref = await this.#resolve(this.#idOf(body));
        await debug.enableResource(ref.id, body.reason);
        return;
      }
      case RESOURCE_MANAGE:
      case ROUTER_MANAGE: {
        const ref = await this.#resolve(this.#idOf(body), true);
        await debug.disableResource(ref.id);
        await this.#catchUp((e) => e.ref.id === ref.id);
        return;
      }
      case RESOURCE_UPDATE:
      case RESOURCE_REBUILD:
      case ROUTER_UPDATE:
      case ROUTER_REBUILD: {
        const crud = body.command === RESOURCE_UPDATE || body.command === ROUTER_UPDATE ? UPDATE : REBUILD;
        const id = this.#idOf(body, true);
        if (isWildcard(id)) {
          // `router rebuild error` re-enables every resource in ERROR; `*` reaches every one.
          await this.#handle('*', event({ driver: '*', id: id.toLowerCase(), tenantId: '*' }, crud, body as unknown as Record<string, unknown>));
          return;
        }
        const ref = await this.#resolve(id);
        // Deviation: commands come through this orchestrator's API only, not to every member as the original's did.
        if (!this.#ownership.owns(ref.id)) throw new BadCommandError(`resource ${ref.id} is handled by orchestrator ${this.#ownership.owner(ref.id) ?? '(none)'}: send the command to its admin API`);
        await this.#handle(ref.tenantId, event(ref, crud, body as unknown as Record<string, unknown>));
        return;
      }
      case TENANT_DEBUG:
      case TENANT_MANAGE: {
        const tenant = body.tenant_id;
        if (!tenant) throw new BadCommandError('tenant_id is required');
        if (isWildcard(tenant)) throw new BadCommandError(`Ignoring instruction to debug all tenants with ${JSON.stringify(tenant)}`);
        const normalized = normalizeTenant(tenant);
        if (body.command === TENANT_DEBUG) {
          await debug.enableTenant(normalized, body.reason);
        } else {
          await debug.disableTenant(normalized);
          await this.#catchUp((e) => e.ref.tenantId === normalized);
        }
        return;
      }
      case GLOBAL_DEBUG:
        if (body.enabled === 1) {
          await debug.enableGlobal(body.reason);
        } else if (body.enabled === 0) {
          await debug.disableGlobal();
          await this.#catchUp(() => true);
        } else {
          throw new BadCommandError('global-debug needs enabled = 1 or 0');
        }
        return;
      default:
        throw new BadCommandError(`unknown command ${JSON.stringify((body as { command?: unknown }).command)}`);
    }
  }

  #idOf(body: CommandBody, wildcardAllowed = false): string {
    const id = (body.resource_id ?? body.router_id ?? '').trim();
    if (!id) throw new BadCommandError('a resource id is required');
    if (!wildcardAllowed && isWildcard(id)) throw new BadCommandError(`Ignoring instruction to debug all resources with ${JSON.stringify(id)}`);
    return id;
  }

  /** A resource by id: one the dispatcher manages, or one the cloud knows; else UnknownTargetError. */
  async #resolve(id: string, debugFlagIsEnough = false): Promise<ResourceRef> {
    const known = this.#find(id)?.ref ?? (await this.options.findResource(id));
    if (known) return known;
    if (debugFlagIsEnough && this.options.debug.resource(id) !== undefined) return { driver: '*', id, tenantId: '*' };
    throw new UnknownTargetError(`no resource ${id}`);
  }

  /** Another cluster member cleared a debug flag: this one's resources it covered catch up. */
  flagCleared(scope: 'global' | 'tenant' | 'resource', id: string): Promise<void> {
    const matches = scope === 'global' ? () => true : scope === 'tenant' ? (e: Entry) => e.ref.tenantId === id : (e: Entry) => e.ref.id === id;
    const run = this.#intake.then(() => this.#catchUp(matches));
    this.#intake = run.catch((error: unknown) => {
      this.#log.error({ err: error, scope, id }, 'catching up after a debug flag was cleared failed');
    });
    return this.#intake;
  }

  /** Deviation: back under management, each resource gets an UPDATE to catch up with what it missed. */
  async #catchUp(matches: (entry: Entry) => boolean): Promise<void> {
    for (const entry of this.#entries().filter(matches)) await this.#handle(entry.ref.tenantId, event(entry.ref, UPDATE));
  }

  #reportStatus(): void {
    const view = this.workers();
    const log = this.#log;
    log.info(`Number of state machines in work queue: ${view.shards.reduce((n, s) => n + s.queue_length, 0)}`);
    log.info(`Number of tenant resource managers managed: ${this.#shards.reduce((n, s) => n + s.tenants.size, 0)}`);
    for (const shard of view.shards) for (const runner of shard.runners) log.info(`Thread p${String(shard.index).padStart(2, '0')}/t${String(runner.index).padStart(2, '0')} is alive. Status: ${runner.status}`);
    if (view.tenants_in_debug.length === 0) log.info('No tenants in debug mode');
    for (const t of view.tenants_in_debug) log.info(`Debugging tenant: ${t.id} (reason: ${t.reason ?? 'none'})`);
    if (view.resources_in_debug.length === 0) log.info('No resources in debug mode');
    for (const r of view.resources_in_debug) log.info(`Debugging resource: ${r.id} (reason: ${r.reason ?? 'none'})`);
    const cluster = this.#ownership.view();
    log.info(cluster.enabled ? `Peer astara-orchestrator hosts: ${cluster.members.join(', ')}` : 'No peer astara-orchestrator hosts, coordination disabled.');
    this.options.onWorkersDebug?.(view);
  }

  // --- views ------------------------------------------------------------------

  #view(entry: Entry): ResourceView {
    const { instance, machine } = entry;
    const debug = this.#debugScope(entry.ref) ?? { enabled: false, scope: null, reason: null };
    return {
      id: entry.ref.id,
      driver: entry.ref.driver,
      tenant_id: entry.ref.tenantId,
      state: machine.stateName,
      instance_state: instance.state,
      action: machine.action,
      queue_length: machine.queue.length,
      boot_attempts: instance.attempts,
      ha: { requested: instance.haRequested, pair: instance.pair },
      appliances: instance.applianceViews,
      last_push: instance.lastPush ?? null,
      last_error: instance.lastError ? { at: new Date(instance.lastError.at).toISOString(), message: instance.lastError.message } : null,
      debug,
      shard: entry.shard.index,
      owner: this.#ownership.enabled ? this.#ownership.owner(entry.ref.id) : null,
    };
  }

  listResources(): ResourceView[] {
    return this.#entries()
      .map((e) => this.#view(e))
      .sort((a, b) => a.tenant_id.localeCompare(b.tenant_id) || a.id.localeCompare(b.id));
  }

  getResource(id: string): ResourceDetailView | undefined {
    const entry = this.#find(id);
    if (!entry) return undefined;
    return { ...this.#view(entry), last_document: redactSecrets(entry.instance.lastDocument ?? null), transitions: [...entry.transitions] };
  }

  workers(): WorkersView {
    const global = this.options.debug.global();
    return {
      shards: this.#shards.map((shard) => ({
        index: shard.index,
        queue_length: shard.queue.length,
        runners_busy: shard.runners.filter((r) => r !== 'waiting for task').length,
        runners: shard.runners.map((status, index) => ({ index, status })),
        resources: [...shard.tenants.values()].reduce((n, t) => n + t.resources.size, 0),
        tenants: shard.tenants.size,
      })),
      global_debug: { enabled: global.enabled, scope: global.enabled ? 'global' : null, reason: global.reason },
      tenants_in_debug: this.options.debug.tenants(),
      resources_in_debug: this.options.debug.resources(),
      cluster: this.#ownership.view(),
    };
  }

  /** Stop taking work and wait (at most `timeoutMs`) for the runners to finish what they are doing. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    for (const entry of this.#entries()) if (entry.timer) clearTimeout(entry.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.#shards.some((s) => s.runners.some((r) => r !== 'waiting for task')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
