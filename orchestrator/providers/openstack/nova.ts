// The OpenStack ComputeProvider: appliances as Nova servers, over Nova's REST
// API through the Keystone session (the catalogue's `compute` endpoint). A
// server boots from `[<driver>] image_uuid` with `[<driver>] instance_flavor`,
// the management port first and the appliance's ports after it, and a config
// drive whose user data names the management MAC and address (what the image's
// first-boot unit, astara-management-bootstrap, reads). The pure parts (request
// bodies, user data, status and name mapping) are functions; NovaCompute is the
// imperative shell.
import type { Logger } from 'pino';
import type { NeutronPort } from '../../model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo, InstanceStatus } from '../types.js';
import { OpenStackApiError, type KeystoneSession } from './keystone.js';

/** The command the image runs at first boot with `<mac> <address>/<prefix>` (elements/astara-appliance). */
export const MANAGEMENT_BOOT_COMMAND = '/usr/local/bin/astara-configure-management';

/**
 * The cloud-config user data of an appliance, as the original orchestrator
 * wrote it: `bootcmd` runs the management command with the management port's
 * MAC and `address/prefix`; nothing else is needed by the image.
 */
export function applianceUserData(managementMac: string, managementInterface: string): string {
  return ['#cloud-config', 'bootcmd:', `  - ${MANAGEMENT_BOOT_COMMAND} ${managementMac.toLowerCase()} ${managementInterface}`, 'final_message: "Astara appliance is running"', ''].join('\n');
}

/** `POST /servers`: the image, the flavor, the ports in plug order (management first), a config drive with the user data. */
export function serverCreateBody(request: BootRequest, imageRef: string, flavorRef: string): unknown {
  return {
    server: {
      name: request.name,
      imageRef,
      flavorRef,
      networks: [request.managementPort, ...request.ports].map((port) => ({ port: port.id })),
      config_drive: true,
      user_data: Buffer.from(applianceUserData(request.managementPort.mac_address, request.managementInterface)).toString('base64'),
      metadata: { 'astara:resource': `${request.resource.driver}/${request.resource.id}` },
    },
  };
}

/**
 * Nova's status as the core's: servers on their way up (BUILD, REBUILD,
 * REBOOT...) are BUILD, the stopped kinds SHUTOFF.
 */
export function instanceStatusOf(novaStatus: string): InstanceStatus {
  switch (novaStatus) {
    case 'ACTIVE':
      return 'ACTIVE';
    case 'ERROR':
      return 'ERROR';
    case 'SHUTOFF':
    case 'STOPPED':
    case 'SUSPENDED':
    case 'PAUSED':
    case 'SHELVED':
    case 'SHELVED_OFFLOADED':
    case 'DELETED':
    case 'SOFT_DELETED':
      return 'SHUTOFF';
    default:
      return 'BUILD';
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Nova's `name` filter is a regular expression: exactly `name`, or `name_<n>` (HA members). */
export const serverNameFilter = (name: string): string => `^${escapeRegExp(name)}(_[0-9]+)?$`;

export const isInstanceNamed = (serverName: string, name: string): boolean => new RegExp(serverNameFilter(name)).test(serverName);

/** Every appliance is named `ak-<driver>-<resource id>`. */
export const APPLIANCE_NAME_FILTER = '^ak-';

export interface NovaServer {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly created?: string;
  readonly image?: { readonly id?: string } | string;
  readonly flavor?: { readonly id?: string; readonly original_name?: string };
  readonly fault?: { readonly message?: string };
  readonly 'OS-EXT-SRV-ATTR:host'?: string | null;
}

export interface NovaInterface {
  readonly port_id: string;
  readonly mac_addr: string;
  readonly net_id: string;
}

/**
 * An InstanceInfo from a server, its interfaces in Nova's (plug) order and
 * the Neutron ports they are: the one on the management network is the
 * management port, the others follow in plug order.
 */
export function instanceFrom(server: NovaServer, interfaces: readonly NovaInterface[], ports: readonly NeutronPort[], managementNetworkId: string, now: number): InstanceInfo {
  const byId = new Map(ports.map((p) => [p.id, p]));
  const plugged = interfaces.map((i) => byId.get(i.port_id)).filter((p): p is NeutronPort => p !== undefined);
  const created = server.created === undefined ? NaN : Date.parse(server.created);
  return {
    id: server.id,
    name: server.name,
    status: instanceStatusOf(server.status),
    bootedAt: Number.isNaN(created) ? now : created,
    managementPort: plugged.find((p) => p.network_id === managementNetworkId),
    ports: plugged.filter((p) => p.network_id !== managementNetworkId),
    details: {
      nova_status: server.status,
      host: server['OS-EXT-SRV-ATTR:host'] ?? null,
      flavor: server.flavor?.original_name ?? server.flavor?.id ?? null,
      ...(server.fault?.message === undefined ? {} : { fault: server.fault.message }),
    },
  };
}

export interface NovaComputeOptions {
  readonly managementNetworkId: string;
  /** `[<driver>] instance_flavor` by driver name; a driver without one cannot boot. */
  readonly flavors: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** How often destroy() asks whether a deleted server is gone. */
  readonly pollIntervalMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class NovaCompute implements ComputeProvider {
  /**
   * The ports each server was booted or attached with, until Nova lists them
   * itself (its compute host binds them during the build).
   */
  readonly #planned = new Map<string, { managementPort: NeutronPort | undefined; ports: readonly NeutronPort[] }>();

  constructor(
    private readonly session: KeystoneSession,
    private readonly options: NovaComputeOptions,
  ) {}

  async listInstances(name: string): Promise<InstanceInfo[]> {
    const servers = await this.#servers(serverNameFilter(name));
    return Promise.all(servers.filter((s) => isInstanceNamed(s.name, name)).map((s) => this.#describe(s)));
  }

  async listAllInstances(): Promise<InstanceInfo[]> {
    return Promise.all((await this.#servers(APPLIANCE_NAME_FILTER)).map((s) => this.#describe(s)));
  }

  async getInstance(id: string): Promise<InstanceInfo | undefined> {
    const server = await this.#server(id);
    return server === undefined ? undefined : this.#describe(server);
  }

  /** Throws (a failed boot, counted toward the ERROR threshold) when the driver has no image or flavor, or Nova refuses. */
  async boot(request: BootRequest): Promise<InstanceInfo> {
    const driver = request.resource.driver;
    if (request.imageId === undefined) throw new Error(`[${driver}] image_uuid is not set: Nova has no image to boot ${request.name} from`);
    const flavor = this.options.flavors[driver];
    if (flavor === undefined) throw new Error(`[${driver}] instance_flavor is not set: Nova has no flavor to boot ${request.name} with`);
    const answer = await this.session.call('compute', 'POST', '/servers', serverCreateBody(request, request.imageId, flavor));
    const id = (answer.body as { server?: { id?: string } } | undefined)?.server?.id;
    if (id === undefined) throw new Error(`Nova answered the boot of ${request.name} without a server id`);
    this.#planned.set(id, { managementPort: request.managementPort, ports: request.ports });
    this.options.log.info({ appliance: request.name, server: id, image: request.imageId, flavor }, 'Nova server created');
    return {
      id,
      name: request.name,
      status: 'BUILD',
      bootedAt: Date.now(),
      managementPort: request.managementPort,
      ports: request.ports,
      details: { nova_status: 'BUILD', flavor },
    };
  }

  async destroy(instances: readonly InstanceInfo[], timeoutMs: number): Promise<void> {
    for (const instance of instances) {
      try {
        await this.session.call('compute', 'DELETE', `/servers/${instance.id}`);
      } catch (error) {
        if (!(error instanceof OpenStackApiError && error.status === 404)) throw error;
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (const instance of instances) {
      while ((await this.#server(instance.id)) !== undefined) {
        if (Date.now() > deadline) throw new Error(`Nova server ${instance.id} (${instance.name}) was not deleted within ${timeoutMs} ms`);
        await sleep(this.options.pollIntervalMs ?? 500);
      }
      this.#planned.delete(instance.id);
    }
  }

  async attachInterface(instance: InstanceInfo, port: NeutronPort, _mtu: number | undefined): Promise<InstanceInfo> {
    await this.session.call('compute', 'POST', `/servers/${instance.id}/os-interface`, { interfaceAttachment: { port_id: port.id } });
    const ports = [...instance.ports, port];
    this.#planned.set(instance.id, { managementPort: instance.managementPort, ports });
    return { ...instance, ports };
  }

  async detachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo> {
    try {
      await this.session.call('compute', 'DELETE', `/servers/${instance.id}/os-interface/${port.id}`);
    } catch (error) {
      if (!(error instanceof OpenStackApiError && error.status === 404)) throw error;
    }
    const ports = instance.ports.filter((p) => p.id !== port.id);
    this.#planned.set(instance.id, { managementPort: instance.managementPort, ports });
    return { ...instance, ports };
  }

  async #servers(nameFilter: string): Promise<NovaServer[]> {
    const answer = await this.session.call('compute', 'GET', `/servers/detail?${new URLSearchParams({ name: nameFilter }).toString()}`);
    return (answer.body as { servers?: NovaServer[] } | undefined)?.servers ?? [];
  }

  async #server(id: string): Promise<NovaServer | undefined> {
    try {
      const answer = await this.session.call('compute', 'GET', `/servers/${id}`);
      const server = (answer.body as { server?: NovaServer } | undefined)?.server;
      return server?.status === 'DELETED' ? undefined : server;
    } catch (error) {
      if (error instanceof OpenStackApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The server with its ports: as Nova lists them once it has, as they were planned before. */
  async #describe(server: NovaServer): Promise<InstanceInfo> {
    const [interfaces, ports] = await Promise.all([
      this.session.call('compute', 'GET', `/servers/${server.id}/os-interface`).then((a) => (a.body as { interfaceAttachments?: NovaInterface[] } | undefined)?.interfaceAttachments ?? []),
      this.session
        .call('network', 'GET', `/v2.0/ports?${new URLSearchParams({ device_id: server.id }).toString()}`)
        .then((a) => (a.body as { ports?: NeutronPort[] } | undefined)?.ports ?? []),
    ]);
    const listed = instanceFrom(server, interfaces, ports, this.options.managementNetworkId, Date.now());
    const planned = this.#planned.get(server.id);
    if (planned === undefined || listed.managementPort !== undefined) return listed;
    return { ...listed, managementPort: planned.managementPort, ports: planned.ports };
  }
}
