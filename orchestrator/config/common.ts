// What every appliance document shares (the original's api/config/common.py):
// the network entries built from a port of the appliance and its network, and
// the host name rule. Pure functions of Neutron-shaped objects.
import { canonicalAddress, parseCidr } from '../../contract/ip.js';
import type { AllocationDoc, NetworkDoc, SubnetDoc } from '../../contract/index.js';
import type { NetworkDetail, NeutronPort, NeutronSubnet } from '../model/neutron.js';

export type NetworkType = 'management' | 'external' | 'internal' | 'loadbalancer';

/** What the network entries of a document are built from. */
export interface NetworkContext {
  /** Every network of the appliance's ports, with its subnets. */
  readonly networks: ReadonlyMap<string, NetworkDetail>;
  /** Network id -> the appliance's interface on it (`geN`). */
  readonly interfaceMap: ReadonlyMap<string, string>;
  /** Every port of each internal network (they become its DHCP allocations). */
  readonly networkPorts?: ReadonlyMap<string, readonly NeutronPort[]>;
}

/** The appliance has no interface on some of its resource's networks yet: replug, then build again. */
export class MissingInterfaceError extends Error {
  constructor(readonly networkIds: readonly string[]) {
    super(`the appliance has no interface on network ${networkIds.join(', ')}`);
    this.name = 'MissingInterfaceError';
  }
}

export function requireInterfaces(interfaceMap: ReadonlyMap<string, string>, ports: readonly NeutronPort[]): void {
  const missing = [...new Set(ports.map((port) => port.network_id).filter((id) => !interfaceMap.has(id)))];
  if (missing.length > 0) throw new MissingInterfaceError(missing);
}

// Ports the orchestrator itself made for appliances (VRRP addresses, load
// balancer VIPs): not hosts DHCP should hand out addresses to.
const APPLIANCE_PORT_NAME = /^ASTARA:(VRRP|LB):/;

/**
 * A host name label from `text` (`ak-<tenant id>` as the original named
 * appliances). Tenant ids may hold `_`, `.` or `:`, which a label may not:
 * those become `-`, and the label is cut to the 63 characters a label may have.
 */
export function hostLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
}

export function networkConfig(context: NetworkContext, port: NeutronPort, type: NetworkType): NetworkDoc {
  const detail = context.networks.get(port.network_id);
  if (!detail) throw new Error(`no details of network ${port.network_id} (port ${port.id})`);
  const subnets = new Map(detail.subnets.map((s) => [s.id, s]));
  const addresses = port.fixed_ips.map((ip) => {
    const subnet = subnets.get(ip.subnet_id);
    if (!subnet) throw new Error(`port ${port.id} has an address on subnet ${ip.subnet_id}, which network ${port.network_id} does not have`);
    return `${canonicalAddress(ip.ip_address)}/${prefixLength(subnet)}`;
  });
  const mtu = detail.network.mtu ?? null;
  return {
    interface: { ifname: context.interfaceMap.get(port.network_id) ?? '', addresses, ...(mtu ? { mtu } : {}) },
    network_id: port.network_id,
    mtu,
    v4_conf_service: 'static',
    v6_conf_service: 'static',
    network_type: type,
    subnets: detail.subnets.map(subnetConfig),
    allocations: type === 'internal' ? allocations(context.networkPorts?.get(port.network_id) ?? [], subnets) : [],
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
