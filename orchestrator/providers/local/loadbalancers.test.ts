// The resource file's load balancers (Octavia's collections), one change at a
// time against a valid document: each broken rule is reported at its exact
// JSON pointer, links given from either side come out the same, and the
// valid file comes out with Octavia's defaults filled in.
//
// Tests edit the document into shapes the types forbid; it is handled as untyped JSON.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadBalancerDetailOf, networkPortsOf, vipPortId } from './network.js';
import { parseResourceFile, type ParseResult, type Problem } from './resource-file.js';
import type { ResourceView } from './view.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const TENANT = '0123456789abcdef0123456789abcdef';

/**
 * One load balancer on a member network: an HTTP listener whose pool has two
 * members and an HTTP monitor, a TCP listener whose pool has one member, as
 * `openstack loadbalancer ... create` would be given them (children name
 * their parents).
 */
function baseDocument(): any {
  return {
    networks: [{ id: 'lb-net', tenant_id: TENANT }, { id: 'other-net' }],
    subnets: [
      { id: 'lb-v4', network_id: 'lb-net', cidr: '198.51.100.0/24', ip_version: 4, gateway_ip: '198.51.100.1', name: 'lb-members' },
      { id: 'lb-v6', network_id: 'lb-net', cidr: '2001:db8:1b::/64', ip_version: 6 },
      { id: 'other-v4', network_id: 'other-net', cidr: '203.0.113.0/24', ip_version: 4 },
    ],
    ports: [
      {
        id: 'guest-port',
        network_id: 'lb-net',
        mac_address: 'fa:16:3e:00:00:10',
        fixed_ips: [{ subnet_id: 'lb-v4', ip_address: '198.51.100.21' }],
        device_owner: 'compute:nova',
        device_id: 'server-1',
      },
    ],
    loadbalancers: [{ id: 'lb-1', project_id: TENANT, name: 'web', vip_subnet_id: 'lb-v4', vip_address: '198.51.100.10' }],
    listeners: [
      { id: 'http-80', loadbalancer_id: 'lb-1', protocol: 'HTTP', protocol_port: 80, default_pool_id: 'web-pool' },
      { id: 'tcp-5432', loadbalancer_id: 'lb-1', protocol: 'TCP', protocol_port: 5432 },
    ],
    pools: [
      { id: 'web-pool', loadbalancer_id: 'lb-1', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
      { id: 'db-pool', listener_id: 'tcp-5432', protocol: 'TCP', lb_algorithm: 'SOURCE_IP', session_persistence: { type: 'SOURCE_IP' } },
    ],
    members: [
      { id: 'web-1', pool_id: 'web-pool', address: '198.51.100.21', protocol_port: 8080, weight: 3 },
      { id: 'web-2', pool_id: 'web-pool', address: '198.51.100.22', protocol_port: 8080, subnet_id: 'lb-v4' },
      { id: 'db-1', pool_id: 'db-pool', address: '2001:db8:1b::31', protocol_port: 5432 },
    ],
    healthmonitors: [{ id: 'web-mon', pool_id: 'web-pool', type: 'HTTP', delay: 5, timeout: 3, max_retries: 3 }],
  };
}

function parse(document: unknown): ParseResult {
  return parseResourceFile(JSON.stringify(document), 'resources.json', OPTIONS);
}

function expectView(result: ParseResult): { view: ResourceView; warnings: Problem[] } {
  if (!result.ok) assert.fail(`expected a valid file, got ${JSON.stringify(result.problems, null, 1)}`);
  return result;
}

/** The change made exactly the problems at `paths`, the first with a message matching `message`. */
function assertProblems(document: unknown, paths: readonly string[], message: RegExp): void {
  const result = parse(document);
  if (result.ok) assert.fail('expected problems, the file was accepted');
  assert.deepEqual(
    result.problems.map((p) => p.path),
    paths,
    JSON.stringify(result.problems, null, 1),
  );
  assert.match(result.problems[0]!.message, message);
}

const assertOnlyProblem = (document: unknown, path: string, message: RegExp): void => assertProblems(document, [path], message);

function assertWarning(document: unknown, path: string, message: RegExp): void {
  const { warnings } = expectView(parse(document));
  assert.deepEqual(
    warnings.map((w) => w.path),
    [path],
    JSON.stringify(warnings),
  );
  assert.match(warnings[0]!.message, message);
}

function edited(edit: (document: any) => void): any {
  const document = baseDocument();
  edit(document);
  return document;
}

describe('load balancers in the resource file', () => {
  test('the base document is valid, without warnings, with Octavia\'s defaults and every link resolved', () => {
    const { view, warnings } = expectView(parse(baseDocument()));
    assert.deepEqual(warnings, []);
    assert.deepEqual(view.loadbalancers.get('lb-1'), {
      id: 'lb-1',
      tenant_id: TENANT,
      name: 'web',
      admin_state_up: true,
      vip_address: '198.51.100.10',
      vip_network_id: 'lb-net',
      vip_subnet_id: 'lb-v4',
      vip_port_id: vipPortId('lb-1'),
    });
    assert.deepEqual(view.listeners.get('tcp-5432'), {
      id: 'tcp-5432',
      loadbalancer_id: 'lb-1',
      admin_state_up: true,
      protocol: 'TCP',
      protocol_port: 5432,
      default_pool_id: 'db-pool',
      connection_limit: -1,
    });
    assert.deepEqual(view.pools.get('db-pool'), {
      id: 'db-pool',
      loadbalancer_id: 'lb-1',
      admin_state_up: true,
      protocol: 'TCP',
      lb_algorithm: 'SOURCE_IP',
      session_persistence: { type: 'SOURCE_IP', cookie_name: null },
      healthmonitor_id: null,
    });
    assert.equal(view.pools.get('web-pool')?.healthmonitor_id, 'web-mon');
    assert.deepEqual(view.members.get('web-1'), {
      id: 'web-1',
      pool_id: 'web-pool',
      admin_state_up: true,
      address: '198.51.100.21',
      protocol_port: 8080,
      weight: 3,
      subnet_id: 'lb-v4',
    });
    assert.equal(view.members.get('web-2')?.weight, 1);
    assert.equal(view.members.get('db-1')?.subnet_id, 'lb-v6');
    assert.deepEqual(view.healthmonitors.get('web-mon'), {
      id: 'web-mon',
      pool_id: 'web-pool',
      admin_state_up: true,
      type: 'HTTP',
      delay: 5,
      timeout: 3,
      max_retries: 3,
      http_method: 'GET',
      url_path: '/',
      expected_codes: '200',
    });
  });

  test('a load balancer\'s detail: its VIP port synthesized as Octavia makes one, and its parts', () => {
    const { view } = expectView(parse(baseDocument()));
    const detail = loadBalancerDetailOf(view, 'lb-1')!;
    assert.equal(loadBalancerDetailOf(view, 'lb-x'), undefined);
    assert.deepEqual(detail.vipPort, {
      id: vipPortId('lb-1'),
      network_id: 'lb-net',
      name: 'octavia-lb-lb-1',
      tenant_id: TENANT,
      mac_address: detail.vipPort.mac_address,
      fixed_ips: [{ subnet_id: 'lb-v4', ip_address: '198.51.100.10' }],
      device_id: 'lb-lb-1',
      device_owner: 'Octavia',
      admin_state_up: true,
    });
    assert.match(detail.vipPort.mac_address, /^fa(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(
      detail.listeners.map((l) => l.id),
      ['http-80', 'tcp-5432'],
    );
    assert.deepEqual(
      detail.members.map((m) => m.id),
      ['web-1', 'web-2', 'db-1'],
    );
    assert.deepEqual(
      detail.healthmonitors.map((m) => m.id),
      ['web-mon'],
    );
    assert.deepEqual(
      detail.subnets.map((s) => s.id),
      ['lb-v4', 'lb-v6'],
    );
    // Neutron lists the VIP port among the network's ports (a router on that network serves it by DHCP).
    assert.ok(networkPortsOf(view, 'lb-net').some((p) => p.id === detail.vipPort.id));
    // The same file gives the same port: a restarted orchestrator finds the same appliance.
    assert.deepEqual(loadBalancerDetailOf(expectView(parse(baseDocument())).view, 'lb-1')!.vipPort, detail.vipPort);
  });

  test('takes the links Octavia returns from the parent side, and gives the same view', () => {
    const { view: childSide } = expectView(parse(baseDocument()));
    const parentSide = edited((d) => {
      d.loadbalancers[0].listeners = [{ id: 'http-80' }, { id: 'tcp-5432' }];
      d.loadbalancers[0].pools = [{ id: 'web-pool' }, { id: 'db-pool' }];
      for (const listener of d.listeners) delete listener.loadbalancer_id;
      delete d.listeners[0].default_pool_id;
      d.pools[0] = { ...d.pools[0], loadbalancer_id: undefined, listeners: [{ id: 'http-80' }], members: [{ id: 'web-1' }, { id: 'web-2' }], healthmonitor_id: 'web-mon' };
      d.pools[1] = { ...d.pools[1], listener_id: undefined, loadbalancers: [{ id: 'lb-1' }], listeners: [{ id: 'tcp-5432' }], members: [{ id: 'db-1' }] };
      for (const member of d.members) delete member.pool_id;
      d.healthmonitors[0] = { ...d.healthmonitors[0], pool_id: undefined, pools: [{ id: 'web-pool' }] };
    });
    const { view, warnings } = expectView(parse(parentSide));
    assert.deepEqual(warnings, []);
    for (const key of ['loadbalancers', 'listeners', 'pools', 'members', 'healthmonitors'] as const) assert.deepEqual(view[key], childSide[key], key);
  });

  test('accepts a file written from Octavia\'s API answers, ignoring what the appliance has no use for', () => {
    const { view, warnings } = expectView(
      parse(
        edited((d) => {
          d.ports.push({
            id: 'vip-port',
            network_id: 'lb-net',
            mac_address: 'fa:16:3e:00:00:aa',
            fixed_ips: [{ subnet_id: 'lb-v4', ip_address: '198.51.100.10' }],
            device_owner: 'Octavia',
            device_id: 'lb-lb-1',
            name: 'octavia-lb-lb-1',
          });
          d.loadbalancers[0] = {
            ...d.loadbalancers[0],
            tenant_id: TENANT,
            description: '',
            provisioning_status: 'ACTIVE',
            operating_status: 'ONLINE',
            admin_state_up: true,
            vip_port_id: 'vip-port',
            vip_network_id: 'lb-net',
            vip_qos_policy_id: null,
            provider: 'amphora',
            flavor_id: null,
            availability_zone: null,
            created_at: '2024-05-01T10:00:00',
            updated_at: null,
            tags: [],
            additional_vips: [],
            listeners: [{ id: 'http-80' }, { id: 'tcp-5432' }],
            pools: [{ id: 'web-pool' }, { id: 'db-pool' }],
          };
          Object.assign(d.listeners[0], {
            project_id: TENANT,
            tenant_id: TENANT,
            connection_limit: -1,
            default_tls_container_ref: null,
            sni_container_refs: [],
            l7policies: [],
            insert_headers: {},
            allowed_cidrs: null,
            timeout_client_data: 50000,
            timeout_member_connect: 5000,
            timeout_member_data: 50000,
            timeout_tcp_inspect: 0,
            loadbalancers: [{ id: 'lb-1' }],
            provisioning_status: 'ACTIVE',
            operating_status: 'ONLINE',
          });
          Object.assign(d.pools[0], { listeners: [{ id: 'http-80' }], loadbalancers: [{ id: 'lb-1' }], members: [{ id: 'web-1' }, { id: 'web-2' }], healthmonitor_id: 'web-mon', tls_enabled: false, session_persistence: null });
          Object.assign(d.members[0], { backup: false, monitor_address: null, monitor_port: null, operating_status: 'ONLINE', subnet_id: 'lb-v4', name: '' });
          Object.assign(d.healthmonitors[0], { pools: [{ id: 'web-pool' }], max_retries_down: 3, http_method: 'GET', url_path: '/healthz', expected_codes: '200-204', http_version: null, domain_name: null });
        }),
      ),
    );
    assert.deepEqual(warnings, []);
    assert.equal(view.loadbalancers.get('lb-1')?.vip_port_id, 'vip-port');
    assert.equal(view.loadbalancers.get('lb-1')?.provisioning_status, 'ACTIVE');
    assert.equal(loadBalancerDetailOf(view, 'lb-1')?.vipPort.mac_address, 'fa:16:3e:00:00:aa');
    assert.equal(view.healthmonitors.get('web-mon')?.url_path, '/healthz');
  });

  describe('the VIP', () => {
    test('from a port of the file: its address on vip_subnet_id, or the one vip_address names', () => {
      const withPort = (lb: any) =>
        edited((d) => {
          d.ports.push({
            id: 'vip-port',
            network_id: 'lb-net',
            mac_address: 'fa:16:3e:00:00:aa',
            fixed_ips: [
              { subnet_id: 'lb-v4', ip_address: '198.51.100.10' },
              { subnet_id: 'lb-v6', ip_address: '2001:db8:1b::10' },
            ],
          });
          d.loadbalancers[0] = { id: 'lb-1', tenant_id: TENANT, vip_port_id: 'vip-port', ...lb };
        });
      const vip = (lb: any) => expectView(parse(withPort(lb))).view.loadbalancers.get('lb-1')!;
      assert.deepEqual([vip({}).vip_address, vip({}).vip_subnet_id, vip({}).vip_network_id], ['198.51.100.10', 'lb-v4', 'lb-net']);
      assert.equal(vip({ vip_subnet_id: 'lb-v6' }).vip_address, '2001:db8:1b::10');
      assert.equal(vip({ vip_address: '2001:DB8:1B::10' }).vip_subnet_id, 'lb-v6');
      assertOnlyProblem(withPort({ vip_address: '198.51.100.11' }), '/loadbalancers/0/vip_address', /is not an address of port vip-port \(198.51.100.10, 2001:db8:1b::10\)/);
      assertOnlyProblem(withPort({ vip_subnet_id: 'other-v4' }), '/loadbalancers/0/vip_subnet_id', /port vip-port has no address on subnet other-v4/);
      assertOnlyProblem(withPort({ vip_network_id: 'other-net' }), '/loadbalancers/0/vip_network_id', /port vip-port is on network lb-net/);
      assertOnlyProblem(withPort({ vip_port_id: 'no-port' }), '/loadbalancers/0/vip_port_id', /no port has the id no-port/);
    });

    test('a router port, or a port already another load balancer\'s, is no VIP port', () => {
      assertOnlyProblem(
        edited((d) => {
          d.ports[0].device_owner = 'network:router_interface';
          d.ports[0].device_id = 'router-1';
          d.routers = [{ id: 'router-1', tenant_id: TENANT }];
          d.loadbalancers[0] = { id: 'lb-1', tenant_id: TENANT, vip_port_id: 'guest-port' };
          d.members[0].address = '198.51.100.23';
        }),
        '/loadbalancers/0/vip_port_id',
        /port guest-port is a network:router_interface port/,
      );
      assertOnlyProblem(
        edited((d) => {
          d.loadbalancers = [
            { id: 'lb-1', tenant_id: TENANT, vip_port_id: 'guest-port' },
            { id: 'lb-2', tenant_id: TENANT, vip_port_id: 'guest-port' },
          ];
          d.members[0].address = '198.51.100.23';
        }),
        '/loadbalancers/1/vip_port_id',
        /port guest-port is already the VIP port of \/loadbalancers\/0/,
      );
    });

    test('without a port: an address inside its subnet, or a subnet of its network, that nothing else holds', () => {
      const network = expectView(parse(edited((d) => (d.loadbalancers[0] = { id: 'lb-1', tenant_id: TENANT, vip_network_id: 'lb-net', vip_address: '2001:db8:1b::10' })))).view;
      assert.equal(network.loadbalancers.get('lb-1')?.vip_subnet_id, 'lb-v6');
      assertOnlyProblem(
        edited((d) => (d.loadbalancers[0].vip_address = '203.0.113.10')),
        '/loadbalancers/0/vip_address',
        /203.0.113.10 is not inside subnet lb-v4/,
      );
      assertOnlyProblem(
        edited((d) => (d.loadbalancers[0] = { id: 'lb-1', tenant_id: TENANT, vip_network_id: 'lb-net', vip_address: '203.0.113.10' })),
        '/loadbalancers/0/vip_address',
        /203.0.113.10 is not inside a subnet of network lb-net/,
      );
      assertOnlyProblem(edited((d) => (d.loadbalancers[0].vip_address = '198.51.100.21')), '/loadbalancers/0/vip_address', /198.51.100.21 is already used at \/ports\/0\/fixed_ips\/0\/ip_address/);
      assertOnlyProblem(
        edited((d) => (d.loadbalancers[0].vip_network_id = 'other-net')),
        '/loadbalancers/0/vip_subnet_id',
        /subnet lb-v4 is on network lb-net, not on vip_network_id other-net/,
      );
      assertOnlyProblem(edited((d) => (d.loadbalancers[0].vip_subnet_id = 'no-subnet')), '/loadbalancers/0/vip_subnet_id', /no subnet has the id no-subnet/);
      assertProblems(
        edited((d) => {
          delete d.loadbalancers[0].vip_subnet_id;
          delete d.loadbalancers[0].vip_address;
        }),
        ['/loadbalancers/0/vip_address', '/loadbalancers/0/vip_subnet_id'],
        /is required without vip_port_id: the local provider allocates no addresses/,
      );
    });

    test('never on the management network', () => {
      assertProblems(
        edited((d) => (d.loadbalancers[0] = { id: 'lb-1', tenant_id: TENANT, vip_network_id: 'mgmt-net', vip_address: 'fdca:3ba5:a17a:acda::10' })),
        ['/loadbalancers/0/vip_network_id'],
        /mgmt-net is the management network/,
      );
    });

    test('its host device must differ from every router port\'s', () => {
      const id = vipPortId('lb-1');
      assertOnlyProblem(
        edited((d) => {
          d.networks.push({ id: 'ext-net', 'router:external': true });
          d.subnets.push({ id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4 });
          d.routers = [{ id: 'router-1', tenant_id: TENANT }];
          d.ports.push({
            id: `${id.slice(0, 11)}-router`,
            network_id: 'other-net',
            mac_address: 'fa:16:3e:00:00:bb',
            fixed_ips: [{ subnet_id: 'other-v4', ip_address: '203.0.113.1' }],
            device_owner: 'network:router_interface',
            device_id: 'router-1',
          });
        }),
        '/loadbalancers/0/id',
        new RegExp(`${id} starts with the same 11 characters as /ports/1/id: both would be the host device tap${id.slice(0, 11)}`),
      );
    });
  });

  describe('links', () => {
    test('every object needs its parent', () => {
      assertOnlyProblem(
        edited((d) => delete d.listeners[0].loadbalancer_id),
        '/listeners/0/loadbalancer_id',
        /is required \(or loadbalancers, or the load balancer lists the listener\)/,
      );
      assertOnlyProblem(edited((d) => delete d.members[0].pool_id), '/members/0/pool_id', /is required \(or the pool lists the member in members\)/);
      assertOnlyProblem(edited((d) => delete d.healthmonitors[0].pool_id), '/healthmonitors/0/pool_id', /is required/);
      assertOnlyProblem(
        edited((d) => {
          delete d.pools[0].loadbalancer_id;
          delete d.listeners[0].default_pool_id;
        }),
        '/pools/0/loadbalancer_id',
        /is required \(or listener_id, or a listener names the pool as its default_pool_id\)/,
      );
      // A pool named by a listener's default_pool_id belongs to the listener's load balancer.
      const { view } = expectView(parse(edited((d) => delete d.pools[0].loadbalancer_id)));
      assert.equal(view.pools.get('web-pool')?.loadbalancer_id, 'lb-1');
    });

    test('names only objects that exist', () => {
      assertOnlyProblem(edited((d) => (d.listeners[0].loadbalancer_id = 'lb-x')), '/listeners/0/loadbalancer_id', /no load balancer has the id lb-x/);
      assertOnlyProblem(edited((d) => (d.listeners[0].default_pool_id = 'pool-x')), '/listeners/0/default_pool_id', /no pool has the id pool-x/);
      assertOnlyProblem(edited((d) => (d.pools[1].listener_id = 'listener-x')), '/pools/1/listener_id', /no listener has the id listener-x/);
      assertOnlyProblem(edited((d) => (d.members[0].pool_id = 'pool-x')), '/members/0/pool_id', /no pool has the id pool-x/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].pool_id = 'pool-x')), '/healthmonitors/0/pool_id', /no pool has the id pool-x/);
      assertOnlyProblem(edited((d) => (d.loadbalancers[0].listeners = [{ id: 'listener-x' }])), '/loadbalancers/0/listeners/0/id', /no listener has the id listener-x/);
      assertOnlyProblem(edited((d) => (d.pools[0].members = [{ id: 'member-x' }])), '/pools/0/members/0/id', /no member has the id member-x/);
      assertOnlyProblem(edited((d) => (d.pools[1].healthmonitor_id = 'monitor-x')), '/pools/1/healthmonitor_id', /no health monitor has the id monitor-x/);
    });

    test('links from both sides must agree', () => {
      const withSecondLb = (edit: (d: any) => void) =>
        edited((d) => {
          d.loadbalancers.push({ id: 'lb-2', tenant_id: TENANT, vip_subnet_id: 'lb-v4', vip_address: '198.51.100.11' });
          edit(d);
        });
      assertOnlyProblem(
        withSecondLb((d) => (d.loadbalancers[1].listeners = [{ id: 'http-80' }])),
        '/loadbalancers/1/listeners/0/id',
        /listener http-80 belongs to one load balancer: \/listeners\/0\/loadbalancer_id names lb-1, this names lb-2/,
      );
      assertOnlyProblem(
        withSecondLb((d) => (d.pools[0].loadbalancer_id = 'lb-2')),
        '/listeners/0/default_pool_id',
        /pool web-pool belongs to one load balancer \(a listener's default pool is on the listener's\): \/pools\/0\/loadbalancer_id names lb-2, this names lb-1/,
      );
      assertOnlyProblem(
        edited((d) => (d.pools[1].listeners = [{ id: 'http-80' }])),
        '/pools/1/listeners/0/id',
        /listener http-80 has one default pool: \/listeners\/0\/default_pool_id names web-pool, this names db-pool/,
      );
      assertOnlyProblem(
        edited((d) => (d.listeners[1].default_pool_id = 'web-pool')),
        '/pools/1/listener_id',
        /listener tcp-5432 has one default pool: \/listeners\/1\/default_pool_id names web-pool, this names db-pool/,
      );
      assertOnlyProblem(
        edited((d) => {
          delete d.pools[1].listener_id;
          d.pools[1].loadbalancer_id = 'lb-1';
          d.listeners[1].default_pool_id = 'web-pool';
        }),
        '/listeners/1/default_pool_id',
        /pool web-pool is already the default pool of \/listeners\/0: a pool serves one listener/,
      );
      assertOnlyProblem(edited((d) => (d.pools[1].members = [{ id: 'web-1' }])), '/pools/1/members/0/id', /member web-1 belongs to one pool/);
      assertOnlyProblem(
        edited((d) => d.healthmonitors.push({ id: 'web-mon-2', pool_id: 'web-pool', type: 'TCP', delay: 5, timeout: 3, max_retries: 3 })),
        '/healthmonitors/1/id',
        /pool web-pool already has the health monitor \/healthmonitors\/0: a pool has one/,
      );
    });

    test('ids are unique per collection', () => {
      assertOnlyProblem(edited((d) => d.members.push({ ...d.members[0], address: '198.51.100.29' })), '/members/3/id', /web-1 is already the id of \/members\/0/);
    });
  });

  describe('values', () => {
    test('a load balancer id names its appliance; its project is required and every part\'s is its own', () => {
      assertProblems(edited((d) => (d.loadbalancers[0].id = 'x'.repeat(37))), ['/loadbalancers/0/id', '/listeners/0/loadbalancer_id', '/listeners/1/loadbalancer_id', '/pools/0/loadbalancer_id'], /cannot name an appliance: at most 36/);
      assertOnlyProblem(edited((d) => delete d.loadbalancers[0].project_id), '/loadbalancers/0/tenant_id', /is required \(or project_id\)/);
      assertOnlyProblem(edited((d) => (d.listeners[0].project_id = 'another')), '/listeners/0/tenant_id', /another is not the project 0123456789abcdef0123456789abcdef of load balancer lb-1/);
      assertOnlyProblem(edited((d) => (d.members[2].tenant_id = 'another')), '/members/2/tenant_id', /another is not the project .* of load balancer lb-1/);
      assertOnlyProblem(edited((d) => (d.loadbalancers[0].name = 'web;lb')), '/loadbalancers/0/name', /must not contain control characters or any of/);
    });

    test('protocols, algorithms and persistence are the appliance\'s', () => {
      assertOnlyProblem(edited((d) => (d.listeners[0].protocol = 'UDP')), '/listeners/0/protocol', /must be one of HTTP, HTTPS, TCP \(the appliance's\), not the string "UDP"/);
      assertOnlyProblem(edited((d) => (d.pools[0].protocol = 'PROXY')), '/pools/0/protocol', /must be one of HTTP, HTTPS, TCP/);
      assertOnlyProblem(edited((d) => (d.pools[0].lb_algorithm = 'SOURCE_IP_PORT')), '/pools/0/lb_algorithm', /must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP/);
      assertOnlyProblem(edited((d) => delete d.pools[0].lb_algorithm), '/pools/0/lb_algorithm', /is required/);
      assertOnlyProblem(edited((d) => (d.pools[0].session_persistence = { type: 'APP_COOKIE' })), '/pools/0/session_persistence/cookie_name', /is required for APP_COOKIE/);
      assertOnlyProblem(
        edited((d) => (d.pools[0].session_persistence = { type: 'HTTP_COOKIE', cookie_name: 'sid' })),
        '/pools/0/session_persistence/cookie_name',
        /applies to APP_COOKIE session persistence only, not HTTP_COOKIE/,
      );
      assertOnlyProblem(edited((d) => (d.pools[0].session_persistence = { type: 'APP_COOKIE', cookie_name: 'a b' })), '/pools/0/session_persistence/cookie_name', /is not a cookie name/);
      const { view } = expectView(parse(edited((d) => (d.pools[0].session_persistence = { type: 'APP_COOKIE', cookie_name: 'JSESSIONID', persistence_timeout: 360 }))));
      assert.deepEqual(view.pools.get('web-pool')?.session_persistence, { type: 'APP_COOKIE', cookie_name: 'JSESSIONID' });
    });

    test('one listener per port and load balancer, ports and weights in range', () => {
      assertOnlyProblem(edited((d) => (d.listeners[1].protocol_port = 80)), '/listeners/1/protocol_port', /port 80 of load balancer lb-1 is already the port of \/listeners\/0/);
      assertOnlyProblem(edited((d) => (d.listeners[0].protocol_port = 0)), '/listeners/0/protocol_port', /must be an integer from 1 to 65535, not the number 0/);
      assertOnlyProblem(edited((d) => (d.members[0].weight = 257)), '/members/0/weight', /must be an integer from 0 to 256/);
      assert.equal(expectView(parse(edited((d) => (d.members[0].weight = 0)))).view.members.get('web-1')?.weight, 0);
    });

    test('health monitors: the appliance\'s types and ranges, a timeout within the delay, HTTP fields for HTTP only', () => {
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].timeout = 6)), '/healthmonitors/0/timeout', /6 is more than the delay 5/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].type = 'UDP-CONNECT')), '/healthmonitors/0/type', /must be one of PING, TCP, HTTP, HTTPS/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].max_retries = 11)), '/healthmonitors/0/max_retries', /must be an integer from 1 to 10/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].url_path = '/health check')), '/healthmonitors/0/url_path', /is not a URL path/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].expected_codes = '2xx')), '/healthmonitors/0/expected_codes', /is not status codes such as 200/);
      assertOnlyProblem(edited((d) => (d.healthmonitors[0].http_method = 'FETCH')), '/healthmonitors/0/http_method', /must be one of GET, HEAD/);
      assertWarning(edited((d) => Object.assign(d.healthmonitors[0], { type: 'TCP', url_path: '/x' })), '/healthmonitors/0/url_path', /applies to HTTP and HTTPS monitors only, not TCP: ignored/);
      const tcp = expectView(parse(edited((d) => Object.assign(d.healthmonitors[0], { type: 'TCP', http_method: null, url_path: null, expected_codes: null })))).view;
      assert.deepEqual(
        Object.keys(tcp.healthmonitors.get('web-mon')!).filter((key) => key.startsWith('http') || key === 'url_path' || key === 'expected_codes'),
        [],
      );
    });
  });

  describe('members', () => {
    test('are reached through the VIP network only', () => {
      assertOnlyProblem(
        edited((d) => (d.members[0].address = '203.0.113.21')),
        '/members/0/address',
        /203.0.113.21 is not inside a subnet of network lb-net: the appliance of load balancer lb-1 reaches members through its VIP network lb-net only/,
      );
      assertOnlyProblem(
        edited((d) => Object.assign(d.members[0], { address: '203.0.113.21', subnet_id: 'other-v4' })),
        '/members/0/subnet_id',
        /subnet other-v4 is on network other-net: the appliance of load balancer lb-1 reaches members through its VIP network lb-net only/,
      );
      assertOnlyProblem(edited((d) => (d.members[1].subnet_id = 'lb-v6')), '/members/1/address', /198.51.100.22 is not inside subnet lb-v6 \(2001:db8:1b::\/64\)/);
      assertOnlyProblem(edited((d) => (d.members[1].subnet_id = 'no-subnet')), '/members/1/subnet_id', /no subnet has the id no-subnet/);
    });

    test('one member per address and port in a pool', () => {
      assertOnlyProblem(
        edited((d) => Object.assign(d.members[1], { address: '198.51.100.21' })),
        '/members/1/address',
        /198.51.100.21 port 8080 is already the member \/members\/0 of pool web-pool/,
      );
      expectView(parse(edited((d) => Object.assign(d.members[1], { address: '198.51.100.21', protocol_port: 8081 }))));
    });
  });

  describe('what the appliance does not do is a warning when set, never silently ignored', () => {
    const cases: [string, (d: any) => void, string, RegExp][] = [
      ['TLS termination', (d) => (d.listeners[0].default_tls_container_ref = 'https://barbican/secret'), '/listeners/0/default_tls_container_ref', /TLS termination is not supported/],
      ['L7 policies', (d) => (d.listeners[0].l7policies = [{ id: 'l7-1' }]), '/listeners/0/l7policies', /L7 policies are not supported: ignored/],
      ['allowed CIDRs', (d) => (d.listeners[0].allowed_cidrs = ['192.0.2.0/24']), '/listeners/0/allowed_cidrs', /source restrictions are not supported/],
      ['a connection limit', (d) => (d.listeners[0].connection_limit = 100), '/listeners/0/connection_limit', /connection limits are not supported by the appliance: ignored/],
      ['a backup member', (d) => (d.members[0].backup = true), '/members/0/backup', /backup members are not supported/],
      ['a monitor address', (d) => (d.members[0].monitor_address = '198.51.100.99'), '/members/0/monitor_address', /probes the member's own address/],
      ['TLS to members', (d) => (d.pools[0].tls_enabled = true), '/pools/0/tls_enabled', /TLS towards the members is not supported/],
      ['additional VIPs', (d) => (d.loadbalancers[0].additional_vips = [{ subnet_id: 'lb-v6' }]), '/loadbalancers/0/additional_vips', /additional VIPs are not supported/],
      ['an unknown key', (d) => (d.pools[0].colour = 'blue'), '/pools/0/colour', /unknown key "colour" \(ignored\)/],
    ];
    for (const [what, edit, path, message] of cases) test(what, () => assertWarning(edited(edit), path, message));

    test('an unknown top-level collection', () => {
      assertWarning(edited((d) => (d.l7policies = [])), '/l7policies', /unknown key "l7policies"/);
    });
  });
});
