// What keepalived and conntrackd must run for an HA pair member, in two pure
// steps: `planHa` takes every decision from the model alone, and
// `keepalivedConfig` / `conntrackdConfig` write a plan as the daemons' files
// through the handlebars templates beside this file. Decisions, and why:
//
// - VRRP between the two members runs over unicast IPv6 between their
//   management addresses (`unicast_src_ip` is ours, `unicast_peer` the
//   document's peer), never on a tenant network: guests see no advert and
//   cannot forge one (the firewall takes VRRP from the peer only, and
//   `check_unicast_src` has keepalived drop any other source).
// - One instance per shared network (every network but management that holds
//   an address), all in one sync group (when there are two or more:
//   keepalived 2 refuses a group of one), so the members fail over as a
//   whole. keepalived binds an instance's sockets to the instance's
//   `interface`, so an instance on a tenant interface cannot send its adverts
//   to a management address ("Network is unreachable"): every instance runs
//   on the management interface and names its own interface on each address
//   and route (`dev`), tracking it (`track_interface`), so a data link going
//   down puts the group in FAULT and the peer takes over.
// - The VRID of an instance comes from its network's id (FNV-1a, 1-255,
//   the next free one on a collision, networks taken in id order): the peer's
//   document names the same networks, whatever generic names its interfaces
//   got, and adding a network leaves the others' VRIDs alone.
// - keepalived 2 refuses an instance with no virtual address of its own
//   family (IPv6 here, the adverts' family), and one whose addresses mix
//   families unless the others are `virtual_ipaddress_excluded`. Each
//   instance's one advertised address is the IPv6 link-local address RFC
//   5798 derives from its VRID (fe80::200:5eff:fe00:2XX), the same on both
//   members; every address of the document (both families, the floating IPs
//   on the external one) is excluded: set and removed with the state, never
//   compared between the members' adverts, so two members running documents
//   a push apart still agree.
// - Virtual routes: every route the document configures through a shared
//   network (the defaults, static and host routes), on the instance of the
//   network that holds its next hop: it needs that network's address, which
//   only the master has.
// - Timers: adverts every 0.5 s (VRRPv3). The backup (priority 50) declares
//   the master down after 3 adverts plus its skew, (256 - 50) / 256 x 0.5 s:
//   1.9 s; the priority-100 member, 1.8 s. With the gratuitous ARPs sent at
//   once, that puts failover well within the 3 s target, while a member
//   starved of CPU for up to 1.5 s is not taken for dead. Gratuitous ARPs
//   (and unsolicited neighbour adverts) 3 at once on becoming master, 3 more
//   a second later, then every 60 s while master (switches and neighbours
//   that missed the move learn it), and 3 when a lower priority master is
//   heard. That is how a split brain ends: the lower-priority master, on
//   hearing the other, sends one last advert before it steps down
//   (`higher_prio_send_advert`), so the higher-priority one always hears a
//   lower-priority master and announces itself again, and the neighbours
//   that followed the other member come back at once.
// - Preemption: the document's priority wins (the orchestrator gives 100 to
//   the older member, 50 to the other), but only after `preempt_delay` 10 s
//   as a backup: a member that comes back first gets the connection table
//   from the master (conntrackd's resync) and finishes its apply before it
//   takes the traffic back. Without preemption the master would be whichever
//   member started first, not the one the orchestrator names.
// - conntrackd in FTFW mode (reliable: lost messages are resent), the
//   external cache on (the backup keeps the master's connections aside and
//   commits them into its kernel only when it becomes master), a full resync
//   asked at start-up, UDP between the management addresses on port 3780 (as
//   the firewall opens). Only guests' connections are synchronised: the
//   pair's own (VRRP, this sync, the agent's API on the management
//   addresses, loopback) are ignored.
import { contains, parseAddress, type ConfigModel, type NetworkModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/subsystem.js';
import { networkAddresses, nextHopNetwork, selectRoutes, sharedByPair } from '../../host/addressing.js';
import { compileTemplate } from '../../host/template.js';
import { conntrackdConfTemplate } from './conntrackd.conf.hbs.js';
import { CONNTRACKD_PORT } from './firewall.js';
import { keepalivedConfTemplate } from './keepalived.conf.hbs.js';
import { fnv1a32, plainInterfaceName } from '../../host/names.js';

/** Seconds between VRRP adverts. */
export const ADVERT_INTERVAL_S = 0.5;
/** Seconds a returning higher-priority member waits as backup before it takes over. */
export const PREEMPT_DELAY_S = 10;
/** Seconds between gratuitous ARPs while master. */
export const GARP_REFRESH_S = 60;

export interface VrrpRoutePlan {
  /** `default` or `network/prefix`. */
  readonly destination: string;
  readonly via: string;
}

export interface VrrpInstancePlan {
  /** The network's generic interface name (`ge1`). */
  readonly name: string;
  readonly vrid: number;
  /** The real interface the addresses and routes go on. */
  readonly device: string;
  /** The advertised address: the RFC 5798 link-local address of the VRID, with its prefix. */
  readonly linkLocal: string;
  /** Every address of the document on this network, `address/prefix`. */
  readonly addresses: readonly string[];
  readonly routes: readonly VrrpRoutePlan[];
}

export interface HaPlan {
  /** Our management address: VRRP and conntrackd's source. */
  readonly own: string;
  readonly peer: string;
  readonly priority: number;
  /** The real management interface. */
  readonly managementDevice: string;
  /** None when no network but management holds an address: then nothing runs. */
  readonly instances: readonly VrrpInstancePlan[];
}

/** Where the daemons' files are (driver.ts haSettings). */
export interface HaPaths {
  readonly fifo: string;
  readonly lockFile: string;
  readonly socket: string;
}

export interface HaDesired {
  /** Undefined on a single router. */
  readonly plan: HaPlan | undefined;
  /** keepalived.conf, when keepalived runs. */
  readonly keepalived: string | undefined;
  /** conntrackd.conf, when conntrackd runs. */
  readonly conntrackd: string | undefined;
}

export function renderHa(model: ConfigModel, host: RenderHost, paths: HaPaths): HaDesired {
  const plan = planHa(model, host);
  if (!plan || plan.instances.length === 0) return { plan, keepalived: undefined, conntrackd: undefined };
  return { plan, keepalived: keepalivedConfig(plan, paths), conntrackd: conntrackdConfig(plan, paths) };
}

export function planHa(model: ConfigModel, host: RenderHost): HaPlan | undefined {
  const ha = model.ha;
  const management = model.networks.find((n) => n.type === 'management');
  const peer = ha?.peers[0];
  if (!ha || !management || !peer) return undefined;
  // The contract holds the peer to the management network, in IPv6, and requires our own IPv6 address there.
  const own = management.addresses.find((a) => a.family === 6 && contains(a, peer)) ?? management.addresses.find((a) => a.family === 6);
  if (!own) return undefined;

  const shared = model.networks.filter((n) => sharedByPair(model, n) && networkAddresses(model, n).length > 0);
  const vrids = assignVrids(shared);
  const routes = selectRoutes(model, host).routes;
  const instances = shared.map((network): VrrpInstancePlan => {
    const vrid = vrids.get(network)!;
    return {
      name: network.ifname,
      vrid,
      device: plainInterfaceName(host.realName(network.ifname), 'keepalived.conf'),
      linkLocal: `fe80::200:5eff:fe00:2${vrid.toString(16).padStart(2, '0')}/64`,
      addresses: networkAddresses(model, network),
      routes: routes.filter((r) => nextHopNetwork(model, parseAddress(r.via)!) === network).map((r) => ({ destination: r.destination, via: r.via })),
    };
  });
  return { own: own.text, peer: peer.text, priority: ha.priority, managementDevice: plainInterfaceName(host.realName(management.ifname), 'keepalived.conf'), instances };
}

/** FNV-1a of each network id onto 1-255, in id order, the next free VRID on a collision. */
function assignVrids(networks: readonly NetworkModel[]): Map<NetworkModel, number> {
  const taken = new Set<number>();
  const vrids = new Map<NetworkModel, number>();
  for (const network of [...networks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    let vrid = (fnv1a32(network.id) % 255) + 1;
    while (taken.has(vrid)) vrid = (vrid % 255) + 1;
    taken.add(vrid);
    vrids.set(network, vrid);
  }
  return vrids;
}



const keepalivedFile = compileTemplate<HaPlan & { readonly fifo: string; readonly syncGroup: boolean; readonly advertInt: number; readonly preemptDelay: number; readonly garpRefresh: number }>(keepalivedConfTemplate);
const conntrackdFile = compileTemplate<HaPlan & HaPaths & { readonly port: number }>(conntrackdConfTemplate);

export function keepalivedConfig(plan: HaPlan, paths: HaPaths): string {
  return keepalivedFile({ ...plan, fifo: paths.fifo, syncGroup: plan.instances.length > 1, advertInt: ADVERT_INTERVAL_S, preemptDelay: PREEMPT_DELAY_S, garpRefresh: GARP_REFRESH_S });
}

export function conntrackdConfig(plan: HaPlan, paths: HaPaths): string {
  return conntrackdFile({ ...plan, ...paths, port: CONNTRACKD_PORT });
}
