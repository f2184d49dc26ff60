import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataListenerState } from '../../metadata-proxy/state.js';
import { metadataFirewall } from './firewall.js';

const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

function listener(ifname: string, address: string, port: number): MetadataListenerState {
  return { networkId: `net-${ifname}`, ifname, address, port, tenantId: 't', instances: {}, sources: [] };
}

describe('metadataFirewall', () => {
  it('redirects each network\'s 169.254.169.254:80 to its own listener, and accepts only that listener there', () => {
    const state = { upstream: 'http://[fdca:3ba5:a17a:acda::1]:9697', listeners: [listener('ge2', '198.51.100.1', 9602), listener('ge3', '198.51.100.65', 9603)] };
    assert.deepEqual(metadataFirewall(state, HOST), [
      { family: 4, hook: 'nat-prerouting', rule: '-d 169.254.169.254/32 -i eth2 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.1:9602' },
      { family: 4, hook: 'tenant-input', rule: '-d 198.51.100.1/32 -i eth2 -p tcp -m tcp --dport 9602 -j ACCEPT' },
      { family: 4, hook: 'nat-prerouting', rule: '-d 169.254.169.254/32 -i eth3 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.65:9603' },
      { family: 4, hook: 'tenant-input', rule: '-d 198.51.100.65/32 -i eth3 -p tcp -m tcp --dport 9603 -j ACCEPT' },
    ]);
  });

  it('opens nothing without listeners', () => {
    assert.deepEqual(metadataFirewall({ upstream: 'http://192.0.2.9:9697', listeners: [] }, HOST), []);
  });
});
