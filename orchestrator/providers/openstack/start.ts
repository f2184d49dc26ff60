// The OpenStack provider set: a Keystone session, Neutron as the network
// provider, Neutron's notifications as the event source, floating IP
// statuses over Neutron's RPC; and as the compute provider either Nova
// (`compute_provider = nova`) or local namespace appliances (each network's
// Linux bridge made as appliances need it).
import type { Logger } from 'pino';
import { parseCidr } from '../../../contract/ip.js';
import { EVERY_RESOURCE, event, POLL, UPDATE } from '../../core/events.js';
import type { OrchestratorOptions } from '../../options-types.js';
import type { LocalBridges } from '../local/host.js';
import type { ComputeProvider, MetadataAnswer, MetadataBackend } from '../types.js';
import { BridgedLocalCompute } from './bridged-compute.js';
import { NeutronNotificationSource, notificationQueueName, type Delivery } from './events.js';
import { KeystoneSession } from './keystone.js';
import { NeutronNetworkProvider } from './neutron.js';
import { NovaCompute } from './nova.js';
import { L3_PLUGIN_TOPIC, NeutronRpcClient } from './rpc.js';

export interface OpenStackProviders {
  readonly network: NeutronNetworkProvider;
  readonly compute: BridgedLocalCompute | NovaCompute;
  readonly events: NeutronNotificationSource;
  readonly rpc: NeutronRpcClient;
}

/**
 * Guests' metadata would come from Nova's metadata service, which this
 * provider does not proxy yet: every request is answered 404 (docs/openstack.md).
 */
export const NO_METADATA: MetadataBackend = {
  answer: (): Promise<MetadataAnswer> => Promise.resolve({ status: 404, contentType: 'text/plain', body: 'no metadata service with the OpenStack provider\n' }),
};

/**
 * Checks Keystone and the management network, connects to RabbitMQ (or keeps
 * trying), and readies the bridges of local appliances (`local` undefined: Nova's servers).
 */
export async function startOpenStackProviders(options: OrchestratorOptions, logger: Logger, local: { compute: ComputeProvider; bridges: LocalBridges } | undefined): Promise<OpenStackProviders> {
  const openstack = options.openstack;
  const log = logger.child({ provider: 'openstack' });
  const session = new KeystoneSession({
    authUrl: openstack.authUrl,
    username: openstack.username,
    password: openstack.password,
    projectName: openstack.projectName,
    userDomainName: openstack.userDomainName,
    projectDomainName: openstack.projectDomainName,
    region: openstack.authRegion,
    endpointType: openstack.endpointType,
  });
  const rpc = new NeutronRpcClient(openstack.transportUrls, log);
  const network = new NeutronNetworkProvider(session, {
    managementNetworkId: options.managementNetworkId,
    managementSubnetId: openstack.managementSubnetId,
    setFloatingIpStatuses: async (routerId, statuses) => {
      await rpc.call(L3_PLUGIN_TOPIC, 'update_floatingip_statuses', { router_id: routerId, fip_statuses: statuses }, '1.1');
    },
    novaPlugsPorts: local === undefined,
    log,
  });
  await network.start();
  let compute: BridgedLocalCompute | NovaCompute;
  if (local === undefined) {
    // Checked now, so that a cloud without Nova stops the start rather than every boot.
    await session.endpoint('compute');
    compute = new NovaCompute(session, {
      managementNetworkId: options.managementNetworkId,
      flavors: { router: options.router.instanceFlavor, loadbalancer: options.loadbalancer.instanceFlavor },
      log,
    });
  } else {
    const prefix = parseCidr(options.managementPrefix)?.prefix ?? 64;
    const bridged = new BridgedLocalCompute(local.compute, local.bridges, { networkId: options.managementNetworkId, address: `${options.local.managementAddress}/${prefix}` });
    await bridged.start();
    compute = bridged;
  }
  // After a reconnect: every router brought up to date, and a poll of everything (a router deleted meanwhile is found gone).
  const resync = async (): Promise<Delivery[]> => [
    ...(await network.listRouters()).map((r) => ({ target: r.tenantId, event: event(r, UPDATE) })),
    { target: '*', event: event(EVERY_RESOURCE, POLL) },
  ];
  const events = new NeutronNotificationSource({
    urls: openstack.transportUrls,
    queue: notificationQueueName(options.host),
    mapping: () => ({ enabledDrivers: options.enabledDrivers, ipsecVpn: options.router.ipsecVpn }),
    resync,
    log,
  });
  return { network, compute, events, rpc };
}
