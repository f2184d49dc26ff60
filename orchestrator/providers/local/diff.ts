// An edit of the resource file as the events Neutron's and Octavia's
// notifications would have caused: an appliance needs an UPDATE exactly when
// something its document is built from changed, whichever collection the edit
// touched (a member edited is an UPDATE of its load balancer).
import { CREATE, DELETE, UPDATE, event, type Event, type ResourceRef } from '../../core/events.js';
import { routerPorts, tenantOf } from '../../model/neutron.js';
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
 */
export function diffViews(before: ResourceView | undefined, after: ResourceView): Event[] {
  const events: Event[] = [];
  for (const kind of KINDS) {
    const ref = (view: ResourceView, id: string): ResourceRef => ({ driver: kind.driver, id, tenantId: kind.tenantOf(view, id) });
    const earlier = new Set(before ? kind.ids(before) : []);
    const now = new Set(kind.ids(after));
    for (const id of now) {
      if (!before || !earlier.has(id)) {
        events.push(event(ref(after, id), CREATE));
      } else if (kind.tenantOf(before, id) !== kind.tenantOf(after, id)) {
        events.push(event(ref(before, id), DELETE), event(ref(after, id), CREATE));
      } else if (cachedInputs(before, `${kind.driver}:${id}`, () => kind.inputs(before, id)) !== cachedInputs(after, `${kind.driver}:${id}`, () => kind.inputs(after, id))) {
        events.push(event(ref(after, id), UPDATE));
      }
    }
    for (const id of earlier) if (!now.has(id)) events.push(event(ref(before!, id), DELETE));
  }
  return events;
}
