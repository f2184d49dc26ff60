// The resource file's VPNaaS collections: Neutron's defaults filled in, every
// reference checked at its exact JSON pointer, the router's read carrying its
// VPN services resolved, and which edits reach which routers.
//
// Tests edit the document into shapes the types forbid; it is handled as untyped JSON.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diffViews } from './diff.js';
import { routerDetailOf } from './network.js';
import { parseResourceFile, type ParseResult } from './resource-file.js';
import type { ResourceView } from './view.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const PSK = 'unit-test-psk';

const gateway = (address: string) => ({ network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: address }] });
const routerPort = (id: string, networkId: string, subnetId: string, address: string, mac: string, routerId: string) => ({
  id,
  network_id: networkId,
  mac_address: mac,
  fixed_ips: [{ subnet_id: subnetId, ip_address: address }],
  device_owner: 'network:router_interface',
  device_id: routerId,
});

/**
 * Three routers: router-a (net-a) and router-b (net-b) joined by a VPN each
 * way, endpoint-group style, sharing one IKE and one IPsec policy; router-c
 * (net-c) without a VPN.
 */
function baseDocument(): any {
  return {
    networks: [{ id: 'ext-net', 'router:external': true }, { id: 'net-a' }, { id: 'net-b' }, { id: 'net-c' }],
    subnets: [
      { id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4, gateway_ip: '192.0.2.1' },
      { id: 'a-v4', network_id: 'net-a', cidr: '198.51.100.0/26', ip_version: 4, gateway_ip: '198.51.100.1' },
      { id: 'b-v4', network_id: 'net-b', cidr: '198.51.100.64/26', ip_version: 4, gateway_ip: '198.51.100.65' },
      { id: 'c-v4', network_id: 'net-c', cidr: '198.51.100.128/26', ip_version: 4, gateway_ip: '198.51.100.129' },
    ],
    ports: [
      routerPort('a-rtr', 'net-a', 'a-v4', '198.51.100.1', 'fa:16:3e:00:0a:01', 'router-a'),
      routerPort('b-rtr', 'net-b', 'b-v4', '198.51.100.65', 'fa:16:3e:00:0b:01', 'router-b'),
      routerPort('c-rtr', 'net-c', 'c-v4', '198.51.100.129', 'fa:16:3e:00:0c:01', 'router-c'),
    ],
    routers: [
      { id: 'router-a', tenant_id: 'tenant-a', external_gateway_info: gateway('192.0.2.10') },
      { id: 'router-b', tenant_id: 'tenant-b', external_gateway_info: gateway('192.0.2.20') },
      { id: 'router-c', tenant_id: 'tenant-c', external_gateway_info: gateway('192.0.2.30') },
    ],
    vpnservices: [
      { id: 'vpn-a', router_id: 'router-a', external_v4_ip: '192.0.2.10' },
      { id: 'vpn-b', router_id: 'router-b', subnet_id: null },
    ],
    ikepolicies: [{ id: 'ike-1', ike_version: 'v2', encryption_algorithm: 'aes-256', auth_algorithm: 'sha256', pfs: 'group14' }],
    ipsecpolicies: [{ id: 'ipsec-1', encryption_algorithm: 'aes-256', auth_algorithm: 'sha256', pfs: 'group14' }],
    endpoint_groups: [
      { id: 'local-a', type: 'subnet', endpoints: ['a-v4'] },
      { id: 'local-b', type: 'subnet', endpoints: ['b-v4'] },
      { id: 'peer-a', type: 'cidr', endpoints: ['198.51.100.0/26'] },
      { id: 'peer-b', type: 'cidr', endpoints: ['198.51.100.64/26'] },
    ],
    ipsec_site_connections: [
      connection('site-a', 'vpn-a', '192.0.2.20', 'local-a', 'peer-b'),
      connection('site-b', 'vpn-b', '192.0.2.10', 'local-b', 'peer-a'),
    ],
  };
}

function connection(id: string, serviceId: string, peer: string, local: string, remote: string): any {
  return { id, vpnservice_id: serviceId, ikepolicy_id: 'ike-1', ipsecpolicy_id: 'ipsec-1', local_ep_group_id: local, peer_ep_group_id: remote, peer_address: peer, psk: PSK };
}

const parse = (document: unknown): ParseResult => parseResourceFile(JSON.stringify(document), 'resources.json', OPTIONS);

function expectView(document: unknown): ResourceView {
  const result = parse(document);
  if (!result.ok) assert.fail(`expected a valid file, got ${JSON.stringify(result.problems, null, 1)}`);
  return result.view;
}

function edited(edit: (document: any) => void): any {
  const document = baseDocument();
  edit(document);
  return document;
}

/** The edit made exactly one problem, at `path`, with a message matching `message`. */
function assertOnlyProblem(edit: (document: any) => void, path: string, message: RegExp): void {
  const result = parse(edited(edit));
  if (result.ok) assert.fail('expected problems, the file was accepted');
  assert.deepEqual(
    result.problems.map((p) => p.path),
    [path],
    JSON.stringify(result.problems, null, 1),
  );
  assert.match(result.problems[0]!.message, message);
}

describe('VPNaaS in the resource file', () => {
  test('the five collections are read, with Neutron VPNaaS defaults filled in', () => {
    const result = parse(baseDocument());
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    const { view } = result;
    assert.deepEqual(view.vpnservices.get('vpn-b'), { id: 'vpn-b', router_id: 'router-b', subnet_id: null, admin_state_up: true, external_v4_ip: null, external_v6_ip: null });
    assert.deepEqual(view.ikepolicies.get('ike-1'), {
      id: 'ike-1',
      auth_algorithm: 'sha256',
      encryption_algorithm: 'aes-256',
      phase1_negotiation_mode: 'main',
      ike_version: 'v2',
      lifetime: { units: 'seconds', value: 3600 },
      pfs: 'group14',
    });
    assert.deepEqual(view.ipsecpolicies.get('ipsec-1'), {
      id: 'ipsec-1',
      transform_protocol: 'esp',
      auth_algorithm: 'sha256',
      encryption_algorithm: 'aes-256',
      encapsulation_mode: 'tunnel',
      lifetime: { units: 'seconds', value: 3600 },
      pfs: 'group14',
    });
    assert.deepEqual(view.ipsec_site_connections.get('site-a'), {
      ...connection('site-a', 'vpn-a', '192.0.2.20', 'local-a', 'peer-b'),
      peer_id: '192.0.2.20',
      peer_cidrs: [],
      route_mode: 'static',
      mtu: 1500,
      initiator: 'bi-directional',
      auth_mode: 'psk',
      dpd: { action: 'hold', interval: 30, timeout: 120 },
      admin_state_up: true,
    });
    assert.deepEqual(view.endpoint_groups.get('peer-a'), { id: 'peer-a', type: 'cidr', endpoints: ['198.51.100.0/26'] });
  });

  test('a lifetime or a dpd given in part takes the defaults for the rest', () => {
    const view = expectView(
      edited((d) => {
        d.ipsecpolicies[0].lifetime = { units: 'kilobytes' };
        d.ipsec_site_connections[0].dpd = { interval: 5 };
      }),
    );
    assert.deepEqual(view.ipsecpolicies.get('ipsec-1')?.lifetime, { units: 'kilobytes', value: 3600 });
    assert.deepEqual(view.ipsec_site_connections.get('site-a')?.dpd, { action: 'hold', interval: 5, timeout: 120 });
  });

  test("the router's read carries its VPN services, each connection with its policies and endpoint groups", () => {
    const view = expectView(baseDocument());
    const detail = routerDetailOf(view, 'router-a')!;
    assert.equal(detail.vpnServices?.length, 1);
    const [service] = detail.vpnServices ?? [];
    assert.equal(service!.service.id, 'vpn-a');
    assert.deepEqual(
      service!.connections.map((c) => [c.connection.id, c.ikepolicy?.id, c.ipsecpolicy?.id, c.localEndpointGroup?.id, c.peerEndpointGroup?.id]),
      [['site-a', 'ike-1', 'ipsec-1', 'local-a', 'peer-b']],
    );
    assert.deepEqual(routerDetailOf(view, 'router-c')!.vpnServices, []);
  });

  test('the peer_cidrs style: the service names its subnet, connections no endpoint groups', () => {
    const view = expectView(
      edited((d) => {
        d.vpnservices[0].subnet_id = 'a-v4';
        Object.assign(d.ipsec_site_connections[0], { local_ep_group_id: null, peer_ep_group_id: null, peer_cidrs: ['198.51.100.64/26'] });
      }),
    );
    const [service] = routerDetailOf(view, 'router-a')!.vpnServices!;
    assert.equal(service!.connections[0]!.localEndpointGroup, null);
    assert.deepEqual(service!.connections[0]!.connection.peer_cidrs, ['198.51.100.64/26']);
  });

  describe('every reference is checked, at the field that makes it', () => {
    test('a service on a router that does not exist', () => {
      assertOnlyProblem((d) => (d.vpnservices[0].router_id = 'router-x'), '/vpnservices/0/router_id', /no router has the id router-x/);
    });
    test('a service on a router without a gateway', () => {
      assertOnlyProblem((d) => (d.routers[0].external_gateway_info = null), '/vpnservices/0/router_id', /router router-a has no external_gateway_info/);
    });
    test("a service's subnet not on its router", () => {
      assertOnlyProblem(
        (d) => {
          d.vpnservices[0].subnet_id = 'c-v4';
          Object.assign(d.ipsec_site_connections[0], { local_ep_group_id: null, peer_ep_group_id: null, peer_cidrs: ['198.51.100.64/26'] });
        },
        '/vpnservices/0/subnet_id',
        /subnet c-v4 is not on an interface of router router-a/,
      );
    });
    test('a connection naming a missing service', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].vpnservice_id = 'vpn-x'), '/ipsec_site_connections/0/vpnservice_id', /no VPN service has the id vpn-x/);
    });
    test('a connection naming a missing IKE policy', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[1].ikepolicy_id = 'ike-x'), '/ipsec_site_connections/1/ikepolicy_id', /no IKE policy has the id ike-x/);
    });
    test('a connection naming a missing IPsec policy', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].ipsecpolicy_id = 'ipsec-x'), '/ipsec_site_connections/0/ipsecpolicy_id', /no IPsec policy has the id ipsec-x/);
    });
    test('a connection naming a missing endpoint group', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].peer_ep_group_id = 'peer-x'), '/ipsec_site_connections/0/peer_ep_group_id', /no endpoint group has the id peer-x/);
    });
    test('an endpoint group naming a missing subnet', () => {
      assertOnlyProblem((d) => (d.endpoint_groups[0].endpoints = ['a-v4', 'x-v4']), '/endpoint_groups/0/endpoints/1', /no subnet has the id x-v4/);
    });
    test("a local endpoint group with a subnet of another router", () => {
      assertOnlyProblem((d) => (d.endpoint_groups[0].endpoints = ['c-v4']), '/ipsec_site_connections/0/local_ep_group_id', /subnet c-v4 of endpoint group local-a is not on an interface of router router-a/);
    });
    test('endpoint groups of the wrong type on either side', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].local_ep_group_id = 'peer-a'), '/ipsec_site_connections/0/local_ep_group_id', /is of type cidr/);
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].peer_ep_group_id = 'local-b'), '/ipsec_site_connections/0/peer_ep_group_id', /is of type subnet/);
    });
    test("Neutron's two styles are not mixed", () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].peer_cidrs = ['203.0.113.0/24']), '/ipsec_site_connections/0/peer_cidrs', /must be empty: VPN service vpn-a has no subnet_id/);
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].local_ep_group_id = null), '/ipsec_site_connections/0/local_ep_group_id', /is required: VPN service vpn-a has no subnet_id/);
      assertOnlyProblem(
        (d) => {
          d.vpnservices[0].subnet_id = 'a-v4';
          d.ipsec_site_connections[0].peer_cidrs = ['198.51.100.64/26'];
        },
        '/ipsec_site_connections/0/local_ep_group_id',
        /has a subnet_id: its connections use peer_cidrs, not endpoint groups/,
      );
      assertOnlyProblem(
        (d) => {
          d.vpnservices[0].subnet_id = 'a-v4';
          Object.assign(d.ipsec_site_connections[0], { local_ep_group_id: null, peer_ep_group_id: null });
        },
        '/ipsec_site_connections/0/peer_cidrs',
        /must not be empty: VPN service vpn-a has a subnet_id/,
      );
    });
  });

  describe('values', () => {
    test('what the appliance refuses is refused in the file already', () => {
      assertOnlyProblem((d) => (d.ipsecpolicies[0].transform_protocol = 'ah'), '/ipsecpolicies/0/transform_protocol', /ESP only/);
      assertOnlyProblem((d) => (d.ipsecpolicies[0].encapsulation_mode = 'transport'), '/ipsecpolicies/0/encapsulation_mode', /tunnel mode/);
      assertOnlyProblem((d) => (d.ikepolicies[0].lifetime = { units: 'kilobytes', value: 3600 }), '/ikepolicies/0/lifetime/units', /seconds only/);
      assertOnlyProblem((d) => (d.ikepolicies[0].encryption_algorithm = 'blowfish'), '/ikepolicies/0/encryption_algorithm', /must be one of 3des, aes-128/);
      assertOnlyProblem((d) => (d.endpoint_groups[0].type = 'network'), '/endpoint_groups/0/type', /must be one of subnet, cidr/);
    });
    test('a bad PSK is reported without being quoted', () => {
      const bad = 'has"quote';
      const result = parse(edited((d) => (d.ipsec_site_connections[0].psk = bad)));
      assert.ok(!result.ok);
      assert.deepEqual(result.problems.map((p) => p.path), ['/ipsec_site_connections/0/psk']);
      assert.doesNotMatch(JSON.stringify(result.problems), /has\\?"quote/);
    });
    test('dpd timeout must exceed its interval; external addresses of the right version', () => {
      assertOnlyProblem((d) => (d.ipsec_site_connections[0].dpd = { interval: 30, timeout: 30 }), '/ipsec_site_connections/0/dpd/timeout', /must be greater than interval 30/);
      assertOnlyProblem((d) => (d.vpnservices[0].external_v4_ip = '2001:db8::1'), '/vpnservices/0/external_v4_ip', /not an IPv4 address/);
    });
    test('a local_id is a warning: it is not supported', () => {
      const result = parse(edited((d) => (d.ipsec_site_connections[0].local_id = 'me@example')));
      assert.ok(result.ok);
      assert.deepEqual(result.warnings.map((w) => w.path), ['/ipsec_site_connections/0/local_id']);
    });
    test('a repeated id', () => {
      assertOnlyProblem((d) => d.ikepolicies.push({ id: 'ike-1' }), '/ikepolicies/1/id', /already the id of \/ikepolicies\/0/);
    });
  });
});

describe('VPNaaS edits as events', () => {
  const updated = (edit: (document: any) => void): string[] =>
    diffViews(expectView(baseDocument()), expectView(edited(edit))).map((e) => `${e.crud} ${e.resource.id}`);

  test('a changed IKE policy updates every router whose connections use it, and no other', () => {
    assert.deepEqual(updated((d) => (d.ikepolicies[0].lifetime = { value: 7200 })), ['update router-a', 'update router-b']);
  });
  test('a changed IPsec policy likewise', () => {
    assert.deepEqual(updated((d) => (d.ipsecpolicies[0].pfs = 'group19')), ['update router-a', 'update router-b']);
  });
  test("an endpoint group updates the router of each connection that uses it", () => {
    assert.deepEqual(updated((d) => (d.endpoint_groups[3].endpoints = ['198.51.100.64/27'])), ['update router-a']);
  });
  test("a connection updates its service's router", () => {
    assert.deepEqual(updated((d) => (d.ipsec_site_connections[1].admin_state_up = false)), ['update router-b']);
    assert.deepEqual(updated((d) => (d.ipsec_site_connections[0].psk = 'another-psk')), ['update router-a']);
  });
  test('a service removed, moved or added', () => {
    assert.deepEqual(
      updated((d) => {
        d.vpnservices.splice(1, 1);
        d.ipsec_site_connections.splice(1, 1);
      }),
      ['update router-b'],
    );
    assert.deepEqual(
      updated((d) => {
        d.vpnservices[1].router_id = 'router-c';
        d.endpoint_groups[1].endpoints = ['c-v4'];
      }),
      ['update router-b', 'update router-c'],
    );
  });
  test('a policy no connection uses changes no router', () => {
    assert.deepEqual(updated((d) => d.ikepolicies.push({ id: 'ike-unused' })), []);
  });
});
