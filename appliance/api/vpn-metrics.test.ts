import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { VpnStatus } from '../drivers/vpn/status.js';
import { vpnGauges } from './vpn-metrics.js';

const up = {
  id: 'site-a', name: 'c-site-a', peer: '203.0.113.2', ike_state: 'ESTABLISHED', child_state: 'INSTALLED', up: true,
  established_at: '2024-01-01T00:00:00.000Z', bytes_in: 168, bytes_out: 336, packets_in: 2, packets_out: 4, reason: null,
};

describe('the VPN metrics', () => {
  it('give each connection its SA states, bytes and packets each way, and the data path', async () => {
    const registry = new Registry();
    const refresh = vpnGauges(registry);
    let status: VpnStatus | undefined = { data_path: 'libipsec', connections: [up] };
    const view = { status: () => Promise.resolve(status) };
    await refresh(view);
    const text = await registry.metrics();
    for (const line of [
      'astara_vpn_connection_up{connection="site-a",peer="203.0.113.2"} 1',
      'astara_vpn_ike_sa_state{connection="site-a",peer="203.0.113.2",state="ESTABLISHED"} 1',
      'astara_vpn_child_sa_state{connection="site-a",peer="203.0.113.2",state="INSTALLED"} 1',
      'astara_vpn_bytes{connection="site-a",peer="203.0.113.2",direction="in"} 168',
      'astara_vpn_bytes{connection="site-a",peer="203.0.113.2",direction="out"} 336',
      'astara_vpn_packets{connection="site-a",peer="203.0.113.2",direction="in"} 2',
      'astara_vpn_packets{connection="site-a",peer="203.0.113.2",direction="out"} 4',
      'astara_vpn_data_path{data_path="libipsec"} 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing ${line} in\n${text}`);
    }
    status = { data_path: 'libipsec', connections: [{ ...up, ike_state: 'DOWN', child_state: 'DOWN', up: false }] };
    await refresh(view);
    const down = await registry.metrics();
    assert.ok(down.includes('astara_vpn_connection_up{connection="site-a",peer="203.0.113.2"} 0'), down);
    assert.doesNotMatch(down, /state="ESTABLISHED"/, 'the old state is gone');
    status = undefined;
    await refresh(view);
    assert.doesNotMatch(await registry.metrics(), /site-a/, 'no VPN, no connection series');
  });
});
