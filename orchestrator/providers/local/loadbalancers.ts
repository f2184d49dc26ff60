// The resource file's load balancers: Octavia's collections (`loadbalancers`,
// `listeners`, `pools`, `members`, `healthmonitors`) as `GET /v2/lbaas/...`
// returns them, which are also LBaaS v2's. Octavia links objects both ways (a
// listener names its load balancer, the load balancer lists its listeners);
// the file may give either side or both, and every link given must agree. What
// comes out names each object's one parent by id (model/octavia.ts).
//
// Values that reach the appliance's document follow the document's own rules
// (its generated schema), as for the Neutron collections. Fields Octavia
// returns that the appliance has no use for are accepted and ignored;
// those whose effect the appliance does not have (TLS, L7 policies, allowed
// CIDRs...) are warnings when set, never silently dropped.
import { configurationSchema } from '../../../contract/configuration.schema.js';
import { contains, parseAddress, type ParsedAddress, type ParsedCidr } from '../../../contract/ip.js';
import type { OctaviaHealthMonitor, OctaviaListener, OctaviaLoadBalancer, OctaviaMember, OctaviaPool, OctaviaSessionPersistence } from '../../model/octavia.js';
import { ROUTER_GATEWAY_OWNER, ROUTER_INTERFACE_OWNER } from '../../model/neutron.js';
import { vipPortId } from './network.js';
import { byId, Checks, Fields, need, pointer, readCollection, type Draft, type Json, type Read } from './resource-checks.js';

export const OCTAVIA_COLLECTIONS = ['loadbalancers', 'listeners', 'pools', 'members', 'healthmonitors'] as const;

// The document's rules for what reaches services.loadbalancer.
const lbSchema = configurationSchema.properties.services.properties.loadbalancer.anyOf[0].properties;
const listenerSchema = lbSchema.listeners.items.properties;
const poolSchema = listenerSchema.default_pool.anyOf[0].properties;
const memberSchema = poolSchema.members.items.properties;
const monitorSchema = poolSchema.healthmonitor.anyOf[0].properties;
const persistenceSchema = poolSchema.session_persistence.anyOf[0].properties;
const valuesOf = (schema: { readonly anyOf: readonly { readonly const: string }[] }): string[] => schema.anyOf.map((item) => item.const);

const PROTOCOLS = valuesOf(listenerSchema.protocol);
const POOL_PROTOCOLS = valuesOf(poolSchema.protocol);
const ALGORITHMS = valuesOf(poolSchema.lb_algorithm);
const PERSISTENCE_TYPES = valuesOf(persistenceSchema.type);
const MONITOR_TYPES = valuesOf(monitorSchema.type);
const HTTP_METHODS = valuesOf(monitorSchema.http_method);
const URL_PATH = new RegExp(monitorSchema.url_path.pattern);
const EXPECTED_CODES = new RegExp(monitorSchema.expected_codes.pattern);
const COOKIE_NAME = new RegExp(persistenceSchema.cookie_name.anyOf[0].pattern);
const PORT = listenerSchema.protocol_port;
const WEIGHT = memberSchema.weight;
const APPLIANCE = 'the appliance\'s';

// Octavia's own enumerations for the fields that stay with the orchestrator.
const PROVISIONING_STATUSES = ['ACTIVE', 'DELETED', 'ERROR', 'PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE'];
const OPERATING_STATUSES = ['ONLINE', 'DRAINING', 'OFFLINE', 'DEGRADED', 'ERROR', 'NO_MONITOR'];
/** Monitor types whose probes are HTTP requests: the only ones with a method, a path and expected codes. */
const HTTP_MONITORS = ['HTTP', 'HTTPS'];

/**
 * A load balancer's appliance is the namespace `ak-loadbalancer-<id>`, whose
 * agent keeps control sockets in a directory named after it: as for routers,
 * its id must make a usable namespace name and fit the socket path limit.
 */
const LOAD_BALANCER_ID = /^[A-Za-z0-9_.-]{1,36}$/;

const TENANT_KEYS = ['tenant_id', 'project_id'];
// Fields Octavia returns that the orchestrator reads nothing from.
const INFORMATIONAL_KEYS = ['description', 'created_at', 'updated_at', 'tags'];

/** A reference to another object by id, where the file gave it. */
interface Ref {
  readonly id: string;
  readonly path: string;
}

type Tenanted = { tenant_id?: string };
type LoadBalancerDraft = Draft<OctaviaLoadBalancer> & { readonly listenerRefs: Ref[]; readonly poolRefs: Ref[] };
type ListenerDraft = Draft<OctaviaListener> & Tenanted & { readonly loadBalancerRefs: Ref[] };
type PoolDraft = Draft<OctaviaPool> &
  Tenanted & { readonly loadBalancerRefs: Ref[]; readonly listenerRefs: Ref[]; readonly memberRefs: Ref[]; readonly monitorRef: Ref | null | undefined };
type MemberDraft = Draft<OctaviaMember> & Tenanted & { readonly poolRefs: Ref[] };
type MonitorDraft = Draft<OctaviaHealthMonitor> & Tenanted & { readonly poolRefs: Ref[] };

export interface OctaviaDrafts {
  readonly loadbalancers: readonly LoadBalancerDraft[];
  readonly listeners: readonly ListenerDraft[];
  readonly pools: readonly PoolDraft[];
  readonly members: readonly MemberDraft[];
  readonly healthmonitors: readonly MonitorDraft[];
}

// ---------------------------------------------------------------------------
// Shapes

/** `tenant_id` or `project_id` (Octavia returns both, equal); `required` for a load balancer. */
function readTenant(c: Checks, f: Fields, required: boolean): string | undefined {
  const tenantId = f.optional('tenant_id', c.id);
  const projectId = f.optional('project_id', c.id);
  if (tenantId !== undefined && projectId !== undefined && tenantId !== projectId) c.fail(f.at('project_id'), `${projectId} differs from tenant_id ${tenantId}`);
  if (required && !f.has('tenant_id') && !f.has('project_id')) c.fail(f.at('tenant_id'), 'is required (or project_id)');
  return tenantId ?? projectId;
}

/** Links to other objects: `single` (`loadbalancer_id`, null allowed) and `list` (`loadbalancers: [{id}]`). */
function readRefs(c: Checks, f: Fields, single: string | undefined, list: string | undefined): Ref[] {
  const refs: Ref[] = [];
  if (single !== undefined) {
    const id = f.nullable(single, c.id);
    if (typeof id === 'string') refs.push({ id, path: f.at(single) });
  }
  if (list !== undefined) {
    const entry: Read<Ref> = (value, path) => {
      const object = c.object(value, path);
      if (!object) return undefined;
      const item = new Fields(c, path, object, ['id']);
      const id = item.required('id', c.id);
      return id === undefined ? undefined : { id, path: item.at('id') };
    };
    refs.push(...(f.defaulted(list, c.list(entry), []) ?? []));
  }
  return refs;
}

function readLoadBalancer(c: Checks, f: Fields): LoadBalancerDraft {
  const id = f.required('id', c.id);
  if (id !== undefined && !LOAD_BALANCER_ID.test(id)) c.fail(f.at('id'), `${id} cannot name an appliance: at most 36 letters, digits, '_', '.' or '-' (a UUID fits)`);
  f.unsupported('additional_vips', 'additional VIPs are not supported: the appliance has one VIP');
  if (!f.has('vip_port_id')) {
    if (!f.has('vip_address')) c.fail(f.at('vip_address'), 'is required without vip_port_id: the local provider allocates no addresses');
    if (!f.has('vip_subnet_id') && !f.has('vip_network_id')) c.fail(f.at('vip_subnet_id'), 'is required (or vip_network_id, or vip_port_id)');
  }
  return {
    path: f.path,
    id,
    tenant_id: readTenant(c, f, true),
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    vip_address: f.optional('vip_address', c.address),
    vip_network_id: f.optional('vip_network_id', c.id),
    vip_subnet_id: f.optional('vip_subnet_id', c.id),
    vip_port_id: f.optional('vip_port_id', c.id),
    provisioning_status: f.optional('provisioning_status', c.oneOf(PROVISIONING_STATUSES, 'Octavia\'s')),
    operating_status: f.optional('operating_status', c.oneOf(OPERATING_STATUSES, 'Octavia\'s')),
    listenerRefs: readRefs(c, f, undefined, 'listeners'),
    poolRefs: readRefs(c, f, undefined, 'pools'),
  };
}
const LOAD_BALANCER_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'admin_state_up', 'vip_address', 'vip_network_id', 'vip_subnet_id', 'vip_port_id', 'provisioning_status',
  'operating_status', 'listeners', 'pools', 'additional_vips', ...INFORMATIONAL_KEYS, 'provider', 'flavor_id', 'availability_zone',
  'vip_qos_policy_id', 'vip_vnic_type', 'vip_sg_ids',
];

function readListener(c: Checks, f: Fields): ListenerDraft {
  const connectionLimit = f.nullable('connection_limit', c.integer(-1, 2 ** 31 - 1));
  if (typeof connectionLimit === 'number' && connectionLimit !== -1) c.warn(f.at('connection_limit'), 'connection limits are not supported by the appliance: ignored');
  f.unsupported('default_tls_container_ref', 'TLS termination is not supported (HTTPS listeners pass TLS through to the members)');
  f.unsupported('sni_container_refs', 'TLS termination is not supported');
  f.unsupported('client_ca_tls_container_ref', 'TLS client authentication is not supported');
  f.unsupported('l7policies', 'L7 policies are not supported');
  f.unsupported('insert_headers', 'inserted headers are not supported');
  f.unsupported('allowed_cidrs', 'source restrictions are not supported: every client reaches the listener');
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f, false),
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    protocol: f.required('protocol', c.oneOf(PROTOCOLS, APPLIANCE)),
    protocol_port: f.required('protocol_port', c.integer(PORT.minimum, PORT.maximum)),
    default_pool_id: f.nullable('default_pool_id', c.id),
    connection_limit: connectionLimit ?? -1,
    loadBalancerRefs: readRefs(c, f, 'loadbalancer_id', 'loadbalancers'),
  };
}
const LISTENER_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'admin_state_up', 'protocol', 'protocol_port', 'default_pool_id', 'connection_limit', 'loadbalancer_id',
  'loadbalancers', 'default_tls_container_ref', 'sni_container_refs', 'client_ca_tls_container_ref', 'l7policies', 'insert_headers', 'allowed_cidrs',
  ...INFORMATIONAL_KEYS, 'provisioning_status', 'operating_status', 'timeout_client_data', 'timeout_member_connect', 'timeout_member_data',
  'timeout_tcp_inspect', 'client_authentication', 'client_crl_container_ref', 'tls_ciphers', 'tls_versions', 'alpn_protocols', 'hsts_max_age',
  'hsts_include_subdomains', 'hsts_preload',
];

function readPersistence(c: Checks): Read<OctaviaSessionPersistence> {
  return (value, path) => {
    const object = c.object(value, path);
    if (!object) return undefined;
    const f = new Fields(c, path, object, ['type', 'cookie_name', 'persistence_timeout', 'persistence_granularity']);
    const type = f.required('type', c.oneOf(PERSISTENCE_TYPES, APPLIANCE));
    const cookieName = f.nullable('cookie_name', c.matching(COOKIE_NAME, 'a cookie name: up to 64 letters, digits, _ and -'));
    if (type === 'APP_COOKIE' && cookieName === null) c.fail(f.at('cookie_name'), 'is required for APP_COOKIE session persistence');
    if (type !== undefined && type !== 'APP_COOKIE' && typeof cookieName === 'string') c.fail(f.at('cookie_name'), `applies to APP_COOKIE session persistence only, not ${type}`);
    return type === undefined || cookieName === undefined ? undefined : { type, cookie_name: cookieName };
  };
}

function readPool(c: Checks, f: Fields): PoolDraft {
  f.unsupported('tls_enabled', 'TLS towards the members is not supported');
  f.unsupported('tls_container_ref', 'TLS towards the members is not supported');
  f.unsupported('ca_tls_container_ref', 'TLS towards the members is not supported');
  const monitorId = f.nullable('healthmonitor_id', c.id);
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f, false),
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    protocol: f.required('protocol', c.oneOf(POOL_PROTOCOLS, APPLIANCE)),
    lb_algorithm: f.required('lb_algorithm', c.oneOf(ALGORITHMS, APPLIANCE)),
    session_persistence: f.nullable('session_persistence', readPersistence(c)),
    loadBalancerRefs: readRefs(c, f, 'loadbalancer_id', 'loadbalancers'),
    listenerRefs: readRefs(c, f, 'listener_id', 'listeners'),
    memberRefs: readRefs(c, f, undefined, 'members'),
    monitorRef: typeof monitorId === 'string' ? { id: monitorId, path: f.at('healthmonitor_id') } : monitorId,
  };
}
const POOL_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'admin_state_up', 'protocol', 'lb_algorithm', 'session_persistence', 'healthmonitor_id', 'loadbalancer_id',
  'loadbalancers', 'listener_id', 'listeners', 'members', 'tls_enabled', 'tls_container_ref', 'ca_tls_container_ref', ...INFORMATIONAL_KEYS,
  'provisioning_status', 'operating_status', 'crl_container_ref', 'tls_ciphers', 'tls_versions', 'alpn_protocols',
];

function readMember(c: Checks, f: Fields): MemberDraft {
  f.unsupported('backup', 'backup members are not supported: a backup member is ignored');
  f.unsupported('monitor_address', 'the health monitor probes the member\'s own address');
  f.unsupported('monitor_port', 'the health monitor probes the member\'s own port');
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f, false),
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    address: f.required('address', c.address),
    protocol_port: f.required('protocol_port', c.integer(PORT.minimum, PORT.maximum)),
    weight: f.defaulted('weight', c.integer(WEIGHT.minimum, WEIGHT.maximum), 1),
    subnet_id: f.nullable('subnet_id', c.id) ?? undefined,
    poolRefs: readRefs(c, f, 'pool_id', undefined),
  };
}
const MEMBER_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'admin_state_up', 'address', 'protocol_port', 'weight', 'subnet_id', 'pool_id', 'backup', 'monitor_address',
  'monitor_port', ...INFORMATIONAL_KEYS, 'provisioning_status', 'operating_status', 'vnic_type',
];

function readMonitor(c: Checks, f: Fields): MonitorDraft {
  const type = f.required('type', c.oneOf(MONITOR_TYPES, APPLIANCE));
  const delay = f.required('delay', c.integer(monitorSchema.delay.minimum, monitorSchema.delay.maximum));
  const timeout = f.required('timeout', c.integer(monitorSchema.timeout.minimum, monitorSchema.timeout.maximum));
  if (delay !== undefined && timeout !== undefined && timeout > delay) c.fail(f.at('timeout'), `${timeout} is more than the delay ${delay}: a probe must end before the next one`);
  const http = type === undefined || HTTP_MONITORS.includes(type);
  // Octavia returns null for these on other monitor types; a value there would mean nothing.
  for (const key of ['http_method', 'url_path', 'expected_codes']) if (!http) f.unsupported(key, `applies to HTTP and HTTPS monitors only, not ${type}`);
  // Octavia's defaults for HTTP monitors.
  const httpField = (key: string, read: Read<string>, fallback: string) => (http ? (f.nullable(key, read) ?? fallback) : undefined);
  return {
    path: f.path,
    id: f.required('id', c.id),
    tenant_id: readTenant(c, f, false),
    name: f.optional('name', c.text),
    admin_state_up: f.defaulted('admin_state_up', c.boolean, true),
    type,
    delay,
    timeout,
    max_retries: f.required('max_retries', c.integer(monitorSchema.max_retries.minimum, monitorSchema.max_retries.maximum)),
    http_method: httpField('http_method', c.oneOf(HTTP_METHODS, APPLIANCE), 'GET'),
    url_path: httpField('url_path', c.matching(URL_PATH, 'a URL path: / then letters, digits and ._~!&()*+,=:@%/?-'), '/'),
    expected_codes: httpField('expected_codes', c.matching(EXPECTED_CODES, 'status codes such as 200, 200,202 or 200-204'), '200'),
    poolRefs: readRefs(c, f, 'pool_id', 'pools'),
  };
}
const MONITOR_KEYS = [
  'id', 'name', ...TENANT_KEYS, 'admin_state_up', 'type', 'delay', 'timeout', 'max_retries', 'http_method', 'url_path', 'expected_codes',
  'pool_id', 'pools', ...INFORMATIONAL_KEYS, 'provisioning_status', 'operating_status', 'max_retries_down', 'domain_name', 'http_version',
];

export function readOctavia(c: Checks, top: Json): OctaviaDrafts {
  return {
    loadbalancers: readCollection(c, top, 'loadbalancers', LOAD_BALANCER_KEYS, readLoadBalancer),
    listeners: readCollection(c, top, 'listeners', LISTENER_KEYS, readListener),
    pools: readCollection(c, top, 'pools', POOL_KEYS, readPool),
    members: readCollection(c, top, 'members', MEMBER_KEYS, readMember),
    healthmonitors: readCollection(c, top, 'healthmonitors', MONITOR_KEYS, readMonitor),
  };
}

// ---------------------------------------------------------------------------
// Rules across objects

/** A port of the file as the load balancers' checks see it. */
interface FactPort {
  readonly path: string;
  readonly network_id?: string;
  readonly device_owner?: string;
  readonly fixed_ips?: readonly { readonly subnet_id?: string; readonly ip_address?: string }[];
}

/** What the Neutron collections of the file give the load balancers' checks. */
export interface NeutronFacts {
  readonly managementNetworkId: string;
  readonly networks: ReadonlyMap<string, unknown>;
  readonly subnets: ReadonlyMap<string, { readonly network_id?: string }>;
  readonly ports: ReadonlyMap<string, FactPort>;
  readonly rangeBySubnet: ReadonlyMap<string, ParsedCidr>;
  readonly rangesByNetwork: ReadonlyMap<string, readonly { readonly subnet: { readonly id?: string }; readonly range: ParsedCidr }[]>;
  /** Takes `address` on `networkId` for the object at `path`, or reports who holds it. */
  claimAddress(networkId: string, address: ParsedAddress, path: string): void;
}

/** The checked objects by id, and the ports the appliances plug (whose host devices are named after them). */
export interface OctaviaChecked {
  readonly loadbalancers: ReadonlyMap<string, LoadBalancerDraft>;
  readonly listeners: ReadonlyMap<string, ListenerDraft>;
  readonly pools: ReadonlyMap<string, PoolDraft>;
  readonly members: ReadonlyMap<string, MemberDraft>;
  readonly healthmonitors: ReadonlyMap<string, MonitorDraft>;
  /** The VIP port of each load balancer: a port of the file (its path) or synthesized (the load balancer's). */
  readonly vipPorts: readonly { readonly path: string; readonly id: string }[];
}

/** A parent of a child, named by the child's own field or by the parent's list of children, at `path`. */
interface Claim {
  readonly parent: string;
  readonly path: string;
}

/**
 * The one parent of a child, from every link the file gives. Links to a
 * parent that does not exist were reported where they are; none at all is
 * `missing`, two different ones a conflict, told as `subject`.
 */
function oneParent(c: Checks, subject: string, claims: readonly Claim[], missing: () => void): string | undefined {
  const parents = [...new Set(claims.map((claim) => claim.parent))];
  if (parents.length === 1) return parents[0];
  if (parents.length === 0) {
    missing();
    return undefined;
  }
  const [first, second] = parents.map((parent) => claims.find((claim) => claim.parent === parent)!);
  c.fail(second!.path, `${subject}: ${first!.path} names ${first!.parent}, this names ${second!.parent}`);
  return undefined;
}

/** Claims from a child's own references, each checked against `parents`. */
function ownClaims(c: Checks, refs: readonly Ref[], parents: ReadonlyMap<string, unknown>, parentWhat: string): Claim[] {
  const claims: Claim[] = [];
  for (const ref of refs) {
    if (parents.has(ref.id)) claims.push({ parent: ref.id, path: ref.path });
    else c.fail(ref.path, `no ${parentWhat} has the id ${ref.id}`);
  }
  return claims;
}

/** Claims from parents' lists of children (`listeners: [{id}]` of a load balancer), by child id; an entry naming no child is a problem. */
function listedClaims<P extends { readonly id?: string }>(
  c: Checks,
  parents: ReadonlyMap<string, P>,
  listOf: (parent: P) => readonly Ref[],
  children: ReadonlyMap<string, unknown>,
  childWhat: string,
): Map<string, Claim[]> {
  const claims = new Map<string, Claim[]>();
  for (const [parentId, parent] of parents) {
    for (const ref of listOf(parent)) {
      if (!children.has(ref.id)) c.fail(ref.path, `no ${childWhat} has the id ${ref.id}`);
      else claims.set(ref.id, [...(claims.get(ref.id) ?? []), { parent: parentId, path: ref.path }]);
    }
  }
  return claims;
}

export function checkOctavia(c: Checks, facts: NeutronFacts, drafts: OctaviaDrafts): OctaviaChecked {
  const loadbalancers = byId(c, drafts.loadbalancers);
  const listeners = byId(c, drafts.listeners);
  const pools = byId(c, drafts.pools);
  const members = byId(c, drafts.members);
  const healthmonitors = byId(c, drafts.healthmonitors);
  const valid = <T extends { readonly id?: string }>(list: readonly T[], map: ReadonlyMap<string, T>) => list.filter((item) => item.id !== undefined && map.get(item.id) === item);

  // Listeners -> load balancers.
  const listenersListed = listedClaims(c, loadbalancers, (lb) => lb.listenerRefs, listeners, 'listener');
  for (const listener of valid(drafts.listeners, listeners)) {
    const claims = [...ownClaims(c, listener.loadBalancerRefs, loadbalancers, 'load balancer'), ...(listenersListed.get(listener.id!) ?? [])];
    listener.loadbalancer_id = oneParent(c, `listener ${listener.id} belongs to one load balancer`, claims, () => {
      if (listener.loadBalancerRefs.length === 0) c.fail(pointer(listener.path, 'loadbalancer_id'), 'is required (or loadbalancers, or the load balancer lists the listener)');
    });
  }

  // Default pools: the listener's default_pool_id, or a pool that names the listener.
  const poolsOfListener = listedClaims(c, pools, (pool) => pool.listenerRefs, listeners, 'listener');
  /** Where each listener's default pool was named. */
  const defaultPoolAt = new Map<string, string>();
  const listenerOfPool = new Map<string, string>();
  for (const listener of valid(drafts.listeners, listeners)) {
    const given = listener.default_pool_id;
    const own = given ? ownClaims(c, [{ id: given, path: pointer(listener.path, 'default_pool_id') }], pools, 'pool') : [];
    const claims = [...own, ...(poolsOfListener.get(listener.id!) ?? [])];
    if (claims.length === 0) {
      // A default_pool_id naming no pool was reported: the listener stays unresolved.
      listener.default_pool_id = given ? undefined : null;
      continue;
    }
    listener.default_pool_id = oneParent(c, `listener ${listener.id} has one default pool`, claims, () => undefined);
    const claim = claims.find((item) => item.parent === listener.default_pool_id);
    if (!claim) continue;
    const other = listenerOfPool.get(claim.parent);
    if (other !== undefined) c.fail(claim.path, `pool ${claim.parent} is already the default pool of ${other}: a pool serves one listener`);
    else listenerOfPool.set(claim.parent, listener.path);
    defaultPoolAt.set(listener.id!, claim.path);
  }

  // Pools -> load balancers, directly or through the listeners they are the default pool of.
  const poolsListed = listedClaims(c, loadbalancers, (lb) => lb.poolRefs, pools, 'pool');
  for (const pool of valid(drafts.pools, pools)) {
    const throughListeners = [...listeners.values()]
      .filter((listener) => listener.default_pool_id === pool.id && listener.loadbalancer_id !== undefined && listener.id !== undefined)
      .map((listener) => ({ parent: listener.loadbalancer_id!, path: defaultPoolAt.get(listener.id!)! }));
    const claims = [...ownClaims(c, pool.loadBalancerRefs, loadbalancers, 'load balancer'), ...(poolsListed.get(pool.id!) ?? []), ...throughListeners];
    pool.loadbalancer_id = oneParent(c, `pool ${pool.id} belongs to one load balancer (a listener's default pool is on the listener's)`, claims, () => {
      if (pool.loadBalancerRefs.length === 0 && pool.listenerRefs.length === 0) {
        c.fail(pointer(pool.path, 'loadbalancer_id'), 'is required (or listener_id, or a listener names the pool as its default_pool_id)');
      }
    });
  }

  // Members -> pools.
  const membersListed = listedClaims(c, pools, (pool) => pool.memberRefs, members, 'member');
  for (const member of valid(drafts.members, members)) {
    const claims = [...ownClaims(c, member.poolRefs, pools, 'pool'), ...(membersListed.get(member.id!) ?? [])];
    member.pool_id = oneParent(c, `member ${member.id} belongs to one pool`, claims, () => {
      if (member.poolRefs.length === 0) c.fail(pointer(member.path, 'pool_id'), 'is required (or the pool lists the member in members)');
    });
  }

  // Health monitors -> pools, one per pool.
  const monitorsListed = listedClaims(c, pools, (pool) => (pool.monitorRef ? [pool.monitorRef] : []), healthmonitors, 'health monitor');
  const monitorOfPool = new Map<string, MonitorDraft>();
  for (const monitor of valid(drafts.healthmonitors, healthmonitors)) {
    const claims = [...ownClaims(c, monitor.poolRefs, pools, 'pool'), ...(monitorsListed.get(monitor.id!) ?? [])];
    monitor.pool_id = oneParent(c, `health monitor ${monitor.id} belongs to one pool`, claims, () => {
      if (monitor.poolRefs.length === 0) c.fail(pointer(monitor.path, 'pool_id'), 'is required (or pools, or the pool names it in healthmonitor_id)');
    });
    if (monitor.pool_id === undefined) continue;
    const other = monitorOfPool.get(monitor.pool_id);
    if (other) c.fail(pointer(monitor.path, 'id'), `pool ${monitor.pool_id} already has the health monitor ${other.path}: a pool has one`);
    else monitorOfPool.set(monitor.pool_id, monitor);
  }
  for (const pool of pools.values()) pool.healthmonitor_id = pool.id === undefined ? undefined : (monitorOfPool.get(pool.id)?.id ?? null);

  const vips = checkVips(c, facts, valid(drafts.loadbalancers, loadbalancers));
  checkListeners(c, loadbalancers, valid(drafts.listeners, listeners));
  checkTenants(c, loadbalancers, pools, [...listeners.values(), ...pools.values()], [...members.values(), ...healthmonitors.values()]);
  checkMembers(c, facts, vips.networkOf, pools, valid(drafts.members, members));
  return { loadbalancers, listeners, pools, members, healthmonitors, vipPorts: vips.ports };
}

/** Where the load balancers' VIPs are: the ports the appliances plug, and the network of each VIP that is sound. */
interface Vips {
  readonly ports: { path: string; id: string }[];
  readonly networkOf: Map<string, string>;
}

/** Where each load balancer's VIP is: a port of the file, or one synthesized from the address and its subnet or network. */
function checkVips(c: Checks, facts: NeutronFacts, list: readonly LoadBalancerDraft[]): Vips {
  const vips: Vips = { ports: [], networkOf: new Map() };
  const holders = new Map<string, string>();
  for (const lb of list) {
    const at = (key: string) => pointer(lb.path, key);
    // Whatever was wrong with this VIP was reported: nothing more is judged by it.
    const before = c.problems.length;
    if (lb.vip_port_id !== undefined) {
      const port = facts.ports.get(lb.vip_port_id);
      const holder = holders.get(lb.vip_port_id);
      if (!port) c.fail(at('vip_port_id'), `no port has the id ${lb.vip_port_id}`);
      else if (port.device_owner === ROUTER_INTERFACE_OWNER || port.device_owner === ROUTER_GATEWAY_OWNER) c.fail(at('vip_port_id'), `port ${lb.vip_port_id} is a ${port.device_owner} port`);
      else if (holder !== undefined) c.fail(at('vip_port_id'), `port ${lb.vip_port_id} is already the VIP port of ${holder}`);
      else {
        holders.set(lb.vip_port_id, lb.path);
        vips.ports.push({ path: port.path, id: lb.vip_port_id });
        fromPort(c, lb, port);
      }
    } else {
      synthesized(c, facts, lb);
      if (lb.vip_port_id !== undefined) vips.ports.push({ path: lb.path, id: lb.vip_port_id });
    }
    if (c.problems.length === before && lb.id !== undefined && lb.vip_network_id !== undefined) vips.networkOf.set(lb.id, lb.vip_network_id);
  }
  return vips;
}

/** A VIP without a port: its address inside `vip_subnet_id`, or inside a subnet of `vip_network_id`, held by nothing else. */
function synthesized(c: Checks, facts: NeutronFacts, lb: LoadBalancerDraft): void {
  const at = (key: string) => pointer(lb.path, key);
  const before = c.problems.length;
  const networkId = lb.vip_network_id ?? (lb.vip_subnet_id === undefined ? undefined : facts.subnets.get(lb.vip_subnet_id)?.network_id);
  if (lb.vip_network_id !== undefined && !facts.networks.has(lb.vip_network_id)) c.fail(at('vip_network_id'), `no network has the id ${lb.vip_network_id}`);
  if (lb.vip_subnet_id !== undefined) {
    const subnet = facts.subnets.get(lb.vip_subnet_id);
    if (!subnet) c.fail(at('vip_subnet_id'), `no subnet has the id ${lb.vip_subnet_id}`);
    else if (lb.vip_network_id !== undefined && subnet.network_id !== undefined && subnet.network_id !== lb.vip_network_id) {
      c.fail(at('vip_subnet_id'), `subnet ${lb.vip_subnet_id} is on network ${subnet.network_id}, not on vip_network_id ${lb.vip_network_id}`);
    }
  }
  if (networkId === facts.managementNetworkId) c.fail(at(lb.vip_network_id === undefined ? 'vip_subnet_id' : 'vip_network_id'), `${networkId} is the management network`);
  if (c.problems.length > before || lb.vip_address === undefined || networkId === undefined || lb.id === undefined) return;
  const address = parseAddress(lb.vip_address)!;
  const ranges = facts.rangesByNetwork.get(networkId) ?? [];
  const holding = ranges.find(({ subnet, range }) => (lb.vip_subnet_id === undefined || subnet.id === lb.vip_subnet_id) && contains(range, address));
  if (holding?.subnet.id === undefined) {
    c.fail(at('vip_address'), `${address.text} is not inside ${lb.vip_subnet_id === undefined ? `a subnet of network ${networkId}` : `subnet ${lb.vip_subnet_id}`}`);
    return;
  }
  facts.claimAddress(networkId, address, at('vip_address'));
  lb.vip_network_id = networkId;
  lb.vip_subnet_id = holding.subnet.id;
  lb.vip_port_id = vipPortId(lb.id);
}

/** The VIP from the load balancer's port: its address on `vip_subnet_id`, or `vip_address`, or its first. */
function fromPort(c: Checks, lb: LoadBalancerDraft, port: FactPort): void {
  const at = (key: string) => pointer(lb.path, key);
  if (port.network_id === undefined || !port.fixed_ips || port.fixed_ips.some((ip) => ip.ip_address === undefined || ip.subnet_id === undefined)) return;
  if (lb.vip_network_id !== undefined && lb.vip_network_id !== port.network_id) {
    c.fail(at('vip_network_id'), `port ${lb.vip_port_id} is on network ${port.network_id}`);
    return;
  }
  const addresses = port.fixed_ips.map((ip) => ({ subnetId: ip.subnet_id!, address: ip.ip_address! }));
  const onSubnet = addresses.filter((ip) => lb.vip_subnet_id === undefined || ip.subnetId === lb.vip_subnet_id);
  const chosen = onSubnet.find((ip) => lb.vip_address === undefined || ip.address === lb.vip_address);
  if (lb.vip_subnet_id !== undefined && onSubnet.length === 0) c.fail(at('vip_subnet_id'), `port ${lb.vip_port_id} has no address on subnet ${lb.vip_subnet_id}`);
  else if (!chosen && lb.vip_address !== undefined) c.fail(at('vip_address'), `is not an address of port ${lb.vip_port_id} (${addresses.map((ip) => ip.address).join(', ') || 'none'})`);
  else if (!chosen) c.fail(at('vip_port_id'), `port ${lb.vip_port_id} has no address to be the VIP`);
  else {
    lb.vip_network_id = port.network_id;
    lb.vip_subnet_id = chosen.subnetId;
    lb.vip_address = chosen.address;
  }
}

/** One listener per port and load balancer, as Octavia enforces. */
function checkListeners(c: Checks, loadbalancers: ReadonlyMap<string, LoadBalancerDraft>, list: readonly ListenerDraft[]): void {
  const ports = new Map<string, string>();
  for (const listener of list) {
    if (listener.loadbalancer_id === undefined || listener.protocol_port === undefined || !loadbalancers.has(listener.loadbalancer_id)) continue;
    const key = `${listener.loadbalancer_id}|${listener.protocol_port}`;
    const holder = ports.get(key);
    if (holder !== undefined) c.fail(pointer(listener.path, 'protocol_port'), `port ${listener.protocol_port} of load balancer ${listener.loadbalancer_id} is already the port of ${holder}`);
    else ports.set(key, listener.path);
  }
}

/** Every object of a load balancer belongs to its project, as in Octavia; one without a project takes it. */
function checkTenants(
  c: Checks,
  loadbalancers: ReadonlyMap<string, LoadBalancerDraft>,
  pools: ReadonlyMap<string, PoolDraft>,
  direct: readonly (ListenerDraft | PoolDraft)[],
  throughPool: readonly (MemberDraft | MonitorDraft)[],
): void {
  const tenantOf = (lbId: string | undefined) => (lbId === undefined ? undefined : loadbalancers.get(lbId)?.tenant_id);
  const check = (item: { readonly path: string; tenant_id?: string }, tenantId: string | undefined, lbId: string | undefined) => {
    if (tenantId === undefined || item.tenant_id === undefined || item.tenant_id === tenantId) return;
    c.fail(pointer(item.path, 'tenant_id'), `${item.tenant_id} is not the project ${tenantId} of load balancer ${lbId}`);
  };
  for (const item of direct) check(item, tenantOf(item.loadbalancer_id), item.loadbalancer_id);
  for (const item of throughPool) {
    const lbId = item.pool_id === undefined ? undefined : pools.get(item.pool_id)?.loadbalancer_id;
    check(item, tenantOf(lbId), lbId);
  }
}

/**
 * A member is reached through its load balancer's VIP network, the only
 * network the appliance has besides the management one: its address must be
 * inside a subnet of that network (its `subnet_id`, when given).
 */
function checkMembers(c: Checks, facts: NeutronFacts, vipNetworks: ReadonlyMap<string, string>, pools: ReadonlyMap<string, PoolDraft>, list: readonly MemberDraft[]): void {
  const endpoints = new Map<string, string>();
  for (const member of list) {
    const at = (key: string) => pointer(member.path, key);
    if (member.subnet_id !== undefined && !facts.subnets.has(member.subnet_id)) c.fail(at('subnet_id'), `no subnet has the id ${member.subnet_id}`);
    const lbId = member.pool_id === undefined ? undefined : pools.get(member.pool_id)?.loadbalancer_id;
    const vipNetwork = lbId === undefined ? undefined : vipNetworks.get(lbId);
    if (member.address === undefined || vipNetwork === undefined) continue;
    const address = parseAddress(member.address)!;
    const key = `${member.pool_id}|${address.text}|${member.protocol_port}`;
    const holder = endpoints.get(key);
    if (holder !== undefined) c.fail(at('address'), `${address.text} port ${member.protocol_port} is already the member ${holder} of pool ${member.pool_id}`);
    else endpoints.set(key, member.path);
    const why = `the appliance of load balancer ${lbId} reaches members through its VIP network ${vipNetwork} only`;
    if (member.subnet_id !== undefined) {
      const subnet = facts.subnets.get(member.subnet_id);
      const range = facts.rangeBySubnet.get(member.subnet_id);
      if (subnet?.network_id !== undefined && subnet.network_id !== vipNetwork) c.fail(at('subnet_id'), `subnet ${member.subnet_id} is on network ${subnet.network_id}: ${why}`);
      else if (range && !contains(range, address)) c.fail(at('address'), `${address.text} is not inside subnet ${member.subnet_id} (${range.network})`);
      continue;
    }
    const holding = (facts.rangesByNetwork.get(vipNetwork) ?? []).find(({ range }) => contains(range, address));
    if (holding?.subnet.id === undefined) c.fail(at('address'), `${address.text} is not inside a subnet of network ${vipNetwork}: ${why}`);
    else member.subnet_id = holding.subnet.id;
  }
}

// ---------------------------------------------------------------------------
// The view's collections, built only from drafts that passed every check.

export interface OctaviaCollections {
  readonly loadbalancers: ReadonlyMap<string, OctaviaLoadBalancer>;
  readonly listeners: ReadonlyMap<string, OctaviaListener>;
  readonly pools: ReadonlyMap<string, OctaviaPool>;
  readonly members: ReadonlyMap<string, OctaviaMember>;
  readonly healthmonitors: ReadonlyMap<string, OctaviaHealthMonitor>;
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]?: V }));

export function buildOctavia(checked: OctaviaChecked): OctaviaCollections {
  const build = <D, T>(drafts: ReadonlyMap<string, D>, make: (draft: D) => T): ReadonlyMap<string, T> => new Map([...drafts].map(([id, draft]) => [id, make(draft)]));
  return {
    loadbalancers: build(checked.loadbalancers, (d): OctaviaLoadBalancer => ({
      id: need(d.id, 'id'),
      tenant_id: need(d.tenant_id, 'tenant_id'),
      ...optional('name', d.name),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      vip_address: need(d.vip_address, 'vip_address'),
      vip_network_id: need(d.vip_network_id, 'vip_network_id'),
      vip_subnet_id: need(d.vip_subnet_id, 'vip_subnet_id'),
      vip_port_id: need(d.vip_port_id, 'vip_port_id'),
      ...optional('provisioning_status', d.provisioning_status),
      ...optional('operating_status', d.operating_status),
    })),
    listeners: build(checked.listeners, (d): OctaviaListener => ({
      id: need(d.id, 'id'),
      loadbalancer_id: need(d.loadbalancer_id, 'loadbalancer_id'),
      ...optional('tenant_id', d.tenant_id),
      ...optional('name', d.name),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      protocol: need(d.protocol, 'protocol'),
      protocol_port: need(d.protocol_port, 'protocol_port'),
      default_pool_id: need(d.default_pool_id, 'default_pool_id'),
      connection_limit: need(d.connection_limit, 'connection_limit'),
    })),
    pools: build(checked.pools, (d): OctaviaPool => ({
      id: need(d.id, 'id'),
      loadbalancer_id: need(d.loadbalancer_id, 'loadbalancer_id'),
      ...optional('tenant_id', d.tenant_id),
      ...optional('name', d.name),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      protocol: need(d.protocol, 'protocol'),
      lb_algorithm: need(d.lb_algorithm, 'lb_algorithm'),
      session_persistence: need(d.session_persistence, 'session_persistence'),
      healthmonitor_id: need(d.healthmonitor_id, 'healthmonitor_id'),
    })),
    members: build(checked.members, (d): OctaviaMember => ({
      id: need(d.id, 'id'),
      pool_id: need(d.pool_id, 'pool_id'),
      ...optional('tenant_id', d.tenant_id),
      ...optional('name', d.name),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      address: need(d.address, 'address'),
      protocol_port: need(d.protocol_port, 'protocol_port'),
      weight: need(d.weight, 'weight'),
      subnet_id: need(d.subnet_id, 'subnet_id'),
    })),
    healthmonitors: build(checked.healthmonitors, (d): OctaviaHealthMonitor => ({
      id: need(d.id, 'id'),
      pool_id: need(d.pool_id, 'pool_id'),
      ...optional('tenant_id', d.tenant_id),
      ...optional('name', d.name),
      admin_state_up: need(d.admin_state_up, 'admin_state_up'),
      type: need(d.type, 'type'),
      delay: need(d.delay, 'delay'),
      timeout: need(d.timeout, 'timeout'),
      max_retries: need(d.max_retries, 'max_retries'),
      ...optional('http_method', d.http_method),
      ...optional('url_path', d.url_path),
      ...optional('expected_codes', d.expected_codes),
    })),
  };
}
