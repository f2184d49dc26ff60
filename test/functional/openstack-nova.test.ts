// The orchestrator with `network_provider = openstack` and
// `compute_provider = nova`, against a real Nova (API, conductor, scheduler,
// Placement, Glance, one compute host with the fake driver): a Neutron router
// becomes a Nova server booted from the configured image and flavor, with the
// management port first and a port on each of the router's networks, and a
// config drive whose user data names the management MAC and address; deleting
// the router deletes the server. The fake driver runs nothing, so no agent ever
// answers: the test stops at what Nova was asked to do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/exec.js';
import {
  ADMIN,
  AMQP_URL,
  createExternalNetwork,
  DEMO,
  deleteNamed,
  deleteNamedImagesAndFlavors,
  neutron,
  nova,
  ORCHESTRATOR,
  ORCHESTRATOR_AUTH,
  openStackRelease,
  openStackUpWithNova,
  relayServicesInto,
  uploadImage,
} from '../harness/openstack.js';
import { MANAGEMENT_PREFIX, ORCHESTRATOR_ADDRESS, OrchestratorLab } from '../harness/orchestrator.js';

const PREFIX = 'astara-test-nova-';
const TENANT_CIDR = '198.51.100.0/24';

interface Server {
  id: string;
  name: string;
  status: string;
  image: { id: string };
  flavor: { id: string };
  config_drive: string;
  'OS-EXT-SRV-ATTR:user_data'?: string;
  fault?: { message: string };
}

interface Port {
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips: { ip_address: string }[];
}

describe('the orchestrator booting Neutron routers\' appliances as Nova servers', { timeout: 600_000 }, () => {
  let lab: OrchestratorLab | undefined;
  let stopRelay: (() => Promise<void>) | undefined;
  let managementNetworkId: string;
  let externalNetworkId: string;
  let networkId: string;
  let subnetId: string;
  let routerId: string;
  let imageId: string;
  let flavorId: string;
  let server: Server;

  // The orchestrator's servers are in its own project, where it (an admin) also sees their user data.
  const serversNamed = async (name: string): Promise<Server[]> =>
    (await nova<{ servers: Server[] }>(ORCHESTRATOR, 'GET', `/servers/detail?name=${encodeURIComponent(`^${name}$`)}`)).servers;

  before(async () => {
    await openStackUpWithNova();
    await deleteNamed(ADMIN, PREFIX);
    await deleteNamedImagesAndFlavors(ADMIN, PREFIX);
    imageId = await uploadImage(ADMIN, `${PREFIX}appliance`, Buffer.alloc(1024 * 1024));
    flavorId = (await nova<{ flavor: { id: string } }>(ADMIN, 'POST', '/flavors', { flavor: { name: `${PREFIX}flavor`, ram: 256, vcpus: 1, disk: 1 } })).flavor.id;
    managementNetworkId = (await neutron<{ network: { id: string } }>(ADMIN, 'POST', '/networks', { network: { name: `${PREFIX}mgt` } })).network.id;
    await neutron(ADMIN, 'POST', '/subnets', {
      subnet: { name: `${PREFIX}mgt`, network_id: managementNetworkId, ip_version: 6, cidr: MANAGEMENT_PREFIX, gateway_ip: null, ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
    });
    externalNetworkId = (await createExternalNetwork(ADMIN, `${PREFIX}ext`, '203.0.113.0/24', '203.0.113.1')).networkId;
    networkId = (await neutron<{ network: { id: string } }>(DEMO, 'POST', '/networks', { network: { name: `${PREFIX}net` } })).network.id;
    subnetId = (await neutron<{ subnet: { id: string } }>(DEMO, 'POST', '/subnets', { subnet: { name: `${PREFIX}sub`, network_id: networkId, ip_version: 4, cidr: TENANT_CIDR } })).subnet.id;
    // The router exists before the orchestrator starts, so that its first boot already has every port.
    routerId = (
      await neutron<{ router: { id: string } }>(DEMO, 'POST', '/routers', { router: { name: `${PREFIX}router`, external_gateway_info: { network_id: externalNetworkId } } })
    ).router.id;
    await neutron(DEMO, 'PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnetId });

    lab = await OrchestratorLab.create({
      roles: [],
      resources: {},
      ini: {
        DEFAULT: {
          network_provider: 'openstack',
          compute_provider: 'nova',
          transport_url: AMQP_URL.replace('amqp://', 'rabbit://'),
          management_network_id: managementNetworkId,
          auth_region: 'RegionOne',
          endpoint_type: 'publicURL',
          // No agent answers on a fake server: no replacement while the test looks at it.
          boot_timeout: 600,
        },
        router: { image_uuid: imageId, instance_flavor: flavorId },
        keystone_authtoken: ORCHESTRATOR_AUTH,
      },
    });
    stopRelay = await relayServicesInto(lab.topology.ns('orch'));
    // The orchestrator's address on the management network (docs/openstack.md): its metadata server listens there.
    // Nothing reaches it from a fake server, so the namespace's loopback is enough.
    await lab.topology.exec('orch', ['ip', 'address', 'add', `${ORCHESTRATOR_ADDRESS}/128`, 'dev', 'lo', 'nodad']);
    await lab.start();
  });

  after(async () => {
    await lab?.destroy();
    await stopRelay?.();
    // What a failed test left: the servers first, as their ports are on the networks deleteNamed removes.
    if (routerId !== undefined) {
      for (const left of await serversNamed(`ak-router-${routerId}`).catch(() => [])) await nova(ORCHESTRATOR, 'DELETE', `/servers/${left.id}`).catch(() => undefined);
      await waitFor('the servers left deleted', async () => (await serversNamed(`ak-router-${routerId}`)).length === 0, 60_000).catch(() => undefined);
    }
    await deleteNamed(ADMIN, PREFIX);
    await deleteNamedImagesAndFlavors(ADMIN, PREFIX);
    await openStackRelease();
  });

  it('boots a server with the configured image and flavor, the management port and a port of its own on each of the router\'s networks', async () => {
    let servers: Server[] = [];
    await waitFor('the router\'s Nova server, ACTIVE', async () => {
      servers = await serversNamed(`ak-router-${routerId}`);
      return servers.some((s) => s.status === 'ACTIVE' || s.status === 'ERROR');
    }, 120_000);
    assert.equal(servers.length, 1);
    server = servers[0]!;
    assert.equal(server.status, 'ACTIVE', server.fault?.message);
    assert.equal(server.image.id, imageId);
    assert.equal(server.flavor.id, flavorId);
    assert.equal(server.config_drive, 'True');

    const interfaces = (await nova<{ interfaceAttachments: { port_id: string; net_id: string }[] }>(ORCHESTRATOR, 'GET', `/servers/${server.id}/os-interface`)).interfaceAttachments;
    const management = (await neutron<{ ports: Port[] }>(ADMIN, 'GET', `/ports?name=${encodeURIComponent(`ASTARA:MGT:${routerId}`)}`)).ports;
    assert.equal(management.length, 1);
    // Nova lists a server's interfaces in no set order: the boot request's (management first) is unit-tested (nova.test.ts).
    assert.ok(interfaces.some((i) => i.port_id === management[0]!.id && i.net_id === managementNetworkId), JSON.stringify(interfaces));
    assert.deepEqual(interfaces.map((i) => i.net_id).sort(), [managementNetworkId, externalNetworkId, networkId].sort());
    // The appliance's own ports, not the router's: Nova makes its server their device.
    const plugged = (await neutron<{ ports: (Port & { device_id: string; name: string })[] }>(ADMIN, 'GET', `/ports?device_id=${server.id}`)).ports;
    assert.deepEqual(plugged.map((p) => p.id).sort(), interfaces.map((i) => i.port_id).sort());
    assert.ok(plugged.every((p) => p.name.startsWith('ASTARA:')), JSON.stringify(plugged.map((p) => p.name)));
  });

  it('gives the server user data carrying the management MAC and address', () => {
    const userData = Buffer.from(server['OS-EXT-SRV-ATTR:user_data'] ?? '', 'base64').toString();
    assert.match(userData, /^#cloud-config\n/);
    return neutron<{ ports: Port[] }>(ADMIN, 'GET', `/ports?name=${encodeURIComponent(`ASTARA:MGT:${routerId}`)}`).then(({ ports }) => {
      const port = ports[0]!;
      const prefix = MANAGEMENT_PREFIX.split('/')[1]!;
      assert.ok(userData.includes(`astara-configure-management ${port.mac_address} ${port.fixed_ips[0]!.ip_address}/${prefix}`), userData);
    });
  });

  it('deletes the server and the appliance\'s ports when the router is deleted', async () => {
    assert.deepEqual((await serversNamed(`ak-router-${routerId}`)).map((s) => s.id), [server.id]);
    await neutron(DEMO, 'PUT', `/routers/${routerId}/remove_router_interface`, { subnet_id: subnetId });
    await neutron(DEMO, 'DELETE', `/routers/${routerId}`);
    await waitFor('the server deleted', async () => (await serversNamed(`ak-router-${routerId}`)).length === 0, 120_000);
    await waitFor(
      'the appliance\'s ports deleted',
      async () => {
        const ports = (await neutron<{ ports: { name: string }[] }>(ADMIN, 'GET', '/ports')).ports;
        return !ports.some((p) => p.name.endsWith(routerId));
      },
      60_000,
    );
  });
});
