// The resource file's rules, one change at a time against a valid document:
// each broken rule must be reported at its exact JSON pointer, and the valid
// file must come out with Neutron's defaults filled in.
//
// Tests edit the document into shapes the types forbid; it is handled as untyped JSON.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryMemo, parseResourceFile, readResourceFile, type ParseResult, type Problem } from './resource-file.js';
import type { ResourceView } from './view.js';

const OPTIONS = { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' };
const TENANT = '0123456789abcdef0123456789abcdef';

/** One router on two tenant networks with a guest on each, a gateway and a floating IP. */
function baseDocument(): any {
  return {
    networks: [
      { id: 'ext-net', 'router:external': true },
      { id: 'net-a', tenant_id: TENANT },
      { id: 'net-b', tenant_id: TENANT },
    ],
    subnets: [
      { id: 'ext-v4', network_id: 'ext-net', cidr: '192.0.2.0/24', ip_version: 4, gateway_ip: '192.0.2.1' },
      { id: 'a-v4', network_id: 'net-a', cidr: '198.51.100.0/26', ip_version: 4, gateway_ip: '198.51.100.1' },
      { id: 'a-v6', network_id: 'net-a', cidr: '2001:db8:a::/64', ip_version: 6 },
      { id: 'b-v4', network_id: 'net-b', cidr: '198.51.100.64/26', ip_version: 4 },
    ],
    ports: [
      port('a-rtr', 'net-a', '0a:01', [['a-v4', '198.51.100.1']], 'network:router_interface', 'router-1'),
      port('b-rtr', 'net-b', '0b:01', [['b-v4', '198.51.100.65']], 'network:router_interface', 'router-1'),
      port('a-guest', 'net-a', '0a:10', [['a-v4', '198.51.100.10'], ['a-v6', '2001:db8:a::10']], 'compute:nova', 'server-a'),
      port('b-guest', 'net-b', '0b:10', [['b-v4', '198.51.100.74']], 'compute:nova', 'server-b'),
    ],
    routers: [
      {
        id: 'router-1',
        tenant_id: TENANT,
        external_gateway_info: { network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: '192.0.2.10' }] },
      },
    ],
    floatingips: [{ id: 'fip-1', floating_ip_address: '192.0.2.50', floating_network_id: 'ext-net', port_id: 'b-guest' }],
    servers: [{ id: 'server-a', name: 'guest-a', tenant_id: TENANT }],
  };
}

function port(id: string, networkId: string, macTail: string, ips: [string, string][], owner: string, deviceId: string): any {
  return {
    id,
    network_id: networkId,
    mac_address: `fa:16:3e:00:${macTail}`,
    fixed_ips: ips.map(([subnet_id, ip_address]) => ({ subnet_id, ip_address })),
    device_owner: owner,
    device_id: deviceId,
  };
}

function parse(document: unknown, fileName = 'resources.json'): ParseResult {
  return parseResourceFile(JSON.stringify(document), fileName, OPTIONS);
}

function expectView(result: ParseResult): { view: ResourceView; warnings: Problem[] } {
  if (!result.ok) assert.fail(`expected a valid file, got ${JSON.stringify(result.problems, null, 1)}`);
  return result;
}

function expectProblems(result: ParseResult): Problem[] {
  if (result.ok) assert.fail('expected problems, the file was accepted');
  for (const problem of result.problems) {
    assert.ok(problem.path === '' || problem.path.startsWith('/'), `not a JSON pointer: ${problem.path}`);
    assert.ok(problem.message.length > 0);
  }
  return result.problems;
}

/** The change made exactly one problem, at `path`, with a message matching `message`. */
function assertOnlyProblem(document: unknown, path: string, message: RegExp): void {
  const problems = expectProblems(parse(document));
  assert.deepEqual(
    problems.map((p) => p.path),
    [path],
    JSON.stringify(problems, null, 1),
  );
  assert.match(problems[0]!.message, message);
}

function edited(edit: (document: any) => void): any {
  const document = baseDocument();
  edit(document);
  return document;
}

describe('syntax', () => {
  test('the base document is valid and has no warnings', () => {
    const { view, warnings } = expectView(parse(baseDocument()));
    assert.deepEqual(warnings, []);
    assert.deepEqual([...view.routers.keys()], ['router-1']);
  });

  test('an empty or comment-only file is an empty view', () => {
    for (const text of ['', '  \n', '# nothing yet\n']) {
      const { view } = expectView(parseResourceFile(text, 'resources.yaml', OPTIONS));
      assert.equal(view.routers.size, 0);
      assert.deepEqual([...view.networks.keys()], ['mgmt-net']);
    }
  });

  test('an empty file is an empty view; a missing or unreadable one is one problem', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'astara-resources-'));
    try {
      await writeFile(join(directory, 'empty.yaml'), '');
      const { view } = expectView(await readResourceFile(join(directory, 'empty.yaml'), OPTIONS));
      assert.equal(view.routers.size, 0);
      const missing = expectProblems(await readResourceFile(join(directory, 'absent.yaml'), OPTIONS));
      assert.match(missing[0]!.message, /does not exist/);
      const problems = expectProblems(await readResourceFile(directory, OPTIONS));
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.path, '');
      assert.match(problems[0]!.message, /cannot read/);
    } finally {
      await rm(directory, { recursive: true });
    }
  });

  test('a YAML syntax error is one problem with its line and column', () => {
    const problems = expectProblems(parseResourceFile('routers:\n  - id: [a, b\nports: []\n', 'r.yaml', OPTIONS));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, '');
    assert.match(problems[0]!.message, /invalid YAML: .*line \d+, column \d+/);
  });

  test('duplicate YAML keys are a syntax error', () => {
    const problems = expectProblems(parseResourceFile('routers: []\nrouters: []\n', 'r.yml', OPTIONS));
    assert.equal(problems[0]!.path, '');
    assert.match(problems[0]!.message, /unique/);
  });

  test('a .json file must be JSON', () => {
    const problems = expectProblems(parseResourceFile('routers: []\n', 'r.json', OPTIONS));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /invalid JSON/);
  });

  test("a JSON error's position is given as line and column", () => {
    const problems = expectProblems(parseResourceFile('{\n  "routers": []\n  "ports": []\n}\n', 'r.json', OPTIONS));
    assert.deepEqual(
      problems.map((p) => p.path),
      [''],
    );
    assert.match(problems[0]!.message, /\(line 3, column 3\)$/);
  });

  test('another extension is tried as JSON, then as YAML', () => {
    expectView(parseResourceFile(JSON.stringify(baseDocument()), 'resources.conf', OPTIONS));
    const { view } = expectView(parseResourceFile('networks:\n  - id: net-x\n', 'resources.conf', OPTIONS));
    assert.ok(view.networks.has('net-x'));
  });

  test('a number where an id is needed is named, with the fix', () => {
    const problems = expectProblems(parseResourceFile('networks:\n  - id: 0123\n', 'r.yaml', OPTIONS));
    assert.deepEqual(
      problems.map((p) => p.path),
      ['/networks/0/id'],
    );
    assert.match(problems[0]!.message, /must be a string, not the number 123 \(quote it\)/);
  });

  test('the top level must be an object and collections arrays', () => {
    assert.deepEqual(
      expectProblems(parse([1, 2])).map((p) => p.path),
      [''],
    );
    assertOnlyProblem({ networks: {} }, '/networks', /must be an array/);
    assertOnlyProblem({ ports: ['a-port'] }, '/ports/0', /must be an object/);
  });

  test('an empty YAML collection is no items', () => {
    const { view } = expectView(parseResourceFile('networks:\nports:\n', 'r.yaml', OPTIONS));
    assert.equal(view.ports.size, 0);
  });

  test('unknown keys are warnings named by path, not problems', () => {
    const { warnings } = expectView(
      parse(
        edited((d) => {
          d.extra = true;
          d.networks[1].description = 'ignored';
          d.ports[0].fixed_ips[0].note = 'x';
        }),
      ),
    );
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['/networks/1/description', '/ports/0/fixed_ips/0/note', '/extra'].sort(),
    );
  });

  test('every problem of the file is reported at once', () => {
    const problems = expectProblems(
      parse(
        edited((d) => {
          d.networks[1].mtu = 20;
          d.subnets[1].enable_dhcp = 'yes';
          d.ports[2].mac_address = 'nope';
          d.ports[3].network_id = 'net-x';
          d.ports[3].fixed_ips[0].ip_address = '198.51.100.700';
          d.floatingips[0].floating_network_id = 'net-a';
          d.routers[0].external_gateway_info.external_fixed_ips[0].ip_address = '203.0.113.10';
        }),
      ),
    );
    // Each mistake once, at its own path: nothing that only follows from another one.
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      '/floatingips/0/floating_network_id',
      '/networks/1/mtu',
      '/ports/2/mac_address',
      '/ports/3/fixed_ips/0/ip_address',
      '/ports/3/network_id',
      '/routers/0/external_gateway_info/external_fixed_ips/0/ip_address',
      '/subnets/1/enable_dhcp',
    ]);
  });
});

describe('Neutron defaults and normalisation', () => {
  test('omitted fields take Neutron defaults', () => {
    const { view } = expectView(parse(baseDocument()));
    const subnet = view.subnets.get('b-v4')!;
    assert.equal(subnet.enable_dhcp, true);
    assert.deepEqual(subnet.dns_nameservers, []);
    assert.deepEqual(subnet.host_routes, []);
    assert.equal(subnet.gateway_ip, null);
    const network = view.networks.get('net-a')!;
    assert.equal(network.admin_state_up, true);
    assert.equal(network['router:external'], false);
    assert.equal(network.mtu, null);
    const router = view.routers.get('router-1')!;
    assert.equal(router.admin_state_up, true);
    assert.equal(router.ha, false);
  });

  test('a port without fixed_ips, device_id or device_owner gets empty ones', () => {
    const { view } = expectView(parse(edited((d) => d.ports.push({ id: 'bare', network_id: 'net-b', mac_address: 'fa:16:3e:00:0b:99' }))));
    const bare = view.ports.get('bare')!;
    assert.deepEqual(bare.fixed_ips, []);
    assert.equal(bare.device_id, '');
    assert.equal(bare.device_owner, '');
  });

  test('a router without external_gateway_info has none (null)', () => {
    const { view } = expectView(
      parse(
        edited((d) => {
          delete d.routers[0].external_gateway_info;
          d.floatingips = [];
        }),
      ),
    );
    assert.equal(view.routers.get('router-1')!.external_gateway_info, null);
  });

  test('MACs are lower-cased and addresses made canonical', () => {
    const { view } = expectView(
      parse(
        edited((d) => {
          d.ports[2].mac_address = 'FA:16:3E:00:0A:10';
          d.ports[2].fixed_ips[1].ip_address = '2001:DB8:A:0::0010';
        }),
      ),
    );
    const guest = view.ports.get('a-guest')!;
    assert.equal(guest.mac_address, 'fa:16:3e:00:0a:10');
    assert.equal(guest.fixed_ips[1]!.ip_address, '2001:db8:a::10');
  });

  test('a router may give project_id instead of tenant_id', () => {
    const { view } = expectView(
      parse(
        edited((d) => {
          delete d.routers[0].tenant_id;
          d.routers[0].project_id = 'p-1';
        }),
      ),
    );
    assert.equal(view.routers.get('router-1')!.tenant_id, 'p-1');
  });

  test('a floating IP takes the port first IPv4 address and the one router on its network', () => {
    const { view } = expectView(
      parse(
        edited((d) => {
          d.floatingips[0].port_id = 'a-guest';
          d.ports[2].fixed_ips.reverse();
        }),
      ),
    );
    const floatingIp = view.floatingips.get('fip-1')!;
    assert.equal(floatingIp.fixed_ip_address, '198.51.100.10');
    assert.equal(floatingIp.router_id, 'router-1');
  });

  test('an unassociated floating IP has null port, address and router', () => {
    const { view } = expectView(parse(edited((d) => delete d.floatingips[0].port_id)));
    const floatingIp = view.floatingips.get('fip-1')!;
    assert.deepEqual([floatingIp.port_id, floatingIp.fixed_ip_address, floatingIp.router_id], [null, null, null]);
  });

  test('collections keep file order', () => {
    const { view } = expectView(parse(baseDocument()));
    assert.deepEqual([...view.ports.keys()], ['a-rtr', 'b-rtr', 'a-guest', 'b-guest']);
    assert.deepEqual([...view.subnets.keys()], ['ext-v4', 'a-v4', 'a-v6', 'b-v4', 'mgmt-net-subnet']);
  });
});

describe('shapes and values', () => {
  const cases: [string, (d: any) => void, string, RegExp][] = [
    ['a required id', (d) => delete d.servers[0].id, '/servers/0/id', /is required/],
    ['an id with a space', (d) => (d.servers[0].id = 'server a'), '/servers/0/id', /not an id/],
    ['an id of 256 characters', (d) => (d.servers[0].id = 'x'.repeat(256)), '/servers/0/id', /not an id/],
    ['a duplicate id', (d) => d.servers.push({ id: 'server-a', name: 'again' }), '/servers/1/id', /already the id of \/servers\/0/],
    ['unsafe text in a name', (d) => (d.networks[1].name = 'a;b'), '/networks/1/name', /must not contain/],
    ['a required server name', (d) => delete d.servers[0].name, '/servers/0/name', /is required/],
    ['a missing cidr', (d) => delete d.subnets[3].cidr, '/subnets/3/cidr', /is required/],
    ['a cidr with host bits', (d) => (d.subnets[3].cidr = '198.51.100.65/26'), '/subnets/3/cidr', /host bits.*198\.51\.100\.64\/26/],
    ['a cidr that is no network', (d) => (d.subnets[3].cidr = '198.51.100/26'), '/subnets/3/cidr', /not a network/],
    ['ip_version 5', (d) => (d.subnets[3].ip_version = 5), '/subnets/3/ip_version', /must be 4 or 6/],
    ['ip_version not matching the cidr', (d) => (d.subnets[2].ip_version = 4), '/subnets/2/ip_version', /is 4 but cidr .* is IPv6/],
    ['enable_dhcp not a boolean', (d) => (d.subnets[3].enable_dhcp = 'true'), '/subnets/3/enable_dhcp', /true or false/],
    ['a gateway outside the subnet', (d) => (d.subnets[3].gateway_ip = '198.51.100.1'), '/subnets/3/gateway_ip', /not inside/],
    ['a DNS server that is no address', (d) => (d.subnets[1].dns_nameservers = ['192.0.2.53', 'dns.example']), '/subnets/1/dns_nameservers/1', /not an IPv4 or IPv6/],
    [
      'a host route nexthop outside the subnet',
      (d) => (d.subnets[1].host_routes = [{ destination: '203.0.113.0/24', nexthop: '198.51.100.70' }]),
      '/subnets/1/host_routes/0/nexthop',
      /not inside/,
    ],
    [
      'a host route of the other family',
      (d) => (d.subnets[1].host_routes = [{ destination: '2001:db8:f::/48', nexthop: '198.51.100.2' }]),
      '/subnets/1/host_routes/0/destination',
      /IPv6 in an IPv4 subnet/,
    ],
    ['an IPv6 mode on an IPv4 subnet', (d) => (d.subnets[1].ipv6_ra_mode = 'slaac'), '/subnets/1/ipv6_ra_mode', /IPv6 subnets only/],
    ['an unknown IPv6 mode', (d) => (d.subnets[2].ipv6_address_mode = 'magic'), '/subnets/2/ipv6_address_mode', /must be one of/],
    ['an MTU out of range', (d) => (d.networks[1].mtu = 70000), '/networks/1/mtu', /integer from 68/],
    ['an IPv6 network with an MTU below 1280', (d) => (d.networks[1].mtu = 1200), '/networks/1/mtu', /below 1280/],
    ['a malformed MAC', (d) => (d.ports[3].mac_address = 'fa:16:3e:0b:10'), '/ports/3/mac_address', /not a MAC/],
    ['a missing MAC', (d) => delete d.ports[3].mac_address, '/ports/3/mac_address', /is required/],
    ['a MAC used twice', (d) => (d.ports[3].mac_address = 'FA:16:3E:00:0A:10'), '/ports/3/mac_address', /already the MAC of \/ports\/2/],
    ['a fixed IP that is no address', (d) => (d.ports[3].fixed_ips[0].ip_address = '198.51.100.300'), '/ports/3/fixed_ips/0/ip_address', /not an IPv4 or IPv6/],
    ['a device_id with a quote', (d) => (d.ports[3].device_id = "it's"), '/ports/3/device_id', /not an id/],
    ['admin_state_up not a boolean', (d) => (d.ports[3].admin_state_up = 1), '/ports/3/admin_state_up', /true or false/],
    ['a router without a tenant', (d) => delete d.routers[0].tenant_id, '/routers/0/tenant_id', /is required \(or project_id\)/],
    ['tenant_id and project_id that differ', (d) => (d.routers[0].project_id = 'other'), '/routers/0/project_id', /differs from tenant_id/],
    ['external_gateway_info not an object', (d) => (d.routers[0].external_gateway_info = 'ext-net'), '/routers/0/external_gateway_info', /must be an object/],
    ['a floating IP that is no address', (d) => (d.floatingips[0].floating_ip_address = 'x'), '/floatingips/0/floating_ip_address', /not an IPv4 or IPv6/],
  ];
  for (const [what, edit, path, message] of cases) {
    test(what, () => assertOnlyProblem(edited(edit), path, message));
  }
});

describe('references', () => {
  const cases: [string, (d: any) => void, string, RegExp][] = [
    ['a subnet on a missing network', (d) => (d.subnets[3].network_id = 'net-x'), '/subnets/3/network_id', /no network has the id net-x/],
    ['a port on a missing network', (d) => (d.ports[3].network_id = 'net-x'), '/ports/3/network_id', /no network has the id net-x/],
    ['a fixed IP on a missing subnet', (d) => (d.ports[3].fixed_ips[0].subnet_id = 'sub-x'), '/ports/3/fixed_ips/0/subnet_id', /no subnet has the id sub-x/],
    [
      "a fixed IP on another network's subnet",
      (d) => (d.ports[3].fixed_ips[0] = { subnet_id: 'a-v4', ip_address: '198.51.100.20' }),
      '/ports/3/fixed_ips/0/subnet_id',
      /subnet a-v4 is on network net-a, not on net-b/,
    ],
    ['a fixed IP outside its subnet', (d) => (d.ports[3].fixed_ips[0].ip_address = '198.51.100.20'), '/ports/3/fixed_ips/0/ip_address', /not inside subnet b-v4/],
    ['a fixed IP held by two ports', (d) => (d.ports[3].fixed_ips[0].ip_address = '198.51.100.65'), '/ports/3/fixed_ips/0/ip_address', /already used at \/ports\/1\/fixed_ips\/0\/ip_address/],
    [
      'a gateway network that is not external',
      (d) => {
        d.networks[0]['router:external'] = false;
        d.floatingips = [];
      },
      '/routers/0/external_gateway_info/network_id',
      /not external/,
    ],
    [
      'a gateway on a missing network',
      (d) => {
        d.routers[0].external_gateway_info = { network_id: 'net-x' };
        d.floatingips = [];
      },
      '/routers/0/external_gateway_info/network_id',
      /no network has the id net-x/,
    ],
    [
      'an external fixed IP on a subnet of another network',
      (d) => (d.routers[0].external_gateway_info.external_fixed_ips[0].subnet_id = 'b-v4'),
      '/routers/0/external_gateway_info/external_fixed_ips/0/subnet_id',
      /subnet b-v4 is on network net-b, not on ext-net/,
    ],
    [
      'an external fixed IP outside its subnet',
      (d) => (d.routers[0].external_gateway_info.external_fixed_ips[0].ip_address = '203.0.113.10'),
      '/routers/0/external_gateway_info/external_fixed_ips/0/ip_address',
      /not inside subnet ext-v4/,
    ],
    [
      'an interface naming a missing router',
      (d) => (d.ports[0].device_id = 'router-x'),
      '/ports/0/device_id',
      /no router has the id "router-x"/,
    ],
    [
      'a second interface of one router on one network',
      (d) => d.ports.push(port('b-rtr2', 'net-b', '0b:02', [['b-v4', '198.51.100.66']], 'network:router_interface', 'router-1')),
      '/ports/4/network_id',
      /router router-1 already has an interface on network net-b: \/ports\/1/,
    ],
    [
      "an interface on the router's external network",
      (d) => d.ports.push(port('ext-rtr', 'ext-net', 'ee:02', [['ext-v4', '192.0.2.11']], 'network:router_interface', 'router-1')),
      '/ports/4/network_id',
      /external network of router router-1/,
    ],
    [
      'a gateway port of a router without a gateway',
      (d) => {
        delete d.routers[0].external_gateway_info;
        d.floatingips = [];
        d.ports.push(port('ext-gw', 'ext-net', 'ee:01', [['ext-v4', '192.0.2.10']], 'network:router_gateway', 'router-1'));
      },
      '/ports/4/device_id',
      /has no external_gateway_info/,
    ],
    [
      'a gateway port that disagrees with external_fixed_ips',
      (d) => d.ports.push(port('ext-gw', 'ext-net', 'ee:01', [['ext-v4', '192.0.2.11']], 'network:router_gateway', 'router-1')),
      '/routers/0/external_gateway_info/external_fixed_ips',
      /differ from the fixed_ips of the router's gateway port \/ports\/4/,
    ],
    [
      'overlapping subnets on one network',
      (d) => d.subnets.push({ id: 'b-v4-2', network_id: 'net-b', cidr: '198.51.100.96/27', ip_version: 4 }),
      '/subnets/4/cidr',
      /overlaps 198\.51\.100\.64\/26 of \/subnets\/3 on the same network/,
    ],
    [
      'overlapping subnets on one router',
      (d) => {
        d.subnets[3].cidr = '198.51.100.0/27';
        d.ports[1].fixed_ips[0].ip_address = '198.51.100.30';
        d.ports[3].fixed_ips[0].ip_address = '198.51.100.20';
      },
      '/ports/1/network_id',
      /subnet b-v4 \(198\.51\.100\.0\/27\) overlaps subnet a-v4 \(198\.51\.100\.0\/26\), also on router router-1/,
    ],
    [
      'two networks whose bridges would have one name',
      (d) => d.networks.push({ id: 'net-b-second' }, { id: 'net-b-secondary' }),
      '/networks/4/id',
      /same 11 characters as \/networks\/3\/id: both would be the host device brqnet-b-secon/,
    ],
    ['a network whose bridge name would hold a colon', (d) => d.networks.push({ id: 'net:c' }), '/networks/3/id', /refuses ':'/],
  ];
  for (const [what, edit, path, message] of cases) {
    test(what, () => assertOnlyProblem(edited(edit), path, message));
  }

  test('a router id must name an appliance: no colon, at most 36 characters', () => {
    for (const id of ['router:1', 'r'.repeat(37)]) {
      const problems = expectProblems(parse(edited((d) => (d.routers[0].id = id))));
      const own = problems.find((p) => p.path === '/routers/0/id');
      assert.match(own?.message ?? '', /cannot name an appliance: at most 36/, JSON.stringify(problems));
    }
  });

  test('enable_snat: false is a warning: the appliance always translates', () => {
    const { warnings } = expectView(parse(edited((d) => (d.routers[0].external_gateway_info.enable_snat = false))));
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['/routers/0/external_gateway_info/enable_snat'],
    );
  });

  test('a gateway with neither a gateway port nor external_fixed_ips is a warning', () => {
    const { view, warnings } = expectView(
      parse(
        edited((d) => {
          d.routers[0].external_gateway_info = { network_id: 'ext-net' };
          d.floatingips = [];
        }),
      ),
    );
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['/routers/0/external_gateway_info/external_fixed_ips'],
    );
    assert.deepEqual(view.routers.get('router-1')!.external_gateway_info?.external_fixed_ips, []);
  });

  test('an HA router is accepted as it is', () => {
    const { view, warnings } = expectView(parse(edited((d) => (d.routers[0].ha = true))));
    assert.equal(view.routers.get('router-1')!.ha, true);
    assert.deepEqual(warnings, []);
  });

  test('ha must be a boolean', () => {
    const problems = expectProblems(parse(edited((d) => (d.routers[0].ha = 'yes'))));
    assert.deepEqual(
      problems.map((p) => p.path),
      ['/routers/0/ha'],
    );
  });
});

describe('floating IPs', () => {
  const cases: [string, (d: any) => void, string, RegExp][] = [
    ['on a network that is not external', (d) => (d.floatingips[0].floating_network_id = 'net-a'), '/floatingips/0/floating_network_id', /not external/],
    ['outside the external subnets', (d) => (d.floatingips[0].floating_ip_address = '203.0.113.50'), '/floatingips/0/floating_ip_address', /not inside a subnet of network ext-net/],
    ["on the router's own gateway address", (d) => (d.floatingips[0].floating_ip_address = '192.0.2.10'), '/floatingips/0/floating_ip_address', /already used at \/routers\/0/],
    ['for a missing port', (d) => (d.floatingips[0].port_id = 'port-x'), '/floatingips/0/port_id', /no port has the id port-x/],
    ['for a router port', (d) => (d.floatingips[0].port_id = 'b-rtr'), '/floatingips/0/port_id', /network:router_interface port/],
    ['with a fixed address the port lacks', (d) => (d.floatingips[0].fixed_ip_address = '198.51.100.75'), '/floatingips/0/fixed_ip_address', /not an address of port b-guest \(198\.51\.100\.74\)/],
    ['with an address but no port', (d) => Object.assign(d.floatingips[0], { port_id: null, fixed_ip_address: '198.51.100.74' }), '/floatingips/0/fixed_ip_address', /without a port_id/],
    [
      'for an IPv6-only port with no fixed_ip_address',
      (d) => {
        d.floatingips[0].port_id = 'a-guest';
        d.ports[2].fixed_ips.shift();
      },
      '/floatingips/0/port_id',
      /no IPv4 address/,
    ],
    ['on a missing router', (d) => (d.floatingips[0].router_id = 'router-x'), '/floatingips/0/router_id', /no router has the id router-x/],
    [
      'twice on one fixed address',
      (d) => d.floatingips.push({ id: 'fip-2', floating_ip_address: '192.0.2.51', floating_network_id: 'ext-net', port_id: 'b-guest' }),
      '/floatingips/1/fixed_ip_address',
      /already has the floating IP \/floatingips\/0/,
    ],
    [
      'on a network without a router',
      (d) => {
        d.ports.splice(1, 1);
      },
      '/floatingips/0/port_id',
      /network net-b of port b-guest has no router interface/,
    ],
  ];
  for (const [what, edit, path, message] of cases) {
    test(what, () => assertOnlyProblem(edited(edit), path, message));
  }

  test('a router must be named when two routers serve the network', () => {
    const document = edited((d) => {
      d.routers.push({ id: 'router-2', tenant_id: TENANT, external_gateway_info: { network_id: 'ext-net', external_fixed_ips: [{ subnet_id: 'ext-v4', ip_address: '192.0.2.20' }] } });
      d.ports.push(port('b-rtr2', 'net-b', '0b:02', [['b-v4', '198.51.100.66']], 'network:router_interface', 'router-2'));
    });
    assertOnlyProblem(document, '/floatingips/0/router_id', /is required: network net-b has interfaces on routers router-1, router-2/);
    document.floatingips[0].router_id = 'router-2';
    assert.equal(expectView(parse(document)).view.floatingips.get('fip-1')!.router_id, 'router-2');
  });

  test('a named router must be attached to the port network and have its gateway on the floating network', () => {
    const document = edited((d) => {
      d.networks.push({ id: 'ext-2', 'router:external': true });
      d.subnets.push({ id: 'ext2-v4', network_id: 'ext-2', cidr: '203.0.113.0/24', ip_version: 4 });
      d.routers.push({ id: 'router-2', tenant_id: TENANT, external_gateway_info: { network_id: 'ext-2', external_fixed_ips: [{ subnet_id: 'ext2-v4', ip_address: '203.0.113.2' }] } });
      d.floatingips[0].router_id = 'router-2';
    });
    assertOnlyProblem(document, '/floatingips/0/router_id', /router router-2 has no interface on network net-b/);
    document.ports.push(port('b-rtr2', 'net-b', '0b:02', [['b-v4', '198.51.100.66']], 'network:router_interface', 'router-2'));
    assertOnlyProblem(document, '/floatingips/0/router_id', /router router-2's gateway is not on network ext-net/);
  });
});

describe('the management network', () => {
  test('is implied from the options when the file does not declare it', () => {
    const { view } = expectView(parse(baseDocument()));
    assert.equal(view.managementNetworkId, 'mgmt-net');
    assert.equal(view.managementSubnetId, 'mgmt-net-subnet');
    assert.equal(view.networks.get('mgmt-net')!.name, 'astara-management');
    assert.deepEqual(view.subnets.get('mgmt-net-subnet'), {
      id: 'mgmt-net-subnet',
      network_id: 'mgmt-net',
      cidr: 'fdca:3ba5:a17a:acda::/64',
      ip_version: 6,
      gateway_ip: null,
      enable_dhcp: false,
      dns_nameservers: [],
      host_routes: [],
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
    });
  });

  test('may be declared with its one subnet, the management prefix', () => {
    const { view } = expectView(
      parse(
        edited((d) => {
          d.networks.push({ id: 'mgmt-net', name: 'mgt', mtu: 1450 });
          d.subnets.push({ id: 'mgmt-v6', network_id: 'mgmt-net', cidr: 'fdca:3ba5:a17a:acda::/64', ip_version: 6, enable_dhcp: false });
        }),
      ),
    );
    assert.equal(view.managementSubnetId, 'mgmt-v6');
    assert.equal(view.networks.get('mgmt-net')!.mtu, 1450);
    assert.equal(view.subnets.has('mgmt-net-subnet'), false);
  });

  test('declared without a subnet is a problem at the network', () => {
    assertOnlyProblem(
      edited((d) => d.networks.push({ id: 'mgmt-net' })),
      '/networks/3',
      /needs exactly one subnet/,
    );
  });

  test('declared with another prefix, or two subnets, is a problem', () => {
    const document = edited((d) => {
      d.networks.push({ id: 'mgmt-net' });
      d.subnets.push({ id: 'mgmt-v6', network_id: 'mgmt-net', cidr: 'fd00:1::/64', ip_version: 6 });
    });
    assertOnlyProblem(document, '/subnets/4/cidr', /must be management_prefix fdca:3ba5:a17a:acda::\/64/);
    document.subnets[4].cidr = 'fdca:3ba5:a17a:acda::/64';
    document.subnets.push({ id: 'mgmt-v6b', network_id: 'mgmt-net', cidr: 'fd00:2::/64', ip_version: 6 });
    assertOnlyProblem(document, '/subnets/5/network_id', /exactly one subnet, \/subnets\/4/);
  });

  test('a subnet on the undeclared management network is a problem', () => {
    assertOnlyProblem(
      edited((d) => d.subnets.push({ id: 'mgmt-v6', network_id: 'mgmt-net', cidr: 'fdca:3ba5:a17a:acda::/64', ip_version: 6 })),
      '/subnets/4/network_id',
      /does not declare/,
    );
  });

  test('nothing else may overlap the management prefix', () => {
    assertOnlyProblem(
      edited((d) => d.subnets.push({ id: 'a-v6b', network_id: 'net-b', cidr: 'fdca:3ba5:a17a::/48', ip_version: 6 })),
      '/subnets/4/cidr',
      /overlaps the management prefix/,
    );
  });

  test('no port of the file may sit on it', () => {
    assertOnlyProblem(
      edited((d) => d.ports.push({ id: 'mgt-port', network_id: 'mgmt-net', mac_address: 'fa:16:3e:00:cc:01' })),
      '/ports/4/network_id',
      /the orchestrator makes the management ports/,
    );
  });

  test('may not be a router gateway', () => {
    const document = edited((d) => {
      d.networks.push({ id: 'mgmt-net', 'router:external': true });
      d.subnets.push({ id: 'mgmt-v6', network_id: 'mgmt-net', cidr: 'fdca:3ba5:a17a:acda::/64', ip_version: 6 });
      d.routers[0].external_gateway_info = { network_id: 'mgmt-net' };
      d.floatingips = [];
    });
    const problems = expectProblems(parse(document));
    assert.ok(problems.some((p) => p.path === '/routers/0/external_gateway_info/network_id' && /management network/.test(p.message)));
  });

  test('invalid options are a problem of the whole file', () => {
    for (const managementPrefix of ['198.51.100.0/24', 'fdca:3ba5:a17a:acda::1/64', 'fdca:3ba5:a17a:acda::/80']) {
      const problems = expectProblems(parseResourceFile('', 'r.yaml', { ...OPTIONS, managementPrefix }));
      assert.deepEqual(
        problems.map((p) => p.path),
        [''],
      );
      assert.match(problems[0]!.message, /management_prefix/);
    }
  });
});

describe('the example file', () => {
  test('parses with no problems and no warnings', async () => {
    const result = await readResourceFile(new URL('../../../docs/examples/resources.yaml', import.meta.url).pathname, OPTIONS);
    const { view, warnings } = expectView(result);
    assert.deepEqual(warnings, []);
    assert.deepEqual([...view.routers.keys()], ['router-1']);
    assert.equal(view.floatingips.get('fip-1')!.fixed_ip_address, '198.51.100.74');
    assert.equal(view.servers.size, 3);
    assert.deepEqual([...view.loadbalancers.keys()], ['lb-1']);
    assert.deepEqual(
      [...view.members.values()].map((m) => [m.pool_id, m.address, m.weight, m.subnet_id]),
      [
        ['lb-1-web', '198.51.100.74', 3, 'net-b-v4'],
        ['lb-1-web', '198.51.100.75', 1, 'net-b-v4'],
      ],
    );
    assert.equal(view.healthmonitors.get('lb-1-web-check')!.pool_id, 'lb-1-web');
  });
});

describe('successive versions of one file (EntryMemo)', () => {
  const parseWith = (memo: EntryMemo, document: unknown): ParseResult => parseResourceFile(JSON.stringify(document), 'resources.json', OPTIONS, memo);

  test('an edit keeps the objects of the entries it left alone and makes new ones for those it changed', () => {
    const memo = new EntryMemo();
    const { view: before } = expectView(parseWith(memo, baseDocument()));
    const { view: after } = expectView(parseWith(memo, edited((d) => (d.ports[3].fixed_ips[0].ip_address = '198.51.100.75'))));
    assert.equal(after.routers.get('router-1'), before.routers.get('router-1'));
    assert.equal(after.ports.get('a-guest'), before.ports.get('a-guest'));
    assert.equal(after.networks.get('net-b'), before.networks.get('net-b'));
    assert.equal(after.subnets.get('b-v4'), before.subnets.get('b-v4'));
    assert.notEqual(after.ports.get('b-guest'), before.ports.get('b-guest'));
    assert.equal(after.ports.get('b-guest')!.fixed_ips[0]!.ip_address, '198.51.100.75');
  });

  test('an entry with its keys in another order is the same entry; one nested value changed is another', () => {
    const memo = new EntryMemo();
    const { view: before } = expectView(parseWith(memo, baseDocument()));
    const reordered = edited((d) => {
      d.routers[0] = Object.fromEntries(Object.entries(d.routers[0] as Record<string, unknown>).reverse());
      d.ports[2].fixed_ips[1].ip_address = '2001:db8:a::11';
    });
    const { view: after } = expectView(parseWith(memo, reordered));
    assert.equal(after.routers.get('router-1'), before.routers.get('router-1'));
    assert.notEqual(after.ports.get('a-guest'), before.ports.get('a-guest'));
    assert.equal(after.ports.get('a-guest')!.fixed_ips[1]!.ip_address, '2001:db8:a::11');
  });

  // Each edit after the base document, read with the memo of the reads before it, must give what reading it alone gives.
  const EDITS: Record<string, (document: any) => void> = {
    'a guest address moved onto the router interface of its network': (d) => (d.ports[3].fixed_ips[0].ip_address = '198.51.100.65'),
    'a network removed that unchanged ports and subnets name': (d) => d.networks.splice(2, 1),
    'a subnet shrunk under unchanged ports': (d) => (d.subnets[1].cidr = '198.51.100.0/28'),
    'an entry inserted first, moving every other one': (d) => d.ports.unshift(port('a-guest-2', 'net-a', '0a:11', [['a-v4', '198.51.100.11']], 'compute:nova', 'server-c')),
    'a duplicate id': (d) => d.ports.push({ ...d.ports[0] }),
    'a key added with a value that is not valid': (d) => (d.networks[1].mtu = 'big'),
    'a list entry removed from a port': (d) => d.ports[2].fixed_ips.pop(),
    'an unknown key on an unchanged router (a warning every time)': (d) => (d.routers[0].colour = 'blue'),
    'the router removed under its unchanged interface ports': (d) => (d.routers = []),
    'a floating IP whose router is found from the ports': (d) => delete d.floatingips[0].router_id,
  };

  test('each read reports exactly what a read of that file alone does: every problem and warning, at every entry', () => {
    const memo = new EntryMemo();
    expectView(parseWith(memo, baseDocument()));
    for (const [what, edit] of Object.entries(EDITS)) {
      const document = edited(edit);
      // Twice: against the base document's entries, then against its own.
      assert.deepEqual(parseWith(memo, document), parse(document), `${what}, first read`);
      assert.deepEqual(parseWith(memo, document), parse(document), `${what}, read again`);
      assert.deepEqual(parseWith(memo, baseDocument()), parse(baseDocument()), `back from ${what}`);
    }
  });
});
