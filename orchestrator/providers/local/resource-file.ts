// The local provider's resource file: Neutron's collections as `GET /v2.0/...`
// returns them (and Octavia's, read by loadbalancers.ts), in YAML or JSON. Reading it yields either one immutable view
// or every problem of the file at once, each named by its JSON pointer, so an
// operator fixes a broken edit in one pass.
//
// Values that end up in an appliance's document (ids, names, MACs) follow the
// contract's rules, taken from its generated schema: the file accepts nothing
// a document could not carry. Cross-resource rules mirror what Neutron itself
// enforces, since a hand-written file has no Neutron server to refuse it.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { contains, overlaps, parseAddress, parseCidr, type ParsedAddress, type ParsedCidr } from '../../../contract/ip.js';
import type { Problem } from '../../../contract/validate.js';
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  type ExternalGatewayInfo,
  type FixedIp,
  type HostRoute,
  type NeutronFloatingIp,
  type NeutronNetwork,
  type NeutronPort,
  type NeutronRouter,
  type NeutronSubnet,
  type NovaServer,
} from '../../model/neutron.js';
import { buildOctavia, checkOctavia, OCTAVIA_COLLECTIONS, readOctavia, type OctaviaCollections } from './loadbalancers.js';
import { byId, Checks, EntryMemo, Fields, finish, ID, need, pointer, readCollection, type Draft, type Read } from './resource-checks.js';
import type { ResourceView } from './view.js';
import { buildVpnaas, checkVpnaas, readVpnaas, VPNAAS_COLLECTIONS, type RouterFacts, type VpnaasCollections } from './vpnaas.js';

export type { Problem };
export { EntryMemo };

export interface ParseOptions {
  /** `[DEFAULT] management_network_id`. */
  readonly managementNetworkId: string;
  /** `[DEFAULT] management_prefix`, an IPv6 network. */
  readonly managementPrefix: string;
}

export type ParseResult =
  | { readonly ok: true; readonly view: ResourceView; readonly warnings: Problem[] }
  | { readonly ok: false; readonly problems: Problem[] };

/** Name of the management network when the file does not declare it. */
const IMPLIED_MANAGEMENT_NETWORK_NAME = 'astara-management';

/** Id of the implied management subnet. */
const impliedManagementSubnetId = (managementNetworkId: string): string => `${managementNetworkId}-subnet`;

/**
 * The file's text. A missing file is an error, not "no resources": a mistyped
 * path must never read as an order to delete every router (an empty file does
 * mean no resources).
 */
export async function readResourceText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the file does not exist (an empty file means no resources)');
    throw error;
  }
}

export async function readResourceFile(path: string, options: ParseOptions): Promise<ParseResult> {
  let text: string;
  try {
    text = await readResourceText(path);
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `cannot read ${path}: ${(error as Error).message}` }] };
  }
  return parseResourceFile(text, path, options);
}

/**
 * The file's view, or every problem of it. A reader of successive versions of
 * one file passes the same `memo` each time, so that the entries an edit left
 * unchanged are not read again and keep their objects in the view.
 */
export function parseResourceFile(text: string, fileName: string, options: ParseOptions, memo?: EntryMemo): ParseResult {
  const parsed = parseText(text, fileName);
  if (!parsed.ok) return { ok: false, problems: [{ path: '', message: parsed.message }] };
  return validateResources(parsed.value, options, memo);
}

// ---------------------------------------------------------------------------
// Syntax

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

function parseText(text: string, fileName: string): Parsed {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') return { ok: true, value: null };
  const extension = extname(fileName).toLowerCase();
  if (extension === '.json') return parseJson(source);
  if (extension === '.yaml' || extension === '.yml') return parseYaml(source);
  const json = parseJson(source);
  return json.ok ? json : parseYaml(source);
}

function parseJson(source: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(source) as unknown };
  } catch (error) {
    const message = (error as Error).message;
    // V8 gives some errors as an offset ("at position N"): an editor wants the line and column.
    const position = /at position (\d+)/.exec(message)?.[1];
    if (position === undefined) return { ok: false, message: `invalid JSON: ${message}` };
    const before = source.slice(0, Number(position)).split('\n');
    return { ok: false, message: `invalid JSON: ${message} (line ${before.length}, column ${before[before.length - 1]!.length + 1})` };
  }
}

function parseYaml(source: string): Parsed {
  const document = parseDocument(source, { version: '1.2', schema: 'core', prettyErrors: true });
  const error = document.errors[0];
  // Pretty errors append the offending lines; the first line names the line and column.
  if (error) return { ok: false, message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/:$/, '')}` };
  try {
    return { ok: true, value: document.toJS() as unknown };
  } catch (failure) {
    return { ok: false, message: `invalid YAML: ${(failure as Error).message}` };
  }
}

// ---------------------------------------------------------------------------
// Drafts (see resource-checks.ts)

const MIN_IPV6_MTU = 1280;
const DEVICE_ID_CHARACTERS = 11;

type FixedIpDraft = Draft<FixedIp>;
type NetworkDraft = Draft<NeutronNetwork>;
type SubnetDraft = Draft<NeutronSubnet>;
type PortDraft = Draft<Omit<NeutronPort, 'fixed_ips'>> & { readonly fixed_ips?: FixedIpDraft[] };
type GatewayDraft = Draft<Omit<ExternalGatewayInfo, 'external_fixed_ips'>> & { readonly external_fixed_ips?: FixedIpDraft[] };
type RouterDraft = Draft<Omit<NeutronRouter, 'external_gateway_info'>> & { external_gateway_info?: GatewayDraft | null };
type FloatingIpDraft = Draft<NeutronFloatingIp>;
type ServerDraft = Draft<NovaServer>;

const TENANT_KEYS = ['tenant_id', 'project_id'];

/** Every item stays, even one that is not an object, so that a port with a broken address is known to be incomplete. */
function readFixedIp(c: Checks): Read<FixedIpDraft> {
  return (value, path) => {
    const object = c.object(value, path);
    if (!object) return { path };
    const f = new Fields(c, path, object, ['subnet_id', 'ip_address']);
    return { path, subnet_id: f.required('subnet_id', c.id), ip_address: f.required('ip_address', c.address) };
  };
}

function readNetwork(c: Checks, f: Fields): NetworkDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    name: f.optional('name', c.text),
    tenant_id: f.optional('tenant_id', c.id),
    project_id: f.optional('project_id', c.id),
    'router:external': f.defaulted('router:external', c.boolean, false),
    mtu: f.nullable('mtu', c.mtu),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
  };
}
const NETWORK_KEYS = ['id', 'name', ...TENANT_KEYS, 'router:external', 'mtu', 'admin_state_up'];

function readSubnet(c: Checks, f: Fields): SubnetDraft {
  const id = f.required('id', c.id);
  const networkId = f.required('network_id', c.id);
  const cidr = f.required('cidr', c.network);
  const ipVersion = f.required('ip_version', c.ipVersion);
  const range = cidr === undefined ? undefined : parseCidr(cidr);
  if (range && ipVersion !== undefined && range.family !== ipVersion) c.fail(f.at('ip_version'), `is ${ipVersion} but cidr ${cidr} is IPv${range.family}`);
  const inside: Read<string> = (value, path) => {
    const address = c.address(value, path);
    if (address === undefined || !range) return address;
    return contains(range, parseAddress(address)!) ? address : c.fail(path, `${address} is not inside the subnet ${range.network}`);
  };
  const hostRoute: Read<HostRoute> = (value, path) => {
    const object = c.object(value, path);
    if (!object) return undefined;
    const route = new Fields(c, path, object, ['destination', 'nexthop']);
    const destination = route.required('destination', (text, at) => {
      const network = c.network(text, at);
      const family = network === undefined ? undefined : parseCidr(network)!.family;
      return range && family !== undefined && family !== range.family ? c.fail(at, `is IPv${family} in an IPv${range.family} subnet`) : network;
    });
    const nexthop = route.required('nexthop', inside);
    return destination === undefined || nexthop === undefined ? undefined : { destination, nexthop };
  };
  const raMode = f.nullable('ipv6_ra_mode', c.ipv6Mode);
  const addressMode = f.nullable('ipv6_address_mode', c.ipv6Mode);
  if (raMode && ipVersion === 4) c.fail(f.at('ipv6_ra_mode'), 'applies to IPv6 subnets only');
  if (addressMode && ipVersion === 4) c.fail(f.at('ipv6_address_mode'), 'applies to IPv6 subnets only');
  return {
    path: f.path,
    id,
    network_id: networkId,
    name: f.optional('name', c.text),
    tenant_id: f.optional('tenant_id', c.id),
    cidr,
    ip_version: ipVersion,
    gateway_ip: f.nullable('gateway_ip', inside),
    enable_dhcp: f.defaulted('enable_dhcp', c.boolean, true),
    dns_nameservers: f.defaulted('dns_nameservers', c.list(c.address), []),
    host_routes: f.defaulted('host_routes', c.list(hostRoute), []),
    ipv6_ra_mode: raMode,
    ipv6_address_mode: addressMode,
  };
}
const SUBNET_KEYS = ['id', 'network_id', 'name', ...TENANT_KEYS, 'cidr', 'ip_version', 'gateway_ip', 'enable_dhcp', 'dns_nameservers', 'host_routes', 'ipv6_ra_mode', 'ipv6_address_mode'];

function readPort(c: Checks, f: Fields): PortDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    network_id: f.required('network_id', c.id),
    name: f.optional('name', c.text),
    tenant_id: f.optional('tenant_id', c.id),
    mac_address: f.required('mac_address', c.mac),
    fixed_ips: f.defaulted('fixed_ips', c.list(readFixedIp(c)), []),
    device_id: f.defaulted('device_id', c.idOrEmpty, ''),
    device_owner: f.defaulted('device_owner', c.text, ''),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
  };
}
const PORT_KEYS = ['id', 'network_id', 'name', ...TENANT_KEYS, 'mac_address', 'fixed_ips', 'device_id', 'device_owner', 'admin_state_up'];

/**
 * A router's appliance is the namespace `ak-router-<id>`, whose agent keeps
 * control sockets in a directory named after it: its id must make a usable
 * namespace name and fit the socket path limit, as a UUID does.
 */
const ROUTER_ID = /^[A-Za-z0-9_.-]{1,36}$/;

function readRouter(c: Checks, f: Fields): RouterDraft {
  const id = f.required('id', c.id);
  if (id !== undefined && !ROUTER_ID.test(id)) c.fail(f.at('id'), `${id} cannot name an appliance: at most 36 letters, digits, '_', '.' or '-' (a UUID fits)`);
  const tenantId = f.optional('tenant_id', c.id);
  const projectId = f.optional('project_id', c.id);
  if (tenantId !== undefined && projectId !== undefined && tenantId !== projectId) c.fail(f.at('project_id'), `${projectId} differs from tenant_id ${tenantId}`);
  if (!f.has('tenant_id') && !f.has('project_id')) c.fail(f.at('tenant_id'), 'is required (or project_id)');
  return {
    path: f.path,
    id,
    tenant_id: tenantId ?? projectId,
    project_id: projectId,
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    status: f.optional('status', c.text),
    external_gateway_info: f.nullable('external_gateway_info', (value, path) => {
      const object = c.object(value, path);
      if (!object) return undefined;
      const g = new Fields(c, path, object, ['network_id', 'external_fixed_ips', 'enable_snat']);
      const enableSnat = g.optional('enable_snat', c.boolean);
      if (enableSnat === false) c.warn(g.at('enable_snat'), 'false is not supported: the appliance always translates tenant traffic to its external address');
      return {
        path,
        network_id: g.required('network_id', c.id),
        external_fixed_ips: g.defaulted('external_fixed_ips', c.list(readFixedIp(c)), []),
        enable_snat: enableSnat,
      };
    }),
    ha: f.defaulted('ha', c.boolean, false),
  };
}
const ROUTER_KEYS = ['id', ...TENANT_KEYS, 'name', 'admin_state_up', 'status', 'external_gateway_info', 'ha'];

function readFloatingIp(c: Checks, f: Fields): FloatingIpDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    floating_ip_address: f.required('floating_ip_address', c.address),
    floating_network_id: f.required('floating_network_id', c.id),
    port_id: f.nullable('port_id', c.id),
    fixed_ip_address: f.nullable('fixed_ip_address', c.address),
    router_id: f.nullable('router_id', c.id),
    tenant_id: f.optional('tenant_id', c.id),
  };
}
const FLOATING_IP_KEYS = ['id', 'floating_ip_address', 'floating_network_id', 'port_id', 'fixed_ip_address', 'router_id', ...TENANT_KEYS];

function readServer(c: Checks, f: Fields): ServerDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    name: f.required('name', c.text),
    tenant_id: f.optional('tenant_id', c.id),
    project_id: f.optional('project_id', c.id),
  };
}
const SERVER_KEYS = ['id', 'name', ...TENANT_KEYS];

const COLLECTIONS = ['networks', 'subnets', 'ports', 'routers', 'floatingips', 'servers'] as const;

// ---------------------------------------------------------------------------
// Cross-resource rules

interface Resources {
  readonly c: Checks;
  readonly managementNetworkId: string;
  readonly networks: Map<string, NetworkDraft>;
  readonly subnets: Map<string, SubnetDraft>;
  readonly ports: Map<string, PortDraft>;
  readonly routers: Map<string, RouterDraft>;
  readonly floatingips: Map<string, FloatingIpDraft>;
  readonly servers: Map<string, ServerDraft>;
  /** `network id|address` -> the path of what holds it: an address is held once per network. */
  readonly addresses: Map<string, string>;
  /** The parsed CIDRs of the subnets per network and per subnet id, management subnet included. */
  readonly rangesByNetwork: Map<string, SubnetRange[]>;
  readonly rangeBySubnet: Map<string, ParsedCidr>;
}

interface SubnetRange {
  readonly subnet: SubnetDraft;
  readonly range: ParsedCidr;
}

function indexRanges(r: Resources): void {
  for (const subnet of r.subnets.values()) {
    const range = subnet.cidr === undefined ? undefined : parseCidr(subnet.cidr);
    if (!range) continue;
    if (subnet.id !== undefined) r.rangeBySubnet.set(subnet.id, range);
    if (subnet.network_id === undefined) continue;
    const list = r.rangesByNetwork.get(subnet.network_id);
    if (list) list.push({ subnet, range });
    else r.rangesByNetwork.set(subnet.network_id, [{ subnet, range }]);
  }
}

function validateResources(document: unknown, options: ParseOptions, memo?: EntryMemo): ParseResult {
  memo?.nextFile();
  const c = new Checks();
  const managementPrefix = checkOptions(c, options);
  const top = document === null || document === undefined ? {} : c.object(document, '');
  if (!top) return { ok: false, problems: c.problems };
  for (const key of Object.keys(top)) {
    if (!([...COLLECTIONS, ...OCTAVIA_COLLECTIONS, ...VPNAAS_COLLECTIONS] as readonly string[]).includes(key)) c.warn(pointer('', key), `unknown key "${key}" (ignored)`);
  }
  const networkList = readCollection(c, top, 'networks', NETWORK_KEYS, readNetwork, memo);
  const subnetList = readCollection(c, top, 'subnets', SUBNET_KEYS, readSubnet, memo);
  const portList = readCollection(c, top, 'ports', PORT_KEYS, readPort, memo);
  const routerList = readCollection(c, top, 'routers', ROUTER_KEYS, readRouter, memo);
  // Not kept: the checks fill in a floating IP's router and fixed address from the other entries.
  const floatingIpList = readCollection(c, top, 'floatingips', FLOATING_IP_KEYS, readFloatingIp);
  const serverList = readCollection(c, top, 'servers', SERVER_KEYS, readServer, memo);
  const octaviaDrafts = readOctavia(c, top);
  const vpnaasDrafts = readVpnaas(c, top);

  const resources: Resources = {
    c,
    managementNetworkId: options.managementNetworkId,
    networks: byId(c, networkList),
    subnets: byId(c, subnetList),
    ports: byId(c, portList),
    routers: byId(c, routerList),
    floatingips: byId(c, floatingIpList),
    servers: byId(c, serverList),
    addresses: new Map(),
    rangesByNetwork: new Map(),
    rangeBySubnet: new Map(),
  };
  const managementSubnet = managementPrefix ? checkManagement(resources, subnetList, managementPrefix) : undefined;
  indexRanges(resources);
  checkSubnets(resources, subnetList, managementPrefix);
  checkDeviceNames(c, [...resources.networks.values()], 'brq');
  const taps = checkDeviceNames(c, portList.filter((port) => port.device_owner === ROUTER_GATEWAY_OWNER || port.device_owner === ROUTER_INTERFACE_OWNER), 'tap');
  checkPorts(resources, portList);
  const interfaces = checkRouters(resources, portList, routerList);
  checkFloatingIps(resources, floatingIpList, interfaces);
  const octavia = checkOctavia(c, { ...resources, claimAddress: (networkId, address, path) => claimAddress(resources, networkId, address, path) }, octaviaDrafts);
  // A load balancer's appliance plugs its VIP port: its host end is named like a router port's.
  checkDeviceNames(c, octavia.vipPorts, 'tap', taps);
  const vpnaas = checkVpnaas(c, routerFacts(resources, interfaces), vpnaasDrafts);

  if (c.problems.length > 0 || !managementSubnet) return { ok: false, problems: c.problems };
  return { ok: true, view: { ...buildView(resources, managementSubnet), ...buildOctavia(octavia), ...buildVpnaas(vpnaas) }, warnings: c.warnings };
}

function checkOptions(c: Checks, options: ParseOptions): ParsedCidr | undefined {
  if (!ID.test(options.managementNetworkId)) c.fail('', `management_network_id ${JSON.stringify(options.managementNetworkId)} is not an id`);
  const prefix = parseCidr(options.managementPrefix);
  if (!prefix || prefix.family !== 6 || prefix.cidr !== prefix.network) return c.fail('', `management_prefix ${JSON.stringify(options.managementPrefix)} is not an IPv6 network`);
  // Management addresses are SLAAC-style (EUI-64): the host part takes 64 bits.
  if (prefix.prefix > 64) return c.fail('', `management_prefix ${prefix.network} is longer than /64: it cannot hold EUI-64 addresses`);
  return prefix;
}

/** The management network's subnet: the file's, checked against the prefix, or implied from it. */
function checkManagement(r: Resources, subnetList: readonly SubnetDraft[], prefix: ParsedCidr): SubnetDraft | undefined {
  const { c, managementNetworkId } = r;
  const onManagement = subnetList.filter((subnet) => subnet.network_id === managementNetworkId);
  const declared = r.networks.get(managementNetworkId);
  if (!declared) {
    for (const subnet of onManagement) {
      c.fail(pointer(subnet.path, 'network_id'), `${managementNetworkId} is the management network, which this file does not declare: its subnet is implied from management_prefix`);
    }
    const subnetId = impliedManagementSubnetId(managementNetworkId);
    const clash = r.subnets.get(subnetId);
    if (clash) c.fail(pointer(clash.path, 'id'), `${subnetId} is the id of the implied management subnet`);
    const subnet: SubnetDraft = {
      path: '',
      id: subnetId,
      network_id: managementNetworkId,
      cidr: prefix.network,
      ip_version: 6,
      gateway_ip: null,
      enable_dhcp: false,
      dns_nameservers: [],
      host_routes: [],
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
    };
    r.networks.set(managementNetworkId, {
      path: '',
      id: managementNetworkId,
      name: IMPLIED_MANAGEMENT_NETWORK_NAME,
      'router:external': false,
      mtu: null,
      admin_state_up: true,
    });
    r.subnets.set(subnetId, subnet);
    return subnet;
  }
  const [subnet, ...extra] = onManagement;
  if (!subnet) return c.fail(declared.path, `the management network needs exactly one subnet: IPv6, cidr ${prefix.network}`);
  for (const other of extra) c.fail(pointer(other.path, 'network_id'), `the management network has exactly one subnet, ${subnet.path}`);
  if (subnet.cidr !== undefined && subnet.cidr !== prefix.network) c.fail(pointer(subnet.path, 'cidr'), `the management subnet must be management_prefix ${prefix.network}`);
  return subnet;
}

function checkSubnets(r: Resources, subnetList: readonly SubnetDraft[], managementPrefix: ParsedCidr | undefined): void {
  const { c } = r;
  const seen = new Map<string, SubnetRange[]>();
  for (const subnet of subnetList) {
    const network = subnet.network_id === undefined ? undefined : r.networks.get(subnet.network_id);
    if (subnet.network_id !== undefined && !network) c.fail(pointer(subnet.path, 'network_id'), `no network has the id ${subnet.network_id}`);
    if (network?.mtu && subnet.ip_version === 6 && network.mtu < MIN_IPV6_MTU) {
      c.fail(pointer(network.path, 'mtu'), `${network.mtu} is below ${MIN_IPV6_MTU}, the least IPv6 needs (IPv6 subnet ${subnet.path})`);
    }
    const range = subnet.cidr === undefined ? undefined : parseCidr(subnet.cidr);
    if (!range) continue;
    // Subnets on the management network were judged against the prefix already.
    if (managementPrefix && subnet.network_id !== r.managementNetworkId && overlaps(range, managementPrefix)) {
      c.fail(pointer(subnet.path, 'cidr'), `${range.network} overlaps the management prefix ${managementPrefix.network}`);
    }
    if (subnet.network_id === undefined) continue;
    const sameNetwork = seen.get(subnet.network_id) ?? [];
    const clash = sameNetwork.find((other) => overlaps(other.range, range));
    if (clash) c.fail(pointer(subnet.path, 'cidr'), `${range.network} overlaps ${clash.range.network} of ${clash.subnet.path} on the same network`);
    sameNetwork.push({ subnet, range });
    seen.set(subnet.network_id, sameNetwork);
  }
}

/**
 * Host devices are named after ids, as Neutron's linuxbridge agent names them:
 * a network's bridge `brq` + the first 11 characters of its id, an appliance
 * port's host end `tap` + the first 11 of the port id. Those must differ, and
 * Linux refuses ':' in a device name.
 */
function checkDeviceNames(
  c: Checks,
  entries: readonly { readonly path: string; readonly id?: string }[],
  prefix: 'brq' | 'tap',
  seen = new Map<string, string>(),
): Map<string, string> {
  for (const { path, id } of entries) {
    if (id === undefined) continue;
    const device = `${prefix}${id.slice(0, DEVICE_ID_CHARACTERS)}`;
    // The implied management network has no place in the file: its id is an option.
    const at = path === '' ? '' : pointer(path, 'id');
    const what = path === '' ? `management_network_id ${id}` : id;
    const holder = seen.get(device);
    if (device.includes(':')) c.fail(at, `${what} would name the host device ${device}, and Linux refuses ':' in device names`);
    else if (holder !== undefined) c.fail(at, `${what} starts with the same ${DEVICE_ID_CHARACTERS} characters as ${holder}: both would be the host device ${device}`);
    else seen.set(device, path === '' ? 'management_network_id' : pointer(path, 'id'));
  }
  return seen;
}

/** Each fixed IP draft's parsed address: the drafts of entries an edit left alone are checked again on every edit (see EntryMemo). */
const fixedIpAddresses = new WeakMap<FixedIpDraft, ParsedAddress>();

function addressOf(ip: FixedIpDraft, text: string): ParsedAddress {
  let address = fixedIpAddresses.get(ip);
  if (!address) {
    address = parseAddress(text)!;
    fixedIpAddresses.set(ip, address);
  }
  return address;
}

/** A fixed IP on `networkId`: its subnet exists on that network, holds the address, and no one else holds it. */
function checkFixedIp(r: Resources, ip: FixedIpDraft, networkId: string | undefined): void {
  const { c } = r;
  const subnet = ip.subnet_id === undefined ? undefined : r.subnets.get(ip.subnet_id);
  if (ip.subnet_id !== undefined && !subnet) c.fail(pointer(ip.path, 'subnet_id'), `no subnet has the id ${ip.subnet_id}`);
  // A missing network was reported where it is named; comparing with it would only repeat that.
  const known = (id: string | undefined): id is string => id !== undefined && r.networks.has(id);
  const elsewhere = subnet !== undefined && known(subnet.network_id) && known(networkId) && subnet.network_id !== networkId;
  if (elsewhere) c.fail(pointer(ip.path, 'subnet_id'), `subnet ${ip.subnet_id} is on network ${subnet.network_id}, not on ${networkId}`);
  if (ip.ip_address === undefined) return;
  const address = addressOf(ip, ip.ip_address);
  const range = ip.subnet_id === undefined ? undefined : r.rangeBySubnet.get(ip.subnet_id);
  if (range && !elsewhere && !contains(range, address)) c.fail(pointer(ip.path, 'ip_address'), `${address.text} is not inside subnet ${ip.subnet_id} (${range.network})`);
  if (networkId !== undefined) claimAddress(r, networkId, address, pointer(ip.path, 'ip_address'));
}

function claimAddress(r: Resources, networkId: string, address: ParsedAddress, path: string): void {
  const key = `${networkId}|${address.text}`;
  const holder = r.addresses.get(key);
  if (holder !== undefined) r.c.fail(path, `${address.text} is already used at ${holder}`);
  else r.addresses.set(key, path);
}

function checkPorts(r: Resources, portList: readonly PortDraft[]): void {
  const { c } = r;
  const macs = new Map<string, string>();
  for (const port of portList) {
    if (port.network_id === r.managementNetworkId) {
      c.fail(pointer(port.path, 'network_id'), `${port.network_id} is the management network: the orchestrator makes the management ports`);
    } else if (port.network_id !== undefined && !r.networks.has(port.network_id)) {
      c.fail(pointer(port.path, 'network_id'), `no network has the id ${port.network_id}`);
    }
    if (port.mac_address !== undefined) {
      // Two ports with one MAC on the host's bridges would steal each other's traffic.
      const holder = macs.get(port.mac_address);
      if (holder !== undefined) c.fail(pointer(port.path, 'mac_address'), `${port.mac_address} is already the MAC of ${holder}`);
      else macs.set(port.mac_address, port.path);
    }
    for (const ip of port.fixed_ips ?? []) checkFixedIp(r, ip, port.network_id);
  }
}

/** What the VPN checks need: the routers, whether each has a gateway, and the subnets of their interface networks. */
function routerFacts(r: Resources, interfaces: Interfaces): RouterFacts {
  const routers = new Map([...r.routers].map(([id, router]) => [id, { hasGateway: Boolean(router.external_gateway_info) }]));
  const routerSubnets = new Map(
    [...interfaces].map(([routerId, ports]) => [
      routerId,
      new Set(ports.flatMap((port) => (port.network_id === undefined ? [] : (r.rangesByNetwork.get(port.network_id) ?? []).flatMap(({ subnet }) => subnet.id ?? [])))),
    ]),
  );
  return { routers, routerSubnets, subnetIds: new Set(r.subnets.keys()) };
}

/** Interface ports per router id, in file order. */
type Interfaces = Map<string, PortDraft[]>;

function checkRouters(r: Resources, portList: readonly PortDraft[], routerList: readonly RouterDraft[]): Interfaces {
  const { c } = r;
  const gatewayPorts = new Map<string, PortDraft>();
  const interfaces: Interfaces = new Map();
  for (const port of portList) {
    if (port.device_owner !== ROUTER_GATEWAY_OWNER && port.device_owner !== ROUTER_INTERFACE_OWNER) continue;
    if (port.device_id === undefined) continue;
    const router = r.routers.get(port.device_id);
    if (!router) {
      c.fail(pointer(port.path, 'device_id'), `a ${port.device_owner} port names its router, and no router has the id ${JSON.stringify(port.device_id)}`);
    } else if (port.device_owner === ROUTER_GATEWAY_OWNER) {
      const first = gatewayPorts.get(port.device_id);
      if (first) c.fail(pointer(port.path, 'device_id'), `router ${port.device_id} already has the gateway port ${first.path}`);
      else gatewayPorts.set(port.device_id, port);
    } else {
      const existing = interfaces.get(port.device_id) ?? [];
      // The appliance has one interface per network.
      const sameNetwork = existing.find((other) => other.network_id === port.network_id);
      if (sameNetwork && port.network_id !== undefined) {
        c.fail(pointer(port.path, 'network_id'), `router ${port.device_id} already has an interface on network ${port.network_id}: ${sameNetwork.path}`);
      } else {
        interfaces.set(port.device_id, [...existing, port]);
      }
    }
  }

  for (const router of routerList) {
    if (router.id === undefined || r.routers.get(router.id) !== router) continue;
    const gatewayPort = gatewayPorts.get(router.id);
    const gateway = router.external_gateway_info;
    const routerInterfaces = interfaces.get(router.id) ?? [];
    if (gateway) {
      checkGateway(r, router.id, gateway, gatewayPort);
      for (const port of routerInterfaces) {
        if (port.network_id === gateway.network_id) c.fail(pointer(port.path, 'network_id'), `${port.network_id} is the external network of router ${router.id}`);
      }
    } else if (gatewayPort) {
      c.fail(pointer(gatewayPort.path, 'device_id'), `router ${router.id} has no external_gateway_info`);
    }
    checkRouterSubnets(
      r,
      router,
      routerInterfaces.filter((port) => port.network_id !== gateway?.network_id),
    );
  }
  return interfaces;
}

function checkGateway(r: Resources, routerId: string, gateway: GatewayDraft, gatewayPort: PortDraft | undefined): void {
  const { c } = r;
  const networkPath = pointer(gateway.path, 'network_id');
  checkExternalNetwork(r, gateway.network_id, networkPath);
  const fixedIpsPath = pointer(gateway.path, 'external_fixed_ips');
  if (gatewayPort) {
    // The gateway port is the truth (it holds the addresses); the router's copy must agree.
    if (gatewayPort.network_id !== undefined && gateway.network_id !== undefined && gatewayPort.network_id !== gateway.network_id) {
      c.fail(pointer(gatewayPort.path, 'network_id'), `router ${routerId}'s external_gateway_info names network ${gateway.network_id}`);
    }
    const keys = (ips: readonly FixedIpDraft[]) => new Set(ips.map((ip) => `${ip.subnet_id}|${ip.ip_address}`));
    const portAddresses = keys(gatewayPort.fixed_ips ?? []);
    const routerAddresses = keys(gateway.external_fixed_ips ?? []);
    const same = portAddresses.size === routerAddresses.size && [...routerAddresses].every((key) => portAddresses.has(key));
    if (routerAddresses.size > 0 && !same) c.fail(fixedIpsPath, `differ from the fixed_ips of the router's gateway port ${gatewayPort.path}`);
    return;
  }
  if (gateway.external_fixed_ips?.length === 0) {
    c.warn(fixedIpsPath, `router ${routerId} has no gateway port in the file and no external_fixed_ips: its appliance gets no external interface`);
  }
  for (const ip of gateway.external_fixed_ips ?? []) checkFixedIp(r, ip, gateway.network_id);
}

/** Whether `networkId` is a usable external network; when it is not, and was read, says why. */
function checkExternalNetwork(r: Resources, networkId: string | undefined, path: string): boolean {
  if (networkId === undefined) return false;
  const network = r.networks.get(networkId);
  if (networkId === r.managementNetworkId) r.c.fail(path, `${networkId} is the management network`);
  else if (!network) r.c.fail(path, `no network has the id ${networkId}`);
  else if (network['router:external'] !== true) r.c.fail(path, `network ${networkId} is not external (router:external is not true)`);
  else return true;
  return false;
}

/** The subnets of a router's networks must not overlap: the appliance routes between them. */
function checkRouterSubnets(r: Resources, router: RouterDraft, routerInterfaces: readonly PortDraft[]): void {
  const attachments = [
    ...(router.external_gateway_info ? [{ networkId: router.external_gateway_info.network_id, path: pointer(router.external_gateway_info.path, 'network_id') }] : []),
    ...routerInterfaces.map((port) => ({ networkId: port.network_id, path: pointer(port.path, 'network_id') })),
  ];
  const seen: SubnetRange[] = [];
  for (const { networkId, path } of attachments) {
    const ranges = networkId === undefined ? [] : (r.rangesByNetwork.get(networkId) ?? []);
    for (const { subnet, range } of ranges) {
      const clash = seen.find((other) => overlaps(other.range, range));
      if (clash) {
        r.c.fail(path, `subnet ${subnet.id} (${range.network}) overlaps subnet ${clash.subnet.id} (${clash.range.network}), also on router ${router.id}`);
      }
    }
    seen.push(...ranges);
  }
}

function checkFloatingIps(r: Resources, floatingIpList: readonly FloatingIpDraft[], interfaces: Interfaces): void {
  const { c } = r;
  const associated = new Map<string, string>();
  for (const floatingIp of floatingIpList) {
    const at = (key: string) => pointer(floatingIp.path, key);
    const external = checkExternalNetwork(r, floatingIp.floating_network_id, at('floating_network_id'));
    const floating = floatingIp.floating_ip_address === undefined ? undefined : parseAddress(floatingIp.floating_ip_address);
    if (floating && external && floatingIp.floating_network_id !== undefined) {
      if (!(r.rangesByNetwork.get(floatingIp.floating_network_id) ?? []).some(({ range }) => contains(range, floating))) {
        c.fail(at('floating_ip_address'), `${floating.text} is not inside a subnet of network ${floatingIp.floating_network_id}`);
      }
      claimAddress(r, floatingIp.floating_network_id, floating, at('floating_ip_address'));
    }

    if (floatingIp.port_id === null) {
      if (floatingIp.fixed_ip_address) c.fail(at('fixed_ip_address'), 'is set without a port_id');
      if (floatingIp.router_id && !r.routers.has(floatingIp.router_id)) c.fail(at('router_id'), `no router has the id ${floatingIp.router_id}`);
      continue;
    }
    if (floatingIp.port_id === undefined) continue;
    const port = r.ports.get(floatingIp.port_id);
    if (!port) {
      c.fail(at('port_id'), `no port has the id ${floatingIp.port_id}`);
      continue;
    }
    if (port.device_owner?.startsWith('network:')) {
      c.fail(at('port_id'), `port ${floatingIp.port_id} is a ${port.device_owner} port: floating IPs go to guests`);
      continue;
    }

    checkFloatingIpRouter(r, floatingIp, port, interfaces, external);
    // A port address that could not be read was reported there; judging the floating IP by the rest would mislead.
    if (!port.fixed_ips || port.fixed_ips.some((ip) => ip.ip_address === undefined)) continue;
    const portAddresses = port.fixed_ips.map((ip) => parseAddress(ip.ip_address!)!);
    if (floatingIp.fixed_ip_address === null) {
      // Neutron takes the port's first IPv4 address.
      const first = portAddresses.find((address) => address.family === 4);
      if (first) floatingIp.fixed_ip_address = first.text;
      else c.fail(at('port_id'), `port ${floatingIp.port_id} has no IPv4 address for the floating IP; set fixed_ip_address`);
    } else if (floatingIp.fixed_ip_address !== undefined && !portAddresses.some((address) => address.text === floatingIp.fixed_ip_address)) {
      c.fail(at('fixed_ip_address'), `${floatingIp.fixed_ip_address} is not an address of port ${floatingIp.port_id} (${portAddresses.map((a) => a.text).join(', ') || 'none'})`);
    }
    const fixed = floatingIp.fixed_ip_address ? parseAddress(floatingIp.fixed_ip_address)! : undefined;
    if (fixed && floating && fixed.family !== floating.family) c.fail(at('fixed_ip_address'), `${fixed.text} and floating IP ${floating.text} differ in IP version`);
    if (fixed) {
      const key = `${port.id}|${fixed.text}`;
      const holder = associated.get(key);
      if (holder !== undefined) c.fail(at('fixed_ip_address'), `${fixed.text} of port ${port.id} already has the floating IP ${holder}`);
      else associated.set(key, floatingIp.path);
    }
  }
}

/** The router that takes the floating IP: given, or (as Neutron does) the one router on the port's network. */
function checkFloatingIpRouter(r: Resources, floatingIp: FloatingIpDraft, port: PortDraft, interfaces: Interfaces, externalNetworkValid: boolean): void {
  const { c } = r;
  const at = (key: string) => pointer(floatingIp.path, key);
  if (port.network_id === undefined || !r.networks.has(port.network_id) || floatingIp.router_id === undefined) return;
  const attached = [...interfaces].filter(([, ports]) => ports.some((p) => p.network_id === port.network_id)).map(([routerId]) => routerId);
  if (floatingIp.router_id === null) {
    const [only, ...others] = attached;
    if (only === undefined) {
      c.fail(at('port_id'), `network ${port.network_id} of port ${port.id} has no router interface: a floating IP needs a router`);
      return;
    }
    if (others.length > 0) {
      c.fail(at('router_id'), `is required: network ${port.network_id} has interfaces on routers ${attached.join(', ')}`);
      return;
    }
    floatingIp.router_id = only;
  } else if (!r.routers.has(floatingIp.router_id)) {
    c.fail(at('router_id'), `no router has the id ${floatingIp.router_id}`);
    return;
  } else if (!attached.includes(floatingIp.router_id)) {
    c.fail(at('router_id'), `router ${floatingIp.router_id} has no interface on network ${port.network_id} of port ${port.id}`);
    return;
  }
  const gateway = r.routers.get(floatingIp.router_id)?.external_gateway_info;
  // Nothing to compare when the floating network or the router's gateway could not be read (reported where they are).
  const unreadableGateway = gateway === undefined || (gateway !== null && gateway.network_id === undefined);
  if (!externalNetworkValid || unreadableGateway) return;
  if (gateway?.network_id !== floatingIp.floating_network_id) {
    c.fail(at('router_id'), `router ${floatingIp.router_id}'s gateway is not on network ${floatingIp.floating_network_id}`);
  }
}

// ---------------------------------------------------------------------------
// The view, built only from drafts that passed every check.

const fixedIp = (ip: FixedIpDraft): FixedIp => ({ subnet_id: need(ip.subnet_id, 'subnet_id'), ip_address: need(ip.ip_address, 'ip_address') });

/**
 * The view's entry made from each draft, kept while the draft is: a draft an
 * EntryMemo reuses gives the very same entry, which the diff then knows as
 * unchanged without comparing it. Each entry is made from its draft alone.
 */
const entriesByDraft = new WeakMap<object, unknown>();

function buildView(r: Resources, managementSubnet: SubnetDraft): Omit<ResourceView, keyof OctaviaCollections | keyof VpnaasCollections> {
  const build = <D extends { readonly path: string }, T>(drafts: ReadonlyMap<string, D>, make: (draft: D) => T): ReadonlyMap<string, T> =>
    new Map(
      [...drafts].map(([id, draft]) => {
        let entry = entriesByDraft.get(draft) as T | undefined;
        if (entry === undefined) {
          entry = make(draft);
          entriesByDraft.set(draft, entry);
        }
        return [id, entry];
      }),
    );
  return {
    networks: build(r.networks, (d): NeutronNetwork => ({ ...finish(d), id: need(d.id, 'id') })),
    subnets: build(
      r.subnets,
      (d): NeutronSubnet => ({
        ...finish(d),
        id: need(d.id, 'id'),
        network_id: need(d.network_id, 'network_id'),
        cidr: need(d.cidr, 'cidr'),
        ip_version: need(d.ip_version, 'ip_version'),
        gateway_ip: need(d.gateway_ip, 'gateway_ip'),
        enable_dhcp: need(d.enable_dhcp, 'enable_dhcp'),
        dns_nameservers: need(d.dns_nameservers, 'dns_nameservers'),
        host_routes: need(d.host_routes, 'host_routes'),
      }),
    ),
    ports: build(
      r.ports,
      (d): NeutronPort => ({
        ...finish(d),
        id: need(d.id, 'id'),
        network_id: need(d.network_id, 'network_id'),
        mac_address: need(d.mac_address, 'mac_address'),
        fixed_ips: need(d.fixed_ips, 'fixed_ips').map(fixedIp),
        device_id: need(d.device_id, 'device_id'),
        device_owner: need(d.device_owner, 'device_owner'),
      }),
    ),
    routers: build(r.routers, (d): NeutronRouter => {
      const gateway = need(d.external_gateway_info, 'external_gateway_info');
      return {
        ...finish(d),
        id: need(d.id, 'id'),
        tenant_id: need(d.tenant_id, 'tenant_id'),
        external_gateway_info: gateway && {
          ...finish(gateway),
          network_id: need(gateway.network_id, 'network_id'),
          external_fixed_ips: need(gateway.external_fixed_ips, 'external_fixed_ips').map(fixedIp),
        },
      };
    }),
    floatingips: build(
      r.floatingips,
      (d): NeutronFloatingIp => ({
        ...finish(d),
        id: need(d.id, 'id'),
        floating_ip_address: need(d.floating_ip_address, 'floating_ip_address'),
        floating_network_id: need(d.floating_network_id, 'floating_network_id'),
        port_id: need(d.port_id, 'port_id'),
        fixed_ip_address: need(d.fixed_ip_address, 'fixed_ip_address'),
        router_id: need(d.router_id, 'router_id'),
      }),
    ),
    servers: build(r.servers, (d): NovaServer => ({ ...finish(d), id: need(d.id, 'id'), name: need(d.name, 'name') })),
    managementNetworkId: r.managementNetworkId,
    managementSubnetId: need(managementSubnet.id, 'id'),
  };
}
