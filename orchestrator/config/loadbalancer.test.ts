import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateDocument, type Configuration } from '../../contract/index.js';
import type { NetworkDetail, NeutronPort, NeutronSubnet } from '../model/neutron.js';
import type { LoadBalancerDetail, OctaviaHealthMonitor, OctaviaMember } from '../model/octavia.js';
import { MissingInterfaceError } from './common.js';
import { buildLoadBalancerConfig, loadBalancerHostname, type LoadBalancerConfigInput } from './loadbalancer.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'documents');
const readFixture = async (name: string) => JSON.parse(await readFile(join(fixtures, name), 'utf8')) as Configuration;

// The facts of the notes 8.2 example (test/fixtures/documents/loadbalancer-notes-8.2.json).
const TENANT = 'd0c5a1b2c3d44e5f8a9b0c1d2e3f4a5b';
const LB_ID = '8e2d4c6a-0b1f-4d3e-9a5c-7e9f1b3d5a01';
const MGT_NET = '698ef1d1-5e4b-4ba8-8d2b-7d0b7e0c1a01';
const MGT_SUBNET = 'c1a7d0a4-31b2-4b7e-9a55-0d8f3c1e2a01';
const VIP_NET = '6f8a0c2e-4b6d-4f8a-9c0e-2b4d6f8a0c03';
const VIP_SUBNET = 'b7c9e1f3-5a7b-4c9d-8e1f-3a5b7c9d1e02';
const HTTP_POOL = 'e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06';
const DB_POOL = 'f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12';

function subnet(id: string, networkId: string, cidr: string, gateway: string, extra: Partial<NeutronSubnet> = {}): NeutronSubnet {
  return { id, network_id: networkId, cidr, ip_version: cidr.includes(':') ? 6 : 4, gateway_ip: gateway, enable_dhcp: true, dns_nameservers: [], host_routes: [], ...extra };
}

const managementPort: NeutronPort = {
  id: 'mgt-port',
  network_id: MGT_NET,
  name: `ASTARA:MGT:${LB_ID}`,
  mac_address: 'fa:16:3e:4d:bf:20',
  fixed_ips: [{ subnet_id: MGT_SUBNET, ip_address: 'fdca:3ba5:a17a:acda:f816:3eff:fe4d:bf20' }],
  device_id: LB_ID,
  device_owner: 'network:astara',
};

// Key order as Neutron lists them; `status` is a Neutron field the model does not type but passes through.
const vipPort = {
  id: 'a3c5e7f9-1b3d-4f5a-8c7e-9f1b3d5f7a04',
  name: `loadbalancer-${LB_ID}`,
  network_id: VIP_NET,
  tenant_id: TENANT,
  mac_address: 'fa:16:3e:6a:01:10',
  admin_state_up: true,
  device_id: LB_ID,
  device_owner: 'neutron:LOADBALANCERV2',
  fixed_ips: [{ subnet_id: VIP_SUBNET, ip_address: '198.51.100.10' }],
  status: 'ACTIVE',
} as NeutronPort;

const vipSubnet = subnet(VIP_SUBNET, VIP_NET, '198.51.100.0/24', '198.51.100.1', { name: 'lb-members', dns_nameservers: ['192.0.2.53'] });

const networks = new Map<string, NetworkDetail>([
  [MGT_NET, { network: { id: MGT_NET, mtu: 1450 }, subnets: [subnet(MGT_SUBNET, MGT_NET, 'fdca:3ba5:a17a:acda::/64', 'fdca:3ba5:a17a:acda::1', { enable_dhcp: false })] }],
  [VIP_NET, { network: { id: VIP_NET, mtu: null }, subnets: [vipSubnet] }],
]);

const member = (id: string, poolId: string, address: string, port: number, weight: number, up = true): OctaviaMember => ({
  id,
  pool_id: poolId,
  tenant_id: TENANT,
  admin_state_up: up,
  address,
  protocol_port: port,
  weight,
  subnet_id: VIP_SUBNET,
});

const httpMonitor: OctaviaHealthMonitor = {
  id: 'f9b1d3e5-7a9c-4e1f-9b5d-9a1c3e5a7c07',
  pool_id: HTTP_POOL,
  tenant_id: TENANT,
  admin_state_up: true,
  type: 'HTTP',
  delay: 5,
  timeout: 3,
  max_retries: 3,
  http_method: 'GET',
  url_path: '/healthz',
  expected_codes: '200-204',
};

const detail: LoadBalancerDetail = {
  loadbalancer: {
    id: LB_ID,
    tenant_id: TENANT,
    name: 'web-lb',
    admin_state_up: true,
    vip_address: '198.51.100.10',
    vip_network_id: VIP_NET,
    vip_subnet_id: VIP_SUBNET,
    vip_port_id: vipPort.id,
    provisioning_status: 'ACTIVE',
    operating_status: 'ONLINE',
  },
  vipPort,
  listeners: [
    {
      id: 'c5e7a9b1-3d5f-4a7c-9e1b-5d7f9b1d3f05',
      loadbalancer_id: LB_ID,
      tenant_id: TENANT,
      name: 'http',
      admin_state_up: true,
      protocol: 'HTTP',
      protocol_port: 80,
      default_pool_id: HTTP_POOL,
      connection_limit: -1,
    },
    {
      id: 'd6f8b0c2-4e6a-4b8d-8f2c-6e8a0c2e4a11',
      loadbalancer_id: LB_ID,
      tenant_id: TENANT,
      name: 'tcp-db',
      admin_state_up: true,
      protocol: 'TCP',
      protocol_port: 5432,
      default_pool_id: DB_POOL,
      connection_limit: -1,
    },
  ],
  pools: [
    {
      id: HTTP_POOL,
      loadbalancer_id: LB_ID,
      tenant_id: TENANT,
      name: 'web-pool',
      admin_state_up: true,
      protocol: 'HTTP',
      lb_algorithm: 'ROUND_ROBIN',
      session_persistence: null,
      healthmonitor_id: httpMonitor.id,
    },
    {
      id: DB_POOL,
      loadbalancer_id: LB_ID,
      tenant_id: TENANT,
      name: 'db-pool',
      admin_state_up: true,
      protocol: 'TCP',
      lb_algorithm: 'LEAST_CONNECTIONS',
      session_persistence: { type: 'SOURCE_IP', cookie_name: null },
      healthmonitor_id: '0c2e4f6a-8b0d-4e2a-8d6f-0c2e4a6b8d13',
    },
  ],
  members: [
    member('0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08', HTTP_POOL, '198.51.100.21', 8080, 1),
    member('1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14', DB_POOL, '198.51.100.31', 5432, 1),
    member('1b3d5f7a-9c1e-4a3b-9d7f-1c3e5a7b9d09', HTTP_POOL, '198.51.100.22', 8080, 2),
    member('2c4e6a8b-0d2f-4b4c-8e9a-2d4f6b8c0e10', HTTP_POOL, '198.51.100.23', 8080, 1, false),
  ],
  healthmonitors: [
    { id: '0c2e4f6a-8b0d-4e2a-8d6f-0c2e4a6b8d13', pool_id: DB_POOL, tenant_id: TENANT, admin_state_up: true, type: 'TCP', delay: 10, timeout: 5, max_retries: 2 },
    httpMonitor,
  ],
  subnets: [vipSubnet],
};

function input(overrides: Partial<LoadBalancerConfigInput> = {}): LoadBalancerConfigInput {
  return { detail, managementPort, networks, interfaceMap: new Map([[MGT_NET, 'ge0'], [VIP_NET, 'ge1']]), ...overrides };
}

function assertValid(document: Configuration): void {
  const result = validateDocument(document);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
}

describe('buildLoadBalancerConfig', () => {
  it('builds the notes 8.2 example, keys in the original order, and the agent contract accepts it', async () => {
    const expected = await readFixture('loadbalancer-notes-8.2.json');
    const built = buildLoadBalancerConfig(input());
    assert.deepEqual(built, expected);
    assert.equal(JSON.stringify(built), JSON.stringify(expected));
    assertValid(built);
  });

  it('gives children without a tenant the load balancer\'s, and a listener without a default pool a null pool', () => {
    const { tenant_id: _tenant, ...untenanted } = detail.listeners[0]!;
    const built = buildLoadBalancerConfig(input({ detail: { ...detail, listeners: [{ ...untenanted, default_pool_id: null }] } }));
    assert.deepEqual(built.services?.loadbalancer?.listeners, [
      { id: untenanted.id, tenant_id: TENANT, name: 'http', admin_state_up: true, protocol: 'HTTP', protocol_port: 80, default_pool: null },
    ]);
    assertValid(built);
  });

  it('leaves out the status the cloud did not give, and writes the VIP in canonical form', () => {
    const { provisioning_status: _status, ...lb } = detail.loadbalancer;
    const v6 = buildLoadBalancerConfig(input({ detail: { ...detail, loadbalancer: { ...lb, vip_address: '2001:DB8:0:0::10' } } }));
    assert.equal(Object.hasOwn(v6.services!.loadbalancer!, 'status'), false);
    assert.equal(v6.services?.loadbalancer?.vip_address, '2001:db8::10');
  });

  it('needs an interface on the VIP network and on the management network', () => {
    assert.throws(
      () => buildLoadBalancerConfig(input({ interfaceMap: new Map([[MGT_NET, 'ge0']]) })),
      (error: unknown) => error instanceof MissingInterfaceError && error.networkIds.join() === VIP_NET,
    );
  });

  it('names a default pool that is not among the load balancer\'s pools', () => {
    assert.throws(() => buildLoadBalancerConfig(input({ detail: { ...detail, pools: detail.pools.slice(1) } })), /listener c5e7a9b1-.*: default pool e7a9c1d3-.* is not a pool of its load balancer/);
  });

  it('names the appliance after the tenant, as a host name label', () => {
    assert.equal(loadBalancerHostname(TENANT), `ak-loadbalancer-${TENANT}`);
    assert.equal(loadBalancerHostname('tenant_a.b'), 'ak-loadbalancer-tenant-a-b');
    assert.equal(loadBalancerHostname('x'.repeat(80)).length, 63);
  });
});
