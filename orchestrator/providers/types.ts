// The interfaces between the provider-neutral core and the cloud. Two sets
// implement them: `local` (everything on this host: a resource file, Linux
// bridges, appliance namespaces) and, later, `openstack` (Keystone, Neutron,
// Nova, notifications over AMQP). The core imports nothing else from a provider.
import type { Event, ResourceRef } from '../core/events.js';
import type { NetworkDetail, NeutronPort, RouterDetail } from '../model/neutron.js';
import type { LoadBalancerDetail } from '../model/octavia.js';

/** A resource as the provider lists it at start-up. */
export interface ResourceSummary {
  readonly driver: string;
  readonly id: string;
  readonly tenantId: string;
}

/** The cloud's resources, in Neutron's and Octavia's shapes (the original's api/neutron.py). */
export interface NetworkProvider {
  /** The network every appliance's first interface is plugged into. */
  readonly managementNetworkId: string;
  /** Every router the cloud has. */
  listRouters(): Promise<ResourceSummary[]>;
  /** A router with its ports and floating IPs; undefined when it does not exist (gone). */
  getRouter(id: string): Promise<RouterDetail | undefined>;
  /** The first router of a tenant, for events that do not name one. */
  routerForTenant(tenantId: string): Promise<string | undefined>;
  /** Every load balancer the cloud has. */
  listLoadBalancers(): Promise<ResourceSummary[]>;
  /** A load balancer with its VIP port, listeners, pools, members and health monitors; undefined when it does not exist (gone). */
  getLoadBalancer(id: string): Promise<LoadBalancerDetail | undefined>;
  /** The first load balancer of a tenant, for events that do not name one. */
  loadBalancerForTenant(tenantId: string): Promise<string | undefined>;
  getNetwork(id: string): Promise<NetworkDetail | undefined>;
  /** Every port on a network (they become the DHCP allocations of internal networks). */
  listNetworkPorts(networkId: string): Promise<NeutronPort[]>;
  /**
   * The management port of instance `index` of a resource, created when
   * missing (Neutron: a port named `ASTARA:MGT:<id>` on the management network).
   */
  ensureManagementPort(resource: ResourceRef, index: number): Promise<NeutronPort>;
  /**
   * The port an appliance plugs for a logical port of its resource (Neutron: a
   * `ASTARA:VRRP:<id>` port on the same network; local: the logical port
   * itself, or for HA member `member`, a port of the member's own).
   */
  ensureAppliancePort(resource: ResourceRef, logical: NeutronPort, member?: number): Promise<NeutronPort>;
  /** True when `plugged` still stands for `logical` on the single appliance (`member` undefined) or on HA member `member`. */
  appliancePortMatches(plugged: NeutronPort, logical: NeutronPort, member?: number): boolean;
  /** Delete every port made by ensureManagementPort / ensureAppliancePort for the resource. */
  deleteAppliancePorts(resource: ResourceRef): Promise<void>;
  /** Report a resource's status back to the cloud, where it can take it (no-op otherwise). */
  updateStatus(resource: ResourceRef, status: string): Promise<void>;
  /** The management subnet as `address/prefix` of a management port's address, e.g. `fdca::5/64`. */
  managementInterface(port: NeutronPort): string;
}

export type InstanceStatus = 'BUILD' | 'ACTIVE' | 'ERROR' | 'SHUTOFF';

/** One running (or booting) appliance. */
export interface InstanceInfo {
  /** The compute provider's id of this instance (unique across boots). */
  readonly id: string;
  /** `ak-<driver>-<resource id>` (HA pairs: `_0`, `_1` appended). */
  readonly name: string;
  readonly status: InstanceStatus;
  /** When this instance was booted (ms since the epoch). */
  readonly bootedAt: number;
  readonly managementPort: NeutronPort | undefined;
  /** Every plugged port but the management one, in plug order. */
  readonly ports: readonly NeutronPort[];
  /** Provider facts an operator may want (namespace, agent pid...), shown by the admin API. */
  readonly details: Readonly<Record<string, unknown>>;
}

export const managementAddressOf = (instance: InstanceInfo): string | undefined => instance.managementPort?.fixed_ips[0]?.ip_address;

export interface BootRequest {
  readonly name: string;
  readonly resource: ResourceRef;
  readonly managementPort: NeutronPort;
  /** The management port's address with the management prefix length. */
  readonly managementInterface: string;
  /** Ports to plug after the management one, in order (external, then internal). */
  readonly ports: readonly NeutronPort[];
  /** MTU per network id, where the network sets one. */
  readonly mtus: Readonly<Record<string, number>>;
  readonly imageId: string | undefined;
  /** The TCP port the appliance's agent API is to listen on (`[<driver>] mgt_service_port`); an image may have it built in. */
  readonly servicePort: number;
}

/** Boots, lists and stops appliances (the original's api/nova.py). */
export interface ComputeProvider {
  /** Instances named `name` or `name_<n>`. */
  listInstances(name: string): Promise<InstanceInfo[]>;
  /** Every appliance this provider runs, whatever its resource (start-up clean-up of orphans). */
  listAllInstances(): Promise<InstanceInfo[]>;
  getInstance(id: string): Promise<InstanceInfo | undefined>;
  /** Start booting; resolves once the instance exists (it is BOOTING until its agent answers). */
  boot(request: BootRequest): Promise<InstanceInfo>;
  /** Stop the instances and wait until they are gone, at most `timeoutMs`. */
  destroy(instances: readonly InstanceInfo[], timeoutMs: number): Promise<void>;
  attachInterface(instance: InstanceInfo, port: NeutronPort, mtu: number | undefined): Promise<InstanceInfo>;
  detachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo>;
}

/** Where CREATE / UPDATE / DELETE events come from (Neutron notifications, or edits of the resource file). */
export interface EventSource {
  /** Start delivering; `deliver(target, event)` with the tenant id as target. */
  start(deliver: (target: string, event: Event) => void): Promise<void>;
  stop(): Promise<void>;
}

/** A guest's metadata request as an appliance's proxy forwards it. */
export interface MetadataRequest {
  /** The path and query the guest asked for. */
  readonly path: string;
  /** `X-Instance-ID`: the device id the appliance found for the guest's address. */
  readonly instanceId: string;
  /** `X-Forwarded-For`: the guest's address. */
  readonly forwardedFor: string;
  readonly tenantId: string | undefined;
  readonly networkId: string | undefined;
  /** The address the request came from: an appliance's management address. */
  readonly sourceAddress: string;
}

export interface MetadataAnswer {
  readonly status: 200 | 404 | 403 | 500;
  readonly contentType: string;
  readonly body: string;
}

/** Answers guests' metadata (local: from the resource file; OpenStack: Nova's metadata service). */
export interface MetadataBackend {
  answer(request: MetadataRequest): Promise<MetadataAnswer>;
}
