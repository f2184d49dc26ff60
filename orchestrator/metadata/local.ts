// Guests' metadata from the local resource file, in the paths and shapes of
// Nova's metadata service that cloud-init reads first. A guest is identified
// only from what its router's appliance asserted (the appliance it came from,
// the network it proxied for, the instance id it looked up for the guest's
// address), never from anything the guest sent.
//
// Served (EC2 dated versions such as /2009-04-04/ and OpenStack dated versions
// such as /openstack/2012-08-10/ are answered as `latest`):
//   /                                   latest
//   /latest/                            meta-data/
//   /latest/meta-data/                  the keys below
//   /latest/meta-data/instance-id       the instance id (the guest port's device_id)
//   /latest/meta-data/hostname          <name>.novalocal
//   /latest/meta-data/local-hostname    <name>.novalocal
//   /latest/meta-data/local-ipv4        the guest's IPv4 address (when it has one)
//   /openstack/                         latest
//   /openstack/latest/                  meta_data.json
//   /openstack/latest/meta_data.json    uuid, name, hostname, project_id, availability_zone, launch_index, meta, public_keys
// Anything else is 404, as Nova answers for what an instance does not have
// (user_data, vendor_data.json, network_data.json): cloud-init takes that as "none".
import type { Logger } from 'pino';
import { parseAddress } from '../../contract/ip.js';
import { ROUTER_INTERFACE_OWNER, tenantOf, type NeutronPort } from '../model/neutron.js';
import type { ResourceView } from '../providers/local/view.js';
import type { MetadataAnswer, MetadataBackend, MetadataRequest } from '../providers/types.js';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const NOT_FOUND: MetadataAnswer = { status: 404, contentType: TEXT, body: 'Not Found' };
const DATED_VERSION = /^\d{4}-\d{2}-\d{2}$/;

/** The instance a request is about, as the resource file describes it. */
export interface Guest {
  readonly instanceId: string;
  readonly name: string;
  /** `<sanitised name>.novalocal`, as Nova makes it. */
  readonly hostname: string;
  readonly projectId: string;
  readonly ipv4: string | undefined;
}

/**
 * The guest behind a proxied request, or why there is none. `routerId` is the
 * router whose appliance has the request's source address.
 */
export function identifyGuest(view: ResourceView, request: MetadataRequest, routerId: string | undefined): Guest | { readonly reason: string } {
  if (routerId === undefined) return { reason: `no appliance has the source address ${request.sourceAddress}` };
  const router = view.routers.get(routerId);
  if (!router) return { reason: `router ${routerId} is not in the resource file` };
  if (request.networkId === undefined) return { reason: 'the request names no network' };
  const routerNetworks = new Set(
    [...view.ports.values()].filter((p) => p.device_owner === ROUTER_INTERFACE_OWNER && p.device_id === routerId).map((p) => p.network_id),
  );
  if (!routerNetworks.has(request.networkId)) return { reason: `network ${request.networkId} is not on router ${routerId}` };
  const address = parseAddress(request.forwardedFor)?.text;
  if (address === undefined) return { reason: `the guest address "${request.forwardedFor}" is not an address` };
  const port = [...view.ports.values()].find(
    (p) =>
      p.network_id === request.networkId &&
      p.device_id === request.instanceId &&
      // Router interfaces, DHCP and other network-owned ports are not instances.
      !p.device_owner.startsWith('network:') &&
      p.fixed_ips.some((ip) => parseAddress(ip.ip_address)?.text === address),
  );
  if (!port) return { reason: `no instance ${request.instanceId} has address ${address} on network ${request.networkId}` };

  const server = view.servers.get(request.instanceId);
  const fallbackName = `host-${address.replace(/[:.]/g, '-')}`;
  const name = server?.name ?? fallbackName;
  return {
    instanceId: request.instanceId,
    name,
    hostname: `${hostLabel(name) || hostLabel(fallbackName)}.novalocal`,
    projectId: tenantOf(server ?? {}) || tenantOf(port) || tenantOf(router),
    ipv4: parseAddress(address)?.family === 4 ? address : firstIpv4(port),
  };
}

/** The answer to `path` (with its query, if any) for `guest`. */
export function metadataAnswer(guest: Guest, path: string): MetadataAnswer {
  const segments = (path.split('?')[0] ?? '').split('/').filter((s) => s !== '');
  const openstack = segments[0] === 'openstack';
  const [version, ...rest] = openstack ? segments.slice(1) : segments;
  const latest = version !== undefined && DATED_VERSION.test(version) ? 'latest' : version;
  return openstack ? openstackAnswer(guest, latest, rest) : ec2Answer(guest, latest, rest);
}

function ec2Answer(guest: Guest, version: string | undefined, [tree, key, ...rest]: readonly string[]): MetadataAnswer {
  const values: Record<string, string | undefined> = {
    hostname: guest.hostname,
    'instance-id': guest.instanceId,
    'local-hostname': guest.hostname,
    'local-ipv4': guest.ipv4,
  };
  if (version === undefined) return text('latest');
  if (version !== 'latest') return NOT_FOUND;
  if (tree === undefined) return text('meta-data/');
  if (tree !== 'meta-data' || rest.length > 0) return NOT_FOUND;
  if (key === undefined) {
    return text(
      Object.entries(values)
        .filter(([, value]) => value !== undefined)
        .map(([name]) => name)
        .join('\n'),
    );
  }
  const value = Object.hasOwn(values, key) ? values[key] : undefined;
  return value === undefined ? NOT_FOUND : text(value);
}

function openstackAnswer(guest: Guest, version: string | undefined, [file, ...rest]: readonly string[]): MetadataAnswer {
  if (version === undefined) return text('latest');
  if (version !== 'latest' || rest.length > 0) return NOT_FOUND;
  if (file === undefined) return text('meta_data.json');
  if (file !== 'meta_data.json') return NOT_FOUND;
  const document = {
    uuid: guest.instanceId,
    name: guest.name,
    hostname: guest.hostname,
    project_id: guest.projectId,
    availability_zone: 'nova',
    launch_index: 0,
    meta: {},
    public_keys: {},
  };
  return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(document) };
}

const text = (body: string): MetadataAnswer => ({ status: 200, contentType: TEXT, body });

/** A name as one host-name label: lower case, other characters as `-`, at most 63 (empty when nothing is left). */
function hostLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

function firstIpv4(port: NeutronPort): string | undefined {
  return port.fixed_ips.map((ip) => parseAddress(ip.ip_address)).find((a) => a?.family === 4)?.text;
}

export class LocalMetadata implements MetadataBackend {
  constructor(
    /** The current reading of the resource file. */
    private readonly view: () => ResourceView,
    /** The router whose appliance has this management address. */
    private readonly applianceResource: (sourceAddress: string) => string | undefined,
    private readonly logger: Logger,
  ) {}

  answer(request: MetadataRequest): Promise<MetadataAnswer> {
    const guest = identifyGuest(this.view(), request, this.applianceResource(request.sourceAddress));
    if ('reason' in guest) {
      this.logger.info(
        { sourceAddress: request.sourceAddress, instanceId: request.instanceId, forwardedFor: request.forwardedFor, networkId: request.networkId, path: request.path },
        `metadata request refused: ${guest.reason}`,
      );
      return Promise.resolve(NOT_FOUND);
    }
    return Promise.resolve(metadataAnswer(guest, request.path));
  }
}
