// The OpenStack provider's event source against a real Neutron sending real
// notifications through a real RabbitMQ, including a RabbitMQ restart in the
// middle of a burst of changes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { pino } from 'pino';
import { event, UPDATE, type Event } from '../../orchestrator/core/events.js';
import { NeutronNotificationSource, notificationQueueName } from '../../orchestrator/providers/openstack/events.js';
import { KeystoneSession } from '../../orchestrator/providers/openstack/keystone.js';
import { NeutronNetworkProvider } from '../../orchestrator/providers/openstack/neutron.js';
import { run, waitFor } from '../harness/exec.js';
import {
  ADMIN,
  AMQP_URL,
  createExternalNetwork,
  DEMO,
  deleteNamed,
  KEYSTONE_URL,
  neutron,
  ORCHESTRATOR,
  openStackRelease,
  openStackUp,
} from '../harness/openstack.js';

const PREFIX = 'astara-test-events-';
const QUEUE = notificationQueueName(`test-${randomUUID().slice(0, 8)}`);

describe('OpenStack provider: Neutron notifications', { timeout: 300_000 }, () => {
  const received: Event[] = [];
  let source: NeutronNotificationSource;
  const admin = ADMIN;
  const demo = DEMO;
  let externalNetworkId: string;
  let subnetId: string;
  let resyncs = 0;

  const seen = (id: string, crud?: string) => received.some((e) => e.resource.id === id && (crud === undefined || e.crud === crud));
  const createRouter = async (name: string) =>
    (await neutron<{ router: { id: string } }>(demo, 'POST', '/routers', { router: { name: `${PREFIX}${name}`, external_gateway_info: { network_id: externalNetworkId } } })).router.id;

  before(async () => {
    await openStackUp();
    await deleteNamed(admin, PREFIX);
    externalNetworkId = (await createExternalNetwork(admin, `${PREFIX}ext`, '203.0.113.0/24', '203.0.113.1')).networkId;
    const network = await neutron<{ network: { id: string } }>(demo, 'POST', '/networks', { network: { name: `${PREFIX}net` } });
    subnetId = (
      await neutron<{ subnet: { id: string } }>(demo, 'POST', '/subnets', { subnet: { name: `${PREFIX}sub`, network_id: network.network.id, ip_version: 4, cidr: '192.0.2.0/24' } })
    ).subnet.id;
    const log = pino({ level: 'silent' });
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
    const routers = new NeutronNetworkProvider(session, { managementNetworkId: externalNetworkId, managementSubnetId: undefined, log });
    source = new NeutronNotificationSource({
      urls: [`${AMQP_URL}%2F`],
      queue: QUEUE,
      mapping: () => ({ enabledDrivers: ['router'], ipsecVpn: false }),
      resync: async () => {
        resyncs += 1;
        return (await routers.listRouters()).map((r) => ({ target: r.tenantId, event: event(r, UPDATE) }));
      },
      log,
      initialRetryMs: 200,
      maxRetryMs: 2_000,
    });
    await source.start((_target, e) => received.push(e));
    assert.equal(source.connections, 1);
  });

  after(async () => {
    await source?.stop();
    const model = await amqp.connect(`${AMQP_URL}%2F`);
    const channel = await model.createChannel();
    await channel.deleteQueue(QUEUE);
    await model.close();
    await deleteNamed(admin, PREFIX);
    await openStackRelease();
  });

  it('hears a router\'s creation, interface and deletion as events of that router', async () => {
    const routerId = await createRouter('one');
    await waitFor('the router\'s CREATE', () => seen(routerId, 'create'), 20_000);
    const before = received.length;
    await neutron(demo, 'PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnetId });
    await waitFor('the interface\'s UPDATE', () => received.slice(before).some((e) => e.resource.id === routerId && e.crud === 'update'), 20_000);
    await neutron(demo, 'PUT', `/routers/${routerId}/remove_router_interface`, { subnet_id: subnetId });
    await neutron(demo, 'DELETE', `/routers/${routerId}`);
    await waitFor('the router\'s DELETE', () => seen(routerId, 'delete'), 20_000);
  });

  it('loses no change when RabbitMQ restarts in the middle of a burst: reconnects and resynchronises', async () => {
    const early = [await createRouter('burst-0'), await createRouter('burst-1')];
    const restart = (async () => {
      await run(['rabbitmqctl', '-q', 'stop_app'], { timeoutMs: 60_000 });
      await run(['rabbitmqctl', '-q', 'start_app'], { timeoutMs: 60_000 });
    })();
    const late: string[] = [];
    for (let i = 2; i < 6; i += 1) late.push(await createRouter(`burst-${i}`));
    await restart;
    await neutron(demo, 'DELETE', `/routers/${early[0]!}`);
    late.push(await createRouter('burst-6'));
    await waitFor('a reconnect', () => source.connections >= 2, 60_000);
    await waitFor('an event of every router made in the burst', () => [...early, ...late].every((id) => seen(id)), 60_000);
    await waitFor('the DELETE of the router deleted after the restart', () => seen(early[0]!, 'delete'), 30_000);
    assert.ok(resyncs >= 1, 'a resynchronisation after the reconnect');
  });
});
