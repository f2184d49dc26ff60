// The host's interfaces as the control plane sees them: generic names
// (`ge0`, `ge1`, ...) assigned in the natural order of the real names, stable
// for the life of the agent process (spec section 2).
import type { CommandRunner } from './exec.js';

/** One entry of `ip -j -d addr`, the fields the agent reads. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  link_type: string;
  address?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope?: string; tentative?: boolean; dadfailed?: boolean }[];
}

/** The interface object of the v1 API. */
export interface ApiInterface {
  ifname: string;
  lladdr: string;
  mtu: number;
  state: 'up' | 'down';
  addresses: string[];
  description: string;
  groups: string[];
  media: null;
}

/** One entry of `ip -j -d link`: a link without its addresses. */
export type IpLinkOnly = Omit<IpLink, 'addr_info'>;

/** An interface of the appliance: its generic name, its real one and what `ip` says of it. */
export interface NamedLink<L extends IpLinkOnly = IpLink> {
  readonly generic: string;
  readonly real: string;
  readonly link: L;
}

export type LiveInterface = NamedLink;

// Kinds the appliance itself may create (tunnels, bridges, VRRP helpers); they
// never get a generic name. Physical NICs have no kind; test topologies use veth.
const OWN_KINDS = new Set(['bridge', 'dummy', 'macvlan', 'ipvlan', 'vxlan', 'vti', 'vti6', 'xfrm', 'gre', 'gretap', 'ip6gre', 'ipip', 'sit', 'ip6tnl', 'wireguard', 'vlan', 'bond', 'ifb']);

export function isGenericCandidate(link: IpLinkOnly): boolean {
  if (link.link_type !== 'ether') return false;
  const kind = link.linkinfo?.info_kind;
  return kind === undefined || !OWN_KINDS.has(kind);
}

/** `eth2 < eth10`: digit runs compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const split = (s: string) => s.split(/(\d+)/).map((part, i) => (i % 2 === 1 ? Number(part) : part));
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

export function toApiInterface(generic: string, link: IpLink): ApiInterface {
  return {
    ifname: generic,
    lladdr: link.address ?? '',
    mtu: link.mtu,
    state: link.flags.includes('UP') ? 'up' : 'down',
    addresses: link.addr_info.map((a) => `${a.local}/${a.prefixlen}`),
    description: link.ifalias ?? '',
    groups: [],
    media: null,
  };
}

/**
 * Keeps the real-name -> generic-name mapping. The first listing sorts the
 * interfaces naturally; an interface that appears later (hot-plugged NIC) gets
 * the next free number, so existing names never move while the agent runs.
 */
export class InterfaceNames {
  readonly #byReal = new Map<string, string>();
  #next = 0;

  constructor(private readonly runner: CommandRunner) {}

  async list(): Promise<LiveInterface[]> {
    const { stdout } = await this.runner.read(['ip', '-j', '-d', 'addr', 'show']);
    return this.assign(JSON.parse(stdout) as IpLink[]);
  }

  /**
   * The interfaces without their addresses: what a PUT needs to know of the
   * host (generic names, MACs). `list` reads every address too, a third of a
   * megabyte of JSON on a router with two thousand of them.
   */
  async links(): Promise<NamedLink<IpLinkOnly>[]> {
    const { stdout } = await this.runner.read(['ip', '-j', '-d', 'link', 'show']);
    return this.assign(JSON.parse(stdout) as IpLinkOnly[]);
  }

  /** The real names of the interfaces holding `address` (with any prefix length), read from the host. */
  async holdersOf(address: string): Promise<string[]> {
    const { stdout } = await this.runner.read(['ip', '-j', 'addr', 'show', 'to', address]);
    // Only links with a matching address are printed; an older `ip` may print the others with none.
    return (JSON.parse(stdout) as Pick<IpLink, 'ifname' | 'addr_info'>[]).filter((link) => link.addr_info.length > 0).map((link) => link.ifname);
  }

  /** Pure part of `list`, exposed for tests. */
  assign<L extends IpLinkOnly>(links: L[]): NamedLink<L>[] {
    const candidates = links.filter(isGenericCandidate).sort((a, b) => naturalCompare(a.ifname, b.ifname));
    for (const link of candidates) {
      if (!this.#byReal.has(link.ifname)) this.#byReal.set(link.ifname, `ge${this.#next++}`);
    }
    return candidates
      .map((link) => ({ generic: this.#byReal.get(link.ifname)!, real: link.ifname, link }))
      .sort((a, b) => naturalCompare(a.generic, b.generic));
  }

  /** The real name of a generic one, from the last listing. */
  realName(generic: string): string | undefined {
    for (const [real, g] of this.#byReal) if (g === generic) return real;
    return undefined;
  }
}
