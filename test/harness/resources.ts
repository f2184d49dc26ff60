// Resource files in Neutron's shapes for the orchestrator's tests: one
// tenant router with an external gateway, tenant networks with a guest port
// each, and floating IPs. Every id is fresh, so appliance namespaces and
// bridges of different runs never meet; addresses are documentation ranges.
import { randomUUID } from 'node:crypto';

export const EXTERNAL = { cidr: '192.0.2.0/24', gateway: '192.0.2.1' } as const;

export interface TenantNetwork {
  readonly networkId: string;
  readonly subnetId: string;
  /** The router's interface port on this network. */
  readonly routerPortId: string;
  readonly routerMac: string;
  readonly cidr: string;
  readonly gateway: string;
  readonly guestPortId: string;
  readonly guestMac: string;
  readonly guestAddress: string;
  /** The guest's instance (the port's device_id and the server id). */
  readonly instanceId: string;
  readonly guestName: string;
}

export interface RouterSpec {
  readonly tenantId: string;
  readonly routerId: string;
  /** The router's address on the external network. */
  readonly externalAddress: string;
  readonly tenants: readonly TenantNetwork[];
}

let macCounter = 0;
/** A MAC unique within this test process (locally administered). */
export function nextMac(): string {
  const n = ++macCounter;
  return `fa:16:3e:${((process.pid >> 8) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

/** A tenant network `198.51.100.<base>/26` with its router port (`.base+1`) and one guest (`.base+10`). */
export function tenantNetwork(index: number, name = `guest-${index}`): TenantNetwork {
  const base = index * 64;
  return {
    networkId: randomUUID(),
    subnetId: randomUUID(),
    routerPortId: randomUUID(),
    routerMac: nextMac(),
    cidr: `198.51.100.${base}/26`,
    gateway: `198.51.100.${base + 1}`,
    guestPortId: randomUUID(),
    guestMac: nextMac(),
    guestAddress: `198.51.100.${base + 10}`,
    instanceId: randomUUID(),
    guestName: name,
  };
}

export function routerSpec(tenantCount: number, externalAddress = '192.0.2.2', tenantId = randomUUID().replace(/-/g, '')): RouterSpec {
  return { tenantId, routerId: randomUUID(), externalAddress, tenants: Array.from({ length: tenantCount }, (_, i) => tenantNetwork(i)) };
}

export interface ExternalNetwork {
  readonly networkId: string;
  readonly subnetId: string;
}

export function externalNetwork(): ExternalNetwork {
  return { networkId: randomUUID(), subnetId: randomUUID() };
}

export interface FloatingIp {
  readonly id: string;
  readonly address: string;
  readonly routerId: string;
  readonly portId: string;
  readonly fixedAddress: string;
}

/** The resource file for some routers sharing one external network. */
export function resourceFile(external: ExternalNetwork, routers: readonly RouterSpec[], floating: readonly FloatingIp[] = []) {
  return {
    networks: [
      { id: external.networkId, name: 'public', tenant_id: 'admin', 'router:external': true },
      ...routers.flatMap((r) => r.tenants.map((t) => ({ id: t.networkId, name: `net-${t.guestName}`, tenant_id: r.tenantId }))),
    ],
    subnets: [
      { id: external.subnetId, network_id: external.networkId, cidr: EXTERNAL.cidr, ip_version: 4, gateway_ip: EXTERNAL.gateway, enable_dhcp: false },
      ...routers.flatMap((r) =>
        r.tenants.map((t) => ({ id: t.subnetId, network_id: t.networkId, tenant_id: r.tenantId, cidr: t.cidr, ip_version: 4, gateway_ip: t.gateway, enable_dhcp: true, dns_nameservers: [] })),
      ),
    ],
    ports: routers.flatMap((r) =>
      r.tenants.flatMap((t) => [
        {
          id: t.routerPortId,
          network_id: t.networkId,
          tenant_id: r.tenantId,
          mac_address: t.routerMac,
          fixed_ips: [{ subnet_id: t.subnetId, ip_address: t.gateway }],
          device_id: r.routerId,
          device_owner: 'network:router_interface',
        },
        {
          id: t.guestPortId,
          network_id: t.networkId,
          tenant_id: r.tenantId,
          mac_address: t.guestMac,
          fixed_ips: [{ subnet_id: t.subnetId, ip_address: t.guestAddress }],
          device_id: t.instanceId,
          device_owner: 'compute:nova',
        },
      ]),
    ),
    routers: routers.map((r) => ({
      id: r.routerId,
      name: `router-${r.routerId.slice(0, 8)}`,
      tenant_id: r.tenantId,
      admin_state_up: true,
      external_gateway_info: { network_id: external.networkId, external_fixed_ips: [{ subnet_id: external.subnetId, ip_address: r.externalAddress }] },
    })),
    floatingips: floating.map((f) => ({
      id: f.id,
      floating_ip_address: f.address,
      floating_network_id: external.networkId,
      port_id: f.portId,
      fixed_ip_address: f.fixedAddress,
      router_id: f.routerId,
    })),
    servers: routers.flatMap((r) => r.tenants.map((t) => ({ id: t.instanceId, name: t.guestName, tenant_id: r.tenantId }))),
  };
}
