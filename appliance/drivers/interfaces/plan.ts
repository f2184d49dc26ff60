// The difference between the desired interfaces and the live ones, as the
// lines of one `ip -batch` and the lines that undo it. Pure, so it can be
// tested without a host.
import { isLinkLocal, lastAddress, parseAddress } from '../../../contract/index.js';
import type { BatchStep } from '../../host/ip-batch.js';
import type { InterfacesDesired } from './render.js';

/** One address of `ip -j addr show`. */
export interface LiveAddress {
  /** `inet` or `inet6` (other families are ignored). */
  readonly family: string;
  readonly local: string;
  readonly prefixlen: number;
  readonly broadcast?: string;
}

/** One link of `ip -j addr show`, the fields the plan reads. */
export interface LiveLink {
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly addr_info: readonly LiveAddress[];
}

export interface InterfacesPlan {
  /** `ip -batch` lines with their undo, in order: link settings, then addresses. */
  readonly steps: readonly BatchStep[];
  /** IPv4 addresses that leave the configured interfaces: their connection-tracking entries go. */
  readonly removedV4: readonly string[];
  /** Whether an address is deleted (the kernel may then drop routes that undo must put back). */
  readonly deletesAddresses: boolean;
  /** A link is set up or given another MTU. */
  readonly changesLinks: boolean;
}

/**
 * The links as the apply of `previous` left them, when that is known without
 * reading the host: the host is verified to hold it (see the engine), and
 * `desired` has the same interfaces with the same settings, so that only
 * addresses differ. Undefined when the host must be read: other interfaces
 * or settings, or keepalived's addresses (present or not by VRRP state).
 */
export function linksLeftBy(previous: InterfacesDesired, desired: InterfacesDesired): LiveLink[] | undefined {
  if (previous.interfaces.length !== desired.interfaces.length) return undefined;
  const same = previous.interfaces.every((p, i) => {
    const d = desired.interfaces[i]!;
    return p.device === d.device && p.dad === d.dad && p.mtu === d.mtu && p.keepalived === undefined && d.keepalived === undefined;
  });
  if (!same) return undefined;
  return previous.interfaces.map((i) => ({
    ifname: i.device,
    flags: ['UP'],
    // Left alone when undefined: the plan compares it only with a desired MTU.
    mtu: i.mtu ?? 0,
    addr_info: i.addresses.map((text) => {
      const a = toAddress(text);
      // As addLine made it: IPv4 up to /30 with the subnet's broadcast address.
      const broadcast = a.family === 4 && a.prefix <= 30 ? lastAddress(parseAddress(a.ip)!.addr, a.prefix).toString() : undefined;
      return { family: a.family === 4 ? 'inet' : 'inet6', local: a.ip, prefixlen: a.prefix, ...(broadcast ? { broadcast } : {}) };
    }),
  }));
}

/** Per-interface kernel settings: DAD only on the external interface; keep secondaries when a primary goes. */
export function interfaceSysctls(desired: InterfacesDesired): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const i of desired.interfaces) {
    settings[`net/ipv6/conf/${i.device}/accept_dad`] = i.dad ? '1' : '0';
    // Without this, deleting the first address of a subnet deletes every other
    // address of that subnet too (for example all floating IPs of one prefix).
    settings[`net/ipv4/conf/${i.device}/promote_secondaries`] = '1';
  }
  return settings;
}

interface Address {
  /** Canonical `address/prefix`. */
  readonly key: string;
  /** Canonical address alone. */
  readonly ip: string;
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly broadcast?: string;
}

export function planInterfaces(desired: InterfacesDesired, live: readonly LiveLink[]): InterfacesPlan {
  const links: BatchStep[] = [];
  const earlyDeletes: BatchStep[] = [];
  const adds: BatchStep[] = [];
  const lateDeletes: BatchStep[] = [];
  const keptV4 = new Set<string>();
  const liveV4 = new Set<string>();

  for (const wanted of desired.interfaces) {
    const link = live.find((l) => l.ifname === wanted.device);
    if (!link) throw new Error(`interface ${wanted.generic} (${wanted.device}) does not exist`);
    const dev = checkDevice(wanted.device);

    if (wanted.mtu !== undefined && link.mtu !== wanted.mtu) {
      links.push({ line: `link set dev ${dev} mtu ${wanted.mtu}`, undo: `link set dev ${dev} mtu ${link.mtu}` });
    }
    if (!link.flags.includes('UP')) {
      links.push({ line: `link set dev ${dev} up`, undo: `link set dev ${dev} down` });
    }

    const have = managedAddresses(link);
    const want = wanted.addresses.map((text) => toAddress(text));
    const haveKeys = new Set(have.map((a) => a.key));
    const wantKeys = new Set(want.map((a) => a.key));
    // keepalived's addresses stay as it left them: present on the master, absent on the backup.
    const heldKeys = new Set((wanted.keepalived ?? []).map((text) => toAddress(text).key));
    const added = want.filter((a) => !haveKeys.has(a.key));
    const removed = have.filter((a) => !wantKeys.has(a.key) && !heldKeys.has(a.key));
    const addedIps = new Set(added.map((a) => a.ip));

    for (const a of have) if (a.family === 4) liveV4.add(a.ip);
    for (const a of [...want, ...have.filter((h) => heldKeys.has(h.key))]) if (a.family === 4) keptV4.add(a.ip);

    // New addresses go on before old ones come off, so an interface never
    // passes through having no IPv4 address (the kernel would drop every
    // route through it). Only an address whose prefix changes comes off
    // first: IPv6 refuses the same address twice. Undone last step first,
    // this order holds for the way back too.
    for (const a of removed) {
      (addedIps.has(a.ip) ? earlyDeletes : lateDeletes).push({ line: `address del ${a.key} dev ${dev}`, undo: restoreLine(a, dev) });
    }
    for (const a of added) adds.push({ line: addLine(a, dev, wanted.dad), undo: `address del ${a.key} dev ${dev}` });
  }

  return {
    steps: [...links, ...earlyDeletes, ...adds, ...lateDeletes],
    removedV4: [...liveV4].filter((ip) => !keptV4.has(ip)).sort(),
    deletesAddresses: earlyDeletes.length + lateDeletes.length > 0,
    changesLinks: links.length > 0,
  };
}

/** Every address of a link except link-local ones, which the kernel manages. */
function managedAddresses(link: LiveLink): Address[] {
  const result: Address[] = [];
  for (const a of link.addr_info) {
    if (a.family !== 'inet' && a.family !== 'inet6') continue;
    const address = parseAddress(a.local);
    if (!address || isLinkLocal(address)) continue;
    result.push({ key: `${address.text}/${a.prefixlen}`, ip: address.text, family: address.family, prefix: a.prefixlen, broadcast: a.broadcast });
  }
  return result;
}

function toAddress(cidr: string): Address {
  const slash = cidr.lastIndexOf('/');
  const address = parseAddress(cidr.slice(0, slash));
  if (!address) throw new Error(`not an address: ${cidr}`);
  const prefix = Number(cidr.slice(slash + 1));
  return { key: `${address.text}/${prefix}`, ip: address.text, family: address.family, prefix };
}

/** A configured address: IPv4 with the subnet's broadcast address, IPv6 without DAD where it is off. */
function addLine(a: Address, dev: string, dad: boolean): string {
  if (a.family === 6) return `address add ${a.key} dev ${dev}${dad ? '' : ' nodad'}`;
  return `address add ${a.key}${a.prefix <= 30 ? ' brd +' : ''} dev ${dev}`;
}

/** An address put back as it was; IPv6 without DAD, since it was in use a moment ago. */
function restoreLine(a: Address, dev: string): string {
  if (a.family === 6) return `address add ${a.key} dev ${dev} nodad`;
  return `address add ${a.key}${a.broadcast ? ` brd ${a.broadcast}` : ''} dev ${dev}`;
}

/** A device name that is one word of an `ip -batch` line. */
function checkDevice(name: string): string {
  if (!/^[^\s"'#\\/:]{1,15}$/.test(name)) throw new Error(`cannot use interface name ${JSON.stringify(name)} in an ip batch`);
  return name;
}
