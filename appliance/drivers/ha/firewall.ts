// What an HA pair needs from the firewall: VRRP (keepalived's adverts) and
// conntrackd's state sync from the peer, on the management network only.
import type { ConfigModel } from '../../../contract/index.js';
import type { FirewallRule } from '../../engine/subsystem.js';

/** conntrackd's UDP sync port between HA peers. */
export const CONNTRACKD_PORT = 3780;

/** Pure: two rules per peer, in the peer's IP version; none without HA. */
export function haFirewall(ha: ConfigModel['ha']): FirewallRule[] {
  return (ha?.peers ?? []).flatMap(({ family, text }): FirewallRule[] => {
    const source = `-s ${text}/${family === 4 ? 32 : 128}`;
    return [
      { family, hook: 'management-input', rule: `${source} -p vrrp -j ACCEPT` },
      { family, hook: 'management-input', rule: `${source} -p udp -m udp --dport ${CONNTRACKD_PORT} -j ACCEPT` },
    ];
  });
}
