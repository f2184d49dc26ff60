// The orchestrator with `network_provider = openstack` and
// `compute_provider = local`: a real Neutron's router, made and changed
// through Neutron's REST API, served by a local namespace appliance that a
// guest (plugged in with a Neutron port's MAC) gets DHCP from and reaches the
// outside through; the floating IP works and Neutron shows it ACTIVE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DhcpClient } from '../harness/dhclient.js';
import { run, waitFor } from '../harness/exec.js';
import {
  ADMIN,
  AMQP_URL,
  createExternalNetwork,
  DEMO,
  deleteNamed,
  neutron,
  ORCHESTRATOR_AUTH,
  openStackRelease,
  openStackUp,
  relayServicesInto,
} from '../harness/openstack.js';
import { applianceNamespace, MANAGEMENT_PREFIX, OrchestratorLab } from '../harness/orchestrator.js';
import { seenAs, startEchoServer } from '../harness/servers.js';

const PREFIX = 'astara-test-e2e-';
const UPSTREAM = '203.0.113.1';
const TENANT_CIDR = '198.51.100.0/24';

interface Port {
  id: string;
  mac_address: string;
  fixed_ips: { ip_address: string }[];
}

describe('the orchestrator serving Neutron\'s routers with local appliances', { timeout: 600_000 }, () => {
  let lab: OrchestratorLab;
  let stopRelay: (() => Promise<void>) | undefined;
  const admin = ADMIN;
  const demo = DEMO;
  let managementNetworkId: string;
  let externalNetworkId: string;
  let networkId: string;
  let subnetId: string;
  let routerId: string;
  let guest: Port;
  let floatingIp: { id: string; floating_ip_address: string };

  const addresses = async (): Promise<string> => (await lab.topology.exec('orch', ['ip', '-n', applianceNamespace(routerId), '-4', 'addr', 'show'], { allowFailure: true })).stdout;

  before(async () => {
    await openStackUp();
    await deleteNamed(admin, PREFIX);
    const management = await neutron<{ network: { id: string } }>(admin, 'POST', '/networks', { network: { name: `${PREFIX}mgt` } });
    managementNetworkId = management.network.id;
    await neutron(admin, 'POST', '/subnets', {
      subnet: { name: `${PREFIX}mgt`, network_id: managementNetworkId, ip_version: 6, cidr: MANAGEMENT_PREFIX, gateway_ip: null, ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
    });
    externalNetworkId = (await createExternalNetwork(admin, `${PREFIX}ext`, '203.0.113.0/24', UPSTREAM)).networkId;
    networkId = (await neutron<{ network: { id: string } }>(demo, 'POST', '/networks', { network: { name: `${PREFIX}net` } })).network.id;
    subnetId = (
      await neutron<{ subnet: { id: string } }>(demo, 'POST', '/subnets', {
        subnet: { name: `${PREFIX}sub`, network_id: networkId, ip_version: 4, cidr: TENANT_CIDR, dns_nameservers: ['192.0.2.53'] },
      })
    ).subnet.id;
    guest = (await neutron<{ port: Port }>(demo, 'POST', '/ports', { port: { name: `${PREFIX}guest`, network_id: networkId, device_owner: 'compute:nova', device_id: 'a5a4a000-0000-4000-8000-000000000001' } })).port;

    lab = await OrchestratorLab.create({
      roles: ['upstream', 'guest'],
      resources: {},
      ini: {
        DEFAULT: {
          network_provider: 'openstack',
          compute_provider: 'local',
          transport_url: AMQP_URL.replace('amqp://', 'rabbit://'),
          management_network_id: managementNetworkId,
          auth_region: 'RegionOne',
          endpoint_type: 'publicURL',
        },
        keystone_authtoken: ORCHESTRATOR_AUTH,
      },
    });
    stopRelay = await relayServicesInto(lab.topology.ns('orch'));
    await lab.start();
  });

  after(async () => {
    await lab?.destroy();
    await stopRelay?.();
    await deleteNamed(admin, PREFIX);
    await openStackRelease();
  });

  it('boots and configures an appliance for a router made in Neutron, with Neutron\'s gateway address', async () => {
    const router = await neutron<{ router: { id: string; external_gateway_info: { external_fixed_ips: { ip_address: string }[] } } }>(demo, 'POST', '/routers', {
      router: { name: `${PREFIX}router`, external_gateway_info: { network_id: externalNetworkId } },
    });
    routerId = router.router.id;
    lab.trackRouter(routerId);
    const gateway = router.router.external_gateway_info.external_fixed_ips[0]!.ip_address;
    await lab.waitConfigured(routerId, 120_000);
    assert.match(await addresses(), new RegExp(`inet ${gateway.replace(/\./g, '\\.')}/24`));
    const managementPorts = await neutron<{ ports: { network_id: string }[] }>(admin, 'GET', `/ports?name=${encodeURIComponent(`ASTARA:MGT:${routerId}`)}`);
    assert.deepEqual(managementPorts.ports.map((p) => p.network_id), [managementNetworkId]);
  });

  it('serves a guest once the interface is added: DHCP with its Neutron address, NAT to the outside', async () => {
    await lab.attach('upstream', externalNetworkId, { addresses: [`${UPSTREAM}/24`] });
    await startEchoServer(lab.topology, 'upstream', UPSTREAM);
    const started = performance.now();
    await neutron(demo, 'PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnetId });
    await waitFor('the interface on the appliance', async () => (await addresses()).includes('inet 198.51.100.1/24'), 60_000);
    await lab.attach('guest', networkId, { mac: guest.mac_address });
    let leased: string | undefined;
    await waitFor(
      'a DHCP lease for the guest',
      async () => {
        leased = (await new DhcpClient(lab.topology, 'guest').lease(5)).lease?.address;
        return leased !== undefined;
      },
      60_000,
    );
    const servedMs = performance.now() - started;
    assert.equal(leased, guest.fixed_ips[0]!.ip_address);
    const gateway = (await neutron<{ router: { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } } }>(admin, 'GET', `/routers/${routerId}`)).router
      .external_gateway_info.external_fixed_ips[0]!.ip_address;
    assert.equal(await seenAs(lab.topology, 'guest', `http://${UPSTREAM}:8080/`), gateway);
    console.log(`# add_router_interface -> guest served (DHCP lease): ${Math.round(servedMs)} ms`);
  });

  it('makes the floating IP work both ways and ACTIVE in Neutron', async () => {
    floatingIp = (
      await neutron<{ floatingip: { id: string; floating_ip_address: string } }>(demo, 'POST', '/floatingips', {
        floatingip: { floating_network_id: externalNetworkId, port_id: guest.id, description: `${PREFIX}fip` },
      })
    ).floatingip;
    await waitFor('the guest to be seen as its floating IP', async () => (await seenAs(lab.topology, 'guest', `http://${UPSTREAM}:8080/`)) === floatingIp.floating_ip_address, 60_000);
    await startEchoServer(lab.topology, 'guest', guest.fixed_ips[0]!.ip_address);
    assert.equal(await seenAs(lab.topology, 'upstream', `http://${floatingIp.floating_ip_address}:8080/`), UPSTREAM);
    await waitFor(
      'the floating IP to be ACTIVE in Neutron',
      async () => (await neutron<{ floatingip: { status: string } }>(admin, 'GET', `/floatingips/${floatingIp.id}`)).floatingip.status === 'ACTIVE',
      60_000,
    );
  });

  it('takes removals to the appliance: the floating IP, then the interface', async () => {
    await neutron(demo, 'DELETE', `/floatingips/${floatingIp.id}`);
    await waitFor('the floating IP to be gone from the appliance', async () => (await seenAs(lab.topology, 'upstream', `http://${floatingIp.floating_ip_address}:8080/`, 1)) === undefined, 60_000);
    await neutron(demo, 'PUT', `/routers/${routerId}/remove_router_interface`, { subnet_id: subnetId });
    await waitFor('the interface to be gone from the appliance', async () => !(await addresses()).includes('inet 198.51.100.1/24'), 60_000);
  });

  it('keeps the appliance in step with Neutron when RabbitMQ restarts in the middle of a burst of changes', async () => {
    const restart = (async () => {
      await run(['rabbitmqctl', '-q', 'stop_app'], { timeoutMs: 60_000 });
      await run(['rabbitmqctl', '-q', 'start_app'], { timeoutMs: 60_000 });
    })();
    await neutron(demo, 'PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnetId });
    const again = (
      await neutron<{ floatingip: { id: string; floating_ip_address: string } }>(demo, 'POST', '/floatingips', {
        floatingip: { floating_network_id: externalNetworkId, port_id: guest.id, description: `${PREFIX}fip` },
      })
    ).floatingip;
    await restart;
    await waitFor('the interface on the appliance after the restart', async () => (await addresses()).includes('inet 198.51.100.1/24'), 90_000);
    await waitFor('the floating IP to work after the restart', async () => (await seenAs(lab.topology, 'upstream', `http://${again.floating_ip_address}:8080/`, 1)) === UPSTREAM, 90_000);
    await neutron(demo, 'DELETE', `/floatingips/${again.id}`);
    await neutron(demo, 'PUT', `/routers/${routerId}/remove_router_interface`, { subnet_id: subnetId });
    await waitFor('the interface to be gone again', async () => !(await addresses()).includes('inet 198.51.100.1/24'), 60_000);
  });

  it('removes the appliance and its management port when the router is deleted', async () => {
    await neutron(demo, 'DELETE', `/routers/${routerId}`);
    await waitFor('the appliance to be gone', async () => !(await lab.namespaces()).includes(applianceNamespace(routerId)), 60_000);
    await waitFor(
      'the management port to be deleted in Neutron',
      async () => (await neutron<{ ports: unknown[] }>(admin, 'GET', `/ports?name=${encodeURIComponent(`ASTARA:MGT:${routerId}`)}`)).ports.length === 0,
      60_000,
    );
  });
});
