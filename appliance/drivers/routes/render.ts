// Desired routes (spec section 6, Routes): the IPv4 and IPv6 defaults, each
// subnet's host routes, each static route. Pure.
import { contains, defaultGateways, type ConfigModel, type ParsedAddress, type ParsedCidr } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';

export interface RouteDesired {
  readonly family: 4 | 6;
  /** `default`, or the destination network as canonical `network/prefix`. */
  readonly destination: string;
  /** The next hop, canonical. */
  readonly via: string;
  /** The device, given for default routes (the interface of the network holding the gateway). */
  readonly device?: string;
}

export interface RoutesDesired {
  readonly routes: readonly RouteDesired[];
  /** Configured routes left out, and why; logged when applied. */
  readonly skipped: readonly { readonly route: string; readonly reason: string }[];
}

/**
 * Defaults first, then static routes, then subnet host routes; when two name
 * the same destination the first one wins (the kernel holds one route per
 * destination and metric). Left out: a route through one of the router's own
 * addresses (guests get such host routes by DHCP; for the router itself
 * they mean nothing), and a route to one of its connected networks (it would
 * replace the kernel's on-link route).
 */
export function renderRoutes(model: ConfigModel, host: RenderHost): RoutesDesired {
  const own = new Set(model.networks.flatMap((n) => n.addresses.map((a) => a.text)));
  for (const f of model.floatingIps) own.add(f.floating.text);
  const connected = new Set(model.networks.flatMap((n) => n.addresses.map((a) => a.network)));
  const routes: RouteDesired[] = [];
  const skipped: { route: string; reason: string }[] = [];
  const taken = new Map<string, string>();

  const consider = (destination: string, family: 4 | 6, via: ParsedAddress, origin: string, device?: string) => {
    const text = `${origin}: ${destination} via ${via.text}`;
    const slot = `${family} ${destination}`;
    const first = taken.get(slot);
    if (first !== undefined) skipped.push({ route: text, reason: `${destination} is already routed by ${first}` });
    else if (own.has(via.text)) skipped.push({ route: text, reason: `${via.text} is the router's own address` });
    else if (connected.has(destination)) skipped.push({ route: text, reason: `${destination} is a connected network` });
    else {
      taken.set(slot, origin);
      routes.push(device === undefined ? { family, destination, via: via.text } : { family, destination, via: via.text, device });
    }
  };

  const gateways = defaultGateways(model);
  for (const gateway of [gateways.v4, gateways.v6]) {
    if (!gateway) continue;
    const network = model.networks.find((n) => n.subnets.some((s) => contains(s.cidr, gateway)) || n.addresses.some((a) => contains(a, gateway)));
    consider('default', gateway.family, gateway, `IPv${gateway.family} default gateway`, network && host.realName(network.ifname));
  }
  model.staticRoutes.forEach((r, i) => consider(destinationOf(r.destination), r.destination.family, r.nextHop, `static route ${i}`));
  for (const network of model.networks) {
    for (const subnet of network.subnets) {
      for (const r of subnet.hostRoutes) consider(destinationOf(r.destination), r.destination.family, r.nextHop, `host route of subnet ${subnet.cidr.cidr}`);
    }
  }
  return { routes, skipped };
}

export function destinationOf(cidr: ParsedCidr): string {
  return cidr.prefix === 0 ? 'default' : cidr.network;
}
