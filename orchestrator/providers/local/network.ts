// The local NetworkProvider: Neutron's and Octavia's reads answered from the
// current view of the resource file. Ports the cloud would create (management
// ports, and gateway and VIP ports the file leaves out) are synthesized
// deterministically from their owner, so after a restart the orchestrator
// finds the very same appliances.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseAddress, parseCidr } from '../../../contract/ip.js';
import type { ResourceRef } from '../../core/events.js';
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  tenantOf,
  type NetworkDetail,
  type NeutronFloatingIp,
  type NeutronPort,
  type NeutronRouter,
  type NeutronSubnet,
  type RouterDetail,
} from '../../model/neutron.js';
import type { NeutronIpsecSiteConnection, NeutronVpnService, VpnServiceDetail } from '../../model/vpnaas.js';
import type { LoadBalancerDetail, OctaviaHealthMonitor, OctaviaListener, OctaviaLoadBalancer, OctaviaMember, OctaviaPool } from '../../model/octavia.js';
import type { NetworkProvider, ResourceSummary } from '../types.js';
import type { ResourceView } from './view.js';

export const MANAGEMENT_PORT_OWNER = 'network:astara';
/** Octavia's owner of the VIP ports it makes. */
export const VIP_PORT_OWNER = 'Octavia';

const digest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** A UUID (version-4 layout) that is a function of `key`. */
export function deterministicPortId(key: string): string {
  const bytes = digest(key).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A unicast, locally administered MAC (first byte 0xfa) that is a function of `key`. */
export function deterministicMac(key: string): string {
  const bytes = [0xfa, ...digest(key).subarray(16, 21)];
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** The address IPv6 SLAAC gives `mac` in `prefix` (modified EUI-64); the prefix must be /64 or shorter. */
export function eui64Address(prefix: string, mac: string): string {
  const range = parseCidr(prefix);
  if (!range || range.family !== 6 || range.prefix > 64) throw new Error(`${prefix} is not an IPv6 prefix of /64 or shorter`);
  if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(mac)) throw new Error(`${mac} is not a MAC address`);
  const m = mac.split(':').map((part) => parseInt(part, 16));
  const interfaceId = [m[0]! ^ 0x02, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!];
  const bytes = [...parseCidr(range.network)!.addr.toByteArray().slice(0, 8), ...interfaceId];
  const groups = [0, 2, 4, 6, 8, 10, 12, 14].map((i) => ((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return parseAddress(groups.join(':'))!.text;
}

/**
 * Each router entry's synthesized gateway port: entries are immutable, and an
 * edit of a file of thousands of routers keeps most of its entries (see
 * EntryMemo), whose ports then need no new digests.
 */
const gatewayPorts = new WeakMap<NeutronRouter, NeutronPort | undefined>();

/** The gateway port Neutron would have made from the router's `external_fixed_ips`. */
function synthesizedGatewayPort(router: NeutronRouter): NeutronPort | undefined {
  if (gatewayPorts.has(router)) return gatewayPorts.get(router);
  const port = gatewayPortOf(router);
  gatewayPorts.set(router, port);
  return port;
}

function gatewayPortOf(router: NeutronRouter): NeutronPort | undefined {
  const gateway = router.external_gateway_info;
  if (!gateway?.external_fixed_ips?.length) return undefined;
  const key = `gateway:${router.id}`;
  return {
    id: deterministicPortId(key),
    network_id: gateway.network_id,
    name: '',
    mac_address: deterministicMac(key),
    fixed_ips: gateway.external_fixed_ips,
    device_id: router.id,
    device_owner: ROUTER_GATEWAY_OWNER,
    admin_state_up: true,
  };
}

const vipKey = (loadBalancerId: string): string => `vip:${loadBalancerId}`;

/** The id of the VIP port synthesized for a load balancer whose file entry names none. */
export const vipPortId = (loadBalancerId: string): string => deterministicPortId(vipKey(loadBalancerId));

/** The VIP port Octavia would have made (`octavia-lb-<id>`), on the subnet and with the address of the load balancer. */
function synthesizedVipPort(lb: OctaviaLoadBalancer): NeutronPort {
  return {
    id: vipPortId(lb.id),
    network_id: lb.vip_network_id,
    name: `octavia-lb-${lb.id}`,
    tenant_id: lb.tenant_id,
    mac_address: deterministicMac(vipKey(lb.id)),
    fixed_ips: [{ subnet_id: lb.vip_subnet_id, ip_address: lb.vip_address }],
    device_id: `lb-${lb.id}`,
    device_owner: VIP_PORT_OWNER,
    admin_state_up: true,
  };
}

/**
 * A view's collections grouped the way the lookups below need them, in one
 * pass: a diff asks for every router's inputs, and scanning every port per
 * router would make that quadratic. Views are immutable, so each is indexed once.
 */
interface ViewIndex {
  /** File ports, then synthesized gateway and VIP ports, per network. */
  readonly portsByNetwork: ReadonlyMap<string, readonly NeutronPort[]>;
  readonly subnetsByNetwork: ReadonlyMap<string, readonly NeutronSubnet[]>;
  readonly interfacesByRouter: ReadonlyMap<string, readonly NeutronPort[]>;
  /** The file's gateway port, or the synthesized one. */
  readonly gatewayPortByRouter: ReadonlyMap<string, NeutronPort>;
  /** Associated floating IPs (with a port) per router. */
  readonly floatingIpsByRouter: ReadonlyMap<string, readonly NeutronFloatingIp[]>;
  /** The file's VIP port, or the synthesized one. */
  readonly vipPortByLoadBalancer: ReadonlyMap<string, NeutronPort>;
  readonly listenersByLoadBalancer: ReadonlyMap<string, readonly OctaviaListener[]>;
  readonly poolsByLoadBalancer: ReadonlyMap<string, readonly OctaviaPool[]>;
  readonly membersByPool: ReadonlyMap<string, readonly OctaviaMember[]>;
  readonly monitorByPool: ReadonlyMap<string, OctaviaHealthMonitor>;
  readonly vpnServicesByRouter: ReadonlyMap<string, readonly NeutronVpnService[]>;
  readonly connectionsByVpnService: ReadonlyMap<string, readonly NeutronIpsecSiteConnection[]>;
}

const indexes = new WeakMap<ResourceView, ViewIndex>();

function append<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

function indexOf(view: ResourceView): ViewIndex {
  const cached = indexes.get(view);
  if (cached) return cached;
  const portsByNetwork = new Map<string, NeutronPort[]>();
  const interfacesByRouter = new Map<string, NeutronPort[]>();
  const gatewayPortByRouter = new Map<string, NeutronPort>();
  for (const port of view.ports.values()) {
    append(portsByNetwork, port.network_id, port);
    if (port.device_owner === ROUTER_INTERFACE_OWNER) append(interfacesByRouter, port.device_id, port);
    if (port.device_owner === ROUTER_GATEWAY_OWNER && !gatewayPortByRouter.has(port.device_id)) gatewayPortByRouter.set(port.device_id, port);
  }
  for (const router of view.routers.values()) {
    const port = gatewayPortByRouter.has(router.id) ? undefined : synthesizedGatewayPort(router);
    if (!port) continue;
    gatewayPortByRouter.set(router.id, port);
    append(portsByNetwork, port.network_id, port);
  }
  const subnetsByNetwork = new Map<string, NeutronSubnet[]>();
  for (const subnet of view.subnets.values()) append(subnetsByNetwork, subnet.network_id, subnet);
  const floatingIpsByRouter = new Map<string, NeutronFloatingIp[]>();
  for (const floatingIp of view.floatingips.values()) {
    if (floatingIp.router_id !== null && floatingIp.port_id !== null) append(floatingIpsByRouter, floatingIp.router_id, floatingIp);
  }
  const vipPortByLoadBalancer = new Map<string, NeutronPort>();
  for (const lb of view.loadbalancers.values()) {
    const filePort = view.ports.get(lb.vip_port_id);
    const port = filePort ?? synthesizedVipPort(lb);
    vipPortByLoadBalancer.set(lb.id, port);
    if (!filePort) append(portsByNetwork, port.network_id, port);
  }
  const listenersByLoadBalancer = new Map<string, OctaviaListener[]>();
  for (const listener of view.listeners.values()) append(listenersByLoadBalancer, listener.loadbalancer_id, listener);
  const poolsByLoadBalancer = new Map<string, OctaviaPool[]>();
  for (const pool of view.pools.values()) append(poolsByLoadBalancer, pool.loadbalancer_id, pool);
  const membersByPool = new Map<string, OctaviaMember[]>();
  for (const member of view.members.values()) append(membersByPool, member.pool_id, member);
  const monitorByPool = new Map([...view.healthmonitors.values()].map((monitor) => [monitor.pool_id, monitor]));
  const vpnServicesByRouter = new Map<string, NeutronVpnService[]>();
  for (const service of view.vpnservices.values()) append(vpnServicesByRouter, service.router_id, service);
  const connectionsByVpnService = new Map<string, NeutronIpsecSiteConnection[]>();
  for (const connection of view.ipsec_site_connections.values()) append(connectionsByVpnService, connection.vpnservice_id, connection);
  const index = {
    portsByNetwork,
    subnetsByNetwork,
    interfacesByRouter,
    gatewayPortByRouter,
    floatingIpsByRouter,
    vipPortByLoadBalancer,
    listenersByLoadBalancer,
    poolsByLoadBalancer,
    membersByPool,
    monitorByPool,
    vpnServicesByRouter,
    connectionsByVpnService,
  };
  indexes.set(view, index);
  return index;
}

/** What Neutron's `sync_routers` gives for one router; undefined when the file has no such router. */
export function routerDetailOf(view: ResourceView, routerId: string): RouterDetail | undefined {
  const router = view.routers.get(routerId);
  if (!router) return undefined;
  const index = indexOf(view);
  return {
    router,
    gatewayPort: index.gatewayPortByRouter.get(routerId),
    interfaces: [...(index.interfacesByRouter.get(routerId) ?? [])],
    floatingIps: [...(index.floatingIpsByRouter.get(routerId) ?? [])],
    vpnServices: (index.vpnServicesByRouter.get(routerId) ?? []).map((service) => vpnServiceDetail(view, index, service)),
  };
}

/** A VPN service with its connections, each with the policies and endpoint groups it names. */
function vpnServiceDetail(view: ResourceView, index: ViewIndex, service: NeutronVpnService): VpnServiceDetail {
  const group = (id: string | null) => (id === null ? null : view.endpoint_groups.get(id));
  return {
    service,
    connections: (index.connectionsByVpnService.get(service.id) ?? []).map((connection) => ({
      connection,
      ikepolicy: view.ikepolicies.get(connection.ikepolicy_id),
      ipsecpolicy: view.ipsecpolicies.get(connection.ipsecpolicy_id),
      localEndpointGroup: group(connection.local_ep_group_id),
      peerEndpointGroup: group(connection.peer_ep_group_id),
    })),
  };
}

/** A load balancer with its VIP port and everything below it; undefined when the file has no such load balancer. */
export function loadBalancerDetailOf(view: ResourceView, loadBalancerId: string): LoadBalancerDetail | undefined {
  const loadbalancer = view.loadbalancers.get(loadBalancerId);
  if (!loadbalancer) return undefined;
  const index = indexOf(view);
  const pools = [...(index.poolsByLoadBalancer.get(loadBalancerId) ?? [])];
  const members = pools.flatMap((pool) => index.membersByPool.get(pool.id) ?? []);
  const subnetIds = [...new Set(members.map((member) => member.subnet_id))];
  return {
    loadbalancer,
    vipPort: index.vipPortByLoadBalancer.get(loadBalancerId)!,
    listeners: [...(index.listenersByLoadBalancer.get(loadBalancerId) ?? [])],
    pools,
    members,
    healthmonitors: pools.flatMap((pool) => index.monitorByPool.get(pool.id) ?? []),
    subnets: subnetIds.flatMap((id) => view.subnets.get(id) ?? []),
  };
}

export function networkDetailOf(view: ResourceView, networkId: string): NetworkDetail | undefined {
  const network = view.networks.get(networkId);
  if (!network) return undefined;
  return { network, subnets: [...(indexOf(view).subnetsByNetwork.get(networkId) ?? [])] };
}

/** Every port on a network: the file's, then the synthesized gateway and VIP ports, as Neutron would list them. */
export function networkPortsOf(view: ResourceView, networkId: string): NeutronPort[] {
  return [...(indexOf(view).portsByNetwork.get(networkId) ?? [])];
}

/** The management port of instance `index` of a resource: the same inputs always give the same port. */
export function managementPortOf(view: ResourceView, resource: ResourceRef, index: number): NeutronPort {
  const subnet = view.subnets.get(view.managementSubnetId);
  if (!subnet) throw new Error(`the view has no management subnet ${view.managementSubnetId}`);
  const key = `mgmt:${resource.driver}:${resource.id}:${index}`;
  const mac = deterministicMac(key);
  return {
    id: deterministicPortId(key),
    network_id: view.managementNetworkId,
    name: `ASTARA:MGT:${resource.id}`,
    mac_address: mac,
    fixed_ips: [{ subnet_id: subnet.id, ip_address: eui64Address(subnet.cidr, mac) }],
    device_id: resource.id,
    device_owner: MANAGEMENT_PORT_OWNER,
    admin_state_up: true,
  };
}

/** The id and MAC of HA member `member`'s port for `logical`. */
function memberPortIdentity(logical: NeutronPort, member: number): { id: string; mac_address: string } {
  const key = `member:${member}:${logical.id}`;
  return { id: deterministicPortId(key), mac_address: deterministicMac(key) };
}

/**
 * The port HA member `member` of a resource plugs for one of the resource's
 * logical ports: the same network, an id and MAC of its own (both members sit
 * on the same bridge), no address (the router's addresses are the logical
 * ports', and keepalived moves them between the members), as the original's
 * `ASTARA:VRRP:` ports. The same inputs always give the same port.
 */
export function memberPortOf(resource: ResourceRef, logical: NeutronPort, member: number): NeutronPort {
  const { id, mac_address } = memberPortIdentity(logical, member);
  return {
    id,
    network_id: logical.network_id,
    name: `ASTARA:VRRP:${resource.id}`,
    mac_address,
    fixed_ips: [],
    device_id: resource.id,
    device_owner: MANAGEMENT_PORT_OWNER,
    admin_state_up: true,
  };
}

export class LocalNetworkProvider implements NetworkProvider {
  constructor(
    private readonly view: () => ResourceView,
    /** Where status reports go, at debug level, for want of a Neutron to tell. */
    private readonly logger?: Logger,
  ) {}

  get managementNetworkId(): string {
    return this.view().managementNetworkId;
  }

  listRouters(): Promise<ResourceSummary[]> {
    return Promise.resolve([...this.view().routers.values()].map((router) => ({ driver: 'router', id: router.id, tenantId: tenantOf(router) })));
  }

  getRouter(id: string): Promise<RouterDetail | undefined> {
    return Promise.resolve(routerDetailOf(this.view(), id));
  }

  routerForTenant(tenantId: string): Promise<string | undefined> {
    return Promise.resolve([...this.view().routers.values()].find((router) => tenantOf(router) === tenantId)?.id);
  }

  listLoadBalancers(): Promise<ResourceSummary[]> {
    return Promise.resolve([...this.view().loadbalancers.values()].map((lb) => ({ driver: 'loadbalancer', id: lb.id, tenantId: lb.tenant_id })));
  }

  getLoadBalancer(id: string): Promise<LoadBalancerDetail | undefined> {
    return Promise.resolve(loadBalancerDetailOf(this.view(), id));
  }

  loadBalancerForTenant(tenantId: string): Promise<string | undefined> {
    return Promise.resolve([...this.view().loadbalancers.values()].find((lb) => lb.tenant_id === tenantId)?.id);
  }

  getNetwork(id: string): Promise<NetworkDetail | undefined> {
    return Promise.resolve(networkDetailOf(this.view(), id));
  }

  listNetworkPorts(networkId: string): Promise<NeutronPort[]> {
    return Promise.resolve(networkPortsOf(this.view(), networkId));
  }

  ensureManagementPort(resource: ResourceRef, index: number): Promise<NeutronPort> {
    return Promise.resolve(managementPortOf(this.view(), resource, index));
  }

  /** A single appliance plugs its resource's own ports (a router's interfaces, a load balancer's VIP port); an HA member, ports of its own. */
  ensureAppliancePort(resource: ResourceRef, logical: NeutronPort, member?: number): Promise<NeutronPort> {
    return Promise.resolve(member === undefined ? logical : memberPortOf(resource, logical, member));
  }

  appliancePortMatches(plugged: NeutronPort, logical: NeutronPort, member?: number): boolean {
    const expected = member === undefined ? logical : memberPortIdentity(logical, member);
    return plugged.id === expected.id && plugged.network_id === logical.network_id && plugged.mac_address === expected.mac_address;
  }

  /** Nothing was created: the ports are the file's or synthesized. */
  deleteAppliancePorts(_resource: ResourceRef): Promise<void> {
    return Promise.resolve();
  }

  /** There is no Neutron to tell. */
  updateStatus(resource: ResourceRef, status: string): Promise<void> {
    this.logger?.debug({ resource, status }, 'resource status (not reported: local provider)');
    return Promise.resolve();
  }

  managementInterface(port: NeutronPort): string {
    const address = port.fixed_ips[0]?.ip_address;
    if (address === undefined) throw new Error(`management port ${port.id} has no address`);
    const view = this.view();
    const subnet = view.subnets.get(view.managementSubnetId);
    const prefix = subnet === undefined ? undefined : parseCidr(subnet.cidr)?.prefix;
    if (prefix === undefined) throw new Error(`the view has no management subnet ${view.managementSubnetId}`);
    return `${address}/${prefix}`;
  }
}
