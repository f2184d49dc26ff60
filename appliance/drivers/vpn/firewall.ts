// What IPsec needs from the firewall while a VPN is configured: IKE (UDP 500),
// IKE behind NAT and ESP in UDP (UDP 4500), ESP and AH on the external
// interface, and tunnelled traffic exempt from source NAT (the tunnel's
// selectors name the tenant subnets, so their addresses must stay as they
// are). The exemption is by policy where the kernel carries IPsec, and by
// the connections' subnet pairs besides, since traffic that strongSwan's
// userspace data path (kernel-libipsec) carries matches no kernel policy.
import type { Family } from '../../../contract/index.js';
import type { FirewallRule } from '../../engine/subsystem.js';
import type { VpnDesired } from './render.js';

const IPSEC_INPUT = ['-p udp -m udp --dport 500 -j ACCEPT', '-p udp -m udp --dport 4500 -j ACCEPT', '-p esp -j ACCEPT', '-p ah -j ACCEPT'];
const IPSEC_NAT_EXEMPT = '-m policy --dir out --pol ipsec -j RETURN';

/** Pure: nothing without a VPN service; the IPsec rules of both families with one. */
export function vpnFirewall(desired: VpnDesired): FirewallRule[] {
  if (!desired.configured) return [];
  return ([4, 6] as const).flatMap((family: Family): FirewallRule[] => {
    const pairs = new Set<string>();
    for (const connection of desired.connections) {
      for (const local of connection.localCidrs) {
        for (const peer of connection.peerCidrs) {
          if (local.includes(':') === (family === 6) && peer.includes(':') === (family === 6)) pairs.add(`-s ${local} -d ${peer} -j RETURN`);
        }
      }
    }
    return [
      ...IPSEC_INPUT.map((rule): FirewallRule => ({ family, hook: 'external-input', rule })),
      { family, hook: 'nat-postrouting-exempt', rule: IPSEC_NAT_EXEMPT },
      ...[...pairs].map((rule): FirewallRule => ({ family, hook: 'nat-postrouting-exempt', rule })),
    ];
  });
}
