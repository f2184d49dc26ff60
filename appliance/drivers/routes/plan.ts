// The difference between the desired routes and the main table, as the lines
// of one `ip -batch` and the lines that undo it. Pure.
//
// Ownership: the agent remembers (memory persisted with the document) the
// routes it added. A configured route it finds already present and did not
// add is left out of that memory, so if it stops being configured it stays,
// like any route added by hand. A configured route whose slot (destination
// and metric) holds a different route is replaced, and from then on is the
// agent's.
import { parseAddress } from '../../../contract/index.js';
import type { BatchStep } from '../../host/ip-batch.js';
import { defaultMetric, destinationArg, replaceLine, routeSlot, type LiveRoute } from '../../host/routes.js';
import type { RouteDesired, RoutesDesired } from './render.js';

export interface RoutesPlan {
  /** `ip -batch` lines with their undo: deletions, then additions. */
  readonly steps: readonly BatchStep[];
  /** The routes the agent owns after this apply. */
  readonly memory: readonly RouteDesired[];
}

export function routeKey(route: RouteDesired): string {
  return `${route.family} ${route.destination} via ${route.via}${route.device === undefined ? '' : ` dev ${route.device}`}`;
}

/** Whether a live route is exactly the desired one (same slot, a plain unicast route through that next hop). */
export function isRoute(live: LiveRoute, route: RouteDesired): boolean {
  return (
    live.family === route.family &&
    destinationOf(live) === route.destination &&
    (live.metric ?? defaultMetric(live.family)) === defaultMetric(route.family) &&
    (live.type ?? 'unicast') === 'unicast' &&
    live.nexthops === undefined &&
    live.gateway !== undefined &&
    parseAddress(live.gateway)?.text === route.via &&
    (route.device === undefined || live.dev === route.device)
  );
}

export function planRoutes(desired: RoutesDesired, live: readonly LiveRoute[], remembered: readonly RouteDesired[]): RoutesPlan {
  const wanted = new Set(desired.routes.map(routeKey));
  const owned = new Set(remembered.map(routeKey));
  const steps: BatchStep[] = [];

  // Deletions first: a changed next hop is a delete of the old route and an add of the new one.
  for (const route of remembered) {
    if (wanted.has(routeKey(route))) continue;
    const present = live.find((l) => isRoute(l, route));
    if (!present) continue;
    steps.push({ line: `route del ${target(route)}`, undo: replaceLine(present) });
  }
  const added = new Set<string>();
  for (const route of desired.routes) {
    if (live.some((l) => isRoute(l, route))) continue;
    added.add(routeKey(route));
    const slot = `${route.family} ${route.destination} ${defaultMetric(route.family)}`;
    const previous = live.find((l) => routeSlot({ ...l, dst: destinationOf(l) }) === slot);
    steps.push({ line: `route replace ${target(route)}`, undo: previous ? replaceLine(previous) : `route del ${target(route)}` });
  }
  return {
    steps,
    memory: desired.routes.filter((r) => owned.has(routeKey(r)) || added.has(routeKey(r))),
  };
}

/** Destination, next hop, device and the default metric, as `ip route` words. */
function target(route: RouteDesired): string {
  const device = route.device === undefined ? '' : ` dev ${route.device}`;
  return `${destinationArg(route.family, route.destination)} via ${route.via}${device} metric ${defaultMetric(route.family)}`;
}

/** A live destination in the form of `RouteDesired.destination`: `ip` leaves out `/32` and `/128`. */
function destinationOf(live: LiveRoute): string {
  if (live.dst === 'default') return 'default';
  const slash = live.dst.indexOf('/');
  const address = parseAddress(slash < 0 ? live.dst : live.dst.slice(0, slash));
  if (!address) return live.dst;
  return `${address.text}/${slash < 0 ? (address.family === 4 ? 32 : 128) : live.dst.slice(slash + 1)}`;
}
