// The cloud's resources in Neutron's own JSON shapes (as `GET /v2.0/<collection>`
// returns them), whichever provider produced them: the local resource file
// holds exactly these, and the OpenStack provider reads them from Neutron.
// Only the fields the orchestrator uses are typed; others pass through.
import type { VpnServiceDetail } from './vpnaas.js';

export interface FixedIp {
  readonly subnet_id: string;
  readonly ip_address: string;
}

export interface HostRoute {
  readonly destination: string;
  readonly nexthop: string;
}

export interface NeutronNetwork {
  readonly id: string;
  readonly name?: string;
  readonly tenant_id?: string;
  readonly project_id?: string;
  readonly 'router:external'?: boolean;
  readonly mtu?: number | null;
  readonly admin_state_up?: boolean;
}

export interface NeutronSubnet {
  readonly id: string;
  readonly network_id: string;
  readonly name?: string;
  readonly tenant_id?: string;
  readonly cidr: string;
  readonly ip_version: 4 | 6;
  readonly gateway_ip: string | null;
  readonly enable_dhcp: boolean;
  readonly dns_nameservers: readonly string[];
  readonly host_routes: readonly HostRoute[];
  readonly ipv6_ra_mode?: string | null;
  readonly ipv6_address_mode?: string | null;
}

export const ROUTER_INTERFACE_OWNER = 'network:router_interface';
export const ROUTER_GATEWAY_OWNER = 'network:router_gateway';

export interface NeutronPort {
  readonly id: string;
  readonly network_id: string;
  readonly name?: string;
  readonly tenant_id?: string;
  readonly mac_address: string;
  readonly fixed_ips: readonly FixedIp[];
  readonly device_id: string;
  readonly device_owner: string;
  readonly admin_state_up?: boolean;
}

export interface ExternalGatewayInfo {
  readonly network_id: string;
  readonly external_fixed_ips?: readonly FixedIp[];
  readonly enable_snat?: boolean;
}

export interface NeutronRouter {
  readonly id: string;
  readonly tenant_id: string;
  readonly project_id?: string;
  readonly name?: string;
  readonly admin_state_up?: boolean;
  readonly status?: string;
  readonly external_gateway_info: ExternalGatewayInfo | null;
  readonly ha?: boolean;
}

export interface NeutronFloatingIp {
  readonly id: string;
  readonly floating_ip_address: string;
  readonly floating_network_id: string;
  readonly port_id: string | null;
  readonly fixed_ip_address: string | null;
  readonly router_id: string | null;
  readonly tenant_id?: string;
}

/**
 * A guest instance in Nova's shape (`GET /v2.1/servers/<id>`), reduced to what
 * the metadata service answers with. Optional in the local resource file: a
 * guest port whose `device_id` names no server is still served, with a name
 * made from its address.
 */
export interface NovaServer {
  readonly id: string;
  readonly name: string;
  readonly tenant_id?: string;
  readonly project_id?: string;
}

/** Everything the router's document is built from, as Neutron's L3 RPC `sync_routers` gives it. */
export interface RouterDetail {
  readonly router: NeutronRouter;
  /** The router's port on its external network, if it has a gateway. */
  readonly gatewayPort: NeutronPort | undefined;
  /** `network:router_interface` ports of the router, in a stable order. */
  readonly interfaces: readonly NeutronPort[];
  /** Floating IPs associated through this router. */
  readonly floatingIps: readonly NeutronFloatingIp[];
  /** The router's VPNaaS services with their site connections resolved; absent: none. */
  readonly vpnServices?: readonly VpnServiceDetail[];
}

export interface NetworkDetail {
  readonly network: NeutronNetwork;
  readonly subnets: readonly NeutronSubnet[];
}

export const tenantOf = (resource: { readonly tenant_id?: string; readonly project_id?: string }): string =>
  resource.tenant_id ?? resource.project_id ?? '';

/** The router's logical ports the appliance needs: the gateway port first, then the interfaces. */
export function routerPorts(detail: RouterDetail): NeutronPort[] {
  return [...(detail.gatewayPort ? [detail.gatewayPort] : []), ...detail.interfaces];
}
