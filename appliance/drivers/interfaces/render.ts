// Desired state of the configured interfaces (spec section 6, Interfaces):
// up, MTU, the exact set of addresses, and the floating IPs as addresses of
// the external interface. On an HA pair member the addresses of the shared
// networks are keepalived's (appliance/host/addressing.ts): they are neither
// added nor removed here, whichever member holds them. Pure: the model and
// the generic -> real name map in, data out.
import { networkOfType, type ConfigModel } from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';
import { networkAddresses, sharedByPair } from '../../host/addressing.js';

export interface InterfaceDesired {
  /** Generic name (`geN`), for messages. */
  readonly generic: string;
  /** The real device behind it. */
  readonly device: string;
  /** IPv6 duplicate address detection stays on only on the external interface. */
  readonly dad: boolean;
  /** MTU to set (the interface's, else the network's); undefined leaves the device's MTU alone. */
  readonly mtu: number | undefined;
  /** The exact set of addresses other than link-local ones and `keepalived`'s, as canonical `address/prefix`. */
  readonly addresses: readonly string[];
  /** Addresses keepalived holds on the master of an HA pair: left as they are. Absent on a single router. */
  readonly keepalived?: readonly string[];
}

export interface InterfacesDesired {
  readonly interfaces: readonly InterfaceDesired[];
}

export function renderInterfaces(model: ConfigModel, host: RenderHost): InterfacesDesired {
  const external = networkOfType(model, 'external');
  return {
    interfaces: model.networks.map((network) => {
      const common = { generic: network.ifname, device: host.realName(network.ifname), dad: network === external, mtu: network.mtu };
      const addresses = networkAddresses(model, network);
      return sharedByPair(model, network) ? { ...common, addresses: [], keepalived: addresses } : { ...common, addresses };
    }),
  };
}
