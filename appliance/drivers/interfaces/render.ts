// Desired state of the configured interfaces (spec section 6, Interfaces):
// up, MTU, the exact set of addresses, and the floating IPs as addresses of
// the external interface. Pure: the model and the generic -> real name map in,
// data out.
import { contains, networkOfType, type ConfigModel, type NetworkModel, type ParsedAddress } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';

export interface InterfaceDesired {
  /** Generic name (`geN`), for messages. */
  readonly generic: string;
  /** The real device behind it. */
  readonly device: string;
  /** IPv6 duplicate address detection stays on only on the external interface. */
  readonly dad: boolean;
  /** MTU to set (the interface's, else the network's); undefined leaves the device's MTU alone. */
  readonly mtu: number | undefined;
  /** The exact set of addresses other than link-local ones, as canonical `address/prefix`. */
  readonly addresses: readonly string[];
}

export interface InterfacesDesired {
  readonly interfaces: readonly InterfaceDesired[];
}

export function renderInterfaces(model: ConfigModel, host: RenderHost): InterfacesDesired {
  const external = networkOfType(model, 'external');
  return {
    interfaces: model.networks.map((network) => {
      const addresses = network.addresses.map((a) => a.cidr);
      if (network === external) {
        for (const { floating } of model.floatingIps) addresses.push(`${floating.text}/${floatingPrefix(network, floating)}`);
      }
      return {
        generic: network.ifname,
        device: host.realName(network.ifname),
        dad: network === external,
        mtu: network.mtu,
        addresses: [...new Set(addresses)],
      };
    }),
  };
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
