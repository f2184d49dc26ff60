// Address parsing shared by the contract, the renderers and the orchestrator.
// ipaddr.js does the parsing; this module adds the strictness a router config
// needs (no zone ids, no shorthand IPv4 such as "10.1", canonical text).
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export type IpAddr = ipaddr.IPv4 | ipaddr.IPv6;

export interface ParsedAddress {
  readonly family: Family;
  readonly addr: IpAddr;
  /** Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6. */
  readonly text: string;
}

export interface ParsedCidr extends ParsedAddress {
  readonly prefix: number;
  /** `address/prefix`, canonical. */
  readonly cidr: string;
  /** The network (host bits cleared) as `network/prefix`, canonical. */
  readonly network: string;
}

const FOUR_PART_DECIMAL = /^(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*)){3}$/;

export function parseAddress(text: string): ParsedAddress | undefined {
  if (typeof text !== 'string' || text.length > 45 || text.includes('%')) return undefined;
  // The pattern first: ipaddr.js tells an invalid IPv4 address by throwing,
  // which for every IPv6 address of a large document costs more than the rest
  // of its validation.
  if (FOUR_PART_DECIMAL.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const addr = ipaddr.IPv4.parse(text);
    return { family: 4, addr, text: addr.toString() };
  }
  if (!text.includes(':')) return undefined;
  if (PLAIN_IPV6.test(text)) return parsePlainIpv6(text);
  // parse() accepts exactly what isValid() does (both run the same parser and
  // constructor); calling it alone parses each address once instead of twice.
  let addr: ipaddr.IPv6;
  try {
    addr = ipaddr.IPv6.parse(text);
  } catch {
    return undefined;
  }
  return { family: 6, addr, text: addr.toString() };
}

/** IPv6 as it is almost always written: lowercase hex groups and colons, no embedded IPv4. */
const PLAIN_IPV6 = /^[0-9a-f:]+$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

/**
 * parseAddress of a PLAIN_IPV6 text, without ipaddr.js's parser: the same
 * addresses accepted (eight groups of one to four hex digits, or fewer around
 * a single `::` that stands for at least one) and the same RFC 5952 text,
 * for a fraction of the work and garbage (a large document holds tens of
 * thousands of them). ip.test.ts compares the two on every shape of input.
 */
function parsePlainIpv6(text: string): ParsedAddress | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined) => (half === undefined || half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const compressed = halves.length === 2;
  if (compressed ? head.length + tail.length > 7 : head.length !== 8) return undefined;
  const parts: number[] = [];
  for (const group of head) {
    if (!HEX_GROUP.test(group)) return undefined;
    parts.push(parseInt(group, 16));
  }
  if (compressed) for (let i = head.length + tail.length; i < 8; i++) parts.push(0);
  for (const group of tail) {
    if (!HEX_GROUP.test(group)) return undefined;
    parts.push(parseInt(group, 16));
  }
  return { family: 6, addr: new ipaddr.IPv6(parts), text: rfc5952(parts) };
}

/** The eight groups as RFC 5952 text: no leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
function rfc5952(parts: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < parts.length; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < parts.length && parts[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (from: number, to: number) => parts.slice(from, to).map((p) => p.toString(16)).join(':');
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0 || !/^(?:0|[1-9]\d{0,2})$/.test(text.slice(slash + 1))) return undefined;
  const address = parseAddress(text.slice(0, slash));
  if (!address) return undefined;
  const prefix = Number(text.slice(slash + 1));
  if (prefix > (address.family === 4 ? 32 : 128)) return undefined;
  const network = networkAddress(address.addr, prefix).toString();
  return { ...address, prefix, cidr: `${address.text}/${prefix}`, network: `${network}/${prefix}` };
}

export function networkAddress(addr: IpAddr, prefix: number): IpAddr {
  const bytes = addr.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return ipaddr.fromByteArray(bytes);
}

/** The last address of `prefix` (the IPv4 broadcast address). */
export function lastAddress(addr: IpAddr, prefix: number): IpAddr {
  const bytes = addr.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return ipaddr.fromByteArray(bytes);
}

/**
 * True when `address` is not a host address of `cidr`: its network address
 * (for IPv6 the subnet-router anycast address) or, for IPv4, its broadcast
 * address. /31 and /32 (RFC 3021) and /127 and /128 have none.
 */
export function isNetworkOrBroadcast(cidr: ParsedCidr, address: ParsedAddress): boolean {
  const bits = cidr.family === 4 ? 32 : 128;
  if (cidr.prefix >= bits - 1 || !contains(cidr, address)) return false;
  const network = networkAddress(cidr.addr, cidr.prefix).toString();
  if (address.text === network) return true;
  return cidr.family === 4 && address.text === lastAddress(cidr.addr, cidr.prefix).toString();
}

function toBigInt(addr: IpAddr): bigint {
  return addr.toByteArray().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

/**
 * Networks that answer "does one of them hold this address" by binary search:
 * a document may hold a hundred thousand subnets and as many addresses to
 * look up, which a scan of every network per address would take minutes over.
 */
export class PrefixSet {
  /** Per family, the disjoint ranges the networks cover, sorted. */
  readonly #ranges: Record<Family, { start: bigint; end: bigint }[]> = { 4: [], 6: [] };

  constructor(cidrs: Iterable<ParsedCidr>) {
    const ranges: Record<Family, { start: bigint; end: bigint }[]> = { 4: [], 6: [] };
    for (const cidr of cidrs) {
      const start = toBigInt(networkAddress(cidr.addr, cidr.prefix));
      ranges[cidr.family].push({ start, end: start + (1n << BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix)) - 1n });
    }
    for (const family of [4, 6] as const) {
      const merged = this.#ranges[family];
      for (const range of ranges[family].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
        const last = merged[merged.length - 1];
        if (last && range.start <= last.end) {
          if (range.end > last.end) last.end = range.end;
        } else {
          merged.push({ ...range });
        }
      }
    }
  }

  /** True when a network of `family` is in the set. */
  hasFamily(family: Family): boolean {
    return this.#ranges[family].length > 0;
  }

  has(address: ParsedAddress): boolean {
    const ranges = this.#ranges[address.family];
    const value = toBigInt(address.addr);
    let low = 0;
    let high = ranges.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ranges[middle]!.start <= value) low = middle + 1;
      else high = middle;
    }
    const range = ranges[low - 1];
    return range !== undefined && value <= range.end;
  }
}

/** A key that sorts networks by family, then first address, then the wider first. */
export function prefixSortKey(cidr: ParsedCidr): string {
  const hex = networkAddress(cidr.addr, cidr.prefix)
    .toByteArray()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  return `${cidr.family}${hex}${String(cidr.prefix).padStart(3, '0')}`;
}

/**
 * True when `address` lies inside `cidr` (same family required). Compares the
 * parsed parts in place (ipaddr.js `match`): validating and rendering a large
 * router calls this hundreds of thousands of times.
 */
export function contains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  return samePrefix(cidr, address, cidr.prefix);
}

/** True when two networks share at least one address. */
export function overlaps(a: ParsedCidr, b: ParsedCidr): boolean {
  return samePrefix(a, b, Math.min(a.prefix, b.prefix));
}

function samePrefix(a: ParsedAddress, b: ParsedAddress, prefix: number): boolean {
  if (a.family !== b.family) return false;
  return a.family === 4 ? (a.addr as ipaddr.IPv4).match(b.addr, prefix) : (a.addr as ipaddr.IPv6).match(b.addr, prefix);
}

export function isLinkLocal(address: ParsedAddress): boolean {
  return address.addr.range() === 'linkLocal';
}

/** The host itself whatever its interfaces: loopback or unspecified (also as IPv4-mapped IPv6). */
export function isSelfAddress(address: ParsedAddress): boolean {
  const addr = address.addr;
  const plain = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
  return plain.range() === 'loopback' || plain.range() === 'unspecified';
}

/**
 * Why no interface can hold `address` and no route can lead through it, or
 * undefined when both can: "this network" (0.0.0.0/8) or the unspecified
 * address, loopback, multicast, or the IPv4 limited broadcast address. The
 * kernel refuses every one of them as a next hop, and the IPv6 ones as an
 * interface address; a guest cannot hold one either.
 */
export function notUnicastProblem(address: ParsedAddress): string | undefined {
  switch (address.addr.range()) {
    case 'unspecified':
      return address.family === 4 ? 'is in 0.0.0.0/8 ("this network"), never the address of a host' : 'is the unspecified address';
    case 'loopback':
      return 'is a loopback address';
    case 'multicast':
      return 'is a multicast address';
    case 'broadcast':
      return 'is the broadcast address';
    default:
      return undefined;
  }
}

/** IPv6 unique local addresses (fc00::/7), never exported over BGP. */
export function isUniqueLocal(address: ParsedAddress): boolean {
  return address.family === 6 && address.addr.range() === 'uniqueLocal';
}

export function canonicalAddress(text: string): string {
  return parseAddress(text)?.text ?? text;
}
