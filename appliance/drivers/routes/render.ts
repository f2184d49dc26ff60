// Desired routes (spec section 6, Routes): the IPv4 and IPv6 defaults, each
// subnet's host routes, each static route, as appliance/host/addressing.ts
// selects them. On an HA pair member a route through a shared network is
// keepalived's (a virtual route, on the master only, where the addresses it
// needs are): it is left out here. Pure.
import { parseAddress, type ConfigModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';
import { nextHopNetwork, selectRoutes, sharedByPair, type RouteDesired, type RouteSelection } from '../../host/addressing.js';

export type { RouteDesired } from '../../host/addressing.js';

export type RoutesDesired = RouteSelection;

export function renderRoutes(model: ConfigModel, host: RenderHost): RoutesDesired {
  const selected = selectRoutes(model, host);
  if (model.ha === undefined) return selected;
  const routes: RouteDesired[] = [];
  const skipped = [...selected.skipped];
  for (const route of selected.routes) {
    const network = nextHopNetwork(model, parseAddress(route.via)!);
    if (network && sharedByPair(model, network)) skipped.push({ route: `${route.destination} via ${route.via}`, reason: 'keepalived holds it on the master of the HA pair' });
    else routes.push(route);
  }
  return { routes, skipped };
}
