// What the metadata proxy needs from the firewall: guests of each tenant
// network reach their own network's listener at 169.254.169.254:80, and
// only that listener: a guest can neither be redirected to nor connect
// directly to another network's listener (whose upstream requests carry the
// other network's identity).
import type { FirewallRule, RenderHost } from '../../engine/subsystem.js';
import type { MetadataProxyState } from '../../metadata-proxy/state.js';

/** The address guests ask for metadata (link-local, the same in every cloud). */
export const METADATA_ADDRESS = '169.254.169.254';
const METADATA_HTTP_PORT = 80;

export function metadataFirewall(state: MetadataProxyState, host: RenderHost): FirewallRule[] {
  return state.listeners.flatMap(({ ifname, address, port }): FirewallRule[] => {
    const input = host.realName(ifname);
    return [
      {
        family: 4,
        hook: 'nat-prerouting',
        rule: `-d ${METADATA_ADDRESS}/32 -i ${input} -p tcp -m tcp --dport ${METADATA_HTTP_PORT} -j DNAT --to-destination ${address}:${port}`,
      },
      { family: 4, hook: 'tenant-input', rule: `-d ${address}/32 -i ${input} -p tcp -m tcp --dport ${port} -j ACCEPT` },
    ];
  });
}
