import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ROUTER_INTERFACE_OWNER, type NeutronPort, type NeutronRouter, type NovaServer } from '../model/neutron.js';
import type { ResourceView } from '../providers/local/view.js';
import type { MetadataAnswer, MetadataRequest } from '../providers/types.js';
import { LocalMetadata } from './local.js';

const R1 = 'a0000000-0000-4000-8000-0000000000r1';
const R2 = 'a0000000-0000-4000-8000-0000000000r2';
const NET_A = 'b0000000-0000-4000-8000-00000000000a';
const NET_B = 'b0000000-0000-4000-8000-00000000000b';
const NET_C = 'b0000000-0000-4000-8000-00000000000c';
const INST1 = 'c0000000-0000-4000-8000-000000000001';
const INST2 = 'c0000000-0000-4000-8000-000000000002';
const INST3 = 'c0000000-0000-4000-8000-000000000003';
const INST4 = 'c0000000-0000-4000-8000-000000000004';
const APPLIANCE_R1 = 'fdca:3ba5:a17a:acda::10';
const APPLIANCE_R2 = 'fdca:3ba5:a17a:acda::20';
const APPLIANCE_GONE = 'fdca:3ba5:a17a:acda::30';

const port = (id: string, networkId: string, deviceId: string, deviceOwner: string, addresses: string[], tenant?: string): NeutronPort => ({
  id,
  network_id: networkId,
  mac_address: '02:00:00:00:00:01',
  fixed_ips: addresses.map((ip_address) => ({ subnet_id: `subnet-of-${networkId}`, ip_address })),
  device_id: deviceId,
  device_owner: deviceOwner,
  ...(tenant === undefined ? {} : { tenant_id: tenant }),
});

const ports = [
  port('r1-a', NET_A, R1, ROUTER_INTERFACE_OWNER, ['198.51.100.1']),
  port('r1-b', NET_B, R1, ROUTER_INTERFACE_OWNER, ['203.0.113.1']),
  port('r2-c', NET_C, R2, ROUTER_INTERFACE_OWNER, ['192.0.2.1']),
  port('g1', NET_A, INST1, 'compute:nova', ['198.51.100.10', 'fd00:a::10'], 'tenant-port'),
  port('g2', NET_A, INST2, 'compute:nova', ['198.51.100.11'], 'tenant-port'),
  port('g3', NET_A, INST3, 'compute:nova', ['fd00:a::13']),
  port('dhcp-a', NET_A, 'dhcp-a', 'network:dhcp', ['198.51.100.2']),
  port('g4', NET_C, INST4, 'compute:nova', ['192.0.2.10']),
];
const routers: NeutronRouter[] = [
  { id: R1, tenant_id: 'tenant-router', external_gateway_info: null },
  { id: R2, tenant_id: 'tenant-router', external_gateway_info: null },
];
const servers: NovaServer[] = [{ id: INST1, name: 'Web Server_01', project_id: 'tenant-server' }];

const view: ResourceView = {
  networks: new Map(),
  subnets: new Map(),
  ports: new Map(ports.map((p) => [p.id, p])),
  routers: new Map(routers.map((r) => [r.id, r])),
  floatingips: new Map(),
  loadbalancers: new Map(),
  listeners: new Map(),
  pools: new Map(),
  members: new Map(),
  healthmonitors: new Map(),
  vpnservices: new Map(),
  ipsec_site_connections: new Map(),
  ikepolicies: new Map(),
  ipsecpolicies: new Map(),
  endpoint_groups: new Map(),
  servers: new Map(servers.map((s) => [s.id, s])),
  managementNetworkId: 'mgt',
  managementSubnetId: 'mgt-subnet',
};

const appliances = new Map([
  [APPLIANCE_R1, R1],
  [APPLIANCE_R2, R2],
  [APPLIANCE_GONE, 'a0000000-0000-4000-8000-00000000gone'],
]);

function backend() {
  const logs: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    }),
  );
  return { metadata: new LocalMetadata(() => view, (a) => appliances.get(a), logger), logs };
}

const request = (overrides: Partial<MetadataRequest> = {}): MetadataRequest => ({
  path: '/openstack/latest/meta_data.json',
  instanceId: INST1,
  forwardedFor: '198.51.100.10',
  tenantId: 'tenant-router',
  networkId: NET_A,
  sourceAddress: APPLIANCE_R1,
  ...overrides,
});

async function ask(overrides: Partial<MetadataRequest> = {}): Promise<MetadataAnswer> {
  return backend().metadata.answer(request(overrides));
}

const text = (body: string): MetadataAnswer => ({ status: 200, contentType: 'text/plain; charset=utf-8', body });
const NOT_FOUND: MetadataAnswer = { status: 404, contentType: 'text/plain; charset=utf-8', body: 'Not Found' };

describe('LocalMetadata identity', () => {
  it('answers for the guest port of the instance on a network of the appliance router', async () => {
    const answer = await ask();
    assert.equal(answer.status, 200);
    assert.equal(answer.contentType, 'application/json');
    assert.deepEqual(JSON.parse(answer.body), {
      uuid: INST1,
      name: 'Web Server_01',
      hostname: 'web-server-01.novalocal',
      project_id: 'tenant-server',
      availability_zone: 'nova',
      launch_index: 0,
      meta: {},
      public_keys: {},
    });
  });

  it('matches the guest address whatever its spelling', async () => {
    assert.equal((await ask({ forwardedFor: 'FD00:A:0::10' })).status, 200);
  });

  const refusals: [string, Partial<MetadataRequest>, RegExp][] = [
    ['a source address no appliance has', { sourceAddress: '198.51.100.1' }, /no appliance has the source address 198\.51\.100\.1/],
    ['the appliance of a router no longer in the file', { sourceAddress: APPLIANCE_GONE }, /router a0000000-0000-4000-8000-00000000gone is not in the resource file/],
    ['no network id', { networkId: undefined }, /names no network/],
    ['a network the router has no interface on', { networkId: NET_C }, new RegExp(`network ${NET_C} is not on router ${R1}`)],
    ['another router appliance asking for this guest', { sourceAddress: APPLIANCE_R2 }, new RegExp(`network ${NET_A} is not on router ${R2}`)],
    ['an instance id that is not the address owner', { instanceId: INST2 }, /no instance c0000000-0000-4000-8000-000000000002 has address 198\.51\.100\.10/],
    ['an address that is not the instance', { forwardedFor: '198.51.100.11' }, /no instance c0000000-0000-4000-8000-000000000001 has address 198\.51\.100\.11/],
    ['a guest address that is no address', { forwardedFor: '198.51.100.10, 192.0.2.1' }, /is not an address/],
    ['a port owned by the network (DHCP)', { instanceId: 'dhcp-a', forwardedFor: '198.51.100.2' }, /no instance dhcp-a has address/],
    ['the right guest on another network of the same router', { networkId: NET_B }, /no instance .* on network b0000000-0000-4000-8000-00000000000b/],
  ];
  for (const [what, overrides, reason] of refusals) {
    it(`refuses ${what} with 404 and logs why`, async () => {
      const { metadata, logs } = backend();
      assert.deepEqual(await metadata.answer(request(overrides)), NOT_FOUND);
      assert.equal(logs.length, 1);
      assert.equal(logs[0]?.level, 30);
      assert.match(logs[0]?.msg ?? '', reason);
    });
  }
});

describe('LocalMetadata paths', () => {
  it('answers the EC2 tree that cloud-init reads', async () => {
    assert.deepEqual(await ask({ path: '/' }), text('latest'));
    assert.deepEqual(await ask({ path: '/latest' }), text('meta-data/'));
    assert.deepEqual(await ask({ path: '/latest/' }), text('meta-data/'));
    assert.deepEqual(await ask({ path: '/latest/meta-data/' }), text('hostname\ninstance-id\nlocal-hostname\nlocal-ipv4'));
    assert.deepEqual(await ask({ path: '/latest/meta-data/instance-id' }), text(INST1));
    assert.deepEqual(await ask({ path: '/latest/meta-data/hostname' }), text('web-server-01.novalocal'));
    assert.deepEqual(await ask({ path: '/latest/meta-data/local-hostname' }), text('web-server-01.novalocal'));
    assert.deepEqual(await ask({ path: '/latest/meta-data/local-ipv4' }), text('198.51.100.10'));
  });

  it('answers dated EC2 versions as latest, and ignores the query', async () => {
    assert.deepEqual(await ask({ path: '/2009-04-04/meta-data/instance-id' }), text(INST1));
    assert.deepEqual(await ask({ path: '/2009-04-04/meta-data/hostname?x=1' }), text('web-server-01.novalocal'));
  });

  it('answers the OpenStack tree, dated versions as latest', async () => {
    assert.deepEqual(await ask({ path: '/openstack' }), text('latest'));
    assert.deepEqual(await ask({ path: '/openstack/' }), text('latest'));
    assert.deepEqual(await ask({ path: '/openstack/latest/' }), text('meta_data.json'));
    const dated = await ask({ path: '/openstack/2012-08-10/meta_data.json' });
    assert.equal(dated.status, 200);
    assert.equal((JSON.parse(dated.body) as { uuid: string }).uuid, INST1);
  });

  it('is 404 for everything else', async () => {
    for (const path of [
      '/latest/user-data',
      '/latest/meta-data/ami-id',
      '/latest/meta-data/instance-id/more',
      '/latest/meta-data/constructor',
      '/1.0/meta-data/instance-id',
      '/openstack/latest/user_data',
      '/openstack/latest/network_data.json',
      '/openstack/latest/meta_data.json/x',
      '/openstack/2012/meta_data.json',
      '/../etc/passwd',
    ]) {
      assert.deepEqual(await ask({ path }), NOT_FOUND, path);
    }
  });

  it('names a guest without a server entry after its address; the project is the server\'s, else the port\'s, else the router\'s', async () => {
    const answer = await ask({ instanceId: INST2, forwardedFor: '198.51.100.11' });
    assert.deepEqual(JSON.parse(answer.body), {
      uuid: INST2,
      name: 'host-198-51-100-11',
      hostname: 'host-198-51-100-11.novalocal',
      project_id: 'tenant-port',
      availability_zone: 'nova',
      launch_index: 0,
      meta: {},
      public_keys: {},
    });
    const projectOf = async (overrides: Partial<MetadataRequest>) => (JSON.parse((await ask(overrides)).body) as { project_id: string }).project_id;
    assert.equal(await projectOf({ instanceId: INST1, forwardedFor: 'fd00:a::10' }), 'tenant-server');
    assert.equal(await projectOf({ instanceId: INST3, forwardedFor: 'fd00:a::13' }), 'tenant-router');
  });

  it('serves local-ipv4 from the port when the request came over IPv6, and leaves it out without one', async () => {
    assert.deepEqual(await ask({ path: '/latest/meta-data/local-ipv4', forwardedFor: 'fd00:a::10' }), text('198.51.100.10'));
    const v6Only = { instanceId: INST3, forwardedFor: 'fd00:a::13' };
    assert.deepEqual(await ask({ path: '/latest/meta-data/', ...v6Only }), text('hostname\ninstance-id\nlocal-hostname'));
    assert.deepEqual(await ask({ path: '/latest/meta-data/local-ipv4', ...v6Only }), NOT_FOUND);
    assert.deepEqual(await ask({ path: '/latest/meta-data/hostname', ...v6Only }), text('host-fd00-a--13.novalocal'));
  });
});
