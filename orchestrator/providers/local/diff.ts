// An edit of the resource file as the events Neutron's and Octavia's
// notifications would have caused: an appliance needs an UPDATE exactly when
// something its document is built from changed, whichever collection the edit
// touched (a member edited is an UPDATE of its load balancer).
import { CREATE, DELETE, UPDATE, event, type Event, type ResourceRef } from '../../core/events.js';
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  routerPorts,
  tenantOf,
  type NeutronFloatingIp,
  type NeutronNetwork,
  type NeutronPort,
  type NeutronRouter,
  type NeutronSubnet,
} from '../../model/neutron.js';
import type { OctaviaHealthMonitor, OctaviaListener, OctaviaLoadBalancer, OctaviaMember, OctaviaPool } from '../../model/octavia.js';
import type { NeutronEndpointGroup, NeutronIkePolicy, NeutronIpsecPolicy, NeutronIpsecSiteConnection, NeutronVpnService } from '../../model/vpnaas.js';
import { loadBalancerDetailOf, networkDetailOf, networkPortsOf, routerDetailOf } from './network.js';
import type { ResourceView } from './view.js';

/**
 * JSON with object keys sorted, so equal inputs give equal text whatever the
 * key order. Written out rather than a JSON.stringify replacer that rebuilds
 * every object sorted: the diff serializes every resource of the file on each
 * change, and the copies were most of that cost (bench O2).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined || typeof item === 'function') continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * Everything a router's appliance document is built from, in a comparable
 * form: the router, its gateway and interface ports, the management network
 * and the networks of those ports with their subnets, every port of each
 * internal network (the DHCP allocations), and its floating IPs. Undefined
 * when the view has no such router.
 */
export function routerInputs(view: ResourceView, routerId: string): string | undefined {
  const detail = routerDetailOf(view, routerId);
  if (!detail) return undefined;
  const networkIds = [view.managementNetworkId, ...routerPorts(detail).map((port) => port.network_id)];
  return canonicalJson({
    detail,
    networks: networkIds.map((id) => networkDetailOf(view, id) ?? null),
    allocations: detail.interfaces.map((port) => networkPortsOf(view, port.network_id)),
  });
}

/**
 * Everything a load balancer's appliance document is built from, comparable:
 * the load balancer, its VIP port, listeners, pools, members, health monitors
 * and the members' subnets, the management network and the VIP network with
 * their subnets. Undefined when the view has no such load balancer.
 */
export function loadBalancerInputs(view: ResourceView, loadBalancerId: string): string | undefined {
  const detail = loadBalancerDetailOf(view, loadBalancerId);
  if (!detail) return undefined;
  return canonicalJson({
    detail,
    networks: [view.managementNetworkId, detail.vipPort.network_id].map((id) => networkDetailOf(view, id) ?? null),
  });
}

/**
 * Each view's inputs, computed once: a view is diffed as `after` on one change
 * and as `before` on the next, and serializing every resource of a file of
 * thousands of routers was most of the watcher's work (issue 16, bench O2).
 */
const inputsCache = new WeakMap<ResourceView, Map<string, string | undefined>>();

function cachedInputs(view: ResourceView, key: string, compute: () => string | undefined): string | undefined {
  let inputs = inputsCache.get(view);
  if (!inputs) {
    inputs = new Map();
    inputsCache.set(view, inputs);
  }
  if (!inputs.has(key)) inputs.set(key, compute());
  return inputs.get(key);
}

/**
 * What an edit touched, by the ids its changed entries name (each entry as it
 * was before the edit and as it is after): the routers and load balancers
 * whose inputs may differ are found from these, in each view.
 */
interface Touched {
  /** Every router and load balancer: the management network is part of each one's inputs. */
  readonly everything: boolean;
  readonly routers: Set<string>;
  readonly loadbalancers: Set<string>;
  /** Networks whose entry or subnets changed: every resource with a port on one. */
  readonly networks: Set<string>;
  /** Networks whose ports changed (the file's, or the synthesized gateway and VIP ports): their DHCP allocations. */
  readonly portsOn: Set<string>;
  readonly ports: Set<string>;
  readonly pools: Set<string>;
  readonly vpnservices: Set<string>;
  /** `collection|id` of the IKE and IPsec policies and endpoint groups that changed. */
  readonly vpnParts: Set<string>;
}

/** What a changed entry of each collection touches; the collections no document is built from (servers) are left out. */
type Touch = (touched: Touched, entry: never) => void;

const TOUCHES: Readonly<Partial<Record<keyof ResourceView, Touch>>> = {
  networks: (t, network: NeutronNetwork) => t.networks.add(network.id),
  // A load balancer's members are on subnets of its VIP network (validation sees to it): the network covers them.
  subnets: (t, subnet: NeutronSubnet) => t.networks.add(subnet.network_id),
  ports: (t, port: NeutronPort) => {
    t.ports.add(port.id);
    t.portsOn.add(port.network_id);
    t.routers.add(port.device_id);
  },
  routers: (t, router: NeutronRouter) => {
    t.routers.add(router.id);
    // Its gateway port may be synthesized from it, and is then one of that network's ports.
    if (router.external_gateway_info) t.portsOn.add(router.external_gateway_info.network_id);
  },
  floatingips: (t, floatingIp: NeutronFloatingIp) => {
    if (floatingIp.router_id !== null) t.routers.add(floatingIp.router_id);
  },
  loadbalancers: (t, lb: OctaviaLoadBalancer) => {
    t.loadbalancers.add(lb.id);
    t.portsOn.add(lb.vip_network_id);
  },
  listeners: (t, listener: OctaviaListener) => t.loadbalancers.add(listener.loadbalancer_id),
  pools: (t, pool: OctaviaPool) => {
    t.loadbalancers.add(pool.loadbalancer_id);
    t.pools.add(pool.id);
  },
  members: (t, member: OctaviaMember) => t.pools.add(member.pool_id),
  healthmonitors: (t, monitor: OctaviaHealthMonitor) => t.pools.add(monitor.pool_id),
  vpnservices: (t, service: NeutronVpnService) => t.routers.add(service.router_id),
  ipsec_site_connections: (t, connection: NeutronIpsecSiteConnection) => t.vpnservices.add(connection.vpnservice_id),
  ikepolicies: (t, policy: NeutronIkePolicy) => t.vpnParts.add(`ikepolicies|${policy.id}`),
  ipsecpolicies: (t, policy: NeutronIpsecPolicy) => t.vpnParts.add(`ipsecpolicies|${policy.id}`),
  endpoint_groups: (t, group: NeutronEndpointGroup) => t.vpnParts.add(`endpoint_groups|${group.id}`),
};

/** An entry's JSON, computed once: entries of a view are immutable, and a view is diffed twice (as `after`, then as `before`). */
const entryTexts = new WeakMap<object, string>();

function entryText(entry: object): string {
  let text = entryTexts.get(entry);
  if (text === undefined) {
    text = JSON.stringify(entry);
    entryTexts.set(entry, text);
  }
  return text;
}

/**
 * The ids the entries changed between the views name, collection by
 * collection. Two entries of the same id with the same JSON are the same
 * (both were built by the same validation, in the same key order); a
 * different text that is not a different value only costs a comparison of
 * inputs below.
 */
function touchedBetween(before: ResourceView, after: ResourceView): Touched {
  const touched: Touched = {
    everything: before.managementNetworkId !== after.managementNetworkId,
    routers: new Set(),
    loadbalancers: new Set(),
    networks: new Set(),
    portsOn: new Set(),
    ports: new Set(),
    pools: new Set(),
    vpnservices: new Set(),
    vpnParts: new Set(),
  };
  for (const [collection, touch] of Object.entries(TOUCHES) as [keyof ResourceView, Touch][]) {
    const earlier = before[collection] as ReadonlyMap<string, object>;
    const now = after[collection] as ReadonlyMap<string, object>;
    for (const [id, entry] of now) {
      const previous = earlier.get(id);
      if (previous === entry || (previous !== undefined && entryText(previous) === entryText(entry))) continue;
      touch(touched, entry as never);
      if (previous !== undefined) touch(touched, previous as never);
    }
    for (const [id, entry] of earlier) if (!now.has(id)) touch(touched, entry as never);
  }
  return touched;
}

/** The routers and load balancers of `view` whose inputs depend on what was touched. */
function affectedIn(view: ResourceView, touched: Touched, routers: Set<string>, loadbalancers: Set<string>): void {
  if (touched.everything || touched.networks.has(view.managementNetworkId)) {
    for (const id of view.routers.keys()) routers.add(id);
    for (const id of view.loadbalancers.keys()) loadbalancers.add(id);
    return;
  }
  for (const id of touched.routers) routers.add(id);
  for (const id of touched.loadbalancers) loadbalancers.add(id);
  for (const networkId of touched.networks) {
    for (const port of networkPortsOf(view, networkId)) {
      if (port.device_owner === ROUTER_GATEWAY_OWNER || port.device_owner === ROUTER_INTERFACE_OWNER) routers.add(port.device_id);
    }
  }
  for (const networkId of touched.portsOn) {
    for (const port of networkPortsOf(view, networkId)) if (port.device_owner === ROUTER_INTERFACE_OWNER) routers.add(port.device_id);
  }
  if (touched.ports.size > 0 || touched.networks.size > 0) {
    for (const lb of view.loadbalancers.values()) {
      const vipPort = loadBalancerDetailOf(view, lb.id)!.vipPort;
      if (touched.ports.has(vipPort.id) || touched.networks.has(vipPort.network_id)) loadbalancers.add(lb.id);
    }
  }
  for (const poolId of touched.pools) {
    const pool = view.pools.get(poolId);
    if (pool) loadbalancers.add(pool.loadbalancer_id);
  }
  if (touched.vpnservices.size > 0 || touched.vpnParts.size > 0) {
    const services = new Set(touched.vpnservices);
    for (const connection of view.ipsec_site_connections.values()) {
      const parts = [
        `ikepolicies|${connection.ikepolicy_id}`,
        `ipsecpolicies|${connection.ipsecpolicy_id}`,
        `endpoint_groups|${String(connection.local_ep_group_id)}`,
        `endpoint_groups|${String(connection.peer_ep_group_id)}`,
      ];
      if (parts.some((part) => touched.vpnParts.has(part))) services.add(connection.vpnservice_id);
    }
    for (const serviceId of services) {
      const service = view.vpnservices.get(serviceId);
      if (service) routers.add(service.router_id);
    }
  }
}

/** One kind of resource as the diff sees it. */
interface Kind {
  readonly driver: string;
  readonly ids: (view: ResourceView) => Iterable<string>;
  readonly tenantOf: (view: ResourceView, id: string) => string;
  readonly inputs: (view: ResourceView, id: string) => string | undefined;
}

const KINDS: readonly Kind[] = [
  {
    driver: 'router',
    ids: (view) => view.routers.keys(),
    tenantOf: (view, id) => tenantOf(view.routers.get(id)!),
    inputs: routerInputs,
  },
  {
    driver: 'loadbalancer',
    ids: (view) => view.loadbalancers.keys(),
    tenantOf: (view, id) => view.loadbalancers.get(id)!.tenant_id,
    inputs: loadBalancerInputs,
  },
];

/**
 * The events that take the resources of `before` to those of `after`, routers
 * then load balancers: for each kind, CREATE, UPDATE and DELETE in the file
 * order of `after`'s resources, then the DELETEs of resources that are gone,
 * in `before`'s order. A resource whose tenant changed is a DELETE under the
 * old tenant then a CREATE under the new one, since each tenant's resources
 * are managed apart.
 *
 * Only the resources a changed entry can reach have their inputs compared:
 * an edit of a file of thousands of routers usually touches a few, and
 * serializing every router's inputs on each edit bounded the events'
 * latency (issue 16, bench O2).
 */
export function diffViews(before: ResourceView | undefined, after: ResourceView): Event[] {
  const affected = { router: new Set<string>(), loadbalancer: new Set<string>() };
  if (before) {
    const touched = touchedBetween(before, after);
    for (const view of [before, after]) affectedIn(view, touched, affected.router, affected.loadbalancer);
  }
  const events: Event[] = [];
  for (const kind of KINDS) {
    const ref = (view: ResourceView, id: string): ResourceRef => ({ driver: kind.driver, id, tenantId: kind.tenantOf(view, id) });
    const candidates = kind.driver === 'router' ? affected.router : affected.loadbalancer;
    const earlier = new Set(before ? kind.ids(before) : []);
    const now = new Set(kind.ids(after));
    for (const id of now) {
      if (!before || !earlier.has(id)) {
        events.push(event(ref(after, id), CREATE));
      } else if (kind.tenantOf(before, id) !== kind.tenantOf(after, id)) {
        events.push(event(ref(before, id), DELETE), event(ref(after, id), CREATE));
      } else if (candidates.has(id) && cachedInputs(before, `${kind.driver}:${id}`, () => kind.inputs(before, id)) !== cachedInputs(after, `${kind.driver}:${id}`, () => kind.inputs(after, id))) {
        events.push(event(ref(after, id), UPDATE));
      }
    }
    for (const id of earlier) if (!now.has(id)) events.push(event(ref(before!, id), DELETE));
  }
  return events;
}
