// The OpenStack provider's Neutron reads and writes against a real Neutron:
// a tenant topology made through the REST API as users make it, read back in
// the model's shapes, and a router document built from it that the contract
// validator accepts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument } from '../../contract/validate.js';
import { RouterDriver } from '../../orchestrator/drivers/router.js';
import { KeystoneSession } from '../../orchestrator/providers/openstack/keystone.js';
import { NeutronNetworkProvider } from '../../orchestrator/providers/openstack/neutron.js';
import {
  ADMIN,
  createExternalNetwork,
  DEMO,
  deleteNamed,
  KEYSTONE_URL,
  neutron,
  ORCHESTRATOR,
  openStackRelease,
  openStackUp,
} from '../harness/openstack.js';

const PREFIX = 'astara-test-neutron-';

interface Created {
  managementNetworkId: string;
  externalNetworkId: string;
  networkId: string;
  subnetId: string;
  routerId: string;
  tenantId: string;
  guestPort: { id: string; fixed_ips: { ip_address: string }[] };
  floatingIp: { id: string; floating_ip_address: string };
}

async function createTopology(): Promise<Created> {
  const admin = ADMIN;
  const demo = DEMO;
  await deleteNamed(admin, PREFIX);
  const management = await neutron<{ network: { id: string } }>(admin, 'POST', '/networks', { network: { name: `${PREFIX}mgt` } });
  await neutron(admin, 'POST', '/subnets', {
    subnet: { name: `${PREFIX}mgt`, network_id: management.network.id, ip_version: 6, cidr: 'fd00:4a57::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
  });
  const external = await createExternalNetwork(admin, `${PREFIX}ext`, '203.0.113.0/24', '203.0.113.1');
  const network = await neutron<{ network: { id: string; project_id: string } }>(demo, 'POST', '/networks', { network: { name: `${PREFIX}net` } });
  const subnet = await neutron<{ subnet: { id: string } }>(demo, 'POST', '/subnets', {
    subnet: { name: `${PREFIX}sub`, network_id: network.network.id, ip_version: 4, cidr: '198.51.100.0/24', dns_nameservers: ['192.0.2.53'] },
  });
  const router = await neutron<{ router: { id: string } }>(demo, 'POST', '/routers', {
    router: { name: `${PREFIX}router`, external_gateway_info: { network_id: external.networkId } },
  });
  await neutron(demo, 'PUT', `/routers/${router.router.id}/add_router_interface`, { subnet_id: subnet.subnet.id });
  const guest = await neutron<{ port: Created['guestPort'] }>(demo, 'POST', '/ports', {
    port: { name: `${PREFIX}guest`, network_id: network.network.id, device_owner: 'compute:nova', device_id: '0b5e4c1a-0000-4000-8000-000000000001' },
  });
  const floatingIp = await neutron<{ floatingip: Created['floatingIp'] }>(demo, 'POST', '/floatingips', {
    floatingip: { floating_network_id: external.networkId, port_id: guest.port.id, description: `${PREFIX}fip` },
  });
  return {
    managementNetworkId: management.network.id,
    externalNetworkId: external.networkId,
    networkId: network.network.id,
    subnetId: subnet.subnet.id,
    routerId: router.router.id,
    tenantId: network.network.project_id,
    guestPort: guest.port,
    floatingIp: floatingIp.floatingip,
  };
}

describe('OpenStack provider: Neutron', { timeout: 300_000 }, () => {
  let created: Created;
  let provider: NeutronNetworkProvider;
  const log = pino({ level: 'silent' });

  before(async () => {
    await openStackUp();
    created = await createTopology();
    const session = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      username: ORCHESTRATOR.username,
      password: ORCHESTRATOR.password,
      projectName: ORCHESTRATOR.projectName,
      userDomainName: 'Default',
      projectDomainName: 'Default',
      region: undefined,
      endpointType: 'public',
    });
    provider = new NeutronNetworkProvider(session, { managementNetworkId: created.managementNetworkId, managementSubnetId: undefined, log });
    await provider.start();
  });

  after(async () => {
    if (created !== undefined) await deleteNamed(ADMIN, PREFIX);
    await openStackRelease();
  });

  it('reads the router with its gateway, interface and floating IP as Neutron has them', async () => {
    const routers = await provider.listRouters();
    assert.deepEqual(
      routers.find((r) => r.id === created.routerId),
      { driver: 'router', id: created.routerId, tenantId: created.tenantId },
    );
    assert.equal(await provider.routerForTenant(created.tenantId), created.routerId);
    const detail = await provider.getRouter(created.routerId);
    assert.ok(detail);
    const gatewayAddress = detail.router.external_gateway_info?.external_fixed_ips?.[0]?.ip_address;
    assert.ok(gatewayAddress?.startsWith('203.0.113.'));
    assert.deepEqual(detail.gatewayPort?.fixed_ips.map((f) => f.ip_address), [gatewayAddress]);
    assert.equal(detail.gatewayPort?.network_id, created.externalNetworkId);
    assert.deepEqual(detail.interfaces.map((p) => [p.network_id, p.fixed_ips[0]?.ip_address]), [[created.networkId, '198.51.100.1']]);
    assert.deepEqual(
      detail.floatingIps.map((f) => [f.id, f.floating_ip_address, f.fixed_ip_address]),
      [[created.floatingIp.id, created.floatingIp.floating_ip_address, created.guestPort.fixed_ips[0]!.ip_address]],
    );
    const network = await provider.getNetwork(created.networkId);
    assert.deepEqual(network?.subnets.map((s) => [s.id, s.cidr, s.gateway_ip, s.dns_nameservers]), [[created.subnetId, '198.51.100.0/24', '198.51.100.1', ['192.0.2.53']]]);
    assert.ok((await provider.listNetworkPorts(created.networkId)).some((p) => p.id === created.guestPort.id));
    assert.equal(await provider.getRouter('00000000-0000-4000-8000-00000000dead'), undefined);
  });

  it('creates one management port per appliance, finds it again, and deletes it with the appliance', async () => {
    const ref = { driver: 'router', id: created.routerId, tenantId: created.tenantId };
    const first = await provider.ensureManagementPort(ref, 0);
    assert.equal(first.name, `ASTARA:MGT:${created.routerId}`);
    assert.equal(first.network_id, created.managementNetworkId);
    assert.equal((await provider.ensureManagementPort(ref, 0)).id, first.id);
    assert.match(provider.managementInterface(first), /^fd00:4a57::[0-9a-f:]+\/64$/);
    await provider.deleteAppliancePorts(ref);
    const left = await neutron<{ ports: unknown[] }>(ADMIN, 'GET', `/ports?name=${encodeURIComponent(`ASTARA:MGT:${created.routerId}`)}`);
    assert.deepEqual(left.ports, []);
  });

  it('builds a router document the contract validator accepts, with Neutron\'s addresses', async () => {
    const ref = { driver: 'router', id: created.routerId, tenantId: created.tenantId };
    const driver = new RouterDriver(ref, () => ({
      network: provider,
      servicePort: 5000,
      asn: 64512,
      neighborAsn: 64512,
      providerRulesPath: '/nonexistent/provider_rules.json',
      ipsecVpn: false,
      orchestrator: { address: 'fd00:4a57::1', metadata_port: 9697, host: 'test' },
      log,
    }));
    assert.equal(await driver.refresh(), true);
    const management = await provider.ensureManagementPort(ref, 0);
    const interfaceMap = new Map([
      [created.managementNetworkId, 'ge0'],
      [created.externalNetworkId, 'ge1'],
      [created.networkId, 'ge2'],
    ]);
    const document = await driver.buildConfig(management, interfaceMap);
    const result = validateDocument(document);
    assert.deepEqual(result.ok ? [] : result.errors, []);
    const text = JSON.stringify(document);
    const detail = (await provider.getRouter(created.routerId))!;
    for (const address of [detail.gatewayPort!.fixed_ips[0]!.ip_address, '198.51.100.1', created.floatingIp.floating_ip_address, management.fixed_ips[0]!.ip_address]) {
      assert.ok(text.includes(address), `the document has ${address}`);
    }
    await provider.deleteAppliancePorts(ref);
  });

  it('reports the router\'s status through the dhrouterstatus extension', async () => {
    const ref = { driver: 'router', id: created.routerId, tenantId: created.tenantId };
    await provider.updateStatus(ref, 'ERROR');
    assert.equal((await neutron<{ router: { status: string } }>(ADMIN, 'GET', `/routers/${created.routerId}`)).router.status, 'ERROR');
    await provider.updateStatus(ref, 'ACTIVE');
    assert.equal((await neutron<{ router: { status: string } }>(ADMIN, 'GET', `/routers/${created.routerId}`)).router.status, 'ACTIVE');
  });
});
