import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { validateDocument, type Configuration } from '../../contract/index.js';
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  type NetworkDetail,
  type NeutronPort,
  type NeutronSubnet,
  type RouterDetail,
} from '../model/neutron.js';
import { MissingInterfaceError } from './common.js';
import { applianceHostname, buildRouterConfig, loadProviderRules, type RouterConfigInput } from './router.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'documents');
const readFixture = async (name: string) => JSON.parse(await readFile(join(fixtures, name), 'utf8')) as Configuration;

const ROUTER_ID = '5f2e7c1a-0b3d-4e6f-8a9b-0c1d2e3f4a05';
const TENANT = 'c25992581e574b6485dbfdf39a3df46c';
const MGT_NET = '698ef1d1-5e4b-4ba8-8d2b-7d0b7e0c1a01';
const EXT_NET = '1e109e80-4a2a-4c5b-8b6e-2f4c2b9a0e02';
const INT_NET = 'a1ea2256-9f3c-4d8e-b7a6-3c5d7e9f1a03';
const GUEST = 'c72a34fb-5a4d-4d2e-8f1c-9b8a7c6d5e04';

function subnet(id: string, networkId: string, cidr: string, gateway: string | null, extra: Partial<NeutronSubnet> = {}): NeutronSubnet {
  return {
    id,
    network_id: networkId,
    cidr,
    ip_version: cidr.includes(':') ? 6 : 4,
    gateway_ip: gateway,
    enable_dhcp: true,
    dns_nameservers: [],
    host_routes: [],
    ipv6_ra_mode: null,
    ipv6_address_mode: null,
    ...extra,
  };
}

function port(id: string, networkId: string, mac: string, ips: [string, string][], extra: Partial<NeutronPort> = {}): NeutronPort {
  return {
    id,
    network_id: networkId,
    mac_address: mac,
    fixed_ips: ips.map(([subnetId, address]) => ({ subnet_id: subnetId, ip_address: address })),
    device_id: ROUTER_ID,
    device_owner: ROUTER_INTERFACE_OWNER,
    ...extra,
  };
}

const managementPort = port('mgt-port', MGT_NET, 'fa:16:3e:4d:bf:12', [['c1a7d0a4-31b2-4b7e-9a55-0d8f3c1e2a01', 'fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf12']], {
  name: `ASTARA:MGT:${ROUTER_ID}`,
  device_owner: 'network:astara',
});
const gatewayPort = port(
  'gw-port',
  EXT_NET,
  'fa:16:3e:e5:17:42',
  [
    ['e4b2c8d6-7f1a-4e3b-9c0d-1a2b3c4d5e02', '192.0.2.2'],
    ['ext-v6', '2001:db8:ee00:0:f816:3eff:fee5:1742'],
  ],
  { device_owner: ROUTER_GATEWAY_OWNER },
);
const interfacePort = port('if-port', INT_NET, 'fa:16:3e:aa:00:01', [
  ['s4', '198.51.100.1'],
  ['s6', 'fd00:6c94::1'],
]);
const guestPort = port(
  'guest-port',
  INT_NET,
  'fa:16:3e:1b:93:76',
  [
    ['s4', '198.51.100.3'],
    ['s6', 'fd00:6c94::f816:3eff:fe1b:9376'],
  ],
  { device_id: GUEST, device_owner: 'compute:nova' },
);

const networks = new Map<string, NetworkDetail>([
  [
    MGT_NET,
    {
      network: { id: MGT_NET, mtu: 1450 },
      subnets: [subnet('c1a7d0a4-31b2-4b7e-9a55-0d8f3c1e2a01', MGT_NET, 'fdca:3ba5:a17a:acda::/64', 'fdca:3ba5:a17a:acda::1', { enable_dhcp: false })],
    },
  ],
  [
    EXT_NET,
    {
      network: { id: EXT_NET, 'router:external': true, mtu: null },
      subnets: [
        subnet('e4b2c8d6-7f1a-4e3b-9c0d-1a2b3c4d5e02', EXT_NET, '192.0.2.0/24', '192.0.2.1'),
        subnet('ext-v6', EXT_NET, '2001:db8:ee00::/48', '2001:db8:ee00::1', { enable_dhcp: false }),
      ],
    },
  ],
  [
    INT_NET,
    {
      network: { id: INT_NET },
      subnets: [
        subnet('s4', INT_NET, '198.51.100.0/24', '198.51.100.1', { dns_nameservers: ['192.0.2.53'] }),
        subnet('s6', INT_NET, 'fd00:6c94::/64', 'fd00:6c94::1', { enable_dhcp: false }),
      ],
    },
  ],
]);

const detail: RouterDetail = {
  router: { id: ROUTER_ID, tenant_id: TENANT, external_gateway_info: { network_id: EXT_NET }, ha: false },
  gatewayPort,
  interfaces: [interfacePort],
  floatingIps: [
    { id: 'fip-1', floating_ip_address: '192.0.2.50', floating_network_id: EXT_NET, port_id: 'guest-port', fixed_ip_address: '198.51.100.3', router_id: ROUTER_ID },
    { id: 'fip-2', floating_ip_address: '192.0.2.51', floating_network_id: EXT_NET, port_id: null, fixed_ip_address: null, router_id: ROUTER_ID },
  ],
};

function input(overrides: Partial<RouterConfigInput> = {}): RouterConfigInput {
  return {
    detail,
    managementPort,
    networks,
    networkPorts: new Map([
      [
        INT_NET,
        [
          guestPort,
          port('vrrp-port', INT_NET, 'fa:16:3e:aa:00:02', [['s4', '198.51.100.2']], { name: `ASTARA:VRRP:${ROUTER_ID}`, device_owner: 'network:astara' }),
          port('lb-port', INT_NET, 'fa:16:3e:aa:00:03', [['s4', '198.51.100.4']], { name: 'ASTARA:LB:lb-1' }),
          port('bare-port', INT_NET, 'fa:16:3e:aa:00:04', [], { device_owner: 'compute:nova' }),
        ],
      ],
    ]),
    interfaceMap: new Map([
      [MGT_NET, 'ge0'],
      [EXT_NET, 'ge1'],
      [INT_NET, 'ge2'],
    ]),
    asn: 64512,
    neighborAsn: 64512,
    labels: { ext: ['203.0.113.0/24'] },
    orchestrator: { address: 'fdca:3ba5:a17a:acda:f816:3eff:fe2b:ced0', metadata_port: 9697, host: 'orch-1' },
    ...overrides,
  };
}

/**
 * The fixture (the notes' example) gives the gateway port an IPv6 address
 * with a /48 but lists only the IPv4 subnet of the external network; a
 * document built from Neutron lists every subnet of the network, so the
 * expected document has the /48 subnet too.
 */
function withExternalV6Subnet(document: Configuration): Configuration {
  const expected = structuredClone(document);
  expected.networks?.[1]?.subnets?.push({
    id: 'ext-v6',
    cidr: '2001:db8:ee00::/48',
    dhcp_enabled: false,
    dns_nameservers: [],
    host_routes: [],
    gateway_ip: '2001:db8:ee00::1',
  });
  return expected;
}

function assertValid(document: Configuration): void {
  const result = validateDocument(document);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
}

describe('buildRouterConfig', () => {
  it('builds the notes 8.1 example, keys in the original order, and the agent contract accepts it', async () => {
    const expected = withExternalV6Subnet(await readFixture('router-notes-8.1.json'));
    const built = buildRouterConfig(input());
    assert.deepEqual(built, expected);
    assert.equal(JSON.stringify(built), JSON.stringify(expected));
    assertValid(built);
  });

  it('builds the HA variant with ha_config last', async () => {
    const expected = withExternalV6Subnet(await readFixture('router-notes-8.1-ha.json'));
    const built = buildRouterConfig(
      input({ detail: { ...detail, router: { ...detail.router, ha: true } }, haConfig: { peers: ['fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf13'], priority: 100 } }),
    );
    assert.equal(JSON.stringify(built), JSON.stringify(expected));
    assertValid(built);
  });

  it('makes ha_resource from the peering, not from the router: an ha router not (yet) a pair gets a single-appliance document', () => {
    const built = buildRouterConfig(input({ detail: { ...detail, router: { ...detail.router, ha: true } } }));
    assert.equal(built.ha_resource, false);
    assert.equal('ha_config' in built, false);
    assertValid(built);
    const member = buildRouterConfig(input({ haConfig: { peers: ['fdca:3ba5:a17a:acda::7'], priority: 50 } }));
    assert.equal(member.ha_resource, true);
    assert.deepEqual(member.ha_config, { peers: ['fdca:3ba5:a17a:acda::7'], priority: 50 });
    assertValid(member);
  });

  it('takes the default IPv4 gateway from the external subnet holding an external IPv4 address', () => {
    const twoSubnets = new Map(networks);
    twoSubnets.set(EXT_NET, {
      network: { id: EXT_NET },
      subnets: [
        subnet('ext-a', EXT_NET, '203.0.113.0/25', '203.0.113.1'),
        subnet('ext-b', EXT_NET, '192.0.2.0/24', '192.0.2.1'),
        subnet('ext-c', EXT_NET, '203.0.113.128/25', '203.0.113.129'),
      ],
    });
    const withPort = (ips: [string, string][]) =>
      buildRouterConfig(input({ networks: twoSubnets, detail: { ...detail, gatewayPort: { ...gatewayPort, fixed_ips: ips.map(([s, a]) => ({ subnet_id: s, ip_address: a })) } } }));

    assert.equal(withPort([['ext-b', '192.0.2.9']]).default_v4_gateway, '192.0.2.1');
    // With several IPv4 addresses the first subnet, in the network's order, that holds one wins.
    assert.equal(withPort([['ext-c', '203.0.113.130'], ['ext-b', '192.0.2.9']]).default_v4_gateway, '192.0.2.1');
    assert.equal(withPort([['ext-c', '203.0.113.130'], ['ext-a', '203.0.113.5']]).default_v4_gateway, '203.0.113.1');
    assert.equal(withPort([]).default_v4_gateway, '');
    assert.equal(buildRouterConfig(input({ detail: { ...detail, gatewayPort: undefined } })).default_v4_gateway, '');
  });

  it('has no default IPv4 gateway when the external interface has only IPv6', () => {
    const built = buildRouterConfig(input({ detail: { ...detail, gatewayPort: { ...gatewayPort, fixed_ips: [{ subnet_id: 'ext-v6', ip_address: '2001:db8:ee00::5' }] } } }));
    assert.equal(built.default_v4_gateway, '');
    assertValid(built);
  });

  it('turns DHCP off for SLAAC subnets but keeps enable_dhcp for the allocation', () => {
    const slaac = new Map(networks);
    slaac.set(INT_NET, {
      network: { id: INT_NET },
      subnets: [
        subnet('s4', INT_NET, '198.51.100.0/24', '198.51.100.1'),
        subnet('s6', INT_NET, 'fd00:6c94::/64', 'fd00:6c94::1', { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' }),
        subnet('s6-stateful', INT_NET, 'fd00:6c95::/64', 'fd00:6c95::1', { ipv6_ra_mode: 'dhcpv6-stateful' }),
      ],
    });
    const internal = buildRouterConfig(input({ networks: slaac })).networks?.[2];
    assert.deepEqual(
      internal?.subnets?.map((s) => [s.id, s.dhcp_enabled]),
      [
        ['s4', true],
        ['s6', false],
        ['s6-stateful', true],
      ],
    );
    assert.deepEqual(internal?.allocations?.[0]?.ip_addresses, { '198.51.100.3': true, 'fd00:6c94::f816:3eff:fe1b:9376': true });
  });

  it('allocates every addressed port but the VRRP and LB ones, MGT ports included', () => {
    const mgt = port('other-mgt', INT_NET, 'fa:16:3e:aa:00:05', [['s4', '198.51.100.5']], { name: 'ASTARA:MGT:other', device_id: 'other' });
    const dhcp = port('dhcp', INT_NET, 'fa:16:3e:aa:00:06', [['s4', '198.51.100.6']], { device_id: 'dhcp-1', device_owner: 'network:dhcp' });
    const built = buildRouterConfig(input({ networkPorts: new Map([[INT_NET, [interfacePort, mgt, dhcp, ...(input().networkPorts.get(INT_NET) ?? [])]]]) }));
    assert.deepEqual(
      built.networks?.[2]?.allocations?.map((a) => a.mac_address),
      ['fa:16:3e:aa:00:01', 'fa:16:3e:aa:00:05', 'fa:16:3e:aa:00:06', 'fa:16:3e:1b:93:76'],
    );
    assert.deepEqual(
      built.networks?.slice(0, 2).map((n) => n.allocations),
      [[], []],
    );
    assertValid(built);
  });

  it('names an allocation after its first address in sorted order', () => {
    const v6First = port('v6', INT_NET, 'fa:16:3e:aa:00:07', [
      ['s6', 'fd00:6c94::7'],
      ['s4', '198.51.100.7'],
    ]);
    const v6Only = port('v6-only', INT_NET, 'fa:16:3e:aa:00:08', [['s6', 'FD00:6C94:0::8']]);
    const allocations = buildRouterConfig(input({ networkPorts: new Map([[INT_NET, [v6First, v6Only]]]) })).networks?.[2]?.allocations;
    assert.deepEqual(
      allocations?.map((a) => a.hostname),
      ['198-51-100-7.local', 'fd00-6c94--8.local'],
    );
    assert.deepEqual(allocations?.[1]?.ip_addresses, { 'fd00:6c94::8': false });
  });

  it('puts mtu on the interface only when the network sets one', () => {
    const built = buildRouterConfig(input());
    assert.deepEqual(built.networks?.[0]?.interface.mtu, 1450);
    assert.equal(built.networks?.[0]?.mtu, 1450);
    for (const network of built.networks?.slice(1) ?? []) {
      assert.ok(!('mtu' in network.interface), network.network_id);
      assert.equal(network.mtu, null);
    }
  });

  it('keeps internal networks in the order of the router interfaces', () => {
    const second = '0b5d8f2e-1c3a-4e5f-9a7b-6c8d0e2f4a06';
    const secondPort = port('if-2', second, 'fa:16:3e:aa:01:01', [['s-2', '203.0.113.1']]);
    const more = new Map(networks);
    more.set(second, { network: { id: second }, subnets: [subnet('s-2', second, '203.0.113.0/24', '203.0.113.1')] });
    const built = buildRouterConfig(
      input({
        detail: { ...detail, interfaces: [secondPort, interfacePort] },
        networks: more,
        interfaceMap: new Map([...input().interfaceMap, [second, 'ge3']]),
      }),
    );
    assert.deepEqual(
      built.networks?.map((n) => [n.network_type, n.interface.ifname]),
      [
        ['management', 'ge0'],
        ['external', 'ge1'],
        ['internal', 'ge3'],
        ['internal', 'ge2'],
      ],
    );
    assert.deepEqual(built.networks?.[2]?.allocations, []);
  });

  it('names every network the appliance has no interface on', () => {
    assert.throws(
      () => buildRouterConfig(input({ interfaceMap: new Map([[MGT_NET, 'ge0']]) })),
      (error: unknown) => error instanceof MissingInterfaceError && error.networkIds.join() === `${EXT_NET},${INT_NET}` && error.message.includes(INT_NET),
    );
  });

  it('refuses a port address on a subnet its network does not have', () => {
    const stray = { ...interfacePort, fixed_ips: [{ subnet_id: 'gone', ip_address: '198.51.100.1' }] };
    assert.throws(() => buildRouterConfig(input({ detail: { ...detail, interfaces: [stray] } })), /subnet gone/);
  });
});

describe('loadProviderRules', () => {
  const capture = () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
          done();
        },
      }),
    );
    return { logger, lines };
  };

  it('reads the labels, and gives {} with the reason logged when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-rules-'));
    try {
      const { logger, lines } = capture();
      const file = join(dir, 'provider_rules.json');
      await writeFile(file, JSON.stringify({ labels: { ext: ['203.0.113.0/24'] }, prerules: [], postrules: [] }));
      assert.deepEqual(await loadProviderRules(file, logger), { ext: ['203.0.113.0/24'] });

      assert.deepEqual(await loadProviderRules(join(dir, 'missing.json'), logger), {});
      await writeFile(file, '{"labels": ');
      assert.deepEqual(await loadProviderRules(file, logger), {});
      await writeFile(file, '{"labels": {"ext": "203.0.113.0/24"}}');
      assert.deepEqual(await loadProviderRules(file, logger), {});
      assert.deepEqual(
        lines.map((l) => l.msg),
        [
          'no provider rules file: no labels',
          'the provider rules file is not JSON: no labels',
          'the labels of the provider rules file are not an object of lists of networks: no labels',
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the appliance host name', () => {
  it('is ak-<tenant id>, with what a host name may not hold replaced, and at most one label long', () => {
    assert.equal(applianceHostname('c25992581e574b6485dbfdf39a3df46c'), 'ak-c25992581e574b6485dbfdf39a3df46c');
    assert.equal(applianceHostname('tenant_a.b:c'), 'ak-tenant-a-b-c');
    assert.equal(applianceHostname(`${'x'.repeat(59)}_y`), `ak-${'x'.repeat(59)}`);
    const document = validateDocument({ tenant_id: 'tenant_a', hostname: applianceHostname('tenant_a') });
    assert.ok(document.ok, JSON.stringify(document));
  });
});
