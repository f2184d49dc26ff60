// The local provider's networks: one Linux bridge per network in the
// orchestrator's "host" namespace, named as Neutron's linuxbridge agent names
// them, so anything outside (a test's upstream gateway, a guest) can join a
// network by enslaving a veth end to its bridge. Desired state is computed by
// a pure plan from what `ip` reports; only the difference is applied.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { canonicalAddress, parseCidr } from '../../../contract/ip.js';
import { ip, ipJson, isMissingFile, messageOf, writeJsonAtomic } from './commands.js';

/** Linux interface names hold 15 characters; Neutron keeps 11 of the id after a 3-letter prefix. */
const ID_CHARS = 11;

export const bridgeName = (networkId: string): string => `brq${networkId.slice(0, ID_CHARS)}`;
export const tapName = (portId: string): string => `tap${portId.slice(0, ID_CHARS)}`;

export interface BridgeNetwork {
  readonly id: string;
  readonly mtu?: number | null;
}

export interface ManagementBridge {
  readonly networkId: string;
  /** The orchestrator's own address on the management network, with its prefix length. */
  readonly address: string;
}

/** A bridge as `ip -d -j link show type bridge` reports it: the fields a sync compares. */
export interface ObservedBridge {
  readonly name: string;
  readonly mtu: number;
  readonly up: boolean;
  readonly stpState: number | undefined;
  readonly forwardDelay: number | undefined;
  readonly mcastSnooping: number | undefined;
}

/** What this orchestrator made, so that it never deletes a bridge or an address someone else made. */
export interface BridgeRecord {
  readonly bridges: readonly string[];
  readonly managementAddress: { readonly bridge: string; readonly address: string } | null;
}

export const EMPTY_BRIDGE_RECORD: BridgeRecord = { bridges: [], managementAddress: null };

export interface BridgePlanInput {
  readonly networks: readonly BridgeNetwork[];
  readonly management: ManagementBridge;
  readonly observed: readonly ObservedBridge[];
  /** Addresses (`address/prefix`) present now, per bridge; only bridges that were read need an entry. */
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  readonly record: BridgeRecord;
}

export interface BridgePlan {
  /** `ip -batch` lines, in the order they must run. */
  readonly commands: readonly string[];
  readonly create: readonly string[];
  readonly remove: readonly string[];
  /** The record once the commands have run. */
  readonly record: BridgeRecord;
}

/** The result of one sync: what changed, and every mutating command it ran (none when nothing differed). */
export interface BridgeSyncReport {
  readonly created: readonly string[];
  readonly removed: readonly string[];
  readonly commands: readonly string[];
}

interface IpBridgeLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly flags?: readonly string[];
  readonly linkinfo?: { readonly info_data?: { readonly stp_state?: number; readonly forward_delay?: number; readonly mcast_snooping?: number } };
}

interface IpAddrLink {
  readonly addr_info?: readonly { readonly local: string; readonly prefixlen: number }[];
}

export function parseBridges(links: readonly IpBridgeLink[]): ObservedBridge[] {
  return links.map((link) => ({
    name: link.ifname,
    mtu: link.mtu,
    up: link.flags?.includes('UP') ?? false,
    stpState: link.linkinfo?.info_data?.stp_state,
    forwardDelay: link.linkinfo?.info_data?.forward_delay,
    mcastSnooping: link.linkinfo?.info_data?.mcast_snooping,
  }));
}

export function parseAddresses(links: readonly IpAddrLink[]): string[] {
  return links.flatMap((link) => (link.addr_info ?? []).map((a) => `${canonicalAddress(a.local)}/${a.prefixlen}`));
}

/** Parse the management address, naming it when it is not `address/prefix`. */
function managementCidr(address: string): { cidr: string; family: 4 | 6 } {
  const parsed = parseCidr(address);
  if (!parsed) throw new Error(`management address ${address} is not an address with a prefix length`);
  return { cidr: parsed.cidr, family: parsed.family };
}

/** The commands that turn the observed bridges into the desired ones. Pure. */
export function planBridges(input: BridgePlanInput): BridgePlan {
  const { management, record } = input;
  const mtus = new Map<string, number | undefined>();
  const owners = new Map<string, string>();
  const desired = input.networks.some((n) => n.id === management.networkId) ? input.networks : [...input.networks, { id: management.networkId }];
  for (const network of desired) {
    const name = bridgeName(network.id);
    const owner = owners.get(name);
    if (owner !== undefined && owner !== network.id) throw new Error(`networks ${owner} and ${network.id} would share bridge ${name}`);
    owners.set(name, network.id);
    const mtu = network.mtu ?? undefined;
    if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) throw new Error(`network ${network.id}: MTU ${mtu} is not usable (68-65535)`);
    if (mtu !== undefined || !mtus.has(name)) mtus.set(name, mtu);
  }

  const observed = new Map(input.observed.map((b) => [b.name, b]));
  const commands: string[] = [];
  const create: string[] = [];
  for (const [name, mtu] of mtus) {
    const bridge = observed.get(name);
    if (!bridge) {
      create.push(name);
      // No STP and no forward delay: a new port forwards at once. No multicast
      // snooping: it would drop IPv6 neighbour solicitations it has not seen a report for.
      commands.push(`link add name ${name}${mtu === undefined ? '' : ` mtu ${mtu}`} up type bridge stp_state 0 forward_delay 0 mcast_snooping 0`);
      continue;
    }
    if (mtu !== undefined && bridge.mtu !== mtu) commands.push(`link set dev ${name} mtu ${mtu}`);
    // STP off first: the kernel refuses a forward delay below 2 s while STP is on.
    if (bridge.stpState !== 0) commands.push(`link set dev ${name} type bridge stp_state 0`);
    if (bridge.forwardDelay !== 0 || bridge.mcastSnooping !== 0) commands.push(`link set dev ${name} type bridge forward_delay 0 mcast_snooping 0`);
    if (!bridge.up) commands.push(`link set dev ${name} up`);
  }

  const remove = record.bridges.filter((name) => observed.has(name) && !mtus.has(name));

  const wanted = managementCidr(management.address);
  const managementBridge = bridgeName(management.networkId);
  if (!(input.addresses.get(managementBridge) ?? []).includes(wanted.cidr)) {
    commands.push(`addr add ${wanted.cidr} dev ${managementBridge}${wanted.family === 6 ? ' nodad' : ''}`);
  }
  const previous = record.managementAddress;
  if (
    previous &&
    (previous.bridge !== managementBridge || previous.address !== wanted.cidr) &&
    !remove.includes(previous.bridge) &&
    (input.addresses.get(previous.bridge) ?? []).includes(previous.address)
  ) {
    commands.push(`addr del ${previous.address} dev ${previous.bridge}`);
  }
  commands.push(...remove.map((name) => `link del dev ${name}`));

  const kept = record.bridges.filter((name) => observed.has(name) && mtus.has(name));
  return {
    commands,
    create,
    remove,
    record: { bridges: [...kept, ...create], managementAddress: { bridge: managementBridge, address: wanted.cidr } },
  };
}

export function parseBridgeRecord(value: unknown, source: string): BridgeRecord {
  if (typeof value !== 'object' || value === null) throw new Error(`${source}: not a JSON object`);
  const { bridges, managementAddress } = value as Record<string, unknown>;
  if (!Array.isArray(bridges) || !bridges.every((b) => typeof b === 'string')) throw new Error(`${source}: bridges is not a list of names`);
  if (managementAddress === null || managementAddress === undefined) return { bridges, managementAddress: null };
  const { bridge, address } = managementAddress as Record<string, unknown>;
  if (typeof bridge !== 'string' || typeof address !== 'string') throw new Error(`${source}: managementAddress needs a bridge and an address`);
  return { bridges, managementAddress: { bridge, address } };
}

export interface LocalBridgesOptions {
  /** Where the record of the bridges this orchestrator made is kept (`bridges.json`). */
  readonly stateDir: string;
  /** Run every command in this named network namespace instead of the current one. */
  readonly hostNetns?: string;
  readonly logger?: Logger;
}

export class LocalBridges {
  readonly #recordPath: string;
  readonly #hostNetns: string | undefined;
  readonly #logger: Logger | undefined;
  // Two syncs must not interleave their reads and writes.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalBridgesOptions) {
    this.#recordPath = join(options.stateDir, 'bridges.json');
    this.#hostNetns = options.hostNetns;
    this.#logger = options.logger;
  }

  /** Make the bridges match `networks` (the management network's always included) and give the management bridge the address. */
  sync(networks: readonly BridgeNetwork[], management: ManagementBridge): Promise<BridgeSyncReport> {
    return this.#serialized(async () => {
      const record = await this.#readRecord();
      const observed = await this.#observe();
      const names = new Set(observed.map((b) => b.name));
      const addresses = new Map<string, string[]>();
      for (const name of [bridgeName(management.networkId), record.managementAddress?.bridge]) {
        if (name !== undefined && names.has(name) && !addresses.has(name)) {
          addresses.set(name, parseAddresses(await ipJson<IpAddrLink>(this.#hostNetns, ['addr', 'show', 'dev', name])));
        }
      }
      const plan = planBridges({ networks, management, observed, addresses, record });
      if (plan.commands.length > 0) {
        // Recorded before they exist: a crash part-way must not leave a bridge of ours unrecorded.
        await this.#writeRecord({ ...record, bridges: [...new Set([...record.bridges, ...plan.create])] });
        await ip(this.#hostNetns, ['-batch', '-'], { input: `${plan.commands.join('\n')}\n` });
      }
      if (JSON.stringify(plan.record) !== JSON.stringify(record)) await this.#writeRecord(plan.record);
      if (plan.commands.length > 0) this.#logger?.info({ created: plan.create, removed: plan.remove, commands: plan.commands.length }, 'bridges synchronised');
      return { created: plan.create, removed: plan.remove, commands: plan.commands };
    });
  }

  /** Delete every bridge this orchestrator made (a clean stop, or a test's end); returns their names. */
  destroyAll(): Promise<string[]> {
    return this.#serialized(async () => {
      const record = await this.#readRecord();
      const present = new Set((await this.#observe()).map((b) => b.name));
      const remove = record.bridges.filter((name) => present.has(name));
      if (remove.length > 0) await ip(this.#hostNetns, ['-batch', '-'], { input: remove.map((name) => `link del dev ${name}\n`).join('') });
      await rm(this.#recordPath, { force: true });
      if (remove.length > 0) this.#logger?.info({ removed: remove }, 'bridges removed');
      return remove;
    });
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #observe(): Promise<ObservedBridge[]> {
    return parseBridges(await ipJson<IpBridgeLink>(this.#hostNetns, ['-d', 'link', 'show', 'type', 'bridge']));
  }

  async #readRecord(): Promise<BridgeRecord> {
    let text: string;
    try {
      text = await readFile(this.#recordPath, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return EMPTY_BRIDGE_RECORD;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.#recordPath}: not JSON (${messageOf(error)})`);
    }
    return parseBridgeRecord(value, this.#recordPath);
  }

  #writeRecord(record: BridgeRecord): Promise<void> {
    return writeJsonAtomic(this.#recordPath, record);
  }
}
