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
import { defaultGateways, DEFAULT_ASN, DEFAULT_HA_PRIORITY, DEFAULT_METADATA_ADDRESS, DEFAULT_METADATA_PORT } from './model.js';
import { unwrapDocument, validateDocument, type HostFacts, type Problem, type ValidationResult } from './validate.js';
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
    assert.equal(vpn.vpn[0]!.ipsec_connections[0]!.peer_address, '203.0.113.20');
    const lb = expectValid(validateDocument(loadDocument('loadbalancer-notes-8.2.json')));
    assert.equal(lb.loadBalancer?.vip_address, '198.51.100.10');
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
