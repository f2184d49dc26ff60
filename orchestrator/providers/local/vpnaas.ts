// The resource file's VPNs: Neutron VPNaaS's collections (`vpnservices`,
// `ipsec_site_connections`, `ikepolicies`, `ipsecpolicies`,
// `endpoint_groups`) as `GET /v2.0/vpn/...` returns them. A connection names
// its service, its two policies and (endpoint-group style) its endpoint
// groups by id; every reference must resolve, and the rules Neutron's VPNaaS
// plugin enforces on create are enforced here, since a hand-written file has
// no Neutron server to refuse it.
//
// Values that reach the router's document follow the document's rules (its
// generated schema); what the appliance refuses (AH, transport mode, an IKE
// lifetime in kilobytes) is refused here already, so a file edit cannot put a
// router in ERROR. Absent fields take Neutron's defaults, as Neutron fills
// them in on create.
import { configurationSchema } from '../../../contract/configuration.schema.js';
import { parseAddress } from '../../../contract/ip.js';
import type {
  DeadPeerDetection,
  Lifetime,
  NeutronEndpointGroup,
  NeutronIkePolicy,
  NeutronIpsecPolicy,
  NeutronIpsecSiteConnection,
  NeutronVpnService,
} from '../../model/vpnaas.js';
import { byId, Checks, Fields, finish, need, pointer, readCollection, type Draft, type Json, type Read } from './resource-checks.js';

export const VPNAAS_COLLECTIONS = ['vpnservices', 'ipsec_site_connections', 'ikepolicies', 'ipsecpolicies', 'endpoint_groups'] as const;

// The document's rules for what reaches vpn.ipsec.
const connectionSchema = configurationSchema.properties.vpn.properties.ipsec.items.properties.ipsec_connections.items.properties;
const ikeSchema = connectionSchema.ikepolicy.properties;
const lifetimeSchema = ikeSchema.lifetime.properties;
const dpdSchema = connectionSchema.dpd.properties;
const valuesOf = (schema: { readonly anyOf: readonly { readonly const: string }[] }): string[] => schema.anyOf.map((item) => item.const);

const AUTH_ALGORITHMS = valuesOf(ikeSchema.auth_algorithm);
const ENCRYPTION_ALGORITHMS = valuesOf(ikeSchema.encryption_algorithm);
const PFS_GROUPS = valuesOf(ikeSchema.pfs);
const IKE_VERSIONS = valuesOf(ikeSchema.ike_version);
const PHASE1_MODES = valuesOf(ikeSchema.phase1_negotiation_mode);
const INITIATORS = valuesOf(connectionSchema.initiator);
const AUTH_MODES = valuesOf(connectionSchema.auth_mode);
const ROUTE_MODES = valuesOf(connectionSchema.route_mode);
const DPD_ACTIONS = valuesOf(dpdSchema.action);
const LIFETIME_UNITS = valuesOf(lifetimeSchema.units);
const ENDPOINT_TYPES = valuesOf(connectionSchema.local_ep_group.anyOf[0].properties.type);
const PEER_ID = new RegExp(connectionSchema.peer_id.pattern);
const PSK = new RegExp(connectionSchema.psk.pattern);
const PSK_LENGTH = connectionSchema.psk.maxLength;
const MTU = connectionSchema.mtu;
const DPD_SECONDS = dpdSchema.interval;
const LIFETIME_VALUE = lifetimeSchema.value;
const APPLIANCE = 'the appliance\'s';

// Neutron VPNaaS's defaults for what a create leaves out.
const DEFAULT_LIFETIME: Lifetime = { units: 'seconds', value: 3600 };
const DEFAULT_DPD: DeadPeerDetection = { action: 'hold', interval: 30, timeout: 120 };
const DEFAULT_MTU = 1500;

const TENANT_KEYS = ['tenant_id', 'project_id'];
// Fields Neutron returns that the orchestrator reads nothing from.
const INFORMATIONAL_KEYS = ['description', 'created_at', 'updated_at', 'tags'];

type ServiceDraft = Draft<NeutronVpnService>;
type ConnectionDraft = Draft<NeutronIpsecSiteConnection>;
type IkePolicyDraft = Draft<NeutronIkePolicy>;
type IpsecPolicyDraft = Draft<NeutronIpsecPolicy>;
type EndpointGroupDraft = Draft<NeutronEndpointGroup>;

export interface VpnaasDrafts {
  readonly vpnservices: readonly ServiceDraft[];
  readonly ipsec_site_connections: readonly ConnectionDraft[];
  readonly ikepolicies: readonly IkePolicyDraft[];
  readonly ipsecpolicies: readonly IpsecPolicyDraft[];
  readonly endpoint_groups: readonly EndpointGroupDraft[];
}

// ---------------------------------------------------------------------------
// Shapes

function readTenant(c: Checks, f: Fields): string | undefined {
  const tenantId = f.optional('tenant_id', c.id);
  const projectId = f.optional('project_id', c.id);
  if (tenantId !== undefined && projectId !== undefined && tenantId !== projectId) c.fail(f.at('project_id'), `${projectId} differs from tenant_id ${tenantId}`);
  return tenantId ?? projectId;
}

/** An address of one IP version (`external_v4_ip`, `external_v6_ip`). */
function addressOf(c: Checks, family: 4 | 6): Read<string> {
  return (value, path) => {
    const text = c.address(value, path);
    if (text === undefined) return undefined;
    return parseAddress(text)?.family === family ? text : c.fail(path, `${text} is not an IPv${family} address`);
  };
}

function readService(c: Checks, f: Fields): ServiceDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f),
    name: f.optional('name', c.text),
    router_id: f.required('router_id', c.id),
    subnet_id: f.nullable('subnet_id', c.id),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    status: f.optional('status', c.text),
    external_v4_ip: f.nullable('external_v4_ip', addressOf(c, 4)),
    external_v6_ip: f.nullable('external_v6_ip', addressOf(c, 6)),
  };
}
const SERVICE_KEYS = ['id', 'name', ...TENANT_KEYS, 'router_id', 'subnet_id', 'admin_state_up', 'status', 'external_v4_ip', 'external_v6_ip', 'flavor_id', ...INFORMATIONAL_KEYS];

/** `lifetime`: each of its fields defaulted on its own, as Neutron does; `units` limited to `units`. */
function readLifetime(c: Checks, units: readonly string[], whose: string): Read<Lifetime> {
  return (value, path) => {
    const object = c.object(value, path);
    if (!object) return undefined;
    const f = new Fields(c, path, object, ['units', 'value']);
    const unit = f.defaulted('units', c.oneOf(units, whose), DEFAULT_LIFETIME.units);
    const seconds = f.defaulted('value', c.integer(LIFETIME_VALUE.minimum, LIFETIME_VALUE.maximum), DEFAULT_LIFETIME.value);
    return unit === undefined || seconds === undefined ? undefined : { units: unit as Lifetime['units'], value: seconds };
  };
}

function readIkePolicy(c: Checks, f: Fields): IkePolicyDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f),
    name: f.optional('name', c.text),
    auth_algorithm: f.defaulted('auth_algorithm', c.oneOf(AUTH_ALGORITHMS, APPLIANCE), 'sha1'),
    encryption_algorithm: f.defaulted('encryption_algorithm', c.oneOf(ENCRYPTION_ALGORITHMS, APPLIANCE), 'aes-128'),
    phase1_negotiation_mode: f.defaulted('phase1_negotiation_mode', c.oneOf(PHASE1_MODES, APPLIANCE), 'main'),
    ike_version: f.defaulted('ike_version', c.oneOf(IKE_VERSIONS, APPLIANCE), 'v1'),
    // strongSwan's IKE SAs have no byte lifetime.
    lifetime: f.defaulted('lifetime', readLifetime(c, ['seconds'], 'an IKE SA has a lifetime in seconds only'), DEFAULT_LIFETIME),
    pfs: f.defaulted('pfs', c.oneOf(PFS_GROUPS, APPLIANCE), 'group5'),
  };
}
const IKE_POLICY_KEYS = ['id', 'name', ...TENANT_KEYS, 'auth_algorithm', 'encryption_algorithm', 'phase1_negotiation_mode', 'ike_version', 'lifetime', 'pfs', ...INFORMATIONAL_KEYS];

function readIpsecPolicy(c: Checks, f: Fields): IpsecPolicyDraft {
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f),
    name: f.optional('name', c.text),
    // The appliance's userspace data path carries ESP in tunnel mode only.
    transform_protocol: f.defaulted('transform_protocol', c.oneOf(['esp'], 'the appliance protects traffic with ESP only'), 'esp'),
    auth_algorithm: f.defaulted('auth_algorithm', c.oneOf(AUTH_ALGORITHMS, APPLIANCE), 'sha1'),
    encryption_algorithm: f.defaulted('encryption_algorithm', c.oneOf(ENCRYPTION_ALGORITHMS, APPLIANCE), 'aes-128'),
    encapsulation_mode: f.defaulted('encapsulation_mode', c.oneOf(['tunnel'], 'a site connection is carried in tunnel mode'), 'tunnel'),
    lifetime: f.defaulted('lifetime', readLifetime(c, LIFETIME_UNITS, APPLIANCE), DEFAULT_LIFETIME),
    pfs: f.defaulted('pfs', c.oneOf(PFS_GROUPS, APPLIANCE), 'group5'),
  };
}
const IPSEC_POLICY_KEYS = ['id', 'name', ...TENANT_KEYS, 'transform_protocol', 'auth_algorithm', 'encryption_algorithm', 'encapsulation_mode', 'lifetime', 'pfs', ...INFORMATIONAL_KEYS];

function readEndpointGroup(c: Checks, f: Fields): EndpointGroupDraft {
  const type = f.required('type', c.oneOf(ENDPOINT_TYPES, APPLIANCE)) as NeutronEndpointGroup['type'] | undefined;
  // Subnet ids or networks, by type; an unreadable type leaves the endpoints unjudged.
  const endpoint: Read<string> = type === 'cidr' ? c.network : type === 'subnet' ? c.id : () => undefined;
  const endpoints = f.required('endpoints', c.list(endpoint));
  if (type !== undefined && endpoints?.length === 0) c.fail(f.at('endpoints'), 'must not be empty');
  return { path: f.path, id: f.required('id', c.id), tenant_id: readTenant(c, f), name: f.optional('name', c.text), type, endpoints };
}
const ENDPOINT_GROUP_KEYS = ['id', 'name', ...TENANT_KEYS, 'type', 'endpoints', ...INFORMATIONAL_KEYS];

function readDpd(c: Checks): Read<DeadPeerDetection> {
  return (value, path) => {
    const object = c.object(value, path);
    if (!object) return undefined;
    const f = new Fields(c, path, object, ['action', 'interval', 'timeout']);
    const seconds = c.integer(DPD_SECONDS.minimum, DPD_SECONDS.maximum);
    const action = f.defaulted('action', c.oneOf(DPD_ACTIONS, APPLIANCE), DEFAULT_DPD.action);
    const interval = f.defaulted('interval', seconds, DEFAULT_DPD.interval);
    const timeout = f.defaulted('timeout', seconds, DEFAULT_DPD.timeout);
    // Neutron's rule: a peer is declared dead only after more than one interval.
    if (interval !== undefined && timeout !== undefined && timeout <= interval) c.fail(pointer(path, 'timeout'), `${timeout} must be greater than interval ${interval}`);
    return action === undefined || interval === undefined || timeout === undefined ? undefined : { action, interval, timeout };
  };
}

function readConnection(c: Checks, f: Fields): ConnectionDraft {
  f.unsupported('local_id', 'a local IKE identity other than the external address is not supported');
  const peerAddress = f.required('peer_address', c.address);
  const psk = f.required('psk', (value, path) => {
    const text = c.string(value, path);
    if (text === undefined) return undefined;
    // The PSK itself is never quoted back: problems are logged.
    if (text.length === 0 || text.length > PSK_LENGTH) return c.fail(path, `must be 1 to ${PSK_LENGTH} characters long`);
    return PSK.test(text) ? text : c.fail(path, 'must be printable ASCII without " or \\ (strongSwan reads it quoted)');
  });
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f),
    name: f.optional('name', c.text),
    vpnservice_id: f.required('vpnservice_id', c.id),
    ikepolicy_id: f.required('ikepolicy_id', c.id),
    ipsecpolicy_id: f.required('ipsecpolicy_id', c.id),
    local_ep_group_id: f.nullable('local_ep_group_id', c.id),
    peer_ep_group_id: f.nullable('peer_ep_group_id', c.id),
    peer_address: peerAddress,
    // Neutron asks for it; the peer's address is what it almost always is.
    peer_id: f.has('peer_id') ? f.required('peer_id', c.matching(PEER_ID, 'an IKE identity: up to 255 letters, digits and _ . : @ = / -')) : peerAddress,
    peer_cidrs: f.defaulted('peer_cidrs', c.list(c.network), []),
    route_mode: f.defaulted('route_mode', c.oneOf(ROUTE_MODES, APPLIANCE), 'static'),
    mtu: f.defaulted('mtu', c.integer(MTU.minimum, MTU.maximum), DEFAULT_MTU),
    initiator: f.defaulted('initiator', c.oneOf(INITIATORS, APPLIANCE), 'bi-directional'),
    auth_mode: f.defaulted('auth_mode', c.oneOf(AUTH_MODES, APPLIANCE), 'psk'),
    psk,
    dpd: f.defaulted('dpd', readDpd(c), DEFAULT_DPD),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    status: f.optional('status', c.text),
  };
}
const CONNECTION_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'vpnservice_id', 'ikepolicy_id', 'ipsecpolicy_id', 'local_ep_group_id', 'peer_ep_group_id', 'peer_address', 'peer_id',
  'peer_cidrs', 'route_mode', 'mtu', 'initiator', 'auth_mode', 'psk', 'dpd', 'admin_state_up', 'status', 'local_id', ...INFORMATIONAL_KEYS,
];

export function readVpnaas(c: Checks, top: Json): VpnaasDrafts {
  return {
    vpnservices: readCollection(c, top, 'vpnservices', SERVICE_KEYS, readService),
    ipsec_site_connections: readCollection(c, top, 'ipsec_site_connections', CONNECTION_KEYS, readConnection),
    ikepolicies: readCollection(c, top, 'ikepolicies', IKE_POLICY_KEYS, readIkePolicy),
    ipsecpolicies: readCollection(c, top, 'ipsecpolicies', IPSEC_POLICY_KEYS, readIpsecPolicy),
    endpoint_groups: readCollection(c, top, 'endpoint_groups', ENDPOINT_GROUP_KEYS, readEndpointGroup),
  };
}

// ---------------------------------------------------------------------------
// Cross-resource rules

/** What the VPN checks need of the Neutron collections (already checked there). */
export interface RouterFacts {
  /** Router id -> whether it has an external gateway. */
  readonly routers: ReadonlyMap<string, { readonly hasGateway: boolean }>;
  /** Router id -> the ids of the subnets on its interface networks. */
  readonly routerSubnets: ReadonlyMap<string, ReadonlySet<string>>;
  readonly subnetIds: ReadonlySet<string>;
}

export interface VpnaasChecked {
  readonly vpnservices: ReadonlyMap<string, ServiceDraft>;
  readonly ipsec_site_connections: ReadonlyMap<string, ConnectionDraft>;
  readonly ikepolicies: ReadonlyMap<string, IkePolicyDraft>;
  readonly ipsecpolicies: ReadonlyMap<string, IpsecPolicyDraft>;
  readonly endpoint_groups: ReadonlyMap<string, EndpointGroupDraft>;
}

export function checkVpnaas(c: Checks, facts: RouterFacts, drafts: VpnaasDrafts): VpnaasChecked {
  const checked: VpnaasChecked = {
    vpnservices: byId(c, drafts.vpnservices),
    ipsec_site_connections: byId(c, drafts.ipsec_site_connections),
    ikepolicies: byId(c, drafts.ikepolicies),
    ipsecpolicies: byId(c, drafts.ipsecpolicies),
    endpoint_groups: byId(c, drafts.endpoint_groups),
  };
  for (const service of drafts.vpnservices) checkService(c, facts, service);
  for (const group of drafts.endpoint_groups) {
    if (group.type !== 'subnet') continue;
    group.endpoints?.forEach((id, i) => {
      if (!facts.subnetIds.has(id)) c.fail(pointer(pointer(group.path, 'endpoints'), i), `no subnet has the id ${id}`);
    });
  }
  for (const connection of drafts.ipsec_site_connections) checkConnection(c, facts, checked, connection);
  return checked;
}

function checkService(c: Checks, facts: RouterFacts, service: ServiceDraft): void {
  if (service.router_id === undefined) return;
  const router = facts.routers.get(service.router_id);
  if (!router) {
    c.fail(pointer(service.path, 'router_id'), `no router has the id ${service.router_id}`);
    return;
  }
  // The tunnel's outer addresses are the router's external ones.
  if (!router.hasGateway) c.fail(pointer(service.path, 'router_id'), `router ${service.router_id} has no external_gateway_info: a VPN needs an external network`);
  if (typeof service.subnet_id === 'string' && !facts.routerSubnets.get(service.router_id)?.has(service.subnet_id)) {
    c.fail(pointer(service.path, 'subnet_id'), `subnet ${service.subnet_id} is not on an interface of router ${service.router_id}`);
  }
}

function checkConnection(c: Checks, facts: RouterFacts, checked: VpnaasChecked, connection: ConnectionDraft): void {
  const at = (key: string) => pointer(connection.path, key);
  const named = <T>(key: 'vpnservice_id' | 'ikepolicy_id' | 'ipsecpolicy_id' | 'local_ep_group_id' | 'peer_ep_group_id', map: ReadonlyMap<string, T>, what: string): T | undefined => {
    const id = connection[key];
    if (typeof id !== 'string') return undefined;
    const found = map.get(id);
    if (!found) c.fail(at(key), `no ${what} has the id ${id}`);
    return found;
  };
  const service = named('vpnservice_id', checked.vpnservices, 'VPN service');
  named('ikepolicy_id', checked.ikepolicies, 'IKE policy');
  named('ipsecpolicy_id', checked.ipsecpolicies, 'IPsec policy');
  const local = named('local_ep_group_id', checked.endpoint_groups, 'endpoint group');
  const peer = named('peer_ep_group_id', checked.endpoint_groups, 'endpoint group');
  if (local?.type === 'cidr') c.fail(at('local_ep_group_id'), `endpoint group ${local.id} is of type cidr: the local side is the router's subnets (type subnet)`);
  if (peer?.type === 'subnet') c.fail(at('peer_ep_group_id'), `endpoint group ${peer.id} is of type subnet: the peer side is networks (type cidr)`);
  // A router that does not exist was reported at the service.
  if (local?.type === 'subnet' && service?.router_id !== undefined && facts.routers.has(service.router_id)) {
    const own = facts.routerSubnets.get(service.router_id);
    for (const id of local.endpoints ?? []) {
      if (facts.subnetIds.has(id) && !own?.has(id)) c.fail(at('local_ep_group_id'), `subnet ${id} of endpoint group ${local.id} is not on an interface of router ${service.router_id}`);
    }
  }
  if (!service || service.subnet_id === undefined) return;
  // Neutron's two styles, never mixed: the service's subnet with peer_cidrs, or two endpoint groups.
  const groups = connection.local_ep_group_id !== null || connection.peer_ep_group_id !== null;
  if (service.subnet_id !== null) {
    if (groups) c.fail(at(connection.local_ep_group_id !== null ? 'local_ep_group_id' : 'peer_ep_group_id'), `VPN service ${service.id} has a subnet_id: its connections use peer_cidrs, not endpoint groups`);
    if (connection.peer_cidrs?.length === 0) c.fail(at('peer_cidrs'), `must not be empty: VPN service ${service.id} has a subnet_id`);
  } else {
    if (connection.peer_cidrs !== undefined && connection.peer_cidrs.length > 0) c.fail(at('peer_cidrs'), `must be empty: VPN service ${service.id} has no subnet_id, so its connections use endpoint groups`);
    if (connection.local_ep_group_id === null) c.fail(at('local_ep_group_id'), `is required: VPN service ${service.id} has no subnet_id`);
    if (connection.peer_ep_group_id === null) c.fail(at('peer_ep_group_id'), `is required: VPN service ${service.id} has no subnet_id`);
  }
}

// ---------------------------------------------------------------------------
// The view's collections, built only from drafts that passed every check.

export interface VpnaasCollections {
  readonly vpnservices: ReadonlyMap<string, NeutronVpnService>;
  readonly ipsec_site_connections: ReadonlyMap<string, NeutronIpsecSiteConnection>;
  readonly ikepolicies: ReadonlyMap<string, NeutronIkePolicy>;
  readonly ipsecpolicies: ReadonlyMap<string, NeutronIpsecPolicy>;
  readonly endpoint_groups: ReadonlyMap<string, NeutronEndpointGroup>;
}

export function buildVpnaas(checked: VpnaasChecked): VpnaasCollections {
  const build = <D, T>(drafts: ReadonlyMap<string, D>, make: (draft: D) => T): ReadonlyMap<string, T> => new Map([...drafts].map(([id, draft]) => [id, make(draft)]));
  return {
    vpnservices: build(checked.vpnservices, (d): NeutronVpnService => ({
      ...finish(d),
      id: need(d.id, 'id'),
      router_id: need(d.router_id, 'router_id'),
      subnet_id: need(d.subnet_id, 'subnet_id'),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      external_v4_ip: need(d.external_v4_ip, 'external_v4_ip'),
      external_v6_ip: need(d.external_v6_ip, 'external_v6_ip'),
    })),
    ipsec_site_connections: build(checked.ipsec_site_connections, (d): NeutronIpsecSiteConnection => ({
      ...finish(d),
      id: need(d.id, 'id'),
      vpnservice_id: need(d.vpnservice_id, 'vpnservice_id'),
      ikepolicy_id: need(d.ikepolicy_id, 'ikepolicy_id'),
      ipsecpolicy_id: need(d.ipsecpolicy_id, 'ipsecpolicy_id'),
      local_ep_group_id: need(d.local_ep_group_id, 'local_ep_group_id'),
      peer_ep_group_id: need(d.peer_ep_group_id, 'peer_ep_group_id'),
      peer_address: need(d.peer_address, 'peer_address'),
      peer_id: need(d.peer_id, 'peer_id'),
      peer_cidrs: need(d.peer_cidrs, 'peer_cidrs'),
      route_mode: need(d.route_mode, 'route_mode'),
      mtu: need(d.mtu, 'mtu'),
      initiator: need(d.initiator, 'initiator'),
      auth_mode: need(d.auth_mode, 'auth_mode'),
      psk: need(d.psk, 'psk'),
      dpd: need(d.dpd, 'dpd'),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
    })),
    ikepolicies: build(checked.ikepolicies, (d): NeutronIkePolicy => ({
      ...finish(d),
      id: need(d.id, 'id'),
      auth_algorithm: need(d.auth_algorithm, 'auth_algorithm'),
      encryption_algorithm: need(d.encryption_algorithm, 'encryption_algorithm'),
      phase1_negotiation_mode: need(d.phase1_negotiation_mode, 'phase1_negotiation_mode'),
      ike_version: need(d.ike_version, 'ike_version'),
      lifetime: need(d.lifetime, 'lifetime'),
      pfs: need(d.pfs, 'pfs'),
    })),
    ipsecpolicies: build(checked.ipsecpolicies, (d): NeutronIpsecPolicy => ({
      ...finish(d),
      id: need(d.id, 'id'),
      transform_protocol: need(d.transform_protocol, 'transform_protocol'),
      auth_algorithm: need(d.auth_algorithm, 'auth_algorithm'),
      encryption_algorithm: need(d.encryption_algorithm, 'encryption_algorithm'),
      encapsulation_mode: need(d.encapsulation_mode, 'encapsulation_mode'),
      lifetime: need(d.lifetime, 'lifetime'),
      pfs: need(d.pfs, 'pfs'),
    })),
    endpoint_groups: build(checked.endpoint_groups, (d): NeutronEndpointGroup => ({
      ...finish(d),
      id: need(d.id, 'id'),
      type: need(d.type, 'type'),
      endpoints: need(d.endpoints, 'endpoints'),
    })),
  };
}
