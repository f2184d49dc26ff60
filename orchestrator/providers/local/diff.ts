// An edit of the resource file as the events Neutron's notifications would
// have caused: a router's appliance needs an UPDATE exactly when something its
// document is built from changed, whichever collection the edit touched.
import { CREATE, DELETE, UPDATE, event, type Event, type ResourceRef } from '../../core/events.js';
import { routerPorts, tenantOf, type NeutronRouter } from '../../model/neutron.js';
import { networkDetailOf, networkPortsOf, routerDetailOf } from './network.js';
import type { ResourceView } from './view.js';

/** JSON with object keys sorted, so equal inputs give equal text whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
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

const routerRef = (router: NeutronRouter): ResourceRef => ({ driver: 'router', id: router.id, tenantId: tenantOf(router) });

/**
 * The events that take the routers of `before` to those of `after`: CREATE,
 * UPDATE and DELETE in the file order of `after`'s routers, then the DELETEs
 * of routers that are gone, in `before`'s order. A router whose tenant changed
 * is a DELETE under the old tenant then a CREATE under the new one, since
 * each tenant's routers are managed apart.
 */
export function diffViews(before: ResourceView | undefined, after: ResourceView): Event[] {
  const events: Event[] = [];
  for (const router of after.routers.values()) {
    const previous = before?.routers.get(router.id);
    if (!previous || !before) {
      events.push(event(routerRef(router), CREATE));
    } else if (tenantOf(previous) !== tenantOf(router)) {
      events.push(event(routerRef(previous), DELETE), event(routerRef(router), CREATE));
    } else if (routerInputs(before, router.id) !== routerInputs(after, router.id)) {
      events.push(event(routerRef(router), UPDATE));
    }
  }
  for (const router of before?.routers.values() ?? []) {
    if (!after.routers.has(router.id)) events.push(event(routerRef(router), DELETE));
  }
  return events;
}
