// The configuration contract against the fixtures: the good documents must
// validate cleanly, every entry of the bad-document corpus must fail with its
// expected JSON path, and the model must come out normalised.
//
// Tests edit fixture documents in place to introduce one change at a time,
// often into shapes the types forbid; they are handled as untyped JSON.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_ASN, DEFAULT_HA_PRIORITY, DEFAULT_METADATA_ADDRESS, DEFAULT_METADATA_PORT } from './defaults.js';
import { MAX_DOCUMENT_DEPTH, MAX_PROBLEMS_LISTED } from './limits.js';
import { defaultGateways } from './model.js';
import { unwrapDocument, validateDocument, ValidationMemo, type HostFacts, type Problem, type ValidationResult } from './validate.js';
import type { ConfigModel } from './model.js';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const documentsDir = new URL('documents/', fixtures);

type Doc = Record<string, unknown>;

function readJson(url: URL): unknown {
  return JSON.parse(readFileSync(url, 'utf8')) as unknown;
}

/** A fresh copy of a fixture document, typed loosely so a test can edit it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function loadDocument(name: string): any {
  return readJson(new URL(name, documentsDir));
}

/** The harness router: eth0..eth3 seen as ge0..ge3, MACs 02:00:00:00:01:00..03. */
const harnessHost: HostFacts = {
  interfaces: new Map([0, 1, 2, 3].map((i) => [`ge${i}`, `02:00:00:00:01:0${i}`])),
};

function expectValid(result: ValidationResult): ConfigModel {
  if (!result.ok) assert.fail(`expected a valid document, got errors: ${JSON.stringify(result.errors)}`);
  return result.model;
}

function expectErrors(result: ValidationResult): Problem[] {
  if (result.ok) assert.fail('expected validation errors, the document was accepted');
  assert.ok(result.errors.length > 0, 'a rejected document must have at least one error');
  for (const error of result.errors) {
    assert.equal(typeof error.path, 'string');
    assert.ok(error.path === '' || error.path.startsWith('/'), `not a JSON pointer: ${JSON.stringify(error.path)}`);
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.trim().length > 0, `empty message at ${JSON.stringify(error.path)}`);
  }
  return result.errors;
}

function paths(problems: readonly Problem[]): string[] {
  return problems.map((p) => p.path);
}

describe('good fixtures', () => {
  const files = readdirSync(documentsDir).filter((f) => f.endsWith('.json')).sort();

  test('the expected fixtures are present', () => {
    for (const name of [
      'astara-docs-put-example.json',
      'harness-router.json',
      'loadbalancer-notes-8.2.json',
      'router-notes-8.1-ha.json',
      'router-notes-8.1-vpn.json',
      'router-notes-8.1.json',
    ]) {
      assert.ok(files.includes(name), `missing fixture ${name}`);
    }
  });

  for (const file of files) {
    test(`${file} validates with no errors and no warnings`, () => {
      const result = validateDocument(unwrapDocument(loadDocument(file)));
      expectValid(result);
      assert.deepEqual(result.warnings, []);
    });
  }

  test('harness-router.json validates with the harness host facts', () => {
    const result = validateDocument(loadDocument('harness-router.json'), harnessHost);
    const model = expectValid(result);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(
      model.networks.map((n) => [n.ifname, n.index, n.type, n.lladdr]),
      [
        ['ge0', 0, 'management', '02:00:00:00:01:00'],
        ['ge1', 1, 'external', '02:00:00:00:01:01'],
        ['ge2', 2, 'internal', '02:00:00:00:01:02'],
        ['ge3', 3, 'internal', '02:00:00:00:01:03'],
      ],
    );
    assert.deepEqual(
      model.floatingIps.map((f) => [f.floating.text, f.fixed.text]),
      [
        ['203.0.113.10', '198.51.100.10'],
        ['203.0.113.11', '198.51.100.74'],
      ],
    );
  });

  test('the astara-docs example is wrapped and uses the legacy keys', () => {
    const body = loadDocument('astara-docs-put-example.json') as Doc;
    assert.deepEqual(Object.keys(body), ['configuration']);
    const model = expectValid(validateDocument(unwrapDocument(body)));
    const internal = model.networks.find((n) => n.type === 'internal');
    assert.ok(internal);
    assert.equal(internal.allocations.length, 1);
    assert.equal(internal.allocations[0]!.hostname, '198-51-100-1.local');
    assert.deepEqual(
      internal.allocations[0]!.addresses.map((a) => [a.address.text, a.dhcp]),
      [
        ['198.51.100.1', true],
        ['2001:db8:6050:f0ff::1', false],
      ],
    );
  });

  test('the HA, VPN and load-balancer variants reach the model', () => {
    const ha = expectValid(validateDocument(loadDocument('router-notes-8.1-ha.json')));
    assert.deepEqual(ha.ha?.peers.map((p) => p.text), ['fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf13']);
    assert.equal(ha.ha?.priority, 100);
    const vpn = expectValid(validateDocument(loadDocument('router-notes-8.1-vpn.json')));
    assert.equal(vpn.vpn.length, 1);
    assert.equal(vpn.vpn[0]!.connections[0]!.peerAddress.text, '203.0.113.20');
    const lb = expectValid(validateDocument(loadDocument('loadbalancer-notes-8.2.json')));
    assert.equal(lb.loadBalancer?.vip.text, '198.51.100.10');
    assert.equal(lb.loadBalancer?.listeners.length, 2);
    assert.deepEqual(lb.networks.map((n) => n.type), ['loadbalancer', 'management']);
  });
});

interface BadEntry {
  readonly name: string;
  readonly document: unknown;
  readonly status: number;
  readonly path: string;
  readonly host?: unknown;
}

describe('bad-document corpus', () => {
  const corpus = readJson(new URL('bad-documents.json', fixtures)) as BadEntry[];

  test('has at least 40 well-formed entries with unique names', () => {
    assert.ok(Array.isArray(corpus));
    assert.ok(corpus.length >= 40, `only ${corpus.length} entries`);
    assert.equal(new Set(corpus.map((e) => e.name)).size, corpus.length);
    for (const entry of corpus) {
      assert.equal(typeof entry.name, 'string');
      assert.ok('document' in entry, `${entry.name}: no document`);
      assert.equal(entry.status, 422, entry.name);
      assert.ok(entry.path === '' || entry.path.startsWith('/'), `${entry.name}: path is not a JSON pointer`);
      assert.ok(entry.host === undefined || entry.host === true, `${entry.name}: host must be true or absent`);
    }
  });

  for (const entry of corpus) {
    test(entry.name, () => {
      // The agent always validates with host facts; entries not flagged `host`
      // must fail without them too.
      const runs: [string, HostFacts | undefined][] = [['with host facts', harnessHost]];
      if (!entry.host) runs.push(['without host facts', undefined]);
      for (const [label, host] of runs) {
        const errors = expectErrors(validateDocument(entry.document, host));
        assert.ok(
          paths(errors).includes(entry.path),
          `${label}: expected ${JSON.stringify(entry.path)} among ${JSON.stringify(errors)}`,
        );
      }
      if (entry.host) {
        // Flagged entries are only wrong for this host.
        expectValid(validateDocument(entry.document));
      }
    });
  }
});

describe('validateDocument', () => {
  test('anything but an object is rejected at the document root', () => {
    for (const body of [null, 5, 'configuration', true, [], [{ tenant_id: 't', hostname: 'h' }]]) {
      const errors = expectErrors(validateDocument(body));
      assert.deepEqual(paths(errors), [''], JSON.stringify(body));
    }
  });

  test('a minimal document gets the defaults', () => {
    const result = validateDocument({ tenant_id: 'tenant-1', hostname: 'ak-tenant-1' });
    const model = expectValid(result);
    assert.deepEqual(result.warnings, []);
    assert.equal(model.tenantId, 'tenant-1');
    assert.equal(model.hostname, 'ak-tenant-1');
    assert.deepEqual(model.networks, []);
    assert.equal(model.asn, DEFAULT_ASN);
    assert.equal(model.neighborAsn, DEFAULT_ASN);
    assert.equal(model.orchestrator.address.text, DEFAULT_METADATA_ADDRESS);
    assert.equal(model.orchestrator.metadataPort, DEFAULT_METADATA_PORT);
    assert.equal(model.orchestrator.host, '');
    assert.equal(model.ha, undefined);
    assert.equal(model.defaultV4Gateway, undefined);
    assert.deepEqual(model.vpn, []);
    assert.equal(model.loadBalancer, undefined);
  });

  test('unknown keys are accepted and reported as warnings with their paths', () => {
    const doc = loadDocument('harness-router.json');
    doc.address_book = { web: ['198.51.100.0/26'] };
    doc['odd/key~name'] = 1;
    doc.networks[2].provider = 'vlan';
    doc.networks[2].interface.speed = '10G';
    doc.networks[2].subnets[0].ipv6_ra_mode = null;
    doc.networks[2].allocations[0].port_name = 'vm-a';
    doc.floating_ips[1].port_id = 'p';
    doc.static_routes[0].metric = 10;
    doc.orchestrator.region = 'one';
    const result = validateDocument(doc, harnessHost);
    expectValid(result);
    assert.deepEqual(
      paths(result.warnings).sort(),
      [
        '/address_book',
        '/floating_ips/1/port_id',
        '/networks/2/allocations/0/port_name',
        '/networks/2/interface/speed',
        '/networks/2/provider',
        '/networks/2/subnets/0/ipv6_ra_mode',
        '/odd~1key~0name',
        '/orchestrator/region',
        '/static_routes/0/metric',
      ],
    );
    for (const warning of result.warnings) assert.ok(warning.message.length > 0);
  });

  test('keys of the informational Neutron objects are not warned about', () => {
    const result = validateDocument(loadDocument('loadbalancer-notes-8.2.json'));
    expectValid(result);
    assert.deepEqual(result.warnings, []);
  });

  test('all schema errors are reported at once', () => {
    const doc = loadDocument('harness-router.json');
    doc.hostname = 'ak-harness\nrouter';
    doc.asn = 0;
    doc.networks[2].subnets[0].cidr = '198.51.100.1/26';
    const errors = expectErrors(validateDocument(doc, harnessHost));
    assert.deepEqual(paths(errors).sort(), ['/asn', '/hostname', '/networks/2/subnets/0/cidr']);
  });

  test('all cross-field errors are reported at once', () => {
    const doc = loadDocument('harness-router.json');
    doc.floating_ips[0].floating_ip = '198.51.100.150';
    doc.networks[3].subnets[0].gateway_ip = '198.51.100.1';
    doc.static_routes[0].next_hop = '198.51.100.200';
    const errors = expectErrors(validateDocument(doc, harnessHost));
    assert.deepEqual(paths(errors).sort(), ['/floating_ips/0/floating_ip', '/networks/3/subnets/0/gateway_ip', '/static_routes/0/next_hop']);
  });

  test('host-fact errors are reported with the others', () => {
    const doc = loadDocument('harness-router.json');
    doc.networks[3].interface.ifname = 'ge9';
    doc.networks[2].interface.lladdr = '02:00:00:00:01:01';
    doc.default_v4_gateway = '198.51.100.200';
    const errors = expectErrors(validateDocument(doc, harnessHost));
    assert.deepEqual(paths(errors).sort(), ['/default_v4_gateway', '/networks/2/interface/lladdr', '/networks/3/interface/ifname']);
  });

  test('the lladdr comparison ignores case', () => {
    const host: HostFacts = { interfaces: new Map([0, 1, 2, 3].map((i) => [`ge${i}`, `02:00:00:00:01:a${i}`])) };
    const doc = loadDocument('harness-router.json');
    doc.networks.forEach((n: { interface: { lladdr: string } }, i: number) => (n.interface.lladdr = `02:00:00:00:01:A${i}`));
    const model = expectValid(validateDocument(doc, host));
    assert.deepEqual(model.networks.map((n) => n.lladdr), ['02:00:00:00:01:a0', '02:00:00:00:01:a1', '02:00:00:00:01:a2', '02:00:00:00:01:a3']);
  });

  test('a floating IP whose addresses differ in IP version is a warning and is skipped', () => {
    const doc = loadDocument('harness-router.json');
    doc.floating_ips.push({ floating_ip: '2001:db8:e::50', fixed_ip: '198.51.100.11' });
    const result = validateDocument(doc, harnessHost);
    const model = expectValid(result);
    assert.deepEqual(paths(result.warnings), ['/floating_ips/2']);
    assert.ok(result.warnings[0]!.message.length > 0);
    assert.deepEqual(
      model.floatingIps.map((f) => f.floating.text),
      ['203.0.113.10', '203.0.113.11'],
    );
  });

  test('an IPv6 floating IP inside the external IPv6 subnet is accepted', () => {
    const doc = loadDocument('harness-router.json');
    doc.floating_ips.push({ floating_ip: '2001:db8:e::50', fixed_ip: 'fd00:a::10' });
    const model = expectValid(validateDocument(doc, harnessHost));
    assert.equal(model.floatingIps.length, 3);
    assert.equal(model.floatingIps[2]!.fixed.text, 'fd00:a::10');
  });

  test('the legacy static route forms normalise to one shape', () => {
    const doc = loadDocument('harness-router.json');
    doc.static_routes = [
      { destination: '198.51.100.192/26', next_hop: '198.51.100.10' },
      { destination: '198.51.100.128/26', nexthop: '198.51.100.74' },
      ['203.0.113.0/25', '192.0.2.1'],
      { destination: 'FD00:C::/64', next_hop: 'FD00:A:0::10' },
    ];
    const model = expectValid(validateDocument(doc, harnessHost));
    assert.deepEqual(
      model.staticRoutes.map((r) => [r.destination.cidr, r.nextHop.text]),
      [
        ['198.51.100.192/26', '198.51.100.10'],
        ['198.51.100.128/26', '198.51.100.74'],
        ['203.0.113.0/25', '192.0.2.1'],
        ['fd00:c::/64', 'fd00:a::10'],
      ],
    );
  });

  test('errors in the legacy static route forms name the next hop', () => {
    const doc = loadDocument('harness-router.json');
    doc.static_routes = [
      { destination: '198.51.100.128/26', nexthop: 'fd00:a::10' },
      ['fd00:c::/64', '198.51.100.10'],
      { destination: '198.51.100.128/26' },
    ];
    const errors = expectErrors(validateDocument(doc, harnessHost));
    assert.deepEqual(paths(errors), ['/static_routes/0/next_hop', '/static_routes/1/1', '/static_routes/2/next_hop']);
  });

  test('addresses come out canonical in the model', () => {
    const doc = loadDocument('harness-router.json');
    doc.networks[2].interface.addresses = ['198.51.100.1/26', 'FD00:A:0:0::1/64'];
    doc.networks[2].allocations[0].ip_addresses = { '198.51.100.10': true, 'FD00:A::0010': false };
    doc.networks[2].allocations[0].mac_address = '02:00:00:00:02:AA';
    const model = expectValid(validateDocument(doc, harnessHost));
    const tenantA = model.networks[2]!;
    assert.deepEqual(tenantA.addresses.map((a) => a.cidr), ['198.51.100.1/26', 'fd00:a::1/64']);
    assert.deepEqual(tenantA.allocations[0]!.addresses.map((a) => [a.address.text, a.dhcp]), [
      ['198.51.100.10', true],
      ['fd00:a::10', false],
    ]);
    assert.equal(tenantA.allocations[0]!.mac, '02:00:00:00:02:aa');
    assert.deepEqual(tenantA.subnets.map((s) => [s.cidr.cidr, s.gateway?.text, s.dhcpEnabled]), [
      ['198.51.100.0/26', '198.51.100.1', true],
      ['fd00:a::/64', 'fd00:a::1', true],
    ]);
  });

  test('ha_resource takes the priority from ha_config, with a default', () => {
    const doc = loadDocument('harness-router.json');
    doc.ha_resource = true;
    doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'] };
    const model = expectValid(validateDocument(doc, harnessHost));
    assert.deepEqual(model.ha?.peers.map((p) => p.text), ['fdca:3ba5:a17a:acda::3']);
    assert.equal(model.ha?.priority, DEFAULT_HA_PRIORITY);
    doc.ha_config.priority = 50;
    assert.equal(expectValid(validateDocument(doc, harnessHost)).ha?.priority, 50);
    doc.ha_resource = false;
    assert.equal(expectValid(validateDocument(doc, harnessHost)).ha, undefined);
  });

  test('an HA pair member has exactly one peer, in IPv6 on its management network, and its own IPv6 management address', () => {
    const problems = (change: (doc: ReturnType<typeof loadDocument>) => void) => {
      const doc = loadDocument('harness-router.json');
      doc.ha_resource = true;
      doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'], priority: 50 };
      change(doc);
      return expectErrors(validateDocument(doc, harnessHost)).map((p) => `${p.path}: ${p.message}`);
    };
    assert.deepEqual(
      problems((doc) => (doc.ha_config.peers = ['fdca:3ba5:a17a:acda::3', 'fdca:3ba5:a17a:acda::4'])),
      ['/ha_config/peers: lists 2 peers; an HA pair has exactly one (conntrackd synchronises connection state with one peer)'],
    );
    assert.deepEqual(problems((doc) => (doc.ha_config.peers = ['192.0.2.9'])), [
      '/ha_config/peers/0: 192.0.2.9 is not an IPv6 address: the pair speaks VRRP and synchronises connection state over IPv6 on the management network',
    ]);
    assert.deepEqual(problems((doc) => (doc.ha_config.peers = ['fdca:3ba5:a17a:acdb::3'])), [
      '/ha_config/peers/0: fdca:3ba5:a17a:acdb::3 is not on the management network (fdca:3ba5:a17a:acda::/64): the peers reach each other there directly',
    ]);
    assert.deepEqual(problems((doc) => (doc.ha_config.peers = ['fdca:3ba5:a17a:acda::2'])), [
      "/ha_config/peers/0: fdca:3ba5:a17a:acda::2 is this appliance's own address (/networks/0/interface/addresses/0), not its peer's",
    ]);
    assert.deepEqual(problems((doc) => (doc.ha_config.peers = ['fe80::3'])), ['/ha_config/peers/0: fe80::3 is link-local: give the peer\'s management address']);
    assert.deepEqual(problems((doc) => (doc.ha_config.peers = ['ff02::12'])), ['/ha_config/peers/0: ff02::12 is a multicast address: it cannot be the peer of an HA pair']);
    assert.deepEqual(
      problems((doc) => (doc.networks[0].interface.addresses = [])),
      ['/networks/0/interface/addresses: an HA pair member needs an IPv6 address on the management network: VRRP and the connection state sync run over IPv6'],
    );
    // (The orchestrator's address is then inside a tenant network too.)
    assert.ok(
      problems((doc) => (doc.networks[0].network_type = 'isolated')).includes('/ha_resource: an HA pair member needs a management network: VRRP and the connection state sync run over it'),
    );
    // A peer inside the management subnet (not only the prefix of the own address) is on the network too.
    const doc = loadDocument('harness-router.json');
    doc.ha_resource = true;
    doc.ha_config = { peers: ['fdca:3ba5:a17a:acda:f::3'] };
    assert.equal(expectValid(validateDocument(doc, harnessHost)).ha?.peers[0]?.text, 'fdca:3ba5:a17a:acda:f::3');
  });

  test('address_allocations is read like allocations', () => {
    const doc = loadDocument('harness-router.json');
    doc.networks[2].address_allocations = doc.networks[2].allocations;
    delete doc.networks[2].allocations;
    const model = expectValid(validateDocument(doc, harnessHost));
    assert.equal(model.networks[2]!.allocations.length, 1);
    assert.equal(model.networks[2]!.allocations[0]!.deviceId, '00000000-0000-4000-8000-0000000000a0');
  });

  test('a rejected document reports no model', () => {
    const result = validateDocument({ tenant_id: 't' });
    assert.equal(result.ok, false);
    assert.equal('model' in result, false);
  });
});

describe('unwrapDocument', () => {
  const doc = { tenant_id: 't', hostname: 'h' };

  test('removes the {"configuration": ...} wrapper', () => {
    assert.equal(unwrapDocument({ configuration: doc }), doc);
  });

  test('leaves an unwrapped document alone', () => {
    assert.equal(unwrapDocument(doc), doc);
  });

  test('leaves a wrapper with other keys, or a wrapped non-object, alone', () => {
    const withOther = { configuration: doc, generation: 3 };
    assert.equal(unwrapDocument(withOther), withOther);
    const wrappedArray = { configuration: [doc] };
    assert.equal(unwrapDocument(wrappedArray), wrappedArray);
    const wrappedNull = { configuration: null };
    assert.equal(unwrapDocument(wrappedNull), wrappedNull);
  });

  test('passes anything that is not an object through', () => {
    for (const body of [null, undefined, 5, 'configuration', [doc]]) assert.equal(unwrapDocument(body), body);
  });
});

describe('defaultGateways', () => {
  function gateways(doc: unknown): [string | undefined, string | undefined] {
    const { v4, v6 } = defaultGateways(expectValid(validateDocument(doc)));
    return [v4?.text, v6?.text];
  }

  test('uses default_v4_gateway and the external IPv6 subnet gateway', () => {
    assert.deepEqual(gateways(loadDocument('harness-router.json')), ['192.0.2.1', '2001:db8:e::1']);
  });

  test('an explicit default_v4_gateway wins over the subnet gateway', () => {
    const doc = loadDocument('harness-router.json');
    doc.default_v4_gateway = '192.0.2.254';
    assert.deepEqual(gateways(doc), ['192.0.2.254', '2001:db8:e::1']);
  });

  test('an empty or null default_v4_gateway falls back to the external subnet holding an external address', () => {
    for (const value of ['', null, undefined]) {
      const doc = loadDocument('harness-router.json');
      doc.default_v4_gateway = value;
      // A gateway-bearing external subnet that holds none of the router's
      // addresses comes first and must be passed over.
      const floating = doc.networks[1].subnets.pop();
      floating.gateway_ip = '203.0.113.1';
      doc.networks[1].subnets.unshift(floating);
      assert.deepEqual(gateways(doc), ['192.0.2.1', '2001:db8:e::1'], String(value));
    }
  });

  test('no gateway when the external subnets have none', () => {
    const doc = loadDocument('harness-router.json');
    doc.default_v4_gateway = '';
    for (const subnet of doc.networks[1].subnets) subnet.gateway_ip = '';
    assert.deepEqual(gateways(doc), [undefined, undefined]);
  });

  test('the notes example: IPv4 from default_v4_gateway, no IPv6 subnet on the external network', () => {
    assert.deepEqual(gateways(loadDocument('router-notes-8.1.json')), ['192.0.2.1', undefined]);
  });

  test('no external network, no gateways', () => {
    assert.deepEqual(gateways(loadDocument('loadbalancer-notes-8.2.json')), [undefined, undefined]);
  });
});

describe('bounds and hostile keys', () => {
  test('a document nested beyond the limit is refused at once, with the path of the first value too deep', () => {
    const doc = loadDocument('harness-router.json');
    let deep: unknown = [];
    for (let i = 0; i < 5000; i++) deep = [deep];
    doc.extra = { deep };
    const result = validateDocument(doc, harnessHost);
    // The document is level 1, "extra" 2, "deep" 3: the list at level 33 lies 30 below "deep".
    assert.deepEqual(expectErrors(result), [{ path: `/extra/deep${'/0'.repeat(MAX_DOCUMENT_DEPTH - 2)}`, message: `nests deeper than ${MAX_DOCUMENT_DEPTH} levels of objects and lists (the limit of a document)` }]);
  });

  test('keys named like Object.prototype members are unknown keys like any other', () => {
    const text = readFileSync(new URL('harness-router.json', documentsDir), 'utf8').trimEnd().slice(0, -1);
    const doc = JSON.parse(`${text}, "toString": 1, "constructor": {}, "__proto__": {"tenant_id": "x"}, "hasOwnProperty": null}`) as unknown;
    const result = validateDocument(doc, harnessHost);
    expectValid(result);
    assert.deepEqual(paths(result.warnings).sort(), ['/__proto__', '/constructor', '/hasOwnProperty', '/toString']);
    const nested = loadDocument('harness-router.json');
    Object.defineProperty(nested.networks[2], '__proto__', { value: 'x', enumerable: true });
    nested.networks[2].interface.valueOf = 1;
    assert.deepEqual(paths(validateDocument(nested, harnessHost).warnings).sort(), ['/networks/2/__proto__', '/networks/2/interface/valueOf']);
  });

  test('a label named __proto__ is an own key of the model, not its prototype', () => {
    const doc = loadDocument('harness-router.json');
    Object.defineProperty(doc.labels, '__proto__', { value: ['198.51.100.0/26'], enumerable: true });
    const model = expectValid(validateDocument(doc, harnessHost));
    assert.ok(Object.hasOwn(model.labels, '__proto__'));
    assert.deepEqual(Object.keys(model.labels).sort(), ['__proto__', 'floating']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(model.labels, '__proto__')?.value.map((c: { cidr: string }) => c.cidr), ['198.51.100.0/26']);
    assert.equal(Object.getPrototypeOf(model.labels), Object.prototype);
  });

  test(`at most ${MAX_PROBLEMS_LISTED} warnings are listed, the last one counting the rest`, () => {
    const doc = loadDocument('harness-router.json');
    for (let i = 0; i < 250; i++) doc[`unknown-${i}`] = i;
    const result = validateDocument(doc, harnessHost);
    expectValid(result);
    assert.equal(result.warnings.length, MAX_PROBLEMS_LISTED + 1);
    assert.deepEqual(result.warnings.at(-1), { path: '', message: `and ${250 - MAX_PROBLEMS_LISTED} more like these, not listed` });
  });

  test('a large document with an error in each of its values is judged in seconds, not minutes', () => {
    const doc = loadDocument('harness-router.json');
    doc.networks = Array.from({ length: 1024 }, (_, i) => ({
      network_id: `n${i}`,
      interface: { ifname: `ge${i}`, addresses: [] },
      subnets: Array.from({ length: 100 }, (_, j) => ({ cidr: `fd00:${i.toString(16)}:${j.toString(16)}::/64`, gateway_ip: 1 })),
    }));
    const started = performance.now();
    const errors = expectErrors(validateDocument(doc));
    assert.equal(errors.length, MAX_PROBLEMS_LISTED + 1);
    assert.ok(performance.now() - started < 20_000, `took ${Math.round(performance.now() - started)} ms`);
  });

  test('a large valid document is judged in seconds: next hops and fixed IPs are looked up, not scanned for', () => {
    const doc = loadDocument('harness-router.json');
    for (let i = 4; i < 1024; i++) {
      doc.networks.push({
        network_id: `n${i}`,
        network_type: 'internal',
        interface: { ifname: `ge${i}`, addresses: [] },
        subnets: Array.from({ length: 50 }, (_, j) => ({ cidr: `fd01:${i.toString(16)}:${j.toString(16)}::/64` })),
      });
    }
    doc.static_routes = Array.from({ length: 4096 }, (_, k) => ({ destination: `2001:db8:${k.toString(16)}::/48`, next_hop: 'fd01:3ff:31::1' }));
    doc.floating_ips = Array.from({ length: 20000 }, (_, k) => ({ floating_ip: `2001:db8:e::${(k + 16).toString(16)}`, fixed_ip: `fd01:3ff:31::${(k + 16).toString(16)}` }));
    const started = performance.now();
    expectValid(validateDocument(doc));
    assert.ok(performance.now() - started < 20_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});

describe('the validation gaps of the attack (item 7)', () => {
  test('the harness router allocations are guests; the astara-docs allocation is the router port itself', () => {
    const harness = expectValid(validateDocument(loadDocument('harness-router.json'), harnessHost));
    assert.deepEqual(harness.networks.flatMap((n) => n.allocations.map((a) => a.routerPort)), [false, false]);
    const docs = expectValid(validateDocument(unwrapDocument(loadDocument('astara-docs-put-example.json'))));
    assert.deepEqual(docs.networks.flatMap((n) => n.allocations.map((a) => [a.mac, a.routerPort])), [['fa:16:4d:c3:95:81', true]]);
  });

  test("an allocation holding the router's own address and another is refused at the router's address", () => {
    const doc = loadDocument('harness-router.json');
    doc.networks[2].allocations[0].ip_addresses = { '198.51.100.10': true, 'fd00:a::1': true };
    const errors = expectErrors(validateDocument(doc, harnessHost));
    assert.deepEqual(errors, [{ path: '/networks/2/allocations/0/ip_addresses/fd00:a::1', message: "fd00:a::1 is the router's own address on this network (/networks/2/interface/addresses/1); only the router's own port may hold it, and nothing else with it" }]);
  });

  test('floating IPs may be neither a gateway, a router address, nor a network or broadcast address', () => {
    const cases: [string, string, RegExp][] = [
      ['192.0.2.1', '198.51.100.10', /is the external gateway \(\/default_v4_gateway\): the default route would lead to a guest/],
      ['2001:db8:e::1', 'fd00:a::10', /is the external gateway \(\/networks\/1\/subnets\/1\/gateway_ip\)/],
      ['192.0.2.2', '198.51.100.10', /is the router's own address \(\/networks\/1\/interface\/addresses\/0\)/],
      ['203.0.113.0', '198.51.100.10', /not a host address of 203\.0\.113\.0\/24: it is its network or broadcast address/],
      ['203.0.113.255', '198.51.100.10', /not a host address of 203\.0\.113\.0\/24/],
      ['2001:db8:e::', 'fd00:a::10', /not a host address of 2001:db8:e::\/64/],
    ];
    for (const [floating, fixed, message] of cases) {
      const doc = loadDocument('harness-router.json');
      doc.floating_ips = [{ floating_ip: floating, fixed_ip: fixed }];
      const errors = expectErrors(validateDocument(doc, harnessHost));
      assert.ok(errors.some((e) => e.path === '/floating_ips/0/floating_ip' && message.test(e.message)), `${floating}: ${JSON.stringify(errors)}`);
    }
    // A gateway that is not the default one is still a gateway: the default route may switch to it.
    const doc = loadDocument('harness-router.json');
    doc.default_v4_gateway = '';
    doc.floating_ips = [{ floating_ip: '192.0.2.1', fixed_ip: '198.51.100.10' }];
    assert.deepEqual(paths(expectErrors(validateDocument(doc, harnessHost))), ['/floating_ips/0/floating_ip']);
  });

  test("the orchestrator may be neither the appliance itself nor inside a tenant network; the default is checked too", () => {
    const cases: [string | undefined, RegExp][] = [
      ['fdca:3ba5:a17a:acda::2', /is this appliance's own address \(\/networks\/0\/interface\/addresses\/0\)/],
      ['198.51.100.65', /is this appliance's own address \(\/networks\/3\/interface\/addresses\/0\)/],
      ['127.0.0.1', /is this appliance itself/],
      ['::', /is this appliance itself/],
      ['198.51.100.20', /is inside the tenant network \/networks\/2: a guest there could answer/],
      ['fd00:b::99', /is inside the tenant network \/networks\/3/],
    ];
    for (const [address, message] of cases) {
      const doc = loadDocument('harness-router.json');
      doc.orchestrator.address = address;
      const errors = expectErrors(validateDocument(doc, harnessHost));
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.equal(errors[0]!.path, '/orchestrator/address');
      assert.match(errors[0]!.message, message);
    }
    const doc = loadDocument('harness-router.json');
    delete doc.orchestrator.address;
    doc.networks[0].interface.addresses = [`${DEFAULT_METADATA_ADDRESS}/64`];
    const errors = expectErrors(validateDocument(doc));
    assert.deepEqual(paths(errors), ['/orchestrator/address']);
    assert.match(errors[0]!.message, /^the default orchestrator address fdca:3ba5:a17a:acda::1 is this appliance's own address/);
    // The external network is neither the appliance nor a tenant's: an orchestrator there is accepted.
    const external = loadDocument('harness-router.json');
    external.orchestrator.address = '192.0.2.200';
    expectValid(validateDocument(external, harnessHost));
  });

  test('an interface prefix may not overlap another network, with or without subnets of its own', () => {
    const wide = loadDocument('harness-router.json');
    wide.networks[2].interface.addresses[0] = '198.51.100.1/25';
    assert.deepEqual(expectErrors(validateDocument(wide, harnessHost)), [
      {
        path: '/networks/2/interface/addresses/0',
        message: '198.51.100.1/25 makes 198.51.100.0/25 a connected prefix of this interface, and it overlaps 198.51.100.64/26 at /networks/3/subnets/0/cidr, on another interface',
      },
    ]);
    // Two networks without subnets whose addresses share a prefix.
    const bare = loadDocument('harness-router.json');
    for (const n of [2, 3]) {
      bare.networks[n].subnets = [];
      bare.networks[n].allocations = [];
    }
    bare.networks[3].interface.addresses = ['198.51.100.2/26', 'fd00:b::1/64'];
    bare.floating_ips = [];
    bare.static_routes = [];
    assert.deepEqual(paths(expectErrors(validateDocument(bare, harnessHost))), ['/networks/3/interface/addresses/0']);
    // Subnets overlapping across networks are still named at the later one.
    const subnets = loadDocument('harness-router.json');
    subnets.networks[3].subnets[0].cidr = '198.51.100.0/25';
    const errors = expectErrors(validateDocument(subnets, harnessHost));
    assert.ok(errors.some((e) => e.path === '/networks/3/subnets/0/cidr' && e.message === '198.51.100.0/25 overlaps 198.51.100.0/26 at /networks/2/subnets/0/cidr'), JSON.stringify(errors));
  });

  test('broadcast and multicast MACs are refused, in lladdr and in allocations', () => {
    for (const mac of ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '03:00:00:00:00:00']) {
      const doc = loadDocument('harness-router.json');
      doc.networks[2].interface.lladdr = mac;
      doc.networks[3].allocations[0].mac_address = mac;
      const errors = expectErrors(validateDocument(doc));
      assert.deepEqual(paths(errors), ['/networks/2/interface/lladdr', '/networks/3/allocations/0/mac_address'], mac);
      assert.match(errors[0]!.message, /unicast MAC address/);
    }
  });

  test('allocation host names dnsmasq would read as something else are refused', () => {
    for (const hostname of ['ignore', 'infinite', '5m', '300', '12h', '198.51.100.99']) {
      const doc = loadDocument('harness-router.json');
      doc.networks[2].allocations[0].hostname = hostname;
      const errors = expectErrors(validateDocument(doc, harnessHost));
      assert.deepEqual(paths(errors), ['/networks/2/allocations/0/hostname'], hostname);
      assert.match(errors[0]!.message, /dnsmasq .*not a host name$/);
    }
  });
});

describe('addresses no host holds and next hops no route can use (found by the fuzz suite)', () => {
  const problemsOf = (edit: (doc: ReturnType<typeof loadDocument>) => void): Problem[] => {
    const doc = loadDocument('harness-router.json');
    edit(doc);
    return expectErrors(validateDocument(doc, harnessHost));
  };
  const expectProblem = (problems: readonly Problem[], path: string, message: RegExp) =>
    assert.ok(problems.some((p) => p.path === path && message.test(p.message)), `${path} ${String(message)}: ${JSON.stringify(problems)}`);

  test('a link-local floating IP is refused: the agent leaves link-local addresses to the kernel and could never remove it', () => {
    const problems = problemsOf((doc) => {
      doc.networks[1].subnets.push({ id: 'ext-ll', cidr: 'fe80::/64', gateway_ip: '', dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
      doc.floating_ips = [{ floating_ip: 'fe80::99', fixed_ip: 'fd00:a::10' }];
    });
    expectProblem(problems, '/floating_ips/0/floating_ip', /^fe80::99 is link-local: the agent leaves link-local addresses to the kernel/);
  });

  test('interface and allocation addresses must be unicast', () => {
    expectProblem(problemsOf((doc) => (doc.networks[2].interface.addresses[0] = '127.0.0.2/26')), '/networks/2/interface/addresses/0', /^127\.0\.0\.2 is a loopback address: no interface can hold it$/);
    expectProblem(problemsOf((doc) => (doc.networks[2].interface.addresses[1] = 'ff02::5/64')), '/networks/2/interface/addresses/1', /is a multicast address: no interface can hold it$/);
    const multicastGuest = problemsOf((doc) => {
      doc.networks[2].subnets[0].cidr = '224.0.0.0/24';
      doc.networks[2].interface.addresses[0] = '224.0.0.1/24';
      doc.networks[2].subnets[0].gateway_ip = '224.0.0.1';
      doc.networks[2].allocations[0].ip_addresses = { '224.0.0.10': true };
    });
    expectProblem(multicastGuest, '/networks/2/allocations/0/ip_addresses/224.0.0.10', /is a multicast address: no guest can hold it$/);
  });

  test('a next hop may not be the network or broadcast address of a connected prefix', () => {
    expectProblem(problemsOf((doc) => (doc.default_v4_gateway = '192.0.2.255')), '/default_v4_gateway', /^192\.0\.2\.255 is the network or broadcast address of 192\.0\.2\.0\/24: no route can lead through it$/);
    expectProblem(problemsOf((doc) => (doc.networks[2].subnets[0].gateway_ip = '198.51.100.0')), '/networks/2/subnets/0/gateway_ip', /is the network or broadcast address of 198\.51\.100\.0\/26/);
    expectProblem(
      problemsOf((doc) => (doc.static_routes = [{ destination: '203.0.113.0/25', next_hop: '198.51.100.63' }])),
      '/static_routes/0/next_hop',
      /^198\.51\.100\.63 is the network or broadcast address of 198\.51\.100\.0\/26/,
    );
  });

  test('a static route through an IPv6 link-local next hop is refused: it names no interface', () => {
    const problems = problemsOf((doc) => {
      doc.networks[2].subnets.push({ id: 'tenant-a-ll', cidr: 'fe80::/64', gateway_ip: '', dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
      doc.static_routes = [{ destination: '2001:db8:99::/64', next_hop: 'fe80::7' }];
    });
    expectProblem(problems, '/static_routes/0/next_hop', /^fe80::7 is link-local: the kernel reaches it only through a named interface, and this route names none$/);
  });
});

describe('the normalised VPN and load-balancer model', () => {
  test('the notes VPN: parsed addresses, local subnets resolved by id, peer networks merged, policies as given', () => {
    const model = expectValid(validateDocument(loadDocument('router-notes-8.1-vpn.json')));
    assert.equal(model.vpn.length, 1);
    const service = model.vpn[0]!;
    assert.deepEqual([service.id, service.name, service.enabled, service.externalV4?.text, service.externalV6?.text], [
      '5b1c7f3e-2d4a-4e8b-9f60-7a1b2c3d4e01',
      'vpn-to-branch',
      true,
      '192.0.2.2',
      '2001:db8:ee00:0:f816:3eff:fee5:1742',
    ]);
    const c = service.connections[0]!;
    assert.equal(c.peerAddress.text, '203.0.113.20');
    assert.equal(c.peerId, '203.0.113.20');
    assert.deepEqual([c.mtu, c.initiator, c.psk, c.enabled], [1420, 'bi-directional', 'doc-example-psk-0123456789', true]);
    assert.deepEqual(c.dpd, { action: 'hold', interval: 30, timeout: 120 });
    assert.deepEqual(c.localCidrs.map((x) => x.cidr), ['198.51.100.0/24']);
    assert.deepEqual(c.peerCidrs.map((x) => x.cidr), ['203.0.113.128/25']);
    assert.deepEqual(c.ike, { version: 'v2', authAlgorithm: 'sha256', encryptionAlgorithm: 'aes-256', pfs: 'group14', lifetime: { units: 'seconds', value: 3600 }, phase1NegotiationMode: 'main' });
    assert.deepEqual(c.ipsec, { transformProtocol: 'esp', authAlgorithm: 'sha256', encryptionAlgorithm: 'aes-256', encapsulationMode: 'tunnel', lifetime: { units: 'seconds', value: 3600 }, pfs: 'group14' });
  });

  test("a minimal VPN gets Neutron VPNaaS's defaults; the service subnet is the local side without endpoint groups", () => {
    const doc = loadDocument('router-notes-8.1.json');
    doc.vpn = {
      ipsec: [
        {
          id: 'svc',
          subnet_id: 's4',
          external_v4_ip: '',
          ipsec_connections: [{ id: 'c1', peer_address: '203.0.113.20', psk: 'secret-psk', peer_cidrs: ['203.0.113.0/25', '203.0.113.0/25'], ikepolicy: {}, ipsecpolicy: {} }],
        },
      ],
    };
    const service = expectValid(validateDocument(doc)).vpn[0]!;
    assert.deepEqual([service.name, service.enabled, service.externalV4, service.externalV6], ['', true, undefined, undefined]);
    const c = service.connections[0]!;
    assert.deepEqual([c.peerId, c.mtu, c.initiator, c.name, c.enabled], ['203.0.113.20', 1500, 'bi-directional', '', true]);
    assert.deepEqual(c.dpd, { action: 'hold', interval: 30, timeout: 120 });
    assert.deepEqual(c.localCidrs.map((x) => x.cidr), ['198.51.100.0/24']);
    assert.deepEqual(c.peerCidrs.map((x) => x.cidr), ['203.0.113.0/25']);
    assert.deepEqual(c.ike, { version: 'v1', authAlgorithm: 'sha1', encryptionAlgorithm: 'aes-128', pfs: 'group5', lifetime: { units: 'seconds', value: 3600 }, phase1NegotiationMode: 'main' });
    assert.deepEqual(c.ipsec, { transformProtocol: 'esp', authAlgorithm: 'sha1', encryptionAlgorithm: 'aes-128', encapsulationMode: 'tunnel', lifetime: { units: 'seconds', value: 3600 }, pfs: 'group5' });
  });

  test('a local subnet id the document does not carry is left out of the VPN with a warning', () => {
    const doc = loadDocument('router-notes-8.1-vpn.json');
    doc.vpn.ipsec[0].ipsec_connections[0].local_ep_group.endpoints = ['s4', 'gone'];
    const result = validateDocument(doc);
    const model = expectValid(result);
    assert.deepEqual(result.warnings, [{ path: '/vpn/ipsec/0/ipsec_connections/0/local_ep_group/endpoints/1', message: 'gone is not the id of a subnet of this router; left out of the VPN' }]);
    assert.deepEqual(model.vpn[0]!.connections[0]!.localCidrs.map((x) => x.cidr), ['198.51.100.0/24']);
  });

  test('refuses what the appliance cannot do, naming the field: AH, transport mode, IKE lifetimes in kilobytes', () => {
    type PolicyEdit = { ikepolicy: Record<string, unknown>; ipsecpolicy: Record<string, unknown> };
    const base = '/vpn/ipsec/0/ipsec_connections/0';
    for (const [edit, path, message] of [
      [(c: PolicyEdit) => (c.ipsecpolicy.transform_protocol = 'ah'), `${base}/ipsecpolicy/transform_protocol`, 'ah is not supported: the appliance protects traffic with ESP only'],
      [(c: PolicyEdit) => (c.ipsecpolicy.transform_protocol = 'ah-esp'), `${base}/ipsecpolicy/transform_protocol`, 'ah-esp is not supported: the appliance protects traffic with ESP only'],
      [(c: PolicyEdit) => (c.ipsecpolicy.encapsulation_mode = 'transport'), `${base}/ipsecpolicy/encapsulation_mode`, 'transport is not supported: a site connection is carried in tunnel mode'],
      [(c: PolicyEdit) => (c.ikepolicy.lifetime = { units: 'kilobytes', value: 1000 }), `${base}/ikepolicy/lifetime/units`, 'an IKE SA lifetime is in seconds only (strongSwan has no byte limit for IKE SAs)'],
    ] as const) {
      const doc = loadDocument('router-notes-8.1-vpn.json');
      edit(doc.vpn.ipsec[0].ipsec_connections[0] as PolicyEdit);
      assert.deepEqual(expectErrors(validateDocument(doc)), [{ path, message }]);
    }
    const child = loadDocument('router-notes-8.1-vpn.json');
    child.vpn.ipsec[0].ipsec_connections[0].ipsecpolicy.lifetime = { units: 'kilobytes', value: 1000 };
    expectValid(validateDocument(child));
  });

  test('the notes load balancer: listeners, pools, members and monitors with defaults filled', () => {
    const lb = expectValid(validateDocument(loadDocument('loadbalancer-notes-8.2.json'))).loadBalancer!;
    assert.deepEqual([lb.id, lb.name, lb.enabled, lb.vip.text], ['8e2d4c6a-0b1f-4d3e-9a5c-7e9f1b3d5a01', 'web-lb', true, '198.51.100.10']);
    assert.deepEqual(lb.listeners.map((l) => [l.name, l.protocol, l.port, l.pool?.algorithm, l.pool?.protocol]), [
      ['http', 'HTTP', 80, 'ROUND_ROBIN', 'HTTP'],
      ['tcp-db', 'TCP', 5432, 'LEAST_CONNECTIONS', 'TCP'],
    ]);
    const [http, tcp] = lb.listeners.map((l) => l.pool!);
    assert.deepEqual(http!.members.map((m) => [m.address.text, m.port, m.weight, m.enabled]), [
      ['198.51.100.21', 8080, 1, true],
      ['198.51.100.22', 8080, 2, true],
      ['198.51.100.23', 8080, 1, false],
    ]);
    assert.deepEqual(http!.healthMonitor, { type: 'HTTP', delay: 5, timeout: 3, maxRetries: 3, httpMethod: 'GET', urlPath: '/healthz', expectedCodes: '200-204', enabled: true });
    assert.equal(http!.sessionPersistence, undefined);
    assert.deepEqual(tcp!.healthMonitor, { type: 'TCP', delay: 10, timeout: 5, maxRetries: 2, httpMethod: 'GET', urlPath: '/', expectedCodes: '200', enabled: true });
    assert.deepEqual(tcp!.sessionPersistence, { type: 'SOURCE_IP', cookieName: undefined });
  });

  test("a pool without protocol or algorithm takes its listener's protocol and round robin", () => {
    const doc = loadDocument('loadbalancer-notes-8.2.json');
    const pool = doc.services.loadbalancer.listeners[1].default_pool;
    delete pool.protocol;
    delete pool.lb_algorithm;
    delete pool.members[0].weight;
    pool.session_persistence = { type: 'SOURCE_IP', cookie_name: '' };
    const model = expectValid(validateDocument(doc)).loadBalancer!.listeners[1]!.pool!;
    assert.deepEqual([model.protocol, model.algorithm, model.members[0]!.weight], ['TCP', 'ROUND_ROBIN', 1]);
    assert.deepEqual(model.sessionPersistence, { type: 'SOURCE_IP', cookieName: undefined });
  });
});

describe('load balancer: what nginx cannot do is refused, naming the field', () => {
  const LB = '/services/loadbalancer';
  const HTTP_POOL = `${LB}/listeners/0/default_pool`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const refused = (edit: (doc: any, lb: any) => void): Problem[] => {
    const doc = loadDocument('loadbalancer-notes-8.2.json');
    edit(doc, doc.services.loadbalancer);
    return expectErrors(validateDocument(doc));
  };

  test('two listeners on one port', () => {
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[1].protocol_port = 80)), [
      { path: `${LB}/listeners/1/protocol_port`, message: 'port 80 is already used by listener 0' },
    ]);
  });

  test('a member no network of the document reaches, and one on the management network', () => {
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.members[0].address = '203.0.113.7')), [
      { path: `${HTTP_POOL}/members/0/address`, message: "203.0.113.7 is inside no subnet of the appliance's networks and no route of the document leads to it" },
    ]);
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.members[0].address = 'fdca:3ba5:a17a:acda::1')), [
      { path: `${HTTP_POOL}/members/0/address`, message: 'fdca:3ba5:a17a:acda::1 is on the management network (/networks/1): members are reached through the tenant-facing networks only' },
    ]);
  });

  test('a member behind a static route, or behind the default route, is reachable; a route through the management network does not count', () => {
    const behindRoute = loadDocument('loadbalancer-notes-8.2.json');
    behindRoute.static_routes = [{ destination: '203.0.113.0/24', next_hop: '198.51.100.1' }];
    behindRoute.services.loadbalancer.listeners[0].default_pool.members[0].address = '203.0.113.7';
    expectValid(validateDocument(behindRoute));

    const throughManagement = loadDocument('loadbalancer-notes-8.2.json');
    throughManagement.static_routes = [{ destination: '2001:db8:77::/64', next_hop: 'fdca:3ba5:a17a:acda::1' }];
    throughManagement.services.loadbalancer.listeners[0].default_pool.members[0].address = '2001:db8:77::7';
    assert.deepEqual(paths(expectErrors(validateDocument(throughManagement))), [`${HTTP_POOL}/members/0/address`]);
  });

  test("a member at the appliance's own address, or the same address and port twice in a pool", () => {
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.members[0].address = '198.51.100.10')), [
      { path: `${HTTP_POOL}/members/0/address`, message: "198.51.100.10 is the appliance's own address (/networks/0/interface/addresses/0): the load balancer would proxy to itself" },
    ]);
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.members[1].address = '198.51.100.21')), [
      { path: `${HTTP_POOL}/members/1/address`, message: `198.51.100.21 port 8080 is already ${HTTP_POOL}/members/0` },
    ]);
  });

  test('cookie persistence types are refused (nginx open source has no sticky cookies)', () => {
    for (const type of ['HTTP_COOKIE', 'APP_COOKIE']) {
      assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.session_persistence = { type, cookie_name: 'session' })), [
        { path: `${HTTP_POOL}/session_persistence/type`, message: `${type} persistence needs sticky cookies, which nginx's open-source build does not have; use SOURCE_IP or no persistence` },
      ]);
    }
  });

  test('a listener and a pool whose protocols nginx cannot join', () => {
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.protocol = 'TCP')), [
      { path: `${HTTP_POOL}/protocol`, message: 'a HTTP listener cannot carry a TCP pool (it carries HTTP)' },
    ]);
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.protocol = 'HTTPS')), [
      { path: `${HTTP_POOL}/protocol`, message: 'a HTTP listener cannot carry a HTTPS pool (it carries HTTP)' },
    ]);
    assert.deepEqual(refused((_doc, lb) => {
      lb.listeners[1].protocol = 'HTTPS';
      lb.listeners[1].default_pool.protocol = 'HTTP';
    }), [{ path: `${LB}/listeners/1/default_pool/protocol`, message: 'a HTTPS listener cannot carry a HTTP pool (it carries HTTPS or TCP)' }]);
    // A TCP listener passes bytes: any pool; HTTPS is passed through to HTTPS or TCP members.
    const doc = loadDocument('loadbalancer-notes-8.2.json');
    doc.services.loadbalancer.listeners[1].default_pool.protocol = 'HTTP';
    expectValid(validateDocument(doc));
    doc.services.loadbalancer.listeners[1].protocol = 'HTTPS';
    doc.services.loadbalancer.listeners[1].default_pool.protocol = 'TCP';
    expectValid(validateDocument(doc));
  });

  test('a VIP that is not on the loadbalancer network', () => {
    assert.deepEqual(refused((_doc, lb) => (lb.vip_address = 'fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf20')), [
      { path: `${LB}/vip_address`, message: 'fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf20 is an address of /networks/1, a management network: the VIP must be on the loadbalancer network' },
    ]);
    assert.deepEqual(refused((_doc, lb) => (lb.vip_address = '198.51.100.11')), [
      { path: `${LB}/vip_address`, message: '198.51.100.11 is not an address of any configured interface' },
    ]);
  });

  test('a monitor whose timeout is longer than its delay', () => {
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.timeout = 6)), [
      { path: `${HTTP_POOL}/healthmonitor/timeout`, message: '6 s is longer than the delay of 5 s between probes: a probe would still be waiting when the next is due' },
    ]);
  });

  test('expected_codes: one code, a list or one range', () => {
    for (const codes of ['200', '200,202', '200-204', '200-200']) {
      const doc = loadDocument('loadbalancer-notes-8.2.json');
      doc.services.loadbalancer.listeners[0].default_pool.healthmonitor.expected_codes = codes;
      expectValid(validateDocument(doc));
    }
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.expected_codes = '200,202-204')), [
      { path: `${HTTP_POOL}/healthmonitor/expected_codes`, message: 'must be one status code (200), a comma-separated list (200,202) or one range (200-204)' },
    ]);
    assert.deepEqual(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.expected_codes = '204-200')), [
      { path: `${HTTP_POOL}/healthmonitor/expected_codes`, message: '204-200 is an empty range' },
    ]);
    assert.deepEqual(paths(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.expected_codes = '2xx'))), [`${HTTP_POOL}/healthmonitor/expected_codes`]);
  });

  test('url_path: a plain absolute path, with an optional query', () => {
    for (const path of ['/', '/healthz', '/status/live?full=1', '/a%20b']) {
      const doc = loadDocument('loadbalancer-notes-8.2.json');
      doc.services.loadbalancer.listeners[0].default_pool.healthmonitor.url_path = path;
      expectValid(validateDocument(doc));
    }
    const problem = (path: string) => refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.url_path = path));
    assert.deepEqual(problem('//evil.example/x'), [{ path: `${HTTP_POOL}/healthmonitor/url_path`, message: 'must not start with "//": that names a host, not a path' }]);
    assert.deepEqual(problem('/a/../admin'), [{ path: `${HTTP_POOL}/healthmonitor/url_path`, message: 'must not contain "." or ".." segments' }]);
    assert.deepEqual(problem('/a%2'), [{ path: `${HTTP_POOL}/healthmonitor/url_path`, message: 'has a "%" that is not followed by two hexadecimal digits' }]);
    for (const path of ['healthz', '/health check', '/x\r\nHost: evil', '/a;b', '/{x}']) {
      assert.deepEqual(paths(problem(path)), [`${HTTP_POOL}/healthmonitor/url_path`], path);
    }
  });

  test('http_method: one of the standard methods', () => {
    assert.deepEqual(paths(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.http_method = 'FETCH'))), [`${HTTP_POOL}/healthmonitor/http_method`]);
    assert.deepEqual(paths(refused((_doc, lb) => (lb.listeners[0].default_pool.healthmonitor.http_method = 'get'))), [`${HTTP_POOL}/healthmonitor/http_method`]);
  });

  test('duplicate listener, pool and member ids', () => {
    assert.deepEqual(refused((_doc, lb) => {
      lb.listeners[1].id = lb.listeners[0].id;
    }), [{ path: `${LB}/listeners/1/id`, message: `duplicates ${LB}/listeners/0/id` }]);
    assert.deepEqual(refused((_doc, lb) => {
      lb.listeners[1].default_pool.id = lb.listeners[0].default_pool.id;
    }), [
      { path: `${LB}/listeners/1/default_pool/id`, message: `pool e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06 is already the default pool of ${LB}/listeners/0: a pool serves one listener` },
    ]);
    assert.deepEqual(refused((_doc, lb) => {
      lb.listeners[0].default_pool.members[1].id = lb.listeners[0].default_pool.members[0].id;
    }), [
      { path: `${HTTP_POOL}/members/1/id`, message: `duplicates ${HTTP_POOL}/members/0/id` },
    ]);
  });

  test('names and ids that could start an nginx directive never pass the schema', () => {
    const bad = ['web;', 'web}', 'x\nreturn 200', "a'b", 'a"b', 'a#b', '$host'];
    for (const name of bad) {
      assert.deepEqual(paths(refused((_doc, lb) => (lb.listeners[0].name = name))), [`${LB}/listeners/0/name`], name);
      assert.deepEqual(paths(refused((_doc, lb) => (lb.listeners[0].id = name))), [`${LB}/listeners/0/id`], name);
    }
  });
});

describe('a memo of the last document: only changed networks are built again', () => {
  const fresh = (doc: unknown, host?: HostFacts) => expectValid(validateDocument(structuredClone(doc), host));

  test('an unchanged network is the very model the last document built, and the whole model equals a fresh one', () => {
    const memo = new ValidationMemo();
    const first = expectValid(validateDocument(loadDocument('harness-router.json'), harnessHost, memo));
    const next = loadDocument('harness-router.json');
    next.networks[3].allocations[0].hostname = 'renamed';
    const second = expectValid(validateDocument(structuredClone(next), harnessHost, memo));
    assert.deepEqual(
      second.networks.map((n, i) => n === first.networks[i]),
      [true, true, true, false],
    );
    assert.deepEqual(second, fresh(next, harnessHost));
  });

  test('a network is built again when its place or the host facts change', () => {
    const memo = new ValidationMemo();
    const first = expectValid(validateDocument(loadDocument('harness-router.json'), harnessHost, memo));
    const otherHost: HostFacts = { interfaces: new Map([...harnessHost.interfaces, ['ge9', '02:00:00:00:01:09']]) };
    const second = expectValid(validateDocument(loadDocument('harness-router.json'), otherHost, memo));
    assert.ok(second.networks.every((n, i) => n !== first.networks[i]));
    const swapped = loadDocument('harness-router.json');
    swapped.networks = [swapped.networks[0], swapped.networks[1], swapped.networks[3], swapped.networks[2]];
    const third = expectValid(validateDocument(swapped, otherHost, memo));
    assert.deepEqual(
      third.networks.map((n, i) => n === second.networks[i]),
      [true, true, false, false],
    );
  });

  test('a network that raised a warning is never reused: the warning comes every time', () => {
    const memo = new ValidationMemo();
    const doc = loadDocument('harness-router.json');
    doc.networks[2].address_allocations = [];
    for (let i = 0; i < 2; i++) {
      const result = validateDocument(structuredClone(doc), harnessHost, memo);
      expectValid(result);
      assert.deepEqual(result.warnings.map((w) => w.path), ['/networks/2/address_allocations']);
    }
  });

  test('a refused document changes nothing the next one reuses', () => {
    const memo = new ValidationMemo();
    const first = expectValid(validateDocument(loadDocument('harness-router.json'), harnessHost, memo));
    const bad = loadDocument('harness-router.json');
    bad.networks[2].subnets[0].gateway_ip = '192.0.2.1';
    assert.equal(validateDocument(bad, harnessHost, memo).ok, false);
    const again = expectValid(validateDocument(loadDocument('harness-router.json'), harnessHost, memo));
    assert.ok(again.networks.every((n, i) => n === first.networks[i]));
  });
});
