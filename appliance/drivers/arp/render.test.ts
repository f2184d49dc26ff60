import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAB_HOST, labModel } from '../../../test/support/lab-model.js';
import { staleNeighbours } from './driver.js';
import { renderArp } from './render.js';

type Doc = Record<string, unknown> & { floating_ips: { floating_ip: string; fixed_ip: string }[] };
const host = LAB_HOST;
const model = (change?: (doc: Doc) => void) => labModel<Doc>(change);

describe('renderArp', () => {
  it('announces IPv4 floating IPs on the external device and knows every tenant allocation', () => {
    assert.deepEqual(renderArp(model(), host), {
      external: 'eth1',
      floating: ['203.0.113.10', '203.0.113.11'],
      neighbours: [
        { device: 'eth2', address: '198.51.100.10', mac: '02:00:00:00:02:0a' },
        { device: 'eth2', address: 'fd00:a::10', mac: '02:00:00:00:02:0a' },
        { device: 'eth3', address: '198.51.100.74', mac: '02:00:00:00:03:0b' },
        { device: 'eth3', address: 'fd00:b::10', mac: '02:00:00:00:03:0b' },
      ],
    });
  });

  it('announces no floating IP on an HA pair member: keepalived does, from the master only', () => {
    const desired = renderArp(
      model((doc) => {
        doc.ha_resource = true;
        doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'] };
      }),
      host,
    );
    assert.deepEqual(desired.floating, []);
    assert.equal(desired.neighbours.length, 4);
  });

  it("keeps no neighbour entry for the router's own port", () => {
    type Allocations = { networks: { interface: { ifname: string }; allocations: unknown[] }[] };
    const desired = renderArp(
      labModel<Allocations>((doc) => doc.networks.find((n) => n.interface.ifname === 'ge2')!.allocations.push({ mac_address: '02:00:00:00:0f:01', ip_addresses: { '198.51.100.1': true }, device_id: 'router' })),
      host,
    );
    assert.ok(!desired.neighbours.some((n) => n.address === '198.51.100.1'));
  });

  it('leaves IPv6 floating IPs to neighbour discovery', () => {
    const desired = renderArp(model((doc) => (doc.floating_ips = [{ floating_ip: '2001:db8:e::77', fixed_ip: 'fd00:a::10' }])), host);
    assert.deepEqual(desired.floating, []);
  });
});

describe('staleNeighbours', () => {
  it('picks entries of an allocated address on its own device with another MAC, in any case and notation', () => {
    const desired = renderArp(model(), host);
    const live = [
      { dst: '198.51.100.10', dev: 'eth2', lladdr: '02:00:00:00:99:99', state: ['STALE'] },
      { dst: '198.51.100.74', dev: 'eth3', lladdr: '02:00:00:00:03:0B', state: ['REACHABLE'] },
      { dst: 'fd00:b:0::10', dev: 'eth3', lladdr: '02:00:00:00:03:00', state: ['STALE'] },
      { dst: 'fd00:a::10', dev: 'eth2', lladdr: '02:00:00:00:02:0a', state: ['STALE'] },
      { dst: '198.51.100.10', dev: 'eth3', lladdr: '02:00:00:00:99:99', state: ['STALE'] },
      { dst: '198.51.100.20', dev: 'eth2', lladdr: '02:00:00:00:99:99', state: ['STALE'] },
      { dst: '198.51.100.74', dev: 'eth3', state: ['FAILED'] },
    ];
    assert.deepEqual(staleNeighbours(desired, live), [live[0], live[2]]);
  });
});
