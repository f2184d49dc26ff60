// The VPN's part of GET /metrics: what GET /v1/vpn/status says of each
// connection (IKE and child SA state, bytes and packets each way), read at
// scrape time. Kept apart from metrics.ts so the VPN's gauges live in one place.
import { Gauge, type Registry } from 'prom-client';
import type { VpnStatus } from '../drivers/vpn/status.js';

/** What the API reads of the vpn subsystem. */
export interface VpnView {
  /** Undefined when no VPN is configured. */
  status(): Promise<VpnStatus | undefined>;
}

/** Registers the VPN gauges in `registry`; the function returned refreshes them from `view`. */
export function vpnGauges(registry: Registry): (view: VpnView) => Promise<void> {
  const labels = ['connection', 'peer'] as const;
  const gauge = (name: string, help: string, extra: readonly string[] = []) => new Gauge({ name, help, labelNames: [...labels, ...extra], registers: [registry] });
  const up = gauge('astara_vpn_connection_up', 'Whether an IPsec connection has its IKE SA established and its child SA installed');
  const ikeState = gauge('astara_vpn_ike_sa_state', "An IPsec connection's IKE SA state (1 for the current one; DOWN without an IKE SA)", ['state']);
  const childState = gauge('astara_vpn_child_sa_state', "An IPsec connection's child SA state (1 for the current one; DOWN without a child SA)", ['state']);
  const bytes = gauge('astara_vpn_bytes', "Bytes through an IPsec connection's child SAs, in (decrypted) and out (encrypted)", ['direction']);
  const packets = gauge('astara_vpn_packets', "Packets through an IPsec connection's child SAs, in and out", ['direction']);
  const dataPath = new Gauge({ name: 'astara_vpn_data_path', help: 'Which IPsec data path charon uses (1 for the current one): the kernel or libipsec in userspace', labelNames: ['data_path'], registers: [registry] });
  return async (view) => {
    const status = await view.status();
    for (const g of [up, ikeState, childState, bytes, packets, dataPath]) g.reset();
    if (!status) return;
    if (status.data_path !== null) dataPath.set({ data_path: status.data_path }, 1);
    for (const c of status.connections) {
      const connection = { connection: c.id, peer: c.peer };
      up.set(connection, c.up ? 1 : 0);
      ikeState.set({ ...connection, state: c.ike_state }, 1);
      childState.set({ ...connection, state: c.child_state }, 1);
      bytes.set({ ...connection, direction: 'in' }, c.bytes_in);
      bytes.set({ ...connection, direction: 'out' }, c.bytes_out);
      packets.set({ ...connection, direction: 'in' }, c.packets_in);
      packets.set({ ...connection, direction: 'out' }, c.packets_out);
    }
  };
}
