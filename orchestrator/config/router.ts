// The document pushed to a router appliance (the original's
// api/config/router.py and common.py), built from Neutron-shaped resources.
// buildRouterConfig is pure; the keys and their order are the original's, so
// documents read and diff the same.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { canonicalAddress, contains, parseAddress, parseCidr } from '../../contract/ip.js';
import type { AllocationDoc, Configuration, NetworkDoc, SubnetDoc } from '../../contract/index.js';
import { tenantOf, type NetworkDetail, type NeutronPort, type NeutronSubnet, type RouterDetail } from '../model/neutron.js';

export interface RouterConfigInput {
  readonly detail: RouterDetail;
  /** The appliance's port on the management network. */
  readonly managementPort: NeutronPort;
  /** Every network of the management port and of the router's ports. */
  readonly networks: ReadonlyMap<string, NetworkDetail>;
  /** Every port of each internal network (they become its DHCP allocations). */
  readonly networkPorts: ReadonlyMap<string, readonly NeutronPort[]>;
  /** Network id -> the appliance's interface on it (`geN`). */
  readonly interfaceMap: ReadonlyMap<string, string>;
  readonly asn: number;
  readonly neighborAsn: number;
  /** Firewall labels (provider rules), label -> networks. */
  readonly labels: Record<string, string[]>;
  /** Where the appliance reaches the orchestrator (metadata upstream) and its name. */
  readonly orchestrator: { readonly address: string; readonly metadata_port: number; readonly host: string };
  /** HA pairs only: the other instances' management addresses and this one's VRRP priority. */
  readonly haConfig?: { readonly peers: readonly string[]; readonly priority: number };
}

type NetworkType = 'management' | 'external' | 'internal';

/** The appliance has no interface on some of the router's networks yet: replug, then build again. */
export class MissingInterfaceError extends Error {
  constructor(readonly networkIds: readonly string[]) {
    super(`the appliance has no interface on network ${networkIds.join(', ')}`);
    this.name = 'MissingInterfaceError';
  }
}

// Ports the orchestrator itself made for appliances (VRRP addresses, load
// balancer VIPs): not hosts DHCP should hand out addresses to.
const APPLIANCE_PORT_NAME = /^ASTARA:(VRRP|LB):/;

/**
 * `ak-<tenant id>` as the original named it. Tenant ids may hold `_`, `.` or
 * `:`, which a host name label may not: those become `-`, and the label is
 * cut to the 63 characters a label may have.
 */
export function applianceHostname(tenantId: string): string {
  return `ak-${tenantId}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
}

export function buildRouterConfig(input: RouterConfigInput): Configuration {
  const { detail } = input;
  const planned: [NeutronPort, NetworkType][] = [
    [input.managementPort, 'management'],
    ...(detail.gatewayPort ? [[detail.gatewayPort, 'external'] as [NeutronPort, NetworkType]] : []),
    ...detail.interfaces.map((port): [NeutronPort, NetworkType] => [port, 'internal']),
  ];
  const missing = [...new Set(planned.map(([port]) => port.network_id).filter((id) => !input.interfaceMap.has(id)))];
  if (missing.length > 0) throw new MissingInterfaceError(missing);

  const networks = planned.map(([port, type]) => networkConfig(input, port, type));
  const tenantId = tenantOf(detail.router);
  return {
    asn: input.asn,
    neighbor_asn: input.neighborAsn,
    default_v4_gateway: defaultV4Gateway(networks),
    networks,
    labels: Object.fromEntries(Object.entries(input.labels).map(([name, cidrs]) => [name, [...cidrs]])),
    floating_ips: detail.floatingIps.flatMap((fip) =>
      // Only associated floating IPs have a fixed address to translate to.
      fip.fixed_ip_address === null ? [] : [{ floating_ip: canonicalAddress(fip.floating_ip_address), fixed_ip: canonicalAddress(fip.fixed_ip_address) }],
    ),
    tenant_id: tenantId,
    hostname: applianceHostname(tenantId),
    orchestrator: { address: input.orchestrator.address, metadata_port: input.orchestrator.metadata_port, host: input.orchestrator.host },
    ha_resource: detail.router.ha ?? false,
    vpn: {},
    ...(input.haConfig ? { ha_config: { peers: [...input.haConfig.peers], priority: input.haConfig.priority } } : {}),
  };
}

function networkConfig(input: RouterConfigInput, port: NeutronPort, type: NetworkType): NetworkDoc {
  const detail = input.networks.get(port.network_id);
  if (!detail) throw new Error(`no details of network ${port.network_id} (port ${port.id})`);
  const subnets = new Map(detail.subnets.map((s) => [s.id, s]));
  const addresses = port.fixed_ips.map((ip) => {
    const subnet = subnets.get(ip.subnet_id);
    if (!subnet) throw new Error(`port ${port.id} has an address on subnet ${ip.subnet_id}, which network ${port.network_id} does not have`);
    return `${canonicalAddress(ip.ip_address)}/${prefixLength(subnet)}`;
  });
  const mtu = detail.network.mtu ?? null;
  return {
    interface: { ifname: input.interfaceMap.get(port.network_id) ?? '', addresses, ...(mtu ? { mtu } : {}) },
    network_id: port.network_id,
    mtu,
    v4_conf_service: 'static',
    v6_conf_service: 'static',
    network_type: type,
    subnets: detail.subnets.map(subnetConfig),
    allocations: type === 'internal' ? allocations(input.networkPorts.get(port.network_id) ?? [], subnets) : [],
  };
}

function subnetConfig(subnet: NeutronSubnet): SubnetDoc {
  return {
    id: subnet.id,
    cidr: subnet.cidr,
    // SLAAC subnets get router advertisements, not DHCP.
    dhcp_enabled: subnet.enable_dhcp && subnet.ipv6_ra_mode !== 'slaac',
    dns_nameservers: [...subnet.dns_nameservers],
    host_routes: subnet.host_routes.map((r) => ({ destination: r.destination, nexthop: r.nexthop })),
    gateway_ip: subnet.gateway_ip ?? '',
  };
}

function allocations(ports: readonly NeutronPort[], subnets: ReadonlyMap<string, NeutronSubnet>): AllocationDoc[] {
  return ports
    .filter((port) => !APPLIANCE_PORT_NAME.test(port.name ?? '') && port.fixed_ips.length > 0)
    .map((port) => {
      const ips = port.fixed_ips.map((ip) => ({ address: canonicalAddress(ip.ip_address), subnetId: ip.subnet_id }));
      const first = ips.map((ip) => ip.address).sort()[0] ?? '';
      return {
        // An address on a subnet the network no longer lists (a deletion in
        // flight) is not served by DHCP rather than failing the whole router.
        ip_addresses: Object.fromEntries(ips.map((ip) => [ip.address, subnets.get(ip.subnetId)?.enable_dhcp ?? false])),
        device_id: port.device_id,
        hostname: `${first.replace(/[:.]/g, '-')}.local`,
        mac_address: port.mac_address,
      };
    });
}

function prefixLength(subnet: NeutronSubnet): number {
  const cidr = parseCidr(subnet.cidr);
  if (!cidr) throw new Error(`subnet ${subnet.id} has an invalid cidr "${subnet.cidr}"`);
  return cidr.prefix;
}

/** The gateway of the first external IPv4 subnet that holds one of the external interface's IPv4 addresses; '' without one. */
function defaultV4Gateway(networks: readonly NetworkDoc[]): string {
  for (const network of networks.filter((n) => n.network_type === 'external')) {
    const addresses = network.interface.addresses.map((a) => parseAddress(a.slice(0, a.indexOf('/')))).filter((a) => a?.family === 4);
    for (const subnet of network.subnets ?? []) {
      const cidr = parseCidr(subnet.cidr);
      if (cidr?.family === 4 && addresses.some((a) => a !== undefined && contains(cidr, a))) return subnet.gateway_ip ?? '';
    }
  }
  return '';
}

/**
 * The `labels` of the provider rules file, re-read for every document as the
 * original did; `{}` when it is missing, unreadable or not the expected shape.
 */
export async function loadProviderRules(path: string, logger: Logger): Promise<Record<string, string[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Most deployments have no rules file: not worth more than a debug line per document.
    if (code === 'ENOENT') logger.debug({ path }, 'no provider rules file: no labels');
    else logger.warn({ path, err: error }, 'cannot read the provider rules file: no labels');
    return {};
  }
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch (error) {
    logger.warn({ path, err: error }, 'the provider rules file is not JSON: no labels');
    return {};
  }
  const labels = rules !== null && typeof rules === 'object' ? (rules as { labels?: unknown }).labels : undefined;
  if (labels === undefined) return {};
  if (
    labels === null ||
    typeof labels !== 'object' ||
    Array.isArray(labels) ||
    !Object.values(labels).every((cidrs) => Array.isArray(cidrs) && cidrs.every((c) => typeof c === 'string'))
  ) {
    logger.warn({ path }, 'the labels of the provider rules file are not an object of lists of networks: no labels');
    return {};
  }
  return labels as Record<string, string[]>;
}
