import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAB_HOST, labModel } from '../../../test/support/lab-model.js';
import { renderInterfaces } from './render.js';

type Doc = Record<string, unknown> & { networks: Record<string, unknown>[]; floating_ips: { floating_ip: string; fixed_ip: string }[] };
const host = LAB_HOST;
const model = (change?: (doc: Doc) => void) => labModel<Doc>(change);

describe('renderInterfaces', () => {
  it('renders every configured interface with its addresses, floating IPs on the external one', () => {
    assert.deepEqual(renderInterfaces(model(), host).interfaces, [
      { generic: 'ge0', device: 'eth0', dad: false, mtu: undefined, addresses: ['fdca:3ba5:a17a:acda::2/64'] },
      { generic: 'ge1', device: 'eth1', dad: true, mtu: undefined, addresses: ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.10/24', '203.0.113.11/24'] },
      { generic: 'ge2', device: 'eth2', dad: false, mtu: undefined, addresses: ['198.51.100.1/26', 'fd00:a::1/64'] },
      { generic: 'ge3', device: 'eth3', dad: false, mtu: undefined, addresses: ['198.51.100.65/26', 'fd00:b::1/64'] },
    ]);
  });

  it("hands every address of the shared networks of an HA pair member to keepalived, keeping the management one", () => {
    const interfaces = renderInterfaces(
      model((doc) => {
        doc.ha_resource = true;
        doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'] };
      }),
      host,
    ).interfaces;
    assert.deepEqual(interfaces, [
      { generic: 'ge0', device: 'eth0', dad: false, mtu: undefined, addresses: ['fdca:3ba5:a17a:acda::2/64'] },
      { generic: 'ge1', device: 'eth1', dad: true, mtu: undefined, addresses: [], keepalived: ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.10/24', '203.0.113.11/24'] },
      { generic: 'ge2', device: 'eth2', dad: false, mtu: undefined, addresses: [], keepalived: ['198.51.100.1/26', 'fd00:a::1/64'] },
      { generic: 'ge3', device: 'eth3', dad: false, mtu: undefined, addresses: [], keepalived: ['198.51.100.65/26', 'fd00:b::1/64'] },
    ]);
  });

  it('takes the MTU of the interface, else of the network', () => {
    const interfaces = renderInterfaces(
      model((doc) => {
        (doc.networks[2]!.interface as { mtu?: number }).mtu = 1400;
        doc.networks[2]!.mtu = 1450;
        doc.networks[3]!.mtu = 1450;
      }),
      host,
    ).interfaces;
    assert.deepEqual(interfaces.map((i) => i.mtu), [undefined, undefined, 1400, 1450]);
  });

  it('gives a floating IP the prefix of the external subnet holding it, canonical text', () => {
    const interfaces = renderInterfaces(
      model((doc) => {
        doc.floating_ips = [
          { floating_ip: '192.0.2.77', fixed_ip: '198.51.100.10' },
          { floating_ip: '2001:DB8:E:0::77', fixed_ip: 'fd00:a::10' },
        ];
      }),
      host,
    ).interfaces;
    assert.deepEqual(interfaces[1]!.addresses, ['192.0.2.2/24', '2001:db8:e::2/64', '192.0.2.77/24', '2001:db8:e::77/64']);
  });
});
