// What the ARP subsystem keeps true (spec section 6, ARP): the upstream
// learns each new floating IP's MAC at once (gratuitous ARP on the external
// interface), and the neighbour table of tenant interfaces holds no entry
// that contradicts an allocation. Pure.
import { isTenantNetwork, networkOfType, type ConfigModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';

export interface NeighbourDesired {
  readonly device: string;
  /** Canonical address. */
  readonly address: string;
  /** Lower-case MAC the address belongs to. */
  readonly mac: string;
}

export interface ArpDesired {
  /** The external device, or undefined when there is no external network. */
  readonly external: string | undefined;
  /**
   * IPv4 floating IPs, announced when new. (IPv6 has no gratuitous ARP; the
   * kernel's neighbour discovery resolves an IPv6 floating IP on demand.)
   * None on an HA pair member: keepalived announces the pair's addresses
   * from the master, and an announcement from the backup would draw their
   * traffic to the member that does not hold them.
   */
  readonly floating: readonly string[];
  readonly neighbours: readonly NeighbourDesired[];
}

export function renderArp(model: ConfigModel, host: RenderHost): ArpDesired {
  const external = networkOfType(model, 'external');
  return {
    external: external && host.realName(external.ifname),
    floating: external && model.ha === undefined ? model.floatingIps.filter((f) => f.floating.family === 4).map((f) => f.floating.text) : [],
    neighbours: model.networks.filter(isTenantNetwork).flatMap((network) => {
      const device = host.realName(network.ifname);
      return network.allocations.filter((allocation) => !allocation.routerPort).flatMap((allocation) => allocation.addresses.map(({ address }) => ({ device, address: address.text, mac: allocation.mac.toLowerCase() })));
    }),
  };
}
