// The VPN subsystem: the router's IPsec endpoints. strongSwan comes with a
// later issue; until then applying changes nothing on the host, and the
// subsystem only declares what the firewall must let through for IPsec, so
// the firewall holds no VPN knowledge of its own.
import type { ConfigModel } from '../../../contract/index.js';
import type { Subsystem } from '../../engine/subsystem.js';
import { vpnFirewall } from './firewall.js';

/** The VPN part of the model: the IPsec services. */
export type VpnDesired = ConfigModel['vpn'];

export function createVpnSubsystem(): Subsystem<VpnDesired> {
  return {
    name: 'vpn',
    render: (model) => model.vpn,
    firewall: (services) => vpnFirewall(services),
    apply: () => Promise.resolve({ changed: false }),
  };
}
