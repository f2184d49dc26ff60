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
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
    const addr = ipaddr.IPv6.parse(text);
    return { family: 6, addr, text: addr.toString() };
  }
  return undefined;
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

/** IPv6 unique local addresses (fc00::/7), never exported over BGP. */
export function isUniqueLocal(address: ParsedAddress): boolean {
  return address.family === 6 && address.addr.range() === 'uniqueLocal';
}

export function canonicalAddress(text: string): string {
  return parseAddress(text)?.text ?? text;
}
