import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NeutronFloatingIp, NeutronPort, NeutronRouter } from '../../model/neutron.js';
import { interfaceAddress, routerDetailFrom } from './neutron.js';

const ROUTER: NeutronRouter = {
  id: 'r1',
  tenant_id: 't1',
  external_gateway_info: { network_id: 'ext', external_fixed_ips: [{ subnet_id: 'ext-sub', ip_address: '203.0.113.5' }] },
};
const port = (id: string, owner: string, deviceId = 'r1'): NeutronPort => ({
  id,
  network_id: `net-${id}`,
  mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [{ subnet_id: `sub-${id}`, ip_address: '198.51.100.1' }],
  device_id: deviceId,
  device_owner: owner,
});
const fip = (id: string, portId: string | null, routerId: string | null): NeutronFloatingIp => ({
  id,
  floating_ip_address: '203.0.113.9',
  floating_network_id: 'ext',
  port_id: portId,
  fixed_ip_address: portId === null ? null : '198.51.100.7',
  router_id: routerId,
});

describe('Neutron network provider', () => {
  it('makes a router\'s detail of its gateway, its interfaces in id order and its associated floating IPs', () => {
    const detail = routerDetailFrom(
      ROUTER,
      [port('p2', 'network:router_interface'), port('gw', 'network:router_gateway'), port('p1', 'network:router_interface'), port('x', 'network:router_interface', 'r2')],
      [fip('f1', 'vm', 'r1'), fip('f2', null, null), fip('f3', 'vm2', 'r2')],
    );
    assert.equal(detail.router, ROUTER);
    assert.equal(detail.gatewayPort?.id, 'gw');
    assert.deepEqual(detail.interfaces.map((p) => p.id), ['p1', 'p2']);
    assert.deepEqual(detail.floatingIps.map((f) => f.id), ['f1']);
  });

  it('has no gateway port for a router without a gateway', () => {
    assert.equal(routerDetailFrom({ ...ROUTER, external_gateway_info: null }, [port('p1', 'network:router_interface')], []).gatewayPort, undefined);
  });

  it('gives the management address with its subnet\'s prefix length, or says what it lacks', () => {
    const subnets = new Map([['sub-m', { cidr: 'fd00:4::/64' }]]);
    const management = { ...port('m', 'network:astara'), fixed_ips: [{ subnet_id: 'sub-m', ip_address: 'fd00:4::f816:3eff:fe00:1' }] };
    assert.equal(interfaceAddress(management, subnets), 'fd00:4::f816:3eff:fe00:1/64');
    assert.throws(() => interfaceAddress({ ...management, fixed_ips: [] }, subnets), /management port m has no address/);
    assert.throws(() => interfaceAddress(port('q', 'network:astara'), subnets), /subnet sub-q of management port q is not known/);
  });
});
