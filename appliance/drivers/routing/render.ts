// The routing daemon's configuration (spec section 6, "Routing"): one BIRD 2
// instance, rendered from the validated model alone. Two steps, both pure:
// `planRouting` takes the decisions (what is announced where), `birdConfig`
// writes them as bird.conf text through the handlebars template beside this
// file (bird.conf.hbs, in BIRD's own syntax). Decisions, and why:
//
// - router id: the first external IPv4 address. Without one, the FNV-1a hash
//   of the first external IPv6 address (the BGP session's own address, unique
//   on the link to the peer), else of the tenant id: stable for the life of
//   the router, never random, never 0.
// - device protocol; direct protocol on every configured interface but the
//   management one (the routing daemon never touches the management plane).
// - kernel protocols (IPv4 and IPv6) only watch: they learn the kernel's routes
//   (so `birdc show route` shows the whole table) and export nothing. The
//   routes driver owns the kernel's routing table; the only routes BIRD holds
//   of its own are the tenant prefixes of the static protocol, which must never
//   reach the kernel (they would shadow or duplicate the connected routes).
// - BGP: one session per external IPv6 subnet that has a gateway and holds an
//   external address (the session's source; without one there is no session),
//   `asn` local, `neighbor_asn` remote, iBGP when they are equal. Directly
//   connected, next hop self (so an iBGP peer gets our address as next hop,
//   not an interface route it cannot resolve). Nothing is imported: the
//   appliance is a stub whose way out is the default route the routes driver
//   installs. Exported: exactly the IPv6 subnets of `internal` networks that
//   have a gateway and are not ULA (fc00::/7) nor link-local; `isolated`
//   networks are tenant networks that are not routed, so never announced. The
//   prefixes come from a static protocol (routes via the tenant interface, so
//   an announcement follows the link state) and an export filter that accepts
//   exactly that prefix set (whatever protocol holds the best route for it,
//   since the direct protocol's connected route outranks the static one).
// - router advertisements on every tenant (internal or isolated) interface
//   with an IPv6 subnet: one prefix clause per subnet, autonomous (SLAAC) off
//   and the managed and other-config flags on when the subnet uses DHCPv6;
//   every other prefix of the interface skipped, so only the document's
//   subnets are announced; the IPv6 DNS servers of those subnets as RDNSS
//   (RDNSS carries IPv6 addresses only; IPv4 servers reach guests by DHCPv4).
//   BIRD advertises the prefixes of the interface's own addresses, which the
//   interfaces driver sets from the same document. Intervals are BIRD's
//   defaults (RFC 4861: unsolicited every 200-600 s, a solicitation answered
//   within 3 s).
// - On an HA pair member advertisements go out from the master only (the
//   subsystem picks `backupConfig`, the same without them, while it is not):
//   guests must not take the backup, which holds none of the pair's
//   addresses, for a router.
// - BIRD always runs once a document is applied, even with no BGP session and
//   no advertisement: a device/direct/kernel-only BIRD changes nothing on the
//   host, costs a few MB, and keeps `birdc` diagnostics and the daemon status
//   the same on every appliance (and a later document only reloads it).
import { isLinkLocal, isTenantNetwork, isUniqueLocal, networkOfType, contains, type ConfigModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/subsystem.js';
import { compileTemplate } from '../../host/template.js';
import { birdConfTemplate } from './bird.conf.hbs.js';
import { fnv1a32, plainInterfaceName } from '../../host/names.js';

export interface BgpSessionPlan {
  /** BIRD protocol name. */
  readonly name: string;
  readonly neighbor: string;
  readonly localAddress: string;
  readonly localAs: number;
  readonly neighborAs: number;
}

export interface RadvPrefixPlan {
  /** `network/length`. */
  readonly prefix: string;
  readonly autonomous: boolean;
}

export interface RadvInterfacePlan {
  readonly interface: string;
  /** Addresses come from DHCPv6 (M and O flags). */
  readonly managed: boolean;
  readonly prefixes: readonly RadvPrefixPlan[];
  readonly rdnss: readonly string[];
}

export interface RoutingPlan {
  readonly routerId: string;
  /** Real names of the interfaces the direct protocol covers. */
  readonly directInterfaces: readonly string[];
  /** Tenant prefixes announced over BGP, with the interface each lies behind. */
  readonly exported: readonly { readonly prefix: string; readonly interface: string }[];
  readonly bgp: readonly BgpSessionPlan[];
  readonly radv: readonly RadvInterfacePlan[];
}

export interface RoutingDesired {
  readonly plan: RoutingPlan;
  /** The complete bird.conf. */
  readonly config: string;
  /** On an HA pair member, bird.conf while it is not the master: no router advertisement. */
  readonly backupConfig?: string;
}

export function renderRouting(model: ConfigModel, host: RenderHost): RoutingDesired {
  const plan = planRouting(model, host);
  const config = birdConfig(plan);
  return model.ha === undefined ? { plan, config } : { plan, config, backupConfig: birdConfig({ ...plan, radv: [] }) };
}

export function planRouting(model: ConfigModel, host: RenderHost): RoutingPlan {
  const real = (generic: string) => plainInterfaceName(host.realName(generic), 'bird.conf');
  const external = networkOfType(model, 'external');

  const bgp: BgpSessionPlan[] = [];
  for (const subnet of external?.subnets ?? []) {
    if (subnet.cidr.family !== 6 || !subnet.gateway) continue;
    const local = external!.addresses.find((a) => contains(subnet.cidr, a));
    if (!local || local.text === subnet.gateway.text) continue;
    if (bgp.some((s) => s.neighbor === subnet.gateway!.text)) continue;
    bgp.push({
      name: `upstream${bgp.length + 1}`,
      neighbor: subnet.gateway.text,
      localAddress: local.text,
      localAs: model.asn,
      neighborAs: model.neighborAsn,
    });
  }

  const exported: { prefix: string; interface: string }[] = [];
  for (const network of model.networks) {
    if (network.type !== 'internal') continue;
    for (const subnet of network.subnets) {
      if (subnet.cidr.family !== 6 || !subnet.gateway || isUniqueLocal(subnet.cidr) || isLinkLocal(subnet.cidr)) continue;
      if (exported.some((e) => e.prefix === subnet.cidr.network)) continue;
      exported.push({ prefix: subnet.cidr.network, interface: real(network.ifname) });
    }
  }

  const radv: RadvInterfacePlan[] = [];
  for (const network of model.networks) {
    if (!isTenantNetwork(network)) continue;
    const subnets = network.subnets.filter((s) => s.cidr.family === 6 && !isLinkLocal(s.cidr));
    if (subnets.length === 0) continue;
    const rdnss: string[] = [];
    for (const server of subnets.flatMap((s) => s.dnsNameservers)) {
      if (server.family === 6 && !rdnss.includes(server.text)) rdnss.push(server.text);
    }
    radv.push({
      interface: real(network.ifname),
      managed: subnets.some((s) => s.dhcpEnabled),
      prefixes: subnets.map((s) => ({ prefix: s.cidr.network, autonomous: !s.dhcpEnabled })),
      rdnss,
    });
  }

  return {
    routerId: routerId(model),
    directInterfaces: model.networks.filter((n) => n.type !== 'management').map((n) => real(n.ifname)),
    exported,
    bgp,
    radv,
  };
}

export function routerId(model: ConfigModel): string {
  const external = networkOfType(model, 'external');
  const v4 = external?.addresses.find((a) => a.family === 4);
  if (v4) return v4.text;
  const v6 = external?.addresses.find((a) => a.family === 6);
  const hash = fnv1a32(v6?.text ?? model.tenantId) || 1;
  return [hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff].join('.');
}



/** The values bird.conf.hbs lays out: the plan, and whether each session is iBGP. */
interface BirdConfigValues extends Omit<RoutingPlan, 'bgp'> {
  readonly bgp: readonly (BgpSessionPlan & { readonly internal: boolean })[];
}

const birdConfigFile = compileTemplate<BirdConfigValues>(birdConfTemplate);

export function birdConfig(plan: RoutingPlan): string {
  return birdConfigFile({ ...plan, bgp: plan.bgp.map((session) => ({ ...session, internal: session.localAs === session.neighborAs })) });
}
