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
  /** Neutron's `ha`: an HA pair of appliances; absent from the file when undefined. */
  readonly ha?: boolean;
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
      ...(r.ha === undefined ? {} : { ha: r.ha }),
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

/** A pool member: a namespace of the lab answering its own name on `address:port`. */
export interface MemberSpec {
  readonly id: string;
  /** Its namespace role, which is also what it answers. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/**
 * One load balancer on its own network `198.51.100.0/24` (VIP `.10`): an HTTP
 * listener on port 80 whose round-robin pool has an HTTP health monitor;
 * members `.21`, `.22`...; clients from `.50`.
 */
export interface LoadBalancerSpec {
  readonly tenantId: string;
  readonly loadBalancerId: string;
  readonly networkId: string;
  readonly subnetId: string;
  readonly cidr: string;
  readonly vip: string;
  readonly listenerId: string;
  readonly poolId: string;
  readonly monitorId: string;
  readonly members: readonly MemberSpec[];
}

export function loadBalancerSpec(memberCount: number, tenantId = randomUUID().replace(/-/g, '')): LoadBalancerSpec {
  return {
    tenantId,
    loadBalancerId: randomUUID(),
    networkId: randomUUID(),
    subnetId: randomUUID(),
    cidr: '198.51.100.0/24',
    vip: '198.51.100.10',
    listenerId: randomUUID(),
    poolId: randomUUID(),
    monitorId: randomUUID(),
    members: Array.from({ length: memberCount }, (_, i) => ({ id: randomUUID(), name: `m${i + 1}`, address: `198.51.100.${21 + i}`, port: 8080 })),
  };
}

/**
 * The resource file for a load balancer in Octavia's shapes, children naming
 * their parents as `openstack loadbalancer ... create` takes them; `members`
 * (default: all of the spec's) are the pool's. Without the load balancer
 * (`withLoadBalancer` false) only its network remains.
 */
export function loadBalancerFile(spec: LoadBalancerSpec, members: readonly MemberSpec[] = spec.members, withLoadBalancer = true) {
  const network = {
    networks: [{ id: spec.networkId, name: 'lb-members', tenant_id: spec.tenantId }],
    subnets: [{ id: spec.subnetId, network_id: spec.networkId, tenant_id: spec.tenantId, cidr: spec.cidr, ip_version: 4, gateway_ip: null, enable_dhcp: false }],
  };
  if (!withLoadBalancer) return network;
  return {
    ...network,
    loadbalancers: [{ id: spec.loadBalancerId, name: 'web', project_id: spec.tenantId, vip_subnet_id: spec.subnetId, vip_address: spec.vip, admin_state_up: true }],
    listeners: [{ id: spec.listenerId, loadbalancer_id: spec.loadBalancerId, protocol: 'HTTP', protocol_port: 80, default_pool_id: spec.poolId }],
    pools: [{ id: spec.poolId, loadbalancer_id: spec.loadBalancerId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }],
    members: members.map((m) => ({ id: m.id, pool_id: spec.poolId, address: m.address, protocol_port: m.port, subnet_id: spec.subnetId })),
    healthmonitors: [{ id: spec.monitorId, pool_id: spec.poolId, type: 'HTTP', delay: 1, timeout: 1, max_retries: 2, url_path: '/' }],
  };
}
