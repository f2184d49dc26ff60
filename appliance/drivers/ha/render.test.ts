import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAB_HOST, labModel } from '../../../test/support/lab-model.js';
import { haSettings } from './driver.js';
import { conntrackdConfig, keepalivedConfig, planHa, renderHa } from './render.js';

type Doc = Record<string, unknown> & { networks: { network_id: string; network_type: string; interface: { addresses: string[] } }[] };
const PEER = 'fdca:3ba5:a17a:acda::3';
const pair = (change?: (doc: Doc) => void) =>
  labModel<Doc>((doc) => {
    doc.ha_resource = true;
    doc.ha_config = { peers: [PEER], priority: 50 };
    change?.(doc);
  });
const PATHS = haSettings('/var/lib/astara');
/** The first `count` networks of the lab document, without what needs the others. */
const firstNetworks = (count: number) => (doc: Doc) => {
  doc.networks = doc.networks.slice(0, count);
  doc.default_v4_gateway = '';
  doc.floating_ips = [];
  doc.static_routes = [];
};

describe('planHa', () => {
  it('runs one instance per shared network on the management interface, with every address excluded and the routes through it', () => {
    assert.deepEqual(planHa(pair(), LAB_HOST), {
      own: 'fdca:3ba5:a17a:acda::2',
      peer: PEER,
      priority: 50,
      managementDevice: 'eth0',
      instances: [
        {
          name: 'ge1',
          vrid: 33,
          device: 'eth1',
          linkLocal: 'fe80::200:5eff:fe00:221/64',
          addresses: ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.10/24', '203.0.113.11/24'],
          routes: [
            { destination: 'default', via: '192.0.2.1' },
            { destination: 'default', via: '2001:db8:e::1' },
          ],
        },
        {
          name: 'ge2',
          vrid: 45,
          device: 'eth2',
          linkLocal: 'fe80::200:5eff:fe00:22d/64',
          addresses: ['198.51.100.1/26', 'fd00:a::1/64'],
          routes: [{ destination: '198.51.100.192/26', via: '198.51.100.10' }],
        },
        { name: 'ge3', vrid: 151, device: 'eth3', linkLocal: 'fe80::200:5eff:fe00:297/64', addresses: ['198.51.100.65/26', 'fd00:b::1/64'], routes: [] },
      ],
    });
  });

  it('gives a network the same VRID whatever its interface is called and whatever networks join', () => {
    const vrids = (model: ReturnType<typeof pair>, host = LAB_HOST) => Object.fromEntries(planHa(model, host)!.instances.map((i) => [i.device, i.vrid]));
    const renamed = { realName: (generic: string) => ({ ge0: 'eth0', ge1: 'eth7', ge2: 'eth8', ge3: 'eth9' })[generic]! };
    assert.deepEqual(vrids(pair(), renamed), { eth7: 33, eth8: 45, eth9: 151 });
    const grown = pair((doc) => {
      doc.networks.push({
        network_id: '00000000-0000-4000-8000-00000000000c',
        network_type: 'isolated',
        interface: { ifname: 'ge4', addresses: ['198.51.100.129/26'] },
        subnets: [],
        allocations: [],
      } as unknown as Doc['networks'][number]);
    });
    const host = { realName: (generic: string) => generic.replace('ge', 'eth') };
    const grownVrids = vrids(grown, host);
    assert.deepEqual({ eth1: grownVrids.eth1, eth2: grownVrids.eth2, eth3: grownVrids.eth3 }, { eth1: 33, eth2: 45, eth3: 151 });
    assert.equal(new Set(Object.values(grownVrids)).size, 4);
  });

  it('moves to the next free VRID when two network ids hash to the same one', () => {
    // Found by search: both ids hash to VRID 108 (FNV-1a mod 255, plus 1); net-18 comes first in id order.
    const model = pair((doc) => {
      doc.networks[2]!.network_id = 'net-28';
      doc.networks[3]!.network_id = 'net-18';
    });
    const instances = planHa(model, LAB_HOST)!.instances;
    assert.deepEqual(instances.filter((i) => i.name !== 'ge1').map((i) => [i.name, i.vrid]), [
      ['ge2', 109],
      ['ge3', 108],
    ]);
  });

  it('plans nothing for a single router, and no instance when only management holds an address', () => {
    assert.equal(planHa(labModel(), LAB_HOST), undefined);
    const lonely = pair(firstNetworks(1));
    assert.deepEqual(planHa(lonely, LAB_HOST)?.instances, []);
    assert.deepEqual(renderHa(lonely, LAB_HOST, PATHS), { plan: planHa(lonely, LAB_HOST), keepalived: undefined, conntrackd: undefined });
  });
});

describe('keepalivedConfig', () => {
  it('writes each instance with its link-local address advertised, the rest excluded, routes on the same interface', () => {
    const text = keepalivedConfig(planHa(pair(), LAB_HOST)!, PATHS);
    const ge2 = text.slice(text.indexOf('vrrp_instance ge2 {'), text.indexOf('vrrp_instance ge3 {')).trim();
    assert.equal(
      ge2,
      [
        'vrrp_instance ge2 {',
        '  state BACKUP',
        '  interface eth0',
        '  track_interface {',
        '    eth2',
        '  }',
        '  virtual_router_id 45',
        '  priority 50',
        '  advert_int 0.5',
        '  preempt_delay 10',
        '  garp_master_delay 1',
        '  garp_master_repeat 3',
        '  garp_master_refresh 60',
        '  garp_lower_prio_repeat 3',
        '  higher_prio_send_advert',
        '  unicast_src_ip fdca:3ba5:a17a:acda::2',
        '  check_unicast_src',
        '  unicast_peer {',
        `    ${PEER}`,
        '  }',
        '  virtual_ipaddress {',
        '    fe80::200:5eff:fe00:22d/64 dev eth2',
        '  }',
        '  virtual_ipaddress_excluded {',
        '    198.51.100.1/26 dev eth2',
        '    fd00:a::1/64 dev eth2',
        '  }',
        '  virtual_routes {',
        '    198.51.100.192/26 via 198.51.100.10 dev eth2',
        '  }',
        '}',
      ].join('\n'),
    );
    assert.match(text, /^global_defs \{\n {2}router_id astara\n {2}vrrp_version 3\n {2}script_user root\n {2}notify_fifo \/var\/lib\/astara\/keepalived\/notify\.fifo\n\}$/m);
    assert.match(text, /^vrrp_sync_group astara \{\n {2}group \{\n {4}ge1\n {4}ge2\n {4}ge3\n {2}\}\n\}$/m);
  });

  it('writes no sync group for one instance (keepalived refuses a group of one)', () => {
    const single = keepalivedConfig(planHa(pair(firstNetworks(2)), LAB_HOST)!, PATHS);
    assert.equal(single.match(/^vrrp_instance /gm)?.length, 1);
    assert.doesNotMatch(single, /vrrp_sync_group/);
    const two = keepalivedConfig(planHa(pair(firstNetworks(3)), LAB_HOST)!, PATHS);
    assert.match(two, /^vrrp_sync_group astara \{\n {2}group \{\n {4}ge1\n {4}ge2\n {2}\}\n\}$/m);
  });

  it('refuses an interface name keepalived would read as more than a name', () => {
    assert.throws(() => planHa(pair(), { realName: (g) => (g === 'ge2' ? 'eth2 #' : g.replace('ge', 'eth')) }), /interface name "eth2 #" cannot be written/);
  });
});

describe('conntrackdConfig', () => {
  it('synchronises over UDP 3780 between the management addresses, ignoring the pair\'s own traffic', () => {
    const text = conntrackdConfig(planHa(pair(), LAB_HOST)!, PATHS);
    for (const line of [
      '    IPv6_address fdca:3ba5:a17a:acda::2',
      `    IPv6_Destination_Address ${PEER}`,
      '    Port 3780',
      '    Interface eth0',
      '  LockFile /var/lib/astara/conntrackd/conntrackd.lock',
      '    Path /var/lib/astara/conntrackd/c',
      `      IPv6_address ${PEER}`,
      '      IPv6_address fdca:3ba5:a17a:acda::2',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
    assert.match(text, /Mode FTFW \{\n {4}DisableExternalCache Off\n {4}StartupResync on\n {2}\}/);
  });
});
