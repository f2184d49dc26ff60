// What dnsmasq must serve (spec section 6, DHCP), from the model alone. Three
// files, each from a handlebars template beside this file, in dnsmasq's own
// syntax: the main config (interfaces, ranges, paths: a change needs a
// restart), and the hosts and options files dnsmasq re-reads on SIGHUP
// (allocation changes reach it without a restart). The functions here take
// every decision and build the templates' values; the templates only lay
// them out.
import { contains, dhcpHostnameProblem, isTenantNetwork, type ConfigModel, type NetworkModel, type SubnetModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/subsystem.js';
import { compileTemplate } from '../../host/template.js';
import { dnsmasqConfTemplate } from './dnsmasq.conf.hbs.js';
import { dnsmasqHostsTemplate } from './dnsmasq.hosts.hbs.js';
import { dnsmasqOptionsTemplate } from './dnsmasq.options.hbs.js';

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

interface ConfigValues {
  readonly interfaces: readonly string[];
  readonly excludedInterfaces: readonly string[];
  readonly leasesFile: string;
  readonly hostsFile: string;
  readonly optionsFile: string;
  readonly ranges: readonly { readonly tag: string; readonly start: string; readonly size: string }[];
}

interface HostValues {
  readonly mac: string;
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  readonly name: string | null;
}

interface SubnetOptionValues {
  readonly tag: string;
  readonly ipv4: boolean;
  readonly router: string | null;
  readonly dnsServers: readonly string[];
  readonly classlessRoutes: readonly { readonly destination: string; readonly nextHop: string }[];
  readonly mtu: number | null;
}

const configFile = compileTemplate<ConfigValues>(dnsmasqConfTemplate);
const hostsFile = compileTemplate<{ hosts: readonly HostValues[] }>(dnsmasqHostsTemplate);
const optionsFile = compileTemplate<{ subnets: readonly SubnetOptionValues[] }>(dnsmasqOptionsTemplate);

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
  return {
    config: configFile({
      interfaces: servedNetworks.map((n) => host.realName(n.ifname)),
      excludedInterfaces: model.networks.filter((n) => n.type === 'management' || n.type === 'external').map((n) => host.realName(n.ifname)),
      leasesFile: paths.leases,
      hostsFile: paths.hosts,
      optionsFile: paths.options,
      ranges: served.map(range),
    }),
    hosts: servedNetworks.map((n) => networkHostsText(n, model.networks.indexOf(n))).join(''),
    options: optionsFile({ subnets: served.map(subnetOptions) }),
  };
}

/**
 * Each network's lines of the hosts file, kept with its model. The agent
 * validates with a memo (contract's ValidationMemo), which hands back the
 * very model object of a network a new document did not change, so a delta
 * renders only the changed network's lines, not the router's thousands
 * (issue 16). The lines depend on the network and its place only.
 */
const hostsTextOf = new WeakMap<NetworkModel, { readonly index: number; readonly text: string }>();

function networkHostsText(network: NetworkModel, index: number): string {
  const kept = hostsTextOf.get(network);
  if (kept?.index === index) return kept.text;
  const text = hostsFile({ hosts: hostEntries(network, index) });
  hostsTextOf.set(network, { index, text });
  return text;
}

function range({ subnet, tag }: ServedSubnet): ConfigValues['ranges'][number] {
  const { cidr } = subnet;
  return { tag, start: cidr.network.slice(0, cidr.network.indexOf('/')), size: cidr.family === 4 ? netmask(cidr.prefix) : String(cidr.prefix) };
}

function subnetOptions({ network, subnet, tag }: ServedSubnet): SubnetOptionValues {
  const ipv4 = subnet.cidr.family === 4;
  const dnsServers = subnet.dnsNameservers.filter((a) => a.family === subnet.cidr.family).map((a) => a.text);
  if (!ipv4) return { tag, ipv4, router: null, dnsServers, classlessRoutes: [], mtu: null };
  const gateway = subnet.gateway;
  const routes = subnet.hostRoutes.filter((r) => r.destination.family === 4);
  const classlessRoutes = routes.map((r) => ({ destination: r.destination.network, nextHop: r.nextHop.text }));
  // A client that receives option 121 ignores the router option (RFC 3442),
  // so the default route must be in the list too.
  if (routes.length > 0 && gateway && !routes.some((r) => r.destination.prefix === 0)) classlessRoutes.push({ destination: '0.0.0.0/0', nextHop: gateway.text });
  return { tag, ipv4, router: gateway?.text ?? null, dnsServers, classlessRoutes, mtu: network.mtu ?? null };
}

/**
 * One entry per allocation that has an address to serve: its MAC, the first
 * DHCP address of each family that lies in a DHCP-enabled subnet, and its
 * hostname. Allocations with nothing to serve get no entry, so static mode
 * leaves them unanswered.
 */
function hostEntries(network: NetworkModel, networkIndex: number): HostValues[] {
  const dhcpSubnets = network.subnets.filter((s) => s.dhcpEnabled);
  const out: HostValues[] = [];
  network.allocations.forEach((allocation, i) => {
    // The router's own port: its address is the router's, never offered to anyone.
    if (allocation.routerPort) return;
    const served = allocation.addresses.filter((a) => a.dhcp && dhcpSubnets.some((s) => contains(s.cidr, a.address))).map((a) => a.address);
    const v4 = served.find((a) => a.family === 4);
    const v6 = served.find((a) => a.family === 6);
    if (!v4 && !v6) return;
    const where = `/networks/${networkIndex}/allocations/${i}/hostname (${allocation.mac})`;
    out.push({ mac: allocation.mac, ipv4: v4?.text ?? null, ipv6: v6?.text ?? null, name: dhcpHostName(allocation.hostname, where) ?? null });
  });
  return out;
}

/** A host name field: one RFC 1123 label. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The name dnsmasq is given for an allocation: the first label of its
 * hostname (dnsmasq hands out only that unless a matching `domain` is
 * configured, and logs every time it drops the rest; the document carries no
 * domain, and orchestrators send names like `192-168-0-3.local`).
 *
 * dnsmasq tells the fields of a hosts-file line apart by their look, not
 * their position: a field of digits (`300`, `5m`) is a lease time, `ignore`
 * means "never answer this host", `infinite` an infinite lease, a dotted quad
 * an address, anything with a colon a MAC, tag or client id. Whatever the
 * contract lets through, a name that would read as any of those is refused
 * here: the line would silently mean something else.
 */
export function dhcpHostName(hostname: string | undefined, where: string): string | undefined {
  const name = hostname?.split('.')[0];
  if (!name) return undefined;
  const refuse = (why: string) => new Error(`${where}: the host name ${JSON.stringify(hostname)} cannot be given to dnsmasq: ${why}`);
  if (!LABEL.test(name)) throw refuse(`${JSON.stringify(name)} is not a host name label`);
  // The contract's rule, applied again to what reaches the file: a second line of defence.
  const problem = dhcpHostnameProblem(name);
  if (problem) throw refuse(problem);
  return name;
}

function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join('.');
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
