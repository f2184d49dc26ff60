// What dnsmasq must serve (spec section 6, DHCP), as text, from the model
// alone. Three files: the main config (interfaces, ranges, paths: a change
// needs a restart), and the hosts and options files dnsmasq re-reads on
// SIGHUP (allocation changes reach it without a restart).
import { contains, isTenantNetwork, type ConfigModel, type NetworkModel, type SubnetModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';

/** One day, as the spec asks. */
export const LEASE_SECONDS = 86_400;
/**
 * dnsmasq refuses leases beyond dhcp-lease-max (1000 by default). Static
 * mode only ever leases to known hosts, so the cap is a constant well above
 * any allocation count rather than a number that would change the main
 * config (and restart dnsmasq) whenever an allocation is added.
 */
export const LEASE_MAX = 65_535;

/** Where dnsmasq finds and keeps its files; all under the agent's state directory. */
export interface DnsmasqPaths {
  readonly hosts: string;
  readonly options: string;
  readonly leases: string;
}

export interface DhcpDesired {
  /** The main config; undefined when no tenant subnet has DHCP, and then no dnsmasq runs. */
  readonly config: string | undefined;
  /** `--dhcp-hostsfile` lines: one per allocation served. */
  readonly hosts: string;
  /** `--dhcp-optsfile` lines: router, DNS servers, routes, MTU per subnet. */
  readonly options: string;
}

interface ServedSubnet {
  readonly network: NetworkModel;
  readonly subnet: SubnetModel;
  /** The dnsmasq tag that ties the subnet's range to its options. */
  readonly tag: string;
}

export function renderDhcp(model: ConfigModel, host: RenderHost, paths: DnsmasqPaths): DhcpDesired {
  const served: ServedSubnet[] = [];
  for (const network of model.networks) {
    if (!isTenantNetwork(network)) continue;
    network.subnets.forEach((subnet, i) => {
      if (subnet.dhcpEnabled) served.push({ network, subnet, tag: `${network.ifname}-s${i}` });
    });
  }
  if (served.length === 0) return { config: undefined, hosts: '', options: '' };

  const servedNetworks = unique(served.map((s) => s.network));
  // Belt and braces: dnsmasq already serves only the listed interfaces, but
  // naming the management and external ones as excluded keeps it off them
  // even if a listing mistake ever slipped through.
  const excluded = model.networks.filter((n) => n.type === 'management' || n.type === 'external');
  const config = [
    '# dnsmasq of the astara agent: DHCP only (no DNS), on tenant interfaces only.',
    '# Written by the agent; a change here restarts dnsmasq.',
    'port=0',
    'no-resolv',
    'no-hosts',
    // The agent supervises the foreground process and records its pid itself.
    'pid-file=',
    'log-facility=-',
    // Stay root and keep the current group: dnsmasq needs no other identity,
    // and in a user namespace (hermetic tests, containers) any setgroups or
    // setgid, even to root, fails and dnsmasq refuses to start.
    'user=root',
    'group=',
    'bind-interfaces',
    ...servedNetworks.map((n) => `interface=${host.realName(n.ifname)}`),
    ...excluded.map((n) => `except-interface=${host.realName(n.ifname)}`),
    'dhcp-authoritative',
    `dhcp-lease-max=${LEASE_MAX}`,
    `dhcp-leasefile=${paths.leases}`,
    `dhcp-hostsfile=${paths.hosts}`,
    `dhcp-optsfile=${paths.options}`,
    ...served.map(rangeLine),
  ];
  return {
    config: lines(config),
    hosts: lines(servedNetworks.flatMap((n) => hostLines(n))),
    options: lines(served.flatMap(optionLines)),
  };
}

/** Static mode: dnsmasq answers only hosts it has an entry for. */
function rangeLine({ subnet, tag }: ServedSubnet): string {
  const { cidr } = subnet;
  const start = cidr.network.slice(0, cidr.network.indexOf('/'));
  const size = cidr.family === 4 ? netmask(cidr.prefix) : String(cidr.prefix);
  return `dhcp-range=set:${tag},${start},static,${size},${LEASE_SECONDS}s`;
}

function optionLines({ network, subnet, tag }: ServedSubnet): string[] {
  const dns = subnet.dnsNameservers.filter((a) => a.family === subnet.cidr.family);
  if (subnet.cidr.family === 6) {
    // Routes and the gateway reach IPv6 guests by router advertisement (BIRD), not DHCPv6.
    return dns.length > 0 ? [`tag:${tag},option6:dns-server,${dns.map((a) => `[${a.text}]`).join(',')}`] : [];
  }
  const gateway = subnet.gateway;
  // Without a value the option is suppressed: a subnet without a gateway
  // must not get dnsmasq's default (its own address) as router.
  const out = [gateway ? `tag:${tag},option:router,${gateway.text}` : `tag:${tag},option:router`];
  if (dns.length > 0) out.push(`tag:${tag},option:dns-server,${dns.map((a) => a.text).join(',')}`);
  const routes = subnet.hostRoutes.filter((r) => r.destination.family === 4);
  if (routes.length > 0) {
    const pairs = routes.map((r) => `${r.destination.network},${r.nextHop.text}`);
    // A client that receives option 121 ignores the router option (RFC 3442),
    // so the default route must be in the list too.
    if (gateway && !routes.some((r) => r.destination.prefix === 0)) pairs.push(`0.0.0.0/0,${gateway.text}`);
    out.push(`tag:${tag},option:classless-static-route,${pairs.join(',')}`);
  }
  if (network.mtu !== undefined) out.push(`tag:${tag},option:mtu,${network.mtu}`);
  return out;
}

/**
 * One entry per allocation that has an address to serve: its MAC, the first
 * DHCP address of each family that lies in a DHCP-enabled subnet, and its
 * hostname. Allocations with nothing to serve get no entry, so static mode
 * leaves them unanswered.
 */
function hostLines(network: NetworkModel): string[] {
  const dhcpSubnets = network.subnets.filter((s) => s.dhcpEnabled);
  const out: string[] = [];
  for (const allocation of network.allocations) {
    const served = allocation.addresses.filter((a) => a.dhcp && dhcpSubnets.some((s) => contains(s.cidr, a.address))).map((a) => a.address);
    const v4 = served.find((a) => a.family === 4);
    const v6 = served.find((a) => a.family === 6);
    if (!v4 && !v6) continue;
    const fields = [allocation.mac];
    if (v4) fields.push(v4.text);
    if (v6) fields.push(`[${v6.text}]`);
    const name = shortName(allocation.hostname);
    if (name) fields.push(name);
    out.push(fields.join(','));
  }
  return out;
}

/**
 * dnsmasq hands out only the first label unless a matching `domain` is
 * configured (and logs every time it drops one); the document carries no
 * domain, so drop it here. Orchestrators send names like `192-168-0-3.local`.
 */
function shortName(hostname: string | undefined): string | undefined {
  return hostname?.split('.')[0] || undefined;
}

function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join('.');
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function lines(items: readonly string[]): string {
  return items.length > 0 ? `${items.join('\n')}\n` : '';
}
