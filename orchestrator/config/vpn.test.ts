// The router document's `vpn` block from a router's VPNaaS services: nothing
// with the option off, the original's nesting with it on (the contract's
// validator accepts it), and a connection whose policy or endpoint group is
// gone left out and reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateDocument } from '../../contract/index.js';
import type { IpsecConnectionDetail, NeutronIkePolicy, NeutronIpsecPolicy, NeutronIpsecSiteConnection, VpnServiceDetail } from '../model/vpnaas.js';
import { routerVpnConfig } from './vpn.js';

const ike: NeutronIkePolicy = {
  id: 'ike-1',
  tenant_id: 'tenant-a',
  name: 'ike',
  auth_algorithm: 'sha256',
  encryption_algorithm: 'aes-256',
  phase1_negotiation_mode: 'main',
  ike_version: 'v2',
  lifetime: { units: 'seconds', value: 3600 },
  pfs: 'group14',
};
const ipsec: NeutronIpsecPolicy = {
  id: 'ipsec-1',
  auth_algorithm: 'sha256',
  encryption_algorithm: 'aes-256',
  transform_protocol: 'esp',
  encapsulation_mode: 'tunnel',
  lifetime: { units: 'kilobytes', value: 100000 },
  pfs: 'group14',
};
const connection: NeutronIpsecSiteConnection = {
  id: 'site-1',
  tenant_id: 'tenant-a',
  name: 'to-b',
  vpnservice_id: 'vpn-1',
  ikepolicy_id: 'ike-1',
  ipsecpolicy_id: 'ipsec-1',
  local_ep_group_id: 'local-1',
  peer_ep_group_id: 'peer-1',
  peer_address: '203.0.113.2',
  peer_id: '203.0.113.2',
  peer_cidrs: [],
  route_mode: 'static',
  mtu: 1500,
  initiator: 'bi-directional',
  auth_mode: 'psk',
  psk: 'unit-psk',
  dpd: { action: 'hold', interval: 30, timeout: 120 },
  admin_state_up: true,
  status: 'ACTIVE',
};
const resolved: IpsecConnectionDetail = {
  connection,
  ikepolicy: ike,
  ipsecpolicy: ipsec,
  localEndpointGroup: { id: 'local-1', type: 'subnet', endpoints: ['s4'] },
  peerEndpointGroup: { id: 'peer-1', name: 'b', type: 'cidr', endpoints: ['198.51.100.64/26'] },
};
const service = (connections: IpsecConnectionDetail[]): VpnServiceDetail => ({
  service: { id: 'vpn-1', name: 'vpn', router_id: 'router-1', subnet_id: null, admin_state_up: true, external_v4_ip: '192.0.2.2', external_v6_ip: null },
  connections,
});

const EXPECTED_CONNECTION = {
  id: 'site-1',
  tenant_id: 'tenant-a',
  name: 'to-b',
  peer_address: '203.0.113.2',
  peer_id: '203.0.113.2',
  route_mode: 'static',
  mtu: 1500,
  initiator: 'bi-directional',
  auth_mode: 'psk',
  psk: 'unit-psk',
  dpd: { action: 'hold', interval: 30, timeout: 120 },
  status: 'ACTIVE',
  admin_state_up: true,
  vpnservice_id: 'vpn-1',
  local_ep_group: { id: 'local-1', tenant_id: '', name: '', type: 'subnet', endpoints: ['s4'] },
  peer_ep_group: { id: 'peer-1', tenant_id: '', name: 'b', type: 'cidr', endpoints: ['198.51.100.64/26'] },
  peer_cidrs: [],
  ikepolicy: {
    id: 'ike-1',
    tenant_id: 'tenant-a',
    name: 'ike',
    ike_version: 'v2',
    auth_algorithm: 'sha256',
    encryption_algorithm: 'aes-256',
    pfs: 'group14',
    lifetime: { units: 'seconds', value: 3600 },
    phase1_negotiation_mode: 'main',
  },
  ipsecpolicy: {
    id: 'ipsec-1',
    tenant_id: '',
    name: '',
    transform_protocol: 'esp',
    auth_algorithm: 'sha256',
    encryption_algorithm: 'aes-256',
    encapsulation_mode: 'tunnel',
    lifetime: { units: 'kilobytes', value: 100000 },
    pfs: 'group14',
  },
};

/** The smallest router document around a vpn block: a tenant subnet `s4` for the local endpoint group. */
function document(vpn: unknown): unknown {
  return {
    tenant_id: 'tenant-a',
    hostname: 'ak-tenant-a',
    networks: [
      {
        interface: { ifname: 'ge1', addresses: ['192.0.2.2/24'] },
        network_id: 'ext',
        network_type: 'external',
        subnets: [{ id: 'ext-v4', cidr: '192.0.2.0/24', dhcp_enabled: false, dns_nameservers: [], host_routes: [], gateway_ip: '192.0.2.1' }],
      },
      {
        interface: { ifname: 'ge2', addresses: ['198.51.100.1/26'] },
        network_id: 'int',
        network_type: 'internal',
        subnets: [{ id: 's4', cidr: '198.51.100.0/26', dhcp_enabled: false, dns_nameservers: [], host_routes: [], gateway_ip: '198.51.100.1' }],
      },
    ],
    vpn,
  };
}

describe('routerVpnConfig', () => {
  it('is {} with [router] ipsec_vpn off, whatever the router has', () => {
    assert.deepEqual(routerVpnConfig([service([resolved])], false), { vpn: {}, skipped: [] });
  });

  it('nests each service, its connections and their policies and endpoint groups as the original did; the agent contract accepts it', () => {
    const { vpn, skipped } = routerVpnConfig([service([resolved])], true);
    assert.deepEqual(skipped, []);
    const expected = {
      ipsec: [
        {
          id: 'vpn-1',
          name: 'vpn',
          status: '',
          admin_state_up: true,
          external_v4_ip: '192.0.2.2',
          external_v6_ip: null,
          subnet_id: null,
          router_id: 'router-1',
          ipsec_connections: [EXPECTED_CONNECTION],
        },
      ],
    };
    // Key order too: documents read and diff the same as the original's.
    assert.equal(JSON.stringify(vpn), JSON.stringify(expected));
    const result = validateDocument(document(vpn));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.equal(result.model.vpn[0]?.connections[0]?.peerCidrs[0]?.network, '198.51.100.64/26');
  });

  it('gives an empty list for a router without services: the appliance stops its VPN', () => {
    assert.deepEqual(routerVpnConfig([], true).vpn, { ipsec: [] });
    assert.deepEqual(routerVpnConfig(undefined, true).vpn, { ipsec: [] });
  });

  it('leaves out a connection whose policy or endpoint group is gone, and says which and why', () => {
    const other = { ...resolved, connection: { ...connection, id: 'site-2' } };
    const cases: [Partial<IpsecConnectionDetail>, RegExp][] = [
      [{ ikepolicy: undefined }, /IKE policy ike-1 does not exist/],
      [{ ipsecpolicy: undefined }, /IPsec policy ipsec-1 does not exist/],
      [{ localEndpointGroup: undefined }, /local endpoint group local-1 does not exist/],
      [{ peerEndpointGroup: undefined }, /peer endpoint group peer-1 does not exist/],
    ];
    for (const [broken, reason] of cases) {
      const { vpn, skipped } = routerVpnConfig([service([{ ...resolved, ...broken }, other])], true);
      assert.deepEqual(vpn.ipsec?.[0]?.ipsec_connections.map((c) => c.id), ['site-2'], 'the other connection stays');
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0]!.connectionId, 'site-1');
      assert.equal(skipped[0]!.vpnServiceId, 'vpn-1');
      assert.match(skipped[0]!.reason, reason);
    }
  });

  it('a connection without endpoint groups (peer_cidrs style) carries null groups', () => {
    const { vpn } = routerVpnConfig([service([{ ...resolved, localEndpointGroup: null, peerEndpointGroup: null, connection: { ...connection, peer_cidrs: ['198.51.100.64/26'] } }])], true);
    const built = vpn.ipsec?.[0]?.ipsec_connections[0];
    assert.equal(built?.local_ep_group, null);
    assert.equal(built?.peer_ep_group, null);
    assert.deepEqual(built?.peer_cidrs, ['198.51.100.64/26']);
  });
});
