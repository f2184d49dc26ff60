// Edits of the resource file as events: each test edits a two-router file one
// way and checks exactly which routers get which event.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Event } from '../../core/events.js';
import { canonicalJson, diffViews, loadBalancerInputs, routerInputs } from './diff.js';
import { parseResourceFile } from './resource-file.js';
import type { ResourceView } from './view.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const TENANT_1 = 'tenant-1';
const TENANT_2 = 'tenant-2';

const gateway = (address: string) => ({ network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: address }] });

function port(id: string, networkId: string, subnetId: string, address: string, mac: string, owner: string, deviceId: string): any {
  return { id, network_id: networkId, mac_address: mac, fixed_ips: [{ subnet_id: subnetId, ip_address: address }], device_owner: owner, device_id: deviceId };
}

/** router-1 (tenant-1) on net-a with a guest and a floating IP; router-2 (tenant-2) on net-c with a guest; net-u unused. */
function baseDocument(): any {
  return {
    networks: [{ id: 'ext-net', 'router:external': true }, { id: 'net-a' }, { id: 'net-c' }, { id: 'net-u' }],
    subnets: [
      { id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4, gateway_ip: '192.0.2.1' },
      { id: 'a-v4', network_id: 'net-a', cidr: '198.51.100.0/26', ip_version: 4, gateway_ip: '198.51.100.1' },
      { id: 'c-v4', network_id: 'net-c', cidr: '198.51.100.128/26', ip_version: 4, gateway_ip: '198.51.100.129' },
      { id: 'u-v4', network_id: 'net-u', cidr: '203.0.113.0/24', ip_version: 4 },
    ],
    ports: [
      port('a-rtr', 'net-a', 'a-v4', '198.51.100.1', 'fa:16:3e:00:0a:01', 'network:router_interface', 'router-1'),
      port('c-rtr', 'net-c', 'c-v4', '198.51.100.129', 'fa:16:3e:00:0c:01', 'network:router_interface', 'router-2'),
      port('a-guest', 'net-a', 'a-v4', '198.51.100.10', 'fa:16:3e:00:0a:10', 'compute:nova', 'server-a'),
      port('c-guest', 'net-c', 'c-v4', '198.51.100.140', 'fa:16:3e:00:0c:10', 'compute:nova', 'server-c'),
    ],
    routers: [
      { id: 'router-1', tenant_id: TENANT_1, external_gateway_info: gateway('192.0.2.10') },
      { id: 'router-2', tenant_id: TENANT_2, external_gateway_info: gateway('192.0.2.20') },
    ],
    floatingips: [{ id: 'fip-1', floating_ip_address: '192.0.2.50', floating_network_id: 'ext-net', port_id: 'a-guest' }],
  };
}

function viewOf(document: unknown, text = JSON.stringify(document), fileName = 'r.json'): ResourceView {
  const result = parseResourceFile(text, fileName, OPTIONS);
  if (!result.ok) assert.fail(JSON.stringify(result.problems, null, 1));
  return result.view;
}

/** The events of editing the base document with `edit`, as `crud router tenant` lines. */
function eventsOf(edit: (document: any) => void): string[] {
  const after = baseDocument();
  edit(after);
  return lines(diffViews(viewOf(baseDocument()), viewOf(after)));
}

const lines = (events: readonly Event[]): string[] => events.map((e) => `${e.crud} ${e.resource.driver} ${e.resource.id} ${e.resource.tenantId}`);

describe('diffViews', () => {
  test('from nothing, every router is created, in file order', () => {
    assert.deepEqual(lines(diffViews(undefined, viewOf(baseDocument()))), ['create router router-1 tenant-1', 'create router router-2 tenant-2']);
  });

  test('an unchanged file gives no event', () => {
    assert.deepEqual(
      eventsOf(() => undefined),
      [],
    );
  });

  test('a new router is created and a removed one deleted, deletes last', () => {
    const events = eventsOf((d) => {
      d.routers = [{ id: 'router-0', tenant_id: TENANT_1 }, ...d.routers.filter((r: any) => r.id !== 'router-2')];
      d.ports = d.ports.filter((p: any) => p.device_id !== 'router-2');
    });
    assert.deepEqual(events, ['create router router-0 tenant-1', 'delete router router-2 tenant-2']);
  });

  test('a change to the router itself updates it', () => {
    assert.deepEqual(
      eventsOf((d) => (d.routers[1].name = 'renamed')),
      ['update router router-2 tenant-2'],
    );
    assert.deepEqual(
      eventsOf((d) => (d.routers[0].external_gateway_info = gateway('192.0.2.11'))),
      ['update router router-1 tenant-1'],
    );
  });

  test('an interface port added updates the router', () => {
    const events = eventsOf((d) => {
      d.networks.push({ id: 'net-d' });
      d.subnets.push({ id: 'd-v4', network_id: 'net-d', cidr: '198.51.100.192/26', ip_version: 4 });
      d.ports.push(port('d-rtr', 'net-d', 'd-v4', '198.51.100.193', 'fa:16:3e:00:0d:01', 'network:router_interface', 'router-2'));
    });
    assert.deepEqual(events, ['update router router-2 tenant-2']);
  });

  test('a guest port change on an internal network updates its router', () => {
    assert.deepEqual(
      eventsOf((d) => (d.ports[3].mac_address = 'fa:16:3e:00:0c:11')),
      ['update router router-2 tenant-2'],
    );
    assert.deepEqual(
      eventsOf((d) => d.ports.push(port('c-guest2', 'net-c', 'c-v4', '198.51.100.141', 'fa:16:3e:00:0c:12', 'compute:nova', 'server-d'))),
      ['update router router-2 tenant-2'],
    );
  });

  test("a change to a subnet of the router's network updates it", () => {
    assert.deepEqual(
      eventsOf((d) => (d.subnets[1].dns_nameservers = ['192.0.2.53'])),
      ['update router router-1 tenant-1'],
    );
  });

  test('a floating IP added updates its router only', () => {
    const events = eventsOf((d) => d.floatingips.push({ id: 'fip-2', floating_ip_address: '192.0.2.51', floating_network_id: 'ext-net', port_id: 'c-guest' }));
    assert.deepEqual(events, ['update router router-2 tenant-2']);
  });

  test('a floating IP moved from one router to another updates both', () => {
    assert.deepEqual(
      eventsOf((d) => (d.floatingips[0].port_id = 'c-guest')),
      ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    );
  });

  test('a change to a network no router uses gives no event', () => {
    const events = eventsOf((d) => {
      d.networks[3].mtu = 1400;
      d.subnets[3].dns_nameservers = ['192.0.2.53'];
      d.ports.push(port('u-guest', 'net-u', 'u-v4', '203.0.113.5', 'fa:16:3e:00:ff:01', 'compute:nova', 'server-u'));
      d.servers = [{ id: 'server-u', name: 'unrelated' }];
    });
    assert.deepEqual(events, []);
  });

  test('a change to the management network updates every router', () => {
    const declared = (mtu: number) => (d: any) => {
      d.networks.push({ id: 'mgmt-net', mtu });
      d.subnets.push({ id: 'mgmt-v6', network_id: 'mgmt-net', cidr: 'fdca:3ba5:a17a:acda::/64', ip_version: 6, enable_dhcp: false });
    };
    const before = baseDocument();
    declared(1500)(before);
    const after = baseDocument();
    declared(1450)(after);
    assert.deepEqual(lines(diffViews(viewOf(before), viewOf(after))), ['update router router-1 tenant-1', 'update router router-2 tenant-2']);
  });

  test('a router moved to another tenant is deleted there and created here', () => {
    assert.deepEqual(
      eventsOf((d) => (d.routers[0].tenant_id = 'tenant-3')),
      ['delete router router-1 tenant-1', 'create router router-1 tenant-3'],
    );
  });

  test("the events carry the router's tenant, from project_id when that is all it has", () => {
    const events = eventsOf((d) => {
      delete d.routers[1].tenant_id;
      d.routers[1].project_id = TENANT_2;
      d.routers[1].name = 'now with project_id';
    });
    assert.deepEqual(events, ['update router router-2 tenant-2']);
  });
});

describe('canonicalJson', () => {
  test('the same text whatever the key order, at every depth, and the JSON of the key-sorted value', () => {
    const a = { b: [1, { y: 'x', x: null }], a: { d: true, c: 'é"' } };
    const b = { a: { c: 'é"', d: true }, b: [1, { x: null, y: 'x' }] };
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(canonicalJson(a), JSON.stringify({ a: { c: 'é"', d: true }, b: [1, { x: null, y: 'x' }] }));
  });
  test('drops undefined members as JSON does, and writes undefined items of lists as null', () => {
    assert.equal(canonicalJson({ b: undefined, a: [undefined, 2] }), '{"a":[null,2]}');
    assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  });
});

describe('routerInputs', () => {
  test('is undefined for a router the view lacks', () => {
    assert.equal(routerInputs(viewOf(baseDocument()), 'router-x'), undefined);
  });

  test('does not depend on key order or file format', () => {
    const document = baseDocument();
    const reordered = JSON.parse(JSON.stringify(document), (_key, value: unknown) =>
      value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value,
    );
    const yamlView = viewOf(reordered, stringify(reordered), 'r.yaml');
    assert.equal(routerInputs(yamlView, 'router-1'), routerInputs(viewOf(document), 'router-1'));
  });

  test('holds the guests of internal networks and the floating IPs', () => {
    const inputs = routerInputs(viewOf(baseDocument()), 'router-1')!;
    assert.match(inputs, /fa:16:3e:00:0a:10/);
    assert.match(inputs, /192\.0\.2\.50/);
    assert.doesNotMatch(inputs, /fa:16:3e:00:0c:10/);
  });
});

describe('diffViews with load balancers', () => {
  /** lb-1 (tenant-1) on net-u with one listener, pool, monitor and member; lb-2 (tenant-2) on net-u with none. */
  function withLoadBalancers(): any {
    const document = baseDocument();
    document.loadbalancers = [
      { id: 'lb-1', tenant_id: TENANT_1, vip_subnet_id: 'u-v4', vip_address: '203.0.113.10' },
      { id: 'lb-2', tenant_id: TENANT_2, vip_subnet_id: 'u-v4', vip_address: '203.0.113.11' },
    ];
    document.listeners = [{ id: 'listener-1', loadbalancer_id: 'lb-1', protocol: 'HTTP', protocol_port: 80, default_pool_id: 'pool-1' }];
    document.pools = [{ id: 'pool-1', loadbalancer_id: 'lb-1', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }];
    document.members = [{ id: 'member-1', pool_id: 'pool-1', address: '203.0.113.21', protocol_port: 8080 }];
    document.healthmonitors = [{ id: 'monitor-1', pool_id: 'pool-1', type: 'TCP', delay: 5, timeout: 3, max_retries: 3 }];
    return document;
  }

  const lbEventsOf = (edit: (document: any) => void): string[] => {
    const after = withLoadBalancers();
    edit(after);
    return lines(diffViews(viewOf(withLoadBalancers()), viewOf(after)));
  };

  test('from nothing, routers then load balancers are created, in file order', () => {
    assert.deepEqual(lines(diffViews(undefined, viewOf(withLoadBalancers()))), [
      'create router router-1 tenant-1',
      'create router router-2 tenant-2',
      'create loadbalancer lb-1 tenant-1',
      'create loadbalancer lb-2 tenant-2',
    ]);
  });

  test('an edit of any part of a load balancer updates that load balancer only', () => {
    const update = ['update loadbalancer lb-1 tenant-1'];
    assert.deepEqual(
      lbEventsOf((d) => d.members.push({ id: 'member-2', pool_id: 'pool-1', address: '203.0.113.22', protocol_port: 8080 })),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.members[0].weight = 0)),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.members = [])),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.healthmonitors[0].delay = 10)),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.pools[0].lb_algorithm = 'LEAST_CONNECTIONS')),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.listeners[0].admin_state_up = false)),
      update,
    );
    assert.deepEqual(
      lbEventsOf((d) => (d.loadbalancers[0].name = 'renamed')),
      update,
    );
  });

  test('a change to the VIP network updates every load balancer on it, and nothing else', () => {
    assert.deepEqual(
      lbEventsOf((d) => (d.networks[3].mtu = 1400)),
      ['update loadbalancer lb-1 tenant-1', 'update loadbalancer lb-2 tenant-2'],
    );
  });

  test('a new load balancer is created and a removed one deleted, with its parts', () => {
    assert.deepEqual(
      lbEventsOf((d) => {
        d.loadbalancers = [d.loadbalancers[1], { id: 'lb-3', tenant_id: TENANT_1, vip_network_id: 'net-u', vip_address: '203.0.113.12' }];
        d.listeners = [];
        d.pools = [];
        d.members = [];
        d.healthmonitors = [];
      }),
      ['create loadbalancer lb-3 tenant-1', 'delete loadbalancer lb-1 tenant-1'],
    );
  });

  test('a load balancer moved to another project is deleted there and created here', () => {
    assert.deepEqual(
      lbEventsOf((d) => (d.loadbalancers[1].tenant_id = 'tenant-3')),
      ['delete loadbalancer lb-2 tenant-2', 'create loadbalancer lb-2 tenant-3'],
    );
  });

  test('a VIP on a router\'s network is one of its DHCP allocations: the router is updated too', () => {
    assert.deepEqual(
      lbEventsOf((d) => d.loadbalancers.push({ id: 'lb-3', tenant_id: TENANT_1, vip_subnet_id: 'a-v4', vip_address: '198.51.100.20' })),
      ['update router router-1 tenant-1', 'create loadbalancer lb-3 tenant-1'],
    );
  });
});

describe('diffViews on entries shared by several resources', () => {
  /**
   * The base document with net-s shared by router-1 and router-2 (one
   * interface each, a guest), a gateway port of router-2 in the file,
   * router-3 without a gateway but with an interface on the external network
   * (the others' gateway ports are among its DHCP allocations), and lb-1 with
   * its VIP and member on router-2's network net-c.
   */
  function shared(): any {
    const document = baseDocument();
    document.networks.push({ id: 'net-s' });
    document.subnets.push({ id: 's-v4', network_id: 'net-s', cidr: '198.51.100.64/26', ip_version: 4, gateway_ip: '198.51.100.65' });
    document.ports.push(
      port('s-rtr-1', 'net-s', 's-v4', '198.51.100.65', 'fa:16:3e:00:05:01', 'network:router_interface', 'router-1'),
      port('s-rtr-2', 'net-s', 's-v4', '198.51.100.66', 'fa:16:3e:00:05:02', 'network:router_interface', 'router-2'),
      port('s-guest', 'net-s', 's-v4', '198.51.100.70', 'fa:16:3e:00:05:10', 'compute:nova', 'server-s'),
      port('gw-2', 'ext-net', 'ext-v4', '192.0.2.20', 'fa:16:3e:00:e0:02', 'network:router_gateway', 'router-2'),
      port('ext-rtr-3', 'ext-net', 'ext-v4', '192.0.2.3', 'fa:16:3e:00:e0:03', 'network:router_interface', 'router-3'),
    );
    document.routers.push({ id: 'router-3', tenant_id: TENANT_1 });
    document.loadbalancers = [{ id: 'lb-1', tenant_id: TENANT_1, vip_subnet_id: 'c-v4', vip_address: '198.51.100.150' }];
    document.pools = [{ id: 'pool-1', loadbalancer_id: 'lb-1', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }];
    document.members = [{ id: 'member-1', pool_id: 'pool-1', address: '198.51.100.141', subnet_id: 'c-v4', protocol_port: 8080 }];
    return document;
  }

  const sharedEventsOf = (edit: (document: any) => void): string[] => {
    const after = shared();
    edit(after);
    return lines(diffViews(viewOf(shared()), viewOf(after)));
  };

  /** The UPDATEs of comparing every resource's inputs, as the diff did before it compared only what an edit reaches. */
  function everyInputCompared(edit: (document: any) => void): string[] {
    const after = shared();
    edit(after);
    const [earlier, now] = [viewOf(shared()), viewOf(after)];
    const updated = (ids: Iterable<string>, inputs: (view: ResourceView, id: string) => string | undefined, driver: string) =>
      [...ids].filter((id) => inputs(earlier, id) !== undefined && inputs(now, id) !== undefined && inputs(earlier, id) !== inputs(now, id)).map((id) => `${driver} ${id}`);
    return [...updated(now.routers.keys(), routerInputs, 'router'), ...updated(now.loadbalancers.keys(), loadBalancerInputs, 'loadbalancer')];
  }

  const EDITS: Record<string, (document: any) => void> = {
    'the shared subnet': (d) => (d.subnets[4].dns_nameservers = ['192.0.2.53']),
    'the shared network': (d) => (d.networks[4].mtu = 1400),
    'a guest port on the shared network': (d) => (d.ports[6].fixed_ips[0].ip_address = '198.51.100.71'),
    'a guest port added to the shared network': (d) => d.ports.push(port('s-guest-2', 'net-s', 's-v4', '198.51.100.72', 'fa:16:3e:00:05:11', 'compute:nova', 'server-t')),
    "one router's interface on the shared network": (d) => (d.ports[5].fixed_ips[0].ip_address = '198.51.100.67'),
    'the external subnet': (d) => (d.subnets[0].dns_nameservers = ['192.0.2.53']),
    "router-2's gateway port": (d) => {
      d.ports[7].fixed_ips[0].ip_address = '192.0.2.21';
      d.routers[1].external_gateway_info = gateway('192.0.2.21');
    },
    "router-1's synthesized gateway port": (d) => (d.routers[0].external_gateway_info = gateway('192.0.2.11')),
    'a floating IP': (d) => (d.floatingips[0].floating_ip_address = '192.0.2.51'),
    'a floating IP moved to the shared network': (d) => {
      d.floatingips[0].port_id = 's-guest';
      d.floatingips[0].router_id = 'router-2';
    },
    'a load balancer member': (d) => (d.members[0].weight = 5),
    "the member's subnet": (d) => (d.subnets[2].host_routes = [{ destination: '203.0.113.0/24', nexthop: '198.51.100.129' }]),
    'the VIP address': (d) => (d.loadbalancers[0].vip_address = '198.51.100.151'),
    'the load balancer alone': (d) => (d.loadbalancers[0].name = 'renamed'),
    'an unused network and server': (d) => {
      d.networks[3].admin_state_up = false;
      d.servers = [{ id: 'server-s', name: 'guest' }];
    },
  };

  const EXPECTED: Record<string, string[]> = {
    'the shared subnet': ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    'the shared network': ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    'a guest port on the shared network': ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    'a guest port added to the shared network': ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    "one router's interface on the shared network": ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    'the external subnet': ['update router router-1 tenant-1', 'update router router-2 tenant-2', 'update router router-3 tenant-1'],
    "router-2's gateway port": ['update router router-2 tenant-2', 'update router router-3 tenant-1'],
    "router-1's synthesized gateway port": ['update router router-1 tenant-1', 'update router router-3 tenant-1'],
    'a floating IP': ['update router router-1 tenant-1'],
    'a floating IP moved to the shared network': ['update router router-1 tenant-1', 'update router router-2 tenant-2'],
    'a load balancer member': ['update loadbalancer lb-1 tenant-1'],
    "the member's subnet": ['update router router-2 tenant-2', 'update loadbalancer lb-1 tenant-1'],
    'the VIP address': ['update router router-2 tenant-2', 'update loadbalancer lb-1 tenant-1'],
    'the load balancer alone': ['update loadbalancer lb-1 tenant-1'],
    'an unused network and server': [],
  };

  for (const [what, edit] of Object.entries(EDITS)) {
    test(`an edit of ${what} updates exactly the resources whose inputs changed`, () => {
      const events = sharedEventsOf(edit);
      assert.deepEqual(events, EXPECTED[what]);
      assert.deepEqual(
        events.map((line) => line.split(' ').slice(1, 3).join(' ')),
        everyInputCompared(edit),
      );
    });
  }
});
