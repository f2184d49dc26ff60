// What a document puts on the appliance's interfaces and in its routing
// table, decided once for the three subsystems that share it: interfaces and
// routes apply it on a single router, and on an HA pair member the ha
// subsystem hands the part on the shared networks to keepalived, which holds
// it on the master only. Pure: the model and the real interface names in,
// data out.
import { contains, defaultGateways, networkOfType, type ConfigModel, type NetworkModel, type ParsedAddress, type ParsedCidr } from '../../contract/index.js';

/** The real interface name behind a generic one (RenderHost, without importing the engine). */
interface NameHost {
  realName(generic: string): string;
}

/**
 * Whether keepalived, not the interfaces and routes subsystems, holds what
 * the document puts on `network`: on an HA pair member every network but
 * management is shared with the peer, and only the master may hold its
 * addresses (and the routes through them, which need those addresses).
 */
export function sharedByPair(model: ConfigModel, network: NetworkModel): boolean {
  return model.ha !== undefined && network.type !== 'management';
}

/** Every address the document puts on `network`'s interface, as canonical `address/prefix`: its own, and the floating IPs on the external one. */
export function networkAddresses(model: ConfigModel, network: NetworkModel): string[] {
  const addresses = network.addresses.map((a) => a.cidr);
  if (network === networkOfType(model, 'external')) {
    for (const { floating } of model.floatingIps) addresses.push(`${floating.text}/${floatingPrefix(network, floating)}`);
  }
  return [...new Set(addresses)];
}

/**
 * The prefix length a floating IP gets on the external interface: that of the
 * external subnet holding it (so the kernel has the on-link route the subnet
 * implies), else that of an external address holding it, else a host prefix.
 */
export function floatingPrefix(external: NetworkModel, floating: ParsedAddress): number {
  const holder = external.subnets.map((s) => s.cidr).find((c) => contains(c, floating)) ?? external.addresses.find((c) => contains(c, floating));
  return holder?.prefix ?? (floating.family === 4 ? 32 : 128);
}

export interface RouteDesired {
  readonly family: 4 | 6;
  /** `default`, or the destination network as canonical `network/prefix`. */
  readonly destination: string;
  /** The next hop, canonical. */
  readonly via: string;
  /** The device, given for default routes (the interface of the network holding the gateway). */
  readonly device?: string;
}

export interface RouteSelection {
  readonly routes: readonly RouteDesired[];
  /** Configured routes left out, and why. */
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
export function selectRoutes(model: ConfigModel, host: NameHost): RouteSelection {
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
    const network = nextHopNetwork(model, gateway);
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

/** The network a next hop is reached on: the first whose subnets or interface prefixes hold it. */
export function nextHopNetwork(model: ConfigModel, via: ParsedAddress): NetworkModel | undefined {
  return model.networks.find((n) => n.subnets.some((s) => contains(s.cidr, via)) || n.addresses.some((a) => contains(a, via)));
}

export function destinationOf(cidr: ParsedCidr): string {
  return cidr.prefix === 0 ? 'default' : cidr.network;
}
