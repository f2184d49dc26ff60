// The O2 fleet: N gateway-only routers spread over T tenants, on one external
// network with an IPv6 subnet large enough for all of them (documentation
// ranges only). An "update" moves one router's external address between two
// addresses of its own, which changes its document (and nothing else's).
import { randomUUID } from 'node:crypto';

export const FLEET_MANAGEMENT_PREFIX = 'fdca:3ba5:a17a:acdb::/64';
export const FLEET_ORCHESTRATOR_ADDRESS = 'fdca:3ba5:a17a:acdb::1';
const EXTERNAL_V6_PREFIX = '2001:db8:e0';

export interface FleetRouter {
  readonly id: string;
  readonly tenantId: string;
  /** Index in the fleet: its two external addresses derive from it. */
  readonly index: number;
}

export interface Fleet {
  readonly externalNetworkId: string;
  readonly externalSubnetId: string;
  readonly routers: readonly FleetRouter[];
  readonly tenants: readonly string[];
}

export function makeFleet(routers: number, tenants: number): Fleet {
  const tenantIds = Array.from({ length: tenants }, () => randomUUID().replace(/-/g, ''));
  return {
    externalNetworkId: randomUUID(),
    externalSubnetId: randomUUID(),
    tenants: tenantIds,
    routers: Array.from({ length: routers }, (_, index) => ({ id: randomUUID(), tenantId: tenantIds[index % tenants]!, index })),
  };
}

/** Router `index`'s external address; `moved` gives the other of its two. */
export function externalAddress(index: number, moved: boolean): string {
  return `${EXTERNAL_V6_PREFIX}::${moved ? '1:' : ''}${(index + 16).toString(16)}`;
}

/** The resource file with the routers in `moved` on their second external address. */
export function fleetResourceFile(fleet: Fleet, count: number = fleet.routers.length, moved: ReadonlySet<number> = new Set()): unknown {
  return {
    networks: [{ id: fleet.externalNetworkId, name: 'public', tenant_id: 'admin', 'router:external': true }],
    subnets: [
      { id: fleet.externalSubnetId, network_id: fleet.externalNetworkId, cidr: `${EXTERNAL_V6_PREFIX}::/64`, ip_version: 6, gateway_ip: `${EXTERNAL_V6_PREFIX}::1`, enable_dhcp: false },
    ],
    ports: [],
    routers: fleet.routers.slice(0, count).map((r) => ({
      id: r.id,
      name: `router-${r.index}`,
      tenant_id: r.tenantId,
      admin_state_up: true,
      external_gateway_info: {
        network_id: fleet.externalNetworkId,
        external_fixed_ips: [{ subnet_id: fleet.externalSubnetId, ip_address: externalAddress(r.index, moved.has(r.index)) }],
      },
    })),
    floatingips: [],
    servers: [],
  };
}
