// The OpenStack NetworkProvider: Neutron's REST API through a Keystone
// session, in the same shapes the local provider produces (model/neutron.ts),
// so the same config builder serves both. The orchestrator's own ports
// (`ASTARA:MGT:<id>` on the management network, `ASTARA:VRRP:<id>` for HA
// members) are Neutron ports it creates and deletes with the appliances.
import type { Logger } from 'pino';
import { parseCidr } from '../../../contract/ip.js';
import type { ResourceRef } from '../../core/events.js';
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  tenantOf,
  type NetworkDetail,
  type NeutronFloatingIp,
  type NeutronNetwork,
  type NeutronPort,
  type NeutronRouter,
  type NeutronSubnet,
  type RouterDetail,
} from '../../model/neutron.js';
import type { LoadBalancerDetail } from '../../model/octavia.js';
import type { NetworkProvider, ResourceSummary } from '../types.js';
import { OpenStackApiError, type KeystoneSession } from './keystone.js';

/** The owner of the ports the orchestrator makes (the original's). */
export const APPLIANCE_PORT_OWNER = 'network:astara';
export const managementPortName = (resourceId: string): string => `ASTARA:MGT:${resourceId}`;
export const memberPortName = (resourceId: string): string => `ASTARA:VRRP:${resourceId}`;
/** Which instance of its resource a management port is for (HA pairs have two). */
export const managementPortDescription = (index: number): string => `instance ${index}`;
/** Which member, and for which of its resource's ports, an HA member's port is. */
export const memberPortDescription = (member: number, logicalPortId: string): string => `member ${member} for ${logicalPortId}`;

/** A Neutron port as the REST API returns it, with the fields beyond the model that the provider reads. */
export interface NeutronApiPort extends NeutronPort {
  readonly description?: string;
  readonly status?: string;
}

/**
 * A router's detail from its ports and floating IPs as Neutron lists them:
 * the gateway port, the interfaces in a stable (id) order, and the floating
 * IPs that are associated (a floating IP without a port needs no NAT).
 */
export function routerDetailFrom(router: NeutronRouter, ports: readonly NeutronPort[], floatingIps: readonly NeutronFloatingIp[]): RouterDetail {
  const own = ports.filter((p) => p.device_id === router.id);
  const interfaces = own.filter((p) => p.device_owner === ROUTER_INTERFACE_OWNER).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    router,
    gatewayPort: own.find((p) => p.device_owner === ROUTER_GATEWAY_OWNER),
    interfaces,
    floatingIps: floatingIps.filter((f) => f.router_id === router.id && f.port_id !== null),
  };
}

/** `address/prefix` of a port's first address in its subnet. */
export function interfaceAddress(port: NeutronPort, subnets: ReadonlyMap<string, Pick<NeutronSubnet, 'cidr'>>): string {
  const fixed = port.fixed_ips[0];
  if (fixed === undefined) throw new Error(`management port ${port.id} has no address`);
  const subnet = subnets.get(fixed.subnet_id);
  const prefix = subnet === undefined ? undefined : parseCidr(subnet.cidr)?.prefix;
  if (prefix === undefined) throw new Error(`the subnet ${fixed.subnet_id} of management port ${port.id} is not known`);
  return `${fixed.ip_address}/${prefix}`;
}

export interface NeutronProviderOptions {
  readonly managementNetworkId: string;
  /** The subnet management ports get their address from; undefined: Neutron chooses among the network's. */
  readonly managementSubnetId: string | undefined;
  /** Sets floating IP statuses (Neutron's L3 RPC `update_floatingip_statuses`); undefined: they are not reported. */
  readonly setFloatingIpStatuses?: (routerId: string, statuses: Readonly<Record<string, string>>) => Promise<void>;
  /**
   * Nova plugs the appliances (`compute_provider = nova`): the ports it is
   * given must have no device (Nova makes its server their device), so a
   * single appliance gets a port of its own on each of its router's networks,
   * as HA members do, rather than the router's port itself.
   */
  readonly novaPlugsPorts?: boolean;
  readonly log: Logger;
}

/** What a single appliance's own port stands for (`compute_provider = nova`). */
export const appliancePortDescription = (logicalPortId: string): string => `appliance for ${logicalPortId}`;

/** A floating IP's status for its router's: Neutron knows ACTIVE, DOWN and ERROR. */
export const floatingIpStatusOf = (routerStatus: string): string => (routerStatus === 'ACTIVE' || routerStatus === 'ERROR' ? routerStatus : 'DOWN');

type Query = Record<string, string>;
const query = (params: Query): string => {
  const text = new URLSearchParams(params).toString();
  return text === '' ? '' : `?${text}`;
};

export class NeutronNetworkProvider implements NetworkProvider {
  /** The management subnets' CIDRs: managementInterface() is synchronous. */
  readonly #managementSubnets = new Map<string, NeutronSubnet>();
  /** Whether Neutron has the dhrouterstatus extension; undefined until first asked. */
  #routerStatusExtension: boolean | undefined;

  constructor(
    private readonly session: KeystoneSession,
    private readonly options: NeutronProviderOptions,
  ) {}

  get managementNetworkId(): string {
    return this.options.managementNetworkId;
  }

  /** Checks that the management network exists and learns its subnets; throws naming what is missing. */
  async start(): Promise<void> {
    const detail = await this.getNetwork(this.options.managementNetworkId);
    if (!detail) throw new Error(`[DEFAULT] management_network_id: Neutron has no network ${this.options.managementNetworkId}`);
    for (const subnet of detail.subnets) this.#managementSubnets.set(subnet.id, subnet);
    const wanted = this.options.managementSubnetId;
    if (wanted !== undefined && !this.#managementSubnets.has(wanted)) {
      throw new Error(`[DEFAULT] management_subnet_id: ${wanted} is not a subnet of the management network ${this.options.managementNetworkId}`);
    }
  }

  async listRouters(): Promise<ResourceSummary[]> {
    const routers = await this.#list<NeutronRouter>('routers', {});
    return routers.map((router) => ({ driver: 'router', id: router.id, tenantId: tenantOf(router) }));
  }

  async getRouter(id: string): Promise<RouterDetail | undefined> {
    const router = await this.#get<NeutronRouter>('routers', 'router', id);
    if (!router) return undefined;
    const [ports, floatingIps] = await Promise.all([
      this.#list<NeutronPort>('ports', { device_id: id }),
      this.#list<NeutronFloatingIp>('floatingips', { router_id: id }),
    ]);
    return routerDetailFrom(router, ports, floatingIps);
  }

  async routerForTenant(tenantId: string): Promise<string | undefined> {
    return (await this.#list<NeutronRouter>('routers', { tenant_id: tenantId }))[0]?.id;
  }

  /** Load balancers come from Octavia, which this provider does not read. */
  listLoadBalancers(): Promise<ResourceSummary[]> {
    return Promise.resolve([]);
  }

  getLoadBalancer(_id: string): Promise<LoadBalancerDetail | undefined> {
    return Promise.resolve(undefined);
  }

  loadBalancerForTenant(_tenantId: string): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  async getNetwork(id: string): Promise<NetworkDetail | undefined> {
    const network = await this.#get<NeutronNetwork>('networks', 'network', id);
    if (!network) return undefined;
    return { network, subnets: await this.#list<NeutronSubnet>('subnets', { network_id: id }) };
  }

  listNetworkPorts(networkId: string): Promise<NeutronPort[]> {
    return this.#list<NeutronPort>('ports', { network_id: networkId });
  }

  async ensureManagementPort(resource: ResourceRef, index: number): Promise<NeutronPort> {
    const description = managementPortDescription(index);
    const port = await this.#findOrCreate(
      { network_id: this.options.managementNetworkId, name: managementPortName(resource.id), device_id: this.#deviceOf(resource), description },
      this.options.managementSubnetId === undefined ? {} : { fixed_ips: [{ subnet_id: this.options.managementSubnetId }] },
    );
    await this.#learnSubnets(port);
    return port;
  }

  ensureAppliancePort(resource: ResourceRef, logical: NeutronPort, member?: number): Promise<NeutronPort> {
    if (member === undefined && this.options.novaPlugsPorts !== true) return Promise.resolve(logical);
    // An HA member's port carries no address of its own: keepalived moves the router's between the members.
    // Nor does a Nova appliance's: the router's addresses go onto it by the network's interface.
    return this.#findOrCreate(
      {
        network_id: logical.network_id,
        name: memberPortName(resource.id),
        device_id: this.#deviceOf(resource),
        description: member === undefined ? appliancePortDescription(logical.id) : memberPortDescription(member, logical.id),
      },
      // Nova refuses a port without an address: the single appliance's own port gets one (unused) of Neutron's choosing.
      member === undefined ? { port_security_enabled: false } : { fixed_ips: [], port_security_enabled: false },
    );
  }

  appliancePortMatches(plugged: NeutronPort, logical: NeutronPort, member?: number): boolean {
    if (member === undefined && this.options.novaPlugsPorts !== true) return plugged.id === logical.id && plugged.mac_address === logical.mac_address;
    const description = member === undefined ? appliancePortDescription(logical.id) : memberPortDescription(member, logical.id);
    return plugged.network_id === logical.network_id && (plugged as NeutronApiPort).description === description;
  }

  async deleteAppliancePorts(resource: ResourceRef): Promise<void> {
    for (const name of [managementPortName(resource.id), memberPortName(resource.id)]) {
      // Under Nova the device is the server (or none once it is gone); the name names the resource anyway.
      for (const port of await this.#list<NeutronPort>('ports', this.options.novaPlugsPorts === true ? { name } : { name, device_id: resource.id })) {
        await this.#delete('ports', port.id);
      }
    }
  }

  /**
   * A router's status through the dhrouterstatus extension, when Neutron
   * has it (stock Neutron refuses any write of a router's status); without
   * it, one log line and nothing more. Other kinds have no status to report.
   */
  async updateStatus(resource: ResourceRef, status: string): Promise<void> {
    if (resource.driver !== 'router') return;
    await this.#updateFloatingIps(resource.id, status);
    if (!(await this.#hasRouterStatusExtension())) return;
    try {
      await this.session.call('network', 'PUT', `/v2.0/dhrouterstatus/${resource.id}`, { routerstatus: { status } });
    } catch (error) {
      // The router was deleted meanwhile: its DELETE event is on its way.
      if (!(error instanceof OpenStackApiError && error.status === 404)) throw error;
    }
  }

  /** The router's floating IPs follow its status (stock Neutron takes them over its L3 RPC only). */
  async #updateFloatingIps(routerId: string, routerStatus: string): Promise<void> {
    const set = this.options.setFloatingIpStatuses;
    if (set === undefined) return;
    const wanted = floatingIpStatusOf(routerStatus);
    const stale = (await this.#list<NeutronFloatingIp & { status?: string }>('floatingips', { router_id: routerId })).filter((f) => f.status !== wanted);
    if (stale.length > 0) await set(routerId, Object.fromEntries(stale.map((f) => [f.id, wanted])));
  }

  managementInterface(port: NeutronPort): string {
    return interfaceAddress(port, this.#managementSubnets);
  }

  async #hasRouterStatusExtension(): Promise<boolean> {
    if (this.#routerStatusExtension === undefined) {
      this.#routerStatusExtension = (await this.#get<unknown>('extensions', 'extension', 'dhrouterstatus')) !== undefined;
      if (!this.#routerStatusExtension) {
        this.options.log.info('Neutron has no dhrouterstatus extension: router statuses are not reported (docs/openstack.md)');
      }
    }
    return this.#routerStatusExtension;
  }

  async #learnSubnets(port: NeutronPort): Promise<void> {
    for (const fixed of port.fixed_ips) {
      if (this.#managementSubnets.has(fixed.subnet_id)) continue;
      const subnet = await this.#get<NeutronSubnet>('subnets', 'subnet', fixed.subnet_id);
      if (subnet) this.#managementSubnets.set(subnet.id, subnet);
    }
  }

  /** The port matching `identity`, created (with `extra`) when there is none. */
  /** The device of the ports the orchestrator makes for a resource: the resource, or none when Nova plugs them. */
  #deviceOf(resource: ResourceRef): string | undefined {
    return this.options.novaPlugsPorts === true ? undefined : resource.id;
  }

  async #findOrCreate(identity: { network_id: string; name: string; device_id: string | undefined; description: string }, extra: Record<string, unknown>): Promise<NeutronPort> {
    const { device_id: deviceId, ...named } = identity;
    const found = (await this.#list<NeutronApiPort>('ports', { network_id: identity.network_id, name: identity.name, ...(deviceId === undefined ? {} : { device_id: deviceId }) })).find(
      (p) => p.description === identity.description,
    );
    if (found) return found;
    // No tenant_id: the port belongs to the orchestrator's own project, where tenants can neither see nor delete it.
    const owned = deviceId === undefined ? {} : { device_id: deviceId, device_owner: APPLIANCE_PORT_OWNER };
    const body = { port: { ...named, ...owned, admin_state_up: true, ...extra } };
    const answer = await this.session.call('network', 'POST', '/v2.0/ports', body);
    return (answer.body as { port: NeutronPort }).port;
  }

  async #list<T>(collection: string, params: Query): Promise<T[]> {
    const answer = await this.session.call('network', 'GET', `/v2.0/${collection}${query(params)}`);
    return ((answer.body as Record<string, T[] | undefined>)[collection] ?? []);
  }

  async #get<T>(collection: string, key: string, id: string): Promise<T | undefined> {
    try {
      const answer = await this.session.call('network', 'GET', `/v2.0/${collection}/${encodeURIComponent(id)}`);
      return (answer.body as Record<string, T>)[key];
    } catch (error) {
      if (error instanceof OpenStackApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async #delete(collection: string, id: string): Promise<void> {
    try {
      await this.session.call('network', 'DELETE', `/v2.0/${collection}/${id}`);
    } catch (error) {
      if (!(error instanceof OpenStackApiError && error.status === 404)) throw error;
    }
  }
}
