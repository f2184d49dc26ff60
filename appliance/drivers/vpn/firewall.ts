// What IPsec needs from the firewall while a VPN is configured: IKE (UDP 500),
// IKE behind NAT (UDP 4500), ESP and AH on the external interface, and
// tunnelled traffic exempt from source NAT (the tunnel's selectors name the
// tenant subnets, so their addresses must stay as they are).
import type { Family } from '../../../contract/index.js';
import type { FirewallRule } from '../../engine/subsystem.js';
import type { VpnDesired } from './index.js';

const IPSEC_INPUT = ['-p udp -m udp --dport 500 -j ACCEPT', '-p udp -m udp --dport 4500 -j ACCEPT', '-p esp -j ACCEPT', '-p ah -j ACCEPT'];
const IPSEC_NAT_EXEMPT = '-m policy --dir out --pol ipsec -j RETURN';

/** Pure: nothing without a VPN service; the IPsec rules of both families with one. */
export function vpnFirewall(services: VpnDesired): FirewallRule[] {
  if (services.length === 0) return [];
  return ([4, 6] as const).flatMap((family: Family): FirewallRule[] => [
    ...IPSEC_INPUT.map((rule): FirewallRule => ({ family, hook: 'external-input', rule })),
    { family, hook: 'nat-postrouting-exempt', rule: IPSEC_NAT_EXEMPT },
  ]);
}
