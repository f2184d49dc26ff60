// The appliances of one resource (the original's InstanceManager and
// InstanceGroupManager): find them, tell whether they answer and what they
// hold, boot, plug, configure and stop them, through the compute and network
// providers and the appliance's own API. Deliberate differences from the
// original, each marked where it happens:
// - boot_timeout is enforced: an appliance that does not answer within it is
//   a failed boot (the original polled a silent appliance forever);
// - an appliance that exists but does not answer is destroyed before its
//   replacement boots (the original booted nothing while it existed);
// - an appliance that answers but holds another document than the one last
//   pushed to it (an agent that came back with an empty state, a generation
//   that moved) is configured again;
// - a document the agent refuses (422) is an ERROR of the resource carrying
//   the agent's message, with no cool-down (nothing to protect by waiting) and
//   no reboot (a new appliance would refuse it too);
// - an identical document is not pushed again, and an appliance adopted after
//   an orchestrator restart is compared with what it holds before pushing;
// - HA pairs: a router's `ha` decides how many appliances it gets only when
//   they are booted from nothing (creation, rebuild, all lost), so a running
//   pair or single appliance keeps its shape until a rebuild (the original
//   counted the router's current `ha` at every look); a lost member is
//   rebuilt under its own name (`_0`, `_1`) and ports, not as `_<n+1>`; a
//   member still booting is waited for, not replaced; pushes go to the oldest
//   member first.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Configuration } from '../../contract/schema.js';
import { ConfigRejectedError, type AgentHaStatus, type AgentStatus } from '../client/appliance.js';
import type { NeutronPort } from '../model/neutron.js';
import { managementAddressOf, type ComputeProvider, type InstanceInfo, type NetworkProvider } from '../providers/types.js';
import type { ApplianceHealth, ApplianceView, OrchestratorMetricsSink, PushView } from './control.js';
import { HA_MEMBERS, memberIndex, memberName, type HaPeering, type ResourceDriver } from './driver.js';
import { BOOTING, CONFIGURED, DEGRADED, DOWN, ERROR, GONE, REPLUG, RESTART, UP, type InstanceManagerApi, type InstanceState } from './instance-state.js';

/** The parts of the appliance client the instance manager uses. */
export interface ApplianceApi {
  status(address: string, port: number): Promise<AgentStatus | undefined>;
  interfaces(address: string, port: number): Promise<readonly { readonly ifname: string; readonly lladdr?: string | null }[]>;
  config(address: string, port: number): Promise<unknown>;
  pushConfig(address: string, port: number, document: unknown): Promise<{ generation: number }>;
}

export interface InstanceManagerTimings {
  /** Attempts of each alive check and of each push (`max_retries`). */
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly bootTimeoutMs: number;
  readonly hotplugTimeoutMs: number;
  readonly errorStateCooldownMs: number;
}

export interface InstanceManagerOptions {
  readonly driver: ResourceDriver;
  readonly compute: ComputeProvider;
  readonly network: NetworkProvider;
  readonly client: ApplianceApi;
  readonly timings: () => InstanceManagerTimings;
  readonly log: Logger;
  readonly metrics: OrchestratorMetricsSink;
  readonly imageId: string | undefined;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What was pushed to one appliance: the agent's generation after it and the document's digest. */
interface PushRecord {
  readonly generation: number;
  readonly digest: string;
}

type ErrorKind = 'boot' | 'config';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const HOTPLUG_POLL_MS = 100;
/** The VRRP priorities of notes 7.3: the oldest member leads. */
const LEADER_PRIORITY = 100;
const FOLLOWER_PRIORITY = 50;
const UNKNOWN_VRRP: AgentHaStatus = { state: 'unknown', since: null, peer: null };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const digestOf = (document: unknown): string => createHash('sha256').update(JSON.stringify(document)).digest('hex');

export class InstanceManager implements InstanceManagerApi {
  state: InstanceState = DOWN;
  attempts = 0;
  imageId: string | undefined;
  lastError: { readonly at: number; readonly message: string } | undefined;
  lastPush: PushView | undefined;
  lastDocument: Configuration | undefined;

  #instances: InstanceInfo[] = [];
  /** Ids of the instances that answered the last alive check. */
  #alive = new Set<string>();
  /** Ids of the instances that answered at least once since they were booted or adopted. */
  readonly #answered = new Set<string>();
  /** The generation each instance reported at the last alive check. */
  readonly #generations = new Map<string, number | undefined>();
  /** The VRRP state each HA member reported at the last alive check. */
  readonly #vrrp = new Map<string, AgentHaStatus>();
  readonly #pushed = new Map<string, PushRecord>();
  #errorAt: number | undefined;
  #errorKind: ErrorKind | undefined;
  #lastSynced: InstanceState | undefined;
  /** What went wrong last (a boot, a push, a hot-plug), for the error an operator reads. */
  #failure: string | undefined;
  /** Instances this manager booted whose first success is not logged yet (an adopted one was not booted here). */
  readonly #bootedHere = new Set<string>();
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: InstanceManagerOptions) {
    this.imageId = options.imageId;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  get instances(): readonly InstanceInfo[] {
    return this.#instances;
  }

  get errorCooldown(): boolean {
    if (this.state !== ERROR || this.#errorAt === undefined || this.#errorKind !== 'boot') return false;
    return this.#now() - this.#errorAt < this.options.timings().errorStateCooldownMs;
  }

  get #driver(): ResourceDriver {
    return this.options.driver;
  }

  get #log(): Logger {
    return this.options.log;
  }

  /** What the resource asks for: an HA pair (a router's `ha`, as last read). */
  get haRequested(): boolean {
    return this.#driver.isHa;
  }

  /**
   * Whether the resource runs as an HA pair: what its appliances are, or,
   * with none, what it asks for. So a changed `ha` takes effect when the
   * appliances are booted from nothing, as after a rebuild.
   */
  get pair(): boolean {
    if (this.#instances.length === 0) return this.#driver.isHa;
    return this.#instances.some((i) => this.#memberOf(i) !== undefined);
  }

  /** What the admin API shows of each appliance. */
  get applianceViews(): ApplianceView[] {
    const pair = this.pair;
    return this.#instances.map((i) => ({
      name: i.name,
      id: i.id,
      status: i.status,
      health: this.#health(i),
      management_address: managementAddressOf(i) ?? null,
      booted_at: new Date(i.bootedAt).toISOString(),
      ha: pair ? (this.#vrrp.get(i.id) ?? UNKNOWN_VRRP) : null,
      details: i.details,
    }));
  }

  #requiredCount(): number {
    return this.pair ? HA_MEMBERS.length : 1;
  }

  /** The HA member index of an instance; undefined for a single appliance. */
  #memberOf(instance: InstanceInfo): number | undefined {
    return memberIndex(instance.name, this.#driver.name);
  }

  /** Never answered since its boot, which was less than boot_timeout ago. */
  #stillBooting(instance: InstanceInfo): boolean {
    return !this.#answered.has(instance.id) && this.#now() - instance.bootedAt <= this.options.timings().bootTimeoutMs;
  }

  #health(instance: InstanceInfo): ApplianceHealth {
    if (this.#alive.has(instance.id)) return 'answering';
    return this.#stillBooting(instance) ? 'booting' : 'silent';
  }

  async #sync(): Promise<void> {
    if (this.#lastSynced === this.state) return;
    this.#lastSynced = this.state;
    try {
      await this.#driver.synchronizeState(this.state);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not report the state to the cloud');
    }
  }

  /** The instances as the compute provider sees them now, oldest name first. */
  async #refreshInstances(): Promise<void> {
    const found = await this.options.compute.listInstances(this.#driver.name);
    found.sort((a, b) => a.name.localeCompare(b.name));
    this.#instances = found;
    const ids = new Set(found.map((i) => i.id));
    for (const map of [this.#generations, this.#pushed, this.#vrrp]) for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
    for (const set of [this.#alive, this.#answered]) for (const id of set) if (!ids.has(id)) set.delete(id);
  }

  /** Which instances answer, trying each one up to max_retries times; records their generations. */
  async #areAlive(): Promise<{ alive: InstanceInfo[]; dead: InstanceInfo[] }> {
    const alive = new Set<string>();
    const started = performance.now();
    const { maxRetries } = this.options.timings();
    for (let attempt = 0; attempt < maxRetries && alive.size < this.#instances.length; attempt++) {
      await Promise.all(
        this.#instances
          .filter((i) => !alive.has(i.id))
          .map(async (instance) => {
            const address = managementAddressOf(instance);
            if (!address) return;
            const status = await this.options.client.status(address, this.#driver.servicePort);
            if (!status) return;
            alive.add(instance.id);
            this.#answered.add(instance.id);
            this.#generations.set(instance.id, status.generation);
            if (status.ha) this.#vrrp.set(instance.id, status.ha);
            else this.#vrrp.delete(instance.id);
          }),
      );
    }
    this.options.metrics.poll((performance.now() - started) / 1000, alive.size > 0);
    for (const instance of this.#instances) if (!alive.has(instance.id)) this.#vrrp.delete(instance.id);
    this.#alive = alive;
    return { alive: this.#instances.filter((i) => alive.has(i.id)), dead: this.#instances.filter((i) => !alive.has(i.id)) };
  }

  async updateState(): Promise<InstanceState> {
    await this.#refreshInstances();
    if (!(await this.#driver.refresh())) {
      this.state = GONE;
    } else if (this.#instances.length === 0) {
      this.#log.debug('no backing instance(s), marking as down');
      this.state = DOWN;
    } else if (this.#instances.length < this.#requiredCount()) {
      this.state = DEGRADED;
    } else if (!this.#instances.some((i) => managementAddressOf(i))) {
      this.state = BOOTING;
    } else {
      await this.#checkAlive();
    }
    await this.#sync();
    return this.state;
  }

  async #checkAlive(): Promise<void> {
    const { alive, dead } = await this.#areAlive();
    if (alive.length === 0) {
      if (this.state === CONFIGURED) {
        this.#log.info('the appliance stopped answering');
        this.state = DOWN;
        return;
      }
      // Deviation: the original never enforced a boot timeout.
      const newest = Math.max(...this.#instances.map((i) => i.bootedAt));
      if (this.state === BOOTING && this.#now() - newest > this.options.timings().bootTimeoutMs) {
        this.#failure = `the appliance did not answer within boot_timeout (${this.options.timings().bootTimeoutMs / 1000} s)`;
        this.#log.warn(this.#failure);
        this.state = DOWN;
      }
      return;
    }
    if (dead.length > 0) {
      if (this.state === CONFIGURED) {
        // The silent member stays listed: boot() destroys it before booting its replacement.
        this.#log.info({ dead: dead.map((i) => i.name) }, 'part of the cluster stopped answering');
        this.state = DEGRADED;
      } else if (dead.some((i) => this.#stillBooting(i))) {
        this.state = BOOTING;
      } else {
        // Configure the members that answer; the push leaves the pair DEGRADED, which rebuilds the others.
        this.state = UP;
      }
      return;
    }
    if (this.state === CONFIGURED) {
      // Deviation: an appliance that holds another document than the one pushed to it is configured again.
      const moved = alive.filter((i) => this.#pushed.get(i.id)?.generation !== this.#generations.get(i.id));
      if (moved.length > 0) {
        this.#log.info(
          { appliances: moved.map((i) => ({ name: i.name, pushed: this.#pushed.get(i.id)?.generation ?? null, holds: this.#generations.get(i.id) ?? null })) },
          'the appliance holds another document than the one last pushed to it',
        );
        this.state = UP;
        return;
      }
      for (const instance of alive) {
        if (!this.#bootedHere.delete(instance.id)) continue;
        this.#log.info({ appliance: instance.name, attempts: this.attempts }, `${this.#driver.ref.driver} booted in ${((this.#now() - instance.bootedAt) / 1000).toFixed(1)} seconds after ${this.attempts} attempts`);
      }
      this.attempts = 0;
      this.#failure = undefined;
    } else {
      this.state = UP;
    }
  }

  async boot(): Promise<void> {
    const degraded = this.state === DEGRADED;
    if (!degraded) {
      this.state = DOWN;
      this.attempts++;
    }
    try {
      // Deviation: what exists but does not answer is destroyed first, so it
      // is replaced; but a pair member still booting is what a CLUSTER_REBUILD
      // waits for, not something to replace.
      const silent = this.#instances.filter((i) => !this.#alive.has(i.id) && !(degraded && this.#stillBooting(i)));
      if (silent.length > 0) {
        this.#log.info({ appliances: silent.map((i) => i.name) }, 'destroying appliances that do not answer before booting');
        await this.options.compute.destroy(silent, this.options.timings().bootTimeoutMs);
        this.#instances = this.#instances.filter((i) => !silent.includes(i));
      }
      await this.#driver.refresh();
      const pair = this.pair;
      const taken = new Set(this.#instances.map((i) => i.name));
      const wanted = pair ? HA_MEMBERS.map((index) => memberName(this.#driver.name, index)) : [this.#driver.name];
      for (const [index, name] of wanted.entries()) {
        if (taken.has(name)) continue;
        const booted = await this.#bootOne(name, index, pair ? index : undefined);
        this.#instances.push(booted);
        this.#bootedHere.add(booted.id);
        this.options.metrics.boot(this.#driver.ref.driver);
      }
      this.#instances.sort((a, b) => a.name.localeCompare(b.name));
      this.state = BOOTING;
    } catch (error) {
      this.#failure = messageOf(error);
      this.#log.error({ err: error }, 'Instances failed to start boot');
    }
  }

  /** Boot appliance `name`, the resource's `index`th (its management port's index), HA member `member` or the single appliance. */
  async #bootOne(name: string, index: number, member: number | undefined): Promise<InstanceInfo> {
    const { network, compute } = this.options;
    const ref = this.#driver.ref;
    const managementPort = await network.ensureManagementPort(ref, index);
    const ports: NeutronPort[] = [];
    for (const logical of this.#driver.ports) ports.push(await network.ensureAppliancePort(ref, logical, member));
    this.#log.info({ appliance: name, image: this.imageId ?? null, attempt: this.attempts }, 'booting an appliance');
    return compute.boot({
      name,
      resource: ref,
      managementPort,
      managementInterface: network.managementInterface(managementPort),
      ports,
      mtus: await this.#driver.mtus(),
      imageId: this.imageId,
      servicePort: this.#driver.servicePort,
    });
  }

  async stop(): Promise<InstanceState> {
    try {
      await this.#refreshInstances();
      if (this.#instances.length > 0) {
        this.#log.info({ appliances: this.#instances.map((i) => i.name) }, 'stopping the appliances');
        await this.options.compute.destroy(this.#instances, this.options.timings().bootTimeoutMs);
        this.#instances = [];
        this.#alive.clear();
        this.#answered.clear();
      }
      await this.options.network.deleteAppliancePorts(this.#driver.ref);
      if (this.state !== GONE) this.state = DOWN;
    } catch (error) {
      this.#log.error({ err: error }, 'could not stop the appliances');
    }
    await this.#sync();
    return this.state;
  }

  async configure(): Promise<InstanceState> {
    this.state = UP;
    if (!(await this.#driver.refresh())) {
      this.state = GONE;
    } else if (this.#instances.length === 0) {
      this.state = DOWN;
    } else {
      const live = await this.#liveInterfaces();
      if (!this.#interfacesMatch(live)) {
        this.state = REPLUG;
      } else {
        this.state = await this.#configureAll(live);
      }
    }
    await this.#sync();
    if (this.state === CONFIGURED) {
      await this.#driver.configured?.().catch((error: unknown) => this.#log.warn({ err: error }, 'could not report the configuration to the cloud'));
    }
    return this.state;
  }

  /** The interfaces each alive instance reports, by instance id. */
  async #liveInterfaces(): Promise<Map<string, readonly { readonly ifname: string; readonly lladdr?: string | null }[]>> {
    const result = new Map<string, readonly { ifname: string; lladdr?: string | null }[]>();
    for (const instance of this.#instances) {
      const address = managementAddressOf(instance);
      if (!address || !this.#alive.has(instance.id)) continue;
      result.set(instance.id, await this.options.client.interfaces(address, this.#driver.servicePort));
    }
    return result;
  }

  /** Every live instance has exactly the resource's networks plugged, with the MACs the appliance reports. */
  #interfacesMatch(live: ReadonlyMap<string, readonly { readonly lladdr?: string | null }[]>): boolean {
    const logical = this.#driver.ports;
    for (const instance of this.#instances) {
      const interfaces = live.get(instance.id);
      if (!interfaces) continue;
      if (instance.ports.length !== logical.length) return false;
      const member = this.#memberOf(instance);
      if (!logical.every((l) => instance.ports.some((p) => this.options.network.appliancePortMatches(p, l, member)))) return false;
      const expected = new Set([...instance.ports, ...(instance.managementPort ? [instance.managementPort] : [])].map((p) => p.mac_address.toLowerCase()));
      const actual = new Set(interfaces.map((i) => (i.lladdr ?? '').toLowerCase()));
      if (!isDeepStrictEqual(expected, actual)) return false;
    }
    return true;
  }

  async #configureAll(live: ReadonlyMap<string, readonly { readonly ifname: string; readonly lladdr?: string | null }[]>): Promise<InstanceState> {
    // Oldest first: a replacement member must not hear its survivor at the old priority.
    const targets = this.#instances.filter((i) => live.has(i.id)).sort((a, b) => a.bootedAt - b.bootedAt);
    let configured = 0;
    let rejected: string | undefined;
    for (const instance of targets) {
      const outcome = await this.#configureOne(instance, live.get(instance.id)!);
      if (outcome === true) configured++;
      else if (typeof outcome === 'string') rejected = outcome;
    }
    if (rejected !== undefined) {
      await this.#enterError('config', rejected);
      return ERROR;
    }
    if (configured === 0) return RESTART;
    // A pair with a member missing (removed by a failed hot-plug) is DEGRADED too.
    if (configured < Math.max(this.#instances.length, this.#requiredCount())) return DEGRADED;
    return CONFIGURED;
  }

  /** true when the appliance holds the document, false when pushing failed, a message when the agent refused it. */
  async #configureOne(instance: InstanceInfo, interfaces: readonly { readonly ifname: string; readonly lladdr?: string | null }[]): Promise<boolean | string> {
    const address = managementAddressOf(instance)!;
    const port = this.#driver.servicePort;
    const map = this.#interfaceMap(instance, interfaces);
    let document: Configuration;
    try {
      document = await this.#driver.buildConfig(instance.managementPort!, map, this.pair ? await this.#haPeering(instance) : undefined);
    } catch (error) {
      this.#log.error({ err: error, appliance: instance.name }, 'could not build the configuration');
      return false;
    }
    this.lastDocument = document;
    const digest = digestOf(document);
    const pushed = this.#pushed.get(instance.id);
    const holds = this.#generations.get(instance.id);
    if (pushed && pushed.digest === digest && holds !== undefined && pushed.generation === holds) return true;
    if (!pushed && holds !== undefined && holds > 0) {
      // Adopted (the orchestrator restarted): keep what the appliance holds if it is this very document.
      try {
        const held = await this.options.client.config(address, port);
        if (isDeepStrictEqual(held, JSON.parse(JSON.stringify(document)) as unknown)) {
          this.#pushed.set(instance.id, { generation: holds, digest });
          this.#log.info({ appliance: instance.name, generation: holds }, 'the appliance already holds this document');
          return true;
        }
      } catch (error) {
        this.#log.debug({ err: error }, 'could not read the document the appliance holds');
      }
    }
    const { maxRetries, retryDelayMs } = this.options.timings();
    for (let attempt = 1; attempt <= maxRetries; attempt++) {
      const started = performance.now();
      try {
        const { generation } = await this.options.client.pushConfig(address, port, document);
        const seconds = (performance.now() - started) / 1000;
        this.#pushed.set(instance.id, { generation, digest });
        this.#generations.set(instance.id, generation);
        this.options.metrics.push(true, seconds);
        this.lastPush = { at: new Date(this.#now()).toISOString(), ok: true, duration_ms: Math.round(seconds * 1000), generation, error: null };
        this.#log.info({ appliance: instance.name, generation, ms: this.lastPush.duration_ms }, 'configuration pushed');
        return true;
      } catch (error) {
        const seconds = (performance.now() - started) / 1000;
        const message = messageOf(error);
        this.options.metrics.push(false, seconds);
        this.lastPush = { at: new Date(this.#now()).toISOString(), ok: false, duration_ms: Math.round(seconds * 1000), generation: null, error: message };
        if (error instanceof ConfigRejectedError) {
          this.#log.error({ appliance: instance.name, details: error.details }, `the appliance refused the configuration: ${message}`);
          return message;
        }
        this.#log.warn({ err: error, appliance: instance.name, attempt }, 'configuration push failed');
        this.#failure = `configuration push failed: ${message}`;
        if (attempt < maxRetries) await this.#sleep(retryDelayMs);
      }
    }
    return false;
  }

  /** Network id -> `geN`, from the MACs of what is plugged and what the appliance reports. */
  #interfaceMap(instance: InstanceInfo, interfaces: readonly { readonly ifname: string; readonly lladdr?: string | null }[]): Map<string, string> {
    const networkByMac = new Map<string, string>();
    for (const port of [...(instance.managementPort ? [instance.managementPort] : []), ...instance.ports]) {
      networkByMac.set(port.mac_address.toLowerCase(), port.network_id);
    }
    const map = new Map<string, string>();
    for (const { ifname, lladdr } of interfaces) {
      const network = networkByMac.get((lladdr ?? '').toLowerCase());
      if (network) map.set(network, ifname);
    }
    return map;
  }

  /**
   * An HA member's peers (the other members' management addresses) and its
   * VRRP priority: the oldest member leads (notes 7.3). A member that is not
   * there (removed by a failed hot-plug) is named by the management port its
   * replacement will have, so a member never gets a document without a peer.
   */
  async #haPeering(instance: InstanceInfo): Promise<HaPeering> {
    const own = this.#memberOf(instance);
    const peers: string[] = [];
    for (const index of HA_MEMBERS.filter((i) => i !== own)) {
      const other = this.#instances.find((i) => this.#memberOf(i) === index);
      const address = other ? managementAddressOf(other) : (await this.options.network.ensureManagementPort(this.#driver.ref, index)).fixed_ips[0]?.ip_address;
      if (address !== undefined) peers.push(address);
    }
    const oldest = [...this.#instances].sort((a, b) => a.bootedAt - b.bootedAt)[0];
    return { peers, priority: oldest?.id === instance.id ? LEADER_PRIORITY : FOLLOWER_PRIORITY };
  }

  async replug(): Promise<InstanceState> {
    const { compute, network, client } = this.options;
    const logical = this.#driver.ports;
    const mtus = await this.#driver.mtus();
    for (const instance of [...this.#instances]) {
      const address = managementAddressOf(instance);
      if (!address || !this.#alive.has(instance.id)) continue;
      const plugged = [...instance.ports, ...(instance.managementPort ? [instance.managementPort] : [])];
      const actual = new Set((await client.interfaces(address, this.#driver.servicePort)).map((i) => (i.lladdr ?? '').toLowerCase()));
      if (!isDeepStrictEqual(actual, new Set(plugged.map((p) => p.mac_address.toLowerCase())))) {
        this.#log.warn('the appliance has other interfaces than the ones plugged into it; restarting it');
        this.state = RESTART;
        await this.#sync();
        return this.state;
      }
      let current = instance;
      const member = this.#memberOf(instance);
      try {
        for (const port of instance.ports.filter((p) => !logical.some((l) => network.appliancePortMatches(p, l, member)))) {
          this.#log.info({ appliance: instance.name, port: port.id, network: port.network_id }, 'unplugging a network');
          current = await compute.detachInterface(current, port);
        }
        for (const port of logical.filter((l) => !current.ports.some((p) => network.appliancePortMatches(p, l, member)))) {
          this.#log.info({ appliance: instance.name, port: port.id, network: port.network_id }, 'plugging a network');
          current = await compute.attachInterface(current, await network.ensureAppliancePort(this.#driver.ref, port, member), mtus[port.network_id]);
        }
        if (!(await this.#waitForHotplug(current, address))) throw new Error(`the appliance did not see its new interfaces within ${this.options.timings().hotplugTimeoutMs} ms`);
        this.#instances = this.#instances.map((i) => (i.id === current.id ? current : i));
      } catch (error) {
        this.#failure = `hot-plug failed: ${messageOf(error)}`;
        this.#log.error({ err: error, appliance: instance.name }, 'hot-plug failed; removing the appliance');
        await compute.destroy([current], this.options.timings().bootTimeoutMs).catch((e: unknown) => this.#log.error({ err: e }, 'could not remove the appliance'));
        this.#instances = this.#instances.filter((i) => i.id !== instance.id);
        this.#alive.delete(instance.id);
      }
    }
    if (this.#instances.length === 0) this.state = RESTART;
    else if (this.#instances.length < this.#requiredCount()) this.state = DEGRADED;
    await this.#sync();
    return this.state;
  }

  async #waitForHotplug(instance: InstanceInfo, address: string): Promise<boolean> {
    const expected = new Set([...instance.ports, ...(instance.managementPort ? [instance.managementPort] : [])].map((p) => p.mac_address.toLowerCase()));
    const deadline = this.#now() + this.options.timings().hotplugTimeoutMs;
    for (;;) {
      try {
        const actual = new Set((await this.options.client.interfaces(address, this.#driver.servicePort)).map((i) => (i.lladdr ?? '').toLowerCase()));
        if (isDeepStrictEqual(actual, expected)) return true;
      } catch (error) {
        this.#log.debug({ err: error }, 'interface listing failed while waiting for a hot-plug');
      }
      if (this.#now() >= deadline) return false;
      await this.#sleep(HOTPLUG_POLL_MS);
    }
  }

  async setError(): Promise<void> {
    const reason = this.#failure ?? 'the appliance never answered';
    await this.#enterError('boot', `${this.attempts} boot attempts failed; the last one: ${reason}`);
  }

  async #enterError(kind: ErrorKind, message: string): Promise<void> {
    this.state = ERROR;
    this.#errorAt = this.#now();
    this.#errorKind = kind;
    this.lastError = { at: this.#errorAt, message };
    this.options.metrics.error(this.#driver.ref.driver);
    this.#log.error({ kind }, `resource in ERROR: ${message}`);
    await this.#sync();
  }

  async clearError(): Promise<void> {
    this.attempts = 0;
    this.state = DOWN;
    this.#errorKind = undefined;
    this.#log.info('clearing the error state');
    await this.#sync();
  }

  resetBootCounter(): void {
    this.attempts = 0;
  }
}
