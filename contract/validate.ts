// Validation of a configuration document: its bounds first (depth), then the
// JSON Schema (types, shapes, value rules), then the cross-field rules that a
// schema cannot say. Every problem is reported at once (up to a bound), each
// with the JSON pointer of the value at fault, and a valid document comes out
// as the normalised ConfigModel.
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { TSchema } from 'typebox';
import { DEFAULT_ASN, DEFAULT_HA_PRIORITY, DEFAULT_METADATA_ADDRESS, DEFAULT_METADATA_PORT } from './defaults.js';
import { dhcpHostnameProblem } from './hostname.js';
import {
  contains,
  isLinkLocal,
  isNetworkOrBroadcast,
  isSelfAddress,
  lastAddress,
  networkAddress,
  notUnicastProblem,
  overlaps,
  parseAddress,
  parseCidr,
  PrefixSet,
  prefixSortKey,
  type ParsedAddress,
  type ParsedCidr,
} from './ip.js';
import { depthProblem, escapePointer, MAX_PROBLEMS_LISTED } from './limits.js';
import {
  defaultGateways,
  isTenantNetwork,
  type AllocationModel,
  type ConfigModel,
  type FloatingIpModel,
  type HealthMonitorModel,
  type IpsecConnectionModel,
  type LbProtocol,
  type LifetimeModel,
  type ListenerModel,
  type LoadBalancerModel,
  type MemberModel,
  type NetworkModel,
  type NetworkType,
  type PoolModel,
  type RouteModel,
  type SubnetModel,
  type VpnServiceModel,
} from './model.js';
import { configurationSchema } from './configuration.schema.js';
import { validate as generatedValidate } from './configuration.validator.js';
import { FORMAT_MESSAGES } from './formats.js';
import type { AllocationDoc, Configuration, HealthMonitorDoc, IpsecConnectionDoc, LoadBalancerDoc, NetworkDoc, StaticRouteDoc, VpnServiceDoc } from './schema.js';

export interface Problem {
  /** JSON pointer of the offending value (`/networks/1/subnets/0/cidr`), `` for the document. */
  readonly path: string;
  readonly message: string;
}

/** What the validator may know about the host it configures. */
export interface HostFacts {
  /** Generic name -> MAC of every interface the appliance has. */
  readonly interfaces: ReadonlyMap<string, string>;
}

export type ValidationResult =
  | { readonly ok: true; readonly model: ConfigModel; readonly document: Configuration; readonly warnings: Problem[] }
  | { readonly ok: false; readonly errors: Problem[]; readonly warnings: Problem[] };

// The schema is compiled when the project is built, not when the agent starts
// (scripts/emit-validator.ts says why).
const checkSchema = generatedValidate as ValidateFunction<Configuration>;

/** The original API wrapped documents as `{"configuration": {...}}`; accept both. */
export function unwrapDocument(body: unknown): unknown {
  if (isObject(body) && Object.keys(body).length === 1 && isObject(body.configuration)) return body.configuration;
  return body;
}

/**
 * The networks of the last valid document an agent validated, so that the
 * next one, which usually differs in one floating IP or one allocation,
 * rebuilds only the networks it changed (issue 16: a delta's cost). A network
 * is reused only when its JSON text, its place in the list and the host facts
 * are the ones it was built from and building it raised no problem: the
 * result is then the same model, the very same object. Every check across
 * networks still runs on every document. An orchestrator, which validates
 * many different documents, passes none.
 */
export class ValidationMemo {
  #networks = new Map<string, NetworkModel>();

  /** @internal The model of a network built from `key` by the last document, if any. */
  get(key: string): NetworkModel | undefined {
    return this.#networks.get(key);
  }

  /** @internal Keep exactly the networks of the document just validated. */
  replace(networks: Map<string, NetworkModel>): void {
    this.#networks = networks;
  }
}

export function validateDocument(body: unknown, host?: HostFacts, memo?: ValidationMemo): ValidationResult {
  if (!isObject(body)) return { ok: false, errors: [{ path: '', message: 'the configuration must be a JSON object' }], warnings: [] };
  // Before anything walks the document: every later step may recurse into it.
  const tooDeep = depthProblem(body);
  if (tooDeep) return { ok: false, errors: [tooDeep], warnings: [] };
  if (!checkSchema(body)) {
    return { ok: false, errors: listed(schemaProblems(checkSchema.errors ?? [])), warnings: [] };
  }
  const warnings: Problem[] = [];
  collectUnknownKeys(configurationSchema, body, [], warnings);
  const errors: Problem[] = [];
  const built = new Map<string, NetworkModel>();
  const model = buildModel(body, host, errors, warnings, memo && networkReuse(memo, host, built));
  if (errors.length > 0) return { ok: false, errors: listed(errors), warnings: listed(warnings) };
  memo?.replace(built);
  return { ok: true, model, document: body, warnings: listed(warnings) };
}

/** A bounded list: an answer (and a log line) stays small whatever the document holds. */
function listed(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS_LISTED) return problems;
  const rest = problems.length - MAX_PROBLEMS_LISTED;
  return [...problems.slice(0, MAX_PROBLEMS_LISTED), { path: '', message: `and ${rest} more like these, not listed` }];
}

// ---------------------------------------------------------------------------
// Schema errors, translated into one readable line per offending value.

function schemaProblems(raw: ErrorObject[]): Problem[] {
  const dropped = new Set<ErrorObject>();
  const extra: Problem[] = [];
  const below = errorsBelow(raw);
  for (const error of raw) {
    if (error.keyword !== 'anyOf' || dropped.has(error)) continue;
    const branches = (error.schema as TSchema[] | undefined) ?? [];
    const inBranch = (e: ErrorObject, i: number) => e.schemaPath.startsWith(`${error.schemaPath}/${i}/`);
    const allBranchErrors = below(error.instancePath).filter((e) => e !== error && e.schemaPath.startsWith(`${error.schemaPath}/`));
    dropped.add(error);
    if (branches.every((b): b is TSchema & { const: unknown } => 'const' in b)) {
      allBranchErrors.forEach((e) => dropped.add(e));
      const values = branches.map((b) => JSON.stringify(b.const)).join(', ');
      extra.push({ path: error.instancePath, message: `must be one of ${values}` });
      continue;
    }
    const kind = jsonType(error.data);
    const match = branches.findIndex((b) => schemaAccepts(b, kind));
    allBranchErrors.filter((e) => match < 0 || !inBranch(e, match)).forEach((e) => dropped.add(e));
    if (match < 0) {
      const kinds = [...new Set(branches.map((b) => describeType(b)))].join(' or ');
      extra.push({ path: error.instancePath, message: `must be ${kinds}` });
    }
  }
  const problems = raw.filter((e) => !dropped.has(e)).map(describeError);
  return dedupe([...problems, ...extra]).sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The errors at a JSON pointer or below it, found by binary search: a large
 * document with an error in each of its many values must cost n log n, not
 * n squared (a 6 MiB body of bad subnet gateways would otherwise hold the
 * agent, and the metadata proxy it runs, for many minutes).
 */
function errorsBelow(raw: readonly ErrorObject[]): (path: string) => ErrorObject[] {
  const sorted = [...raw].sort((a, b) => (a.instancePath < b.instancePath ? -1 : a.instancePath > b.instancePath ? 1 : 0));
  const firstAtLeast = (key: string) => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle]!.instancePath < key) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  // The path itself is [path, path + "\0"); what lies below it is [path + "/", path + "0"), "0" following "/".
  return (path) => [...sorted.slice(firstAtLeast(path), firstAtLeast(`${path}\u0000`)), ...sorted.slice(firstAtLeast(`${path}/`), firstAtLeast(`${path}0`))];
}

function describeError(error: ErrorObject): Problem {
  const path = error.instancePath;
  const schema = error.parentSchema as { description?: string; maxLength?: number } | undefined;
  switch (error.keyword) {
    case 'required':
      return { path: `${path}/${escapePointer((error.params as { missingProperty: string }).missingProperty)}`, message: 'is required' };
    case 'format': {
      const format = (error.params as { format: string }).format;
      return { path, message: FORMAT_MESSAGES[format] ?? `must be a valid ${format}` };
    }
    case 'pattern':
      return { path, message: patternMessage(schema?.description) };
    case 'additionalProperties':
      return { path: `${path}/${escapePointer((error.params as { additionalProperty: string }).additionalProperty)}`, message: 'is not an allowed key here' };
    case 'propertyNames':
      return { path, message: 'has a key that is not allowed' };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

function patternMessage(description: string | undefined): string {
  switch (description) {
    case 'host name':
      return 'must be a host name: letters, digits and hyphens in dot-separated labels of at most 63 characters';
    case 'identifier':
      return 'must be an identifier: letters, digits, ".", "_", ":" and "-" only';
    case 'text':
      return 'must be printable text without quotes, backslashes, braces, ";", "$", "#" or control characters';
    case 'MAC address':
      return 'must be a unicast MAC address: six colon-separated hex pairs, the first one even (not broadcast or multicast)';
    case 'generic interface name':
      return 'must be a generic interface name such as ge0';
    case 'pre-shared key':
      return 'must be printable ASCII without double quotes or backslashes';
    case 'IKE identity':
      return 'must be an IKE identity: letters, digits and . _ : @ = / - only';
    case 'URL path':
      return 'must be a URL path starting with "/" without spaces, quotes, ";", "$" or braces';
    case 'cookie name':
      return 'must be a cookie name: letters, digits, "_" and "-" only';
    default:
      return 'contains characters that are not allowed here';
  }
}

type JsonKind = 'null' | 'array' | 'object' | 'string' | 'number' | 'integer' | 'boolean';

function jsonType(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonKind;
}

function schemaAccepts(schema: TSchema, kind: JsonKind): boolean {
  const type = (schema as { type?: string }).type;
  if (type === undefined) return true;
  return type === kind || (type === 'number' && kind === 'integer');
}

function describeType(schema: TSchema): string {
  const type = (schema as { type?: string }).type;
  if (type === 'object') return 'an object';
  if (type === 'array') return 'a list';
  return type ?? 'valid';
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Unknown keys are accepted (newer orchestrators may send more) but reported.
// The path is kept as its escaped segments and joined only for a warning: a
// large document has tens of thousands of values and rarely an unknown key.
function collectUnknownKeys(schema: TSchema, data: unknown, path: string[], warnings: Problem[]): void {
  const s = schema as {
    properties?: Record<string, TSchema>;
    patternProperties?: Record<string, TSchema>;
    items?: TSchema | TSchema[];
    anyOf?: TSchema[];
  };
  if (s.anyOf) {
    const kind = jsonType(data);
    const branch = s.anyOf.find((b) => schemaAccepts(b, kind));
    if (branch) collectUnknownKeys(branch, data, path, warnings);
    return;
  }
  if (Array.isArray(data) && s.items) {
    const items: TSchema | TSchema[] = s.items;
    (data as unknown[]).forEach((item, i) => {
      const itemSchema: TSchema | undefined = Array.isArray(items) ? (items as TSchema[])[i] : items;
      if (!itemSchema) return;
      path.push(String(i));
      collectUnknownKeys(itemSchema, item, path, warnings);
      path.pop();
    });
    return;
  }
  if (isObject(data) && s.properties) {
    for (const [key, value] of Object.entries(data)) {
      // Own keys only: `toString`, `constructor` or `__proto__` are unknown keys like any other.
      const child = Object.hasOwn(s.properties, key) ? s.properties[key] : undefined;
      path.push(escapePointer(key));
      if (child) collectUnknownKeys(child, value, path, warnings);
      else warnings.push({ path: path.map((segment) => `/${segment}`).join(''), message: 'unknown key, ignored' });
      path.pop();
    }
  }
}

// ---------------------------------------------------------------------------
// Cross-field rules, building the model as they go.

type Fail = (path: string, message: string) => void;

const IDENTIFIER = /^[A-Za-z0-9_.:-]{1,255}$/;

/** Builds network `index`: `build` makes it and tells whether that raised no problem. */
type BuildNetwork = (doc: NetworkDoc, index: number, build: () => { network: NetworkModel; clean: boolean }) => NetworkModel;

/**
 * Reuses the memo's model of the same text at the same place with the same
 * host facts, else builds it; records in `built` what the next document may
 * reuse (never a network whose building raised a problem: the next document
 * must raise it again).
 */
function networkReuse(memo: ValidationMemo, host: HostFacts | undefined, built: Map<string, NetworkModel>): BuildNetwork {
  const hostKey = host ? JSON.stringify([...host.interfaces]) : '';
  return (doc, index, build) => {
    const key = `${index}\n${hostKey}\n${JSON.stringify(doc)}`;
    const kept = memo.get(key);
    if (kept) {
      built.set(key, kept);
      return kept;
    }
    const { network, clean } = build();
    if (clean) built.set(key, network);
    return network;
  };
}

function buildModel(doc: Configuration, host: HostFacts | undefined, errors: Problem[], warnings: Problem[], reuse?: BuildNetwork): ConfigModel {
  const fail: Fail = (path, message) => errors.push({ path, message });
  const networksDoc = doc.networks ?? [];
  const networks = networksDoc.map((n, i) => {
    const build = () => {
      const problems = errors.length + warnings.length;
      const network = buildNetwork(n, `/networks/${i}`, host, fail, warnings);
      return { network, clean: errors.length + warnings.length === problems };
    };
    return reuse ? reuse(n, i, build) : build().network;
  });

  const firstOfType = new Map<NetworkType, number>();
  const byIfname = new Map<string, number>();
  const byId = new Map<string, number>();
  /** Every address of the appliance's interfaces -> where the document sets it. */
  const byAddress = new Map<string, string>();
  networks.forEach((network, i) => {
    const base = `/networks/${i}`;
    if (network.type === 'management' || network.type === 'external') {
      const first = firstOfType.get(network.type);
      if (first !== undefined) fail(`${base}/network_type`, `a second ${network.type} network; the first is /networks/${first}`);
      else firstOfType.set(network.type, i);
    }
    const sameIf = byIfname.get(network.ifname);
    if (sameIf !== undefined) fail(`${base}/interface/ifname`, `${network.ifname} is already used by /networks/${sameIf}`);
    else byIfname.set(network.ifname, i);
    const sameId = byId.get(network.id);
    if (sameId !== undefined) fail(`${base}/network_id`, `duplicates /networks/${sameId}/network_id`);
    else byId.set(network.id, i);
    network.addresses.forEach((a, j) => {
      const other = byAddress.get(a.text);
      if (other !== undefined) fail(`${base}/interface/addresses/${j}`, `${a.text} is already configured at ${other}`);
      else byAddress.set(a.text, `${base}/interface/addresses/${j}`);
    });
  });
  checkPrefixes(networks, fail);

  // Prefixes the appliance is directly attached to: next hops must be in one.
  const connectedPrefixes = networks.flatMap((n) => [...n.subnets.map((s) => s.cidr), ...n.addresses]);
  const connected = new PrefixSet(connectedPrefixes);
  const onLink = (a: ParsedAddress) => connected.has(a);
  const edges = prefixEdges(connectedPrefixes);

  let defaultV4Gateway: ParsedAddress | undefined;
  if (doc.default_v4_gateway) {
    defaultV4Gateway = parseAddress(doc.default_v4_gateway)!;
    if (!onLink(defaultV4Gateway)) fail('/default_v4_gateway', `${defaultV4Gateway.text} is not inside any subnet of the appliance's networks`);
    else failNextHop('/default_v4_gateway', defaultV4Gateway, edges, true, fail);
  }

  const floatingIps = buildFloatingIps(doc, networks, byAddress, defaultV4Gateway, fail, warnings);
  const staticRoutes = buildStaticRoutes(doc.static_routes ?? [], onLink, edges, fail);
  const orchestrator = buildOrchestrator(doc, networks, byAddress, fail);

  const ha = doc.ha_resource ? buildHa(doc, networks, byAddress, fail) : undefined;

  // A subnet id names the first subnet that carries it (ids are Neutron's, unique in practice).
  const subnetsById = new Map<string, ParsedCidr>();
  for (const subnet of networks.flatMap((n) => n.subnets)) if (subnet.id !== '' && !subnetsById.has(subnet.id)) subnetsById.set(subnet.id, subnet.cidr);
  const vpn = (doc.vpn?.ipsec ?? []).map((service, i) => buildVpnService(service, `/vpn/ipsec/${i}`, subnetsById, fail, warnings));
  const loadBalancerDoc = doc.services?.loadbalancer ?? undefined;

  // Built from entries, never by assignment: a label may be named `__proto__`.
  const labels = Object.fromEntries(Object.entries(doc.labels ?? {}).map(([name, cidrs]) => [name, cidrs.map((c) => parseCidr(c)!)]));

  const model: ConfigModel = {
    tenantId: doc.tenant_id,
    hostname: doc.hostname,
    networks,
    defaultV4Gateway,
    floatingIps,
    staticRoutes,
    asn: doc.asn ?? DEFAULT_ASN,
    neighborAsn: doc.neighbor_asn ?? DEFAULT_ASN,
    orchestrator,
    labels,
    ha,
    vpn,
    loadBalancer: undefined,
  };
  // Last: whether a member can be reached depends on the networks and routes above.
  return loadBalancerDoc ? { ...model, loadBalancer: buildLoadBalancer(loadBalancerDoc, model, byAddress, fail) } : model;
}

function buildNetwork(doc: NetworkDoc, base: string, host: HostFacts | undefined, fail: Fail, warnings: Problem[]): NetworkModel {
  const ifname = doc.interface.ifname;
  const lladdr = doc.interface.lladdr?.toLowerCase() ?? undefined;
  if (host) {
    const mac = host.interfaces.get(ifname);
    if (mac === undefined) {
      const names = [...host.interfaces.keys()].join(', ') || 'none';
      fail(`${base}/interface/ifname`, `this appliance has no interface ${ifname} (it has: ${names})`);
    } else if (lladdr !== undefined && lladdr !== mac.toLowerCase()) {
      fail(`${base}/interface/lladdr`, `${lladdr} is not the MAC of ${ifname} (${mac}); refusing to configure the wrong interface`);
    }
  }

  const subnets: SubnetModel[] = (doc.subnets ?? []).map((s, j) => {
    const path = `${base}/subnets/${j}`;
    const cidr = parseCidr(s.cidr)!;
    const gateway = s.gateway_ip ? parseAddress(s.gateway_ip) : undefined;
    if (gateway && !contains(cidr, gateway)) fail(`${path}/gateway_ip`, `${gateway.text} is not inside ${cidr.cidr}`);
    const hostRoutes = (s.host_routes ?? []).map((r, k) => {
      const route = { destination: parseCidr(r.destination)!, nextHop: parseAddress(r.nexthop)! };
      if (route.destination.family !== route.nextHop.family) fail(`${path}/host_routes/${k}/nexthop`, `${route.nextHop.text} is not of the same IP version as ${route.destination.cidr}`);
      else if (!contains(cidr, route.nextHop)) fail(`${path}/host_routes/${k}/nexthop`, `${route.nextHop.text} is not inside ${cidr.cidr}`);
      return route;
    });
    return {
      id: s.id ?? '',
      cidr,
      gateway,
      dhcpEnabled: s.dhcp_enabled ?? false,
      dnsNameservers: (s.dns_nameservers ?? []).map((a) => parseAddress(a)!),
      hostRoutes,
    };
  });
  const firstOfCidr = new Map<string, number>();
  subnets.forEach((s, j) => {
    const dup = firstOfCidr.get(s.cidr.cidr);
    if (dup !== undefined) fail(`${base}/subnets/${j}/cidr`, `duplicates ${base}/subnets/${dup}/cidr`);
    else firstOfCidr.set(s.cidr.cidr, j);
  });
  const inSubnets = new PrefixSet(subnets.map((s) => s.cidr));
  const subnetsOf = (family: number) => subnets.filter((s) => s.cidr.family === family).map((s) => s.cidr.cidr).join(', ');

  const mtu = doc.interface.mtu ?? doc.mtu ?? undefined;
  /** This network's interface addresses -> where the document sets them. */
  const own = new Map<string, string>();
  const addresses = doc.interface.addresses.map((text, j) => {
    const path = `${base}/interface/addresses/${j}`;
    const cidr = parseCidr(text)!;
    const notUnicast = notUnicastProblem(cidr);
    if (isLinkLocal(cidr)) fail(path, 'link-local addresses are managed by the kernel, not configured');
    else if (notUnicast) fail(path, `${cidr.text} ${notUnicast}: no interface can hold it`);
    if (inSubnets.hasFamily(cidr.family) && !inSubnets.has(cidr)) {
      fail(path, `${cidr.text} is not inside any subnet of this network (${subnetsOf(cidr.family)})`);
    }
    if (cidr.family === 6 && mtu !== undefined && mtu < 1280) fail(path, `IPv6 needs an MTU of at least 1280 (the network's is ${mtu})`);
    if (!own.has(cidr.text)) own.set(cidr.text, path);
    return cidr;
  });

  // Next hops within the network, once its interface prefixes are known: a
  // route cannot lead through an address the kernel keeps as a broadcast.
  const edges = prefixEdges([...subnets.map((s) => s.cidr), ...addresses]);
  subnets.forEach((s, j) => {
    const path = `${base}/subnets/${j}`;
    if (s.gateway && contains(s.cidr, s.gateway)) failNextHop(`${path}/gateway_ip`, s.gateway, edges, true, fail);
    s.hostRoutes.forEach((r, k) => {
      if (contains(s.cidr, r.nextHop)) failNextHop(`${path}/host_routes/${k}/nexthop`, r.nextHop, edges, false, fail);
    });
  });

  if (doc.address_allocations && doc.allocations) {
    warnings.push({ path: `${base}/address_allocations`, message: 'both allocations and address_allocations given; using both' });
  }
  const allocationDocs: [AllocationDoc, string][] = [
    ...(doc.allocations ?? []).map((a, k): [AllocationDoc, string] => [a, `${base}/allocations/${k}`]),
    ...(doc.address_allocations ?? []).map((a, k): [AllocationDoc, string] => [a, `${base}/address_allocations/${k}`]),
  ];
  const macs = new Map<string, string>();
  /** Allocated address -> where the document allocates it. */
  const ips = new Map<string, () => string>();
  const allocations: AllocationModel[] = [];
  for (const [a, path] of allocationDocs) {
    const mac = a.mac_address.toLowerCase();
    const sameMac = macs.get(mac);
    if (sameMac !== undefined) fail(`${path}/mac_address`, `${mac} is already allocated at ${sameMac}`);
    else macs.set(mac, path);
    if (a.hostname !== undefined) {
      const problem = dhcpHostnameProblem(a.hostname);
      if (problem) fail(`${path}/hostname`, problem);
    }
    const entries: { address: ParsedAddress; dhcp: boolean; key: string }[] = [];
    // Paths are only made for a message: a large document has thousands of addresses and few problems.
    const addressPath = (key: string) => `${path}/ip_addresses/${escapePointer(key)}`;
    for (const [text, dhcp] of Object.entries(a.ip_addresses)) {
      const address = parseAddress(text);
      if (!address) {
        fail(addressPath(text), FORMAT_MESSAGES['ip-address']!);
        continue;
      }
      const notUnicast = notUnicastProblem(address);
      if (notUnicast) fail(addressPath(text), `${address.text} ${notUnicast}: no guest can hold it`);
      const other = ips.get(address.text);
      if (other !== undefined) fail(addressPath(text), `${address.text} is already allocated at ${other()}`);
      else ips.set(address.text, () => addressPath(text));
      if (inSubnets.hasFamily(address.family) && !inSubnets.has(address)) {
        fail(addressPath(text), `${address.text} is not inside any subnet of this network`);
      }
      entries.push({ address, dhcp, key: text });
    }
    // Neutron gives an address to one port only, so an allocation holding the
    // router's own addresses is the router's interface port, which the
    // orchestrator lists with the guests (notes 8.1). Holding other addresses
    // as well, it is not that port: it would hand the router's address to a guest.
    const ownEntries = entries.filter((e) => own.has(e.address.text));
    const routerPort = ownEntries.length > 0 && ownEntries.length === entries.length;
    if (!routerPort) {
      for (const e of ownEntries) {
        fail(addressPath(e.key), `${e.address.text} is the router's own address on this network (${own.get(e.address.text)}); only the router's own port may hold it, and nothing else with it`);
      }
    }
    allocations.push({
      mac,
      addresses: entries.map(({ address, dhcp }) => ({ address, dhcp })),
      hostname: a.hostname,
      deviceId: a.device_id ?? '',
      routerPort,
    });
  }

  return {
    id: doc.network_id,
    type: doc.network_type ?? 'internal',
    ifname,
    index: Number(ifname.slice(2)),
    lladdr,
    mtu,
    addresses,
    subnets,
    allocations,
    v4ConfService: doc.v4_conf_service ?? 'static',
    v6ConfService: doc.v6_conf_service ?? 'static',
  };
}

interface PrefixClaim {
  readonly cidr: ParsedCidr;
  readonly network: number;
  readonly subnet: boolean;
  readonly path: string;
  /** Position in the document, to name the later of two clashing values. */
  readonly order: number;
  readonly key: string;
}

/**
 * Subnets may not overlap, and no interface prefix (an address with its
 * prefix length: the connected route the kernel adds) may overlap a subnet or
 * an interface prefix of another network: two interfaces would then claim
 * the same addresses. Networks without a subnet of an address's family are
 * checked too. One sorted pass: CIDR blocks are nested or disjoint, so the
 * blocks enclosing each one form a chain of at most one per prefix length.
 */
function checkPrefixes(networks: readonly NetworkModel[], fail: Fail): void {
  const claims: PrefixClaim[] = [];
  // Subnets first: of equal prefixes, a clash names the subnet it overlaps.
  networks.forEach((network, i) => {
    network.subnets.forEach((s, j) => claims.push({ cidr: s.cidr, network: i, subnet: true, path: `/networks/${i}/subnets/${j}/cidr`, order: claims.length, key: prefixSortKey(s.cidr) }));
    network.addresses.forEach((cidr, j) => claims.push({ cidr, network: i, subnet: false, path: `/networks/${i}/interface/addresses/${j}`, order: claims.length, key: prefixSortKey(cidr) }));
  });
  claims.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.order - b.order));
  const clash = (a: PrefixClaim, b: PrefixClaim) => (a.subnet && b.subnet) || (a.network !== b.network && !(a.subnet && b.subnet));
  const chain: PrefixClaim[] = [];
  const reported = new Set<string>();
  for (const claim of claims) {
    while (chain.length > 0 && !overlaps(chain[chain.length - 1]!.cidr, claim.cidr)) chain.pop();
    let other: PrefixClaim | undefined;
    for (let k = chain.length - 1; k >= 0 && !other; k--) if (clash(chain[k]!, claim)) other = chain[k];
    if (other) {
      const [at, against] = blamed(other, claim);
      if (!reported.has(at.path)) {
        reported.add(at.path);
        if (at.subnet) fail(at.path, `${at.cidr.cidr} overlaps ${against.cidr.cidr} at ${against.path}`);
        else fail(at.path, `${at.cidr.cidr} makes ${at.cidr.network} a connected prefix of this interface, and it overlaps ${against.cidr.network} at ${against.path}, on another interface`);
      }
    }
    const top = chain[chain.length - 1];
    if (!top || top.key !== claim.key || top.network !== claim.network) chain.push(claim);
  }
}

/**
 * Which of two clashing claims the error names (`outer` holds `inner`): of
 * two subnets the later in the document; of a subnet and an interface
 * address, the address; of two addresses, the wider, or the later of equals.
 */
function blamed(outer: PrefixClaim, inner: PrefixClaim): [PrefixClaim, PrefixClaim] {
  const later = outer.order > inner.order;
  if (outer.subnet !== inner.subnet) return outer.subnet ? [inner, outer] : [outer, inner];
  if (!outer.subnet && outer.cidr.prefix !== inner.cidr.prefix) return [outer, inner];
  return later ? [outer, inner] : [inner, outer];
}

function buildFloatingIps(
  doc: Configuration,
  networks: readonly NetworkModel[],
  byAddress: ReadonlyMap<string, string>,
  defaultV4Gateway: ParsedAddress | undefined,
  fail: Fail,
  warnings: Problem[],
): FloatingIpModel[] {
  const result: FloatingIpModel[] = [];
  const seenFloating = new Map<string, number>();
  const seenFixed = new Map<string, number>();
  const tenantPrefixes = new PrefixSet(networks.filter(isTenantNetwork).flatMap((n) => [...n.subnets.map((s) => s.cidr), ...n.addresses]));
  const externalIndex = networks.findIndex((n) => n.type === 'external');
  const external = networks[externalIndex];
  // The router's upstream: taking one of these addresses for a guest would take the default route away.
  const gateways = new Map<string, string>();
  if (defaultV4Gateway) gateways.set(defaultV4Gateway.text, '/default_v4_gateway');
  external?.subnets.forEach((s, j) => {
    if (s.gateway && !gateways.has(s.gateway.text)) gateways.set(s.gateway.text, `/networks/${externalIndex}/subnets/${j}/gateway_ip`);
  });
  (doc.floating_ips ?? []).forEach((f, i) => {
    const base = `/floating_ips/${i}`;
    const floating = parseAddress(f.floating_ip)!;
    const fixed = parseAddress(f.fixed_ip)!;
    if (floating.family !== fixed.family) {
      warnings.push({ path: base, message: `${floating.text} and ${fixed.text} differ in IP version; skipped` });
      return;
    }
    if (!external) {
      fail(`${base}/floating_ip`, 'floating IPs need an external network');
      return;
    }
    const externalPrefixes = external.subnets.some((s) => s.cidr.family === floating.family)
      ? external.subnets.map((s) => s.cidr)
      : external.addresses;
    const holder = externalPrefixes.find((c) => contains(c, floating));
    const own = byAddress.get(floating.text);
    const gateway = gateways.get(floating.text);
    const floatingNotUnicast = notUnicastProblem(floating);
    if (!holder) fail(`${base}/floating_ip`, `${floating.text} is not inside a subnet of the external network`);
    else if (isNetworkOrBroadcast(holder, floating)) fail(`${base}/floating_ip`, `${floating.text} is not a host address of ${holder.network}: it is its network or broadcast address`);
    else if (floatingNotUnicast) fail(`${base}/floating_ip`, `${floating.text} ${floatingNotUnicast}: no interface can hold it`);
    // A floating IP is an address of the external interface, and the agent leaves link-local ones to the kernel: it would never remove it.
    else if (isLinkLocal(floating)) fail(`${base}/floating_ip`, `${floating.text} is link-local: the agent leaves link-local addresses to the kernel and could never take it away again`);
    if (own !== undefined) fail(`${base}/floating_ip`, `${floating.text} is the router's own address (${own})`);
    else if (gateway !== undefined) fail(`${base}/floating_ip`, `${floating.text} is the external gateway (${gateway}): the default route would lead to a guest`);
    const fixedNotUnicast = notUnicastProblem(fixed);
    if (!tenantPrefixes.has(fixed)) fail(`${base}/fixed_ip`, `${fixed.text} is not inside a subnet of an internal network`);
    else if (fixedNotUnicast) fail(`${base}/fixed_ip`, `${fixed.text} ${fixedNotUnicast}: no guest can hold it`);
    const firstFloating = seenFloating.get(floating.text);
    if (firstFloating !== undefined) fail(`${base}/floating_ip`, `duplicates /floating_ips/${firstFloating}/floating_ip`);
    else seenFloating.set(floating.text, i);
    const firstFixed = seenFixed.get(fixed.text);
    if (firstFixed !== undefined) fail(`${base}/fixed_ip`, `${fixed.text} already has the floating IP at /floating_ips/${firstFixed}`);
    else seenFixed.set(fixed.text, i);
    result.push({ floating, fixed });
  });
  return result;
}

function buildStaticRoutes(routes: StaticRouteDoc[], onLink: (a: ParsedAddress) => boolean, edges: ReadonlyMap<string, string>, fail: Fail): RouteModel[] {
  const result: RouteModel[] = [];
  routes.forEach((r, i) => {
    const base = `/static_routes/${i}`;
    const [destinationText, nextHopText, hopPath] = Array.isArray(r)
      ? [r[0], r[1], `${base}/1`]
      : [r.destination, r.next_hop ?? r.nexthop, `${base}/next_hop`];
    if (nextHopText === undefined) {
      fail(hopPath, 'is required');
      return;
    }
    const destination = parseCidr(destinationText)!;
    const nextHop = parseAddress(nextHopText)!;
    if (destination.family !== nextHop.family) fail(hopPath, `${nextHop.text} is not of the same IP version as ${destination.cidr}`);
    else if (!onLink(nextHop)) fail(hopPath, `${nextHop.text} is not inside any subnet of the appliance's networks`);
    else failNextHop(hopPath, nextHop, edges, false, fail);
    result.push({ destination, nextHop });
  });
  return result;
}

/**
 * The IPv4 network and broadcast addresses of prefixes (none for /31 and
 * /32), each with its prefix: the kernel keeps a broadcast route at them and
 * refuses them as next hops, and Neutron never makes one a gateway.
 */
function prefixEdges(prefixes: readonly ParsedCidr[]): Map<string, string> {
  const edges = new Map<string, string>();
  for (const cidr of prefixes) {
    if (cidr.family !== 4 || cidr.prefix > 30) continue;
    for (const edge of [networkAddress(cidr.addr, cidr.prefix), lastAddress(cidr.addr, cidr.prefix)]) {
      if (!edges.has(edge.toString())) edges.set(edge.toString(), cidr.network);
    }
  }
  return edges;
}

/**
 * Refuses a next hop no route can lead through: not unicast, the network or
 * broadcast address of a prefix the appliance is attached to, or (for a
 * route that names no interface: host and static routes) IPv6 link-local,
 * which the kernel can only reach through a named interface.
 */
function failNextHop(path: string, hop: ParsedAddress, edges: ReadonlyMap<string, string>, namesInterface: boolean, fail: Fail): void {
  const notUnicast = notUnicastProblem(hop);
  const edgeOf = edges.get(hop.text);
  if (notUnicast) fail(path, `${hop.text} ${notUnicast}: no route can lead through it`);
  else if (edgeOf !== undefined) fail(path, `${hop.text} is the network or broadcast address of ${edgeOf}: no route can lead through it`);
  else if (!namesInterface && hop.family === 6 && isLinkLocal(hop)) fail(path, `${hop.text} is link-local: the kernel reaches it only through a named interface, and this route names none`);
}

/**
 * The metadata proxy's upstream. It may be neither the appliance itself (the
 * proxy would hand guests' requests, with identity headers, to the agent's
 * own services) nor inside a tenant network (a guest there could answer them
 * and read the identity headers of every other guest).
 */
function buildOrchestrator(doc: Configuration, networks: readonly NetworkModel[], byAddress: ReadonlyMap<string, string>, fail: Fail): ConfigModel['orchestrator'] {
  const given = doc.orchestrator?.address;
  const address = parseAddress(given ?? DEFAULT_METADATA_ADDRESS)!;
  const path = '/orchestrator/address';
  const what = given === undefined ? `the default orchestrator address ${address.text}` : address.text;
  const own = byAddress.get(address.text);
  if (own !== undefined) {
    fail(path, `${what} is this appliance's own address (${own}): the metadata proxy would send guests' requests to the appliance itself`);
  } else if (isSelfAddress(address)) {
    fail(path, `${what} is this appliance itself: the metadata proxy would send guests' requests to the appliance's own services`);
  } else {
    const tenant = networks.findIndex((n) => isTenantNetwork(n) && [...n.subnets.map((s) => s.cidr), ...n.addresses].some((c) => contains(c, address)));
    if (tenant >= 0) fail(path, `${what} is inside the tenant network /networks/${tenant}: a guest there could answer in the orchestrator's place and read other guests' identity headers`);
  }
  return {
    address,
    metadataPort: doc.orchestrator?.metadata_port ?? DEFAULT_METADATA_PORT,
    host: doc.orchestrator?.host ?? '',
  };
}

/**
 * An HA pair member: keepalived's VRRP and conntrackd's sync run between the
 * two members' management addresses, over IPv6 (each VRRP instance needs an
 * IPv6 virtual address, its VRID's link-local one, in the adverts' family),
 * with exactly one peer (conntrackd synchronises with one address).
 */
function buildHa(doc: Configuration, networks: readonly NetworkModel[], byAddress: ReadonlyMap<string, string>, fail: Fail): ConfigModel['ha'] {
  if (!doc.ha_config) {
    fail('/ha_config', 'is required when ha_resource is true');
    return undefined;
  }
  const peers = doc.ha_config.peers.map((p) => parseAddress(p)!);
  const management = networks.findIndex((n) => n.type === 'management');
  const own = networks[management]?.addresses.filter((a) => a.family === 6) ?? [];
  if (peers.length !== 1) fail('/ha_config/peers', `lists ${peers.length} peers; an HA pair has exactly one (conntrackd synchronises connection state with one peer)`);
  if (management < 0) fail('/ha_resource', 'an HA pair member needs a management network: VRRP and the connection state sync run over it');
  else if (own.length === 0) fail(`/networks/${management}/interface/addresses`, 'an HA pair member needs an IPv6 address on the management network: VRRP and the connection state sync run over IPv6');
  peers.forEach((peer, i) => {
    const path = `/ha_config/peers/${i}`;
    const notUnicast = notUnicastProblem(peer);
    const mine = byAddress.get(peer.text);
    if (notUnicast) fail(path, `${peer.text} ${notUnicast}: it cannot be the peer of an HA pair`);
    else if (peer.family !== 6) fail(path, `${peer.text} is not an IPv6 address: the pair speaks VRRP and synchronises connection state over IPv6 on the management network`);
    else if (isLinkLocal(peer)) fail(path, `${peer.text} is link-local: give the peer's management address`);
    else if (mine !== undefined) fail(path, `${peer.text} is this appliance's own address (${mine}), not its peer's`);
    else if (management >= 0 && own.length > 0 && !own.some((a) => contains(a, peer)) && !networks[management]!.subnets.some((s) => contains(s.cidr, peer))) {
      fail(path, `${peer.text} is not on the management network (${own.map((a) => a.network).join(', ')}): the peers reach each other there directly`);
    }
  });
  return { peers, priority: doc.ha_config.priority ?? DEFAULT_HA_PRIORITY };
}

// Neutron VPNaaS's defaults for what a document leaves out.
const DEFAULT_LIFETIME: LifetimeModel = { units: 'seconds', value: 3600 };

function lifetime(doc: { units?: LifetimeModel['units']; value?: number } | undefined): LifetimeModel {
  return { units: doc?.units ?? DEFAULT_LIFETIME.units, value: doc?.value ?? DEFAULT_LIFETIME.value };
}

/** Neutron keeps a VPN's local subnets on the router; one the document does not carry is left out, with a warning. */
function unknownSubnet(id: string): string {
  return `${id} is not the id of a subnet of this router; left out of the VPN`;
}

function buildVpnService(service: VpnServiceDoc, base: string, subnetsById: ReadonlyMap<string, ParsedCidr>, fail: Fail, warnings: Problem[]): VpnServiceModel {
  let serviceSubnet: ParsedCidr | undefined;
  if (service.subnet_id) {
    serviceSubnet = subnetsById.get(service.subnet_id);
    if (!serviceSubnet) warnings.push({ path: `${base}/subnet_id`, message: unknownSubnet(service.subnet_id) });
  }
  const external = (key: 'external_v4_ip' | 'external_v6_ip', family: 4 | 6): ParsedAddress | undefined => {
    const text = service[key];
    if (!text) return undefined;
    const address = parseAddress(text)!;
    if (address.family !== family) fail(`${base}/${key}`, `must be an IPv${family} address`);
    return address;
  };
  return {
    id: service.id,
    name: service.name ?? '',
    enabled: service.admin_state_up ?? true,
    externalV4: external('external_v4_ip', 4),
    externalV6: external('external_v6_ip', 6),
    connections: service.ipsec_connections.map((c, j) => buildIpsecConnection(c, `${base}/ipsec_connections/${j}`, serviceSubnet, subnetsById, fail, warnings)),
  };
}

function buildIpsecConnection(
  conn: IpsecConnectionDoc,
  base: string,
  serviceSubnet: ParsedCidr | undefined,
  subnetsById: ReadonlyMap<string, ParsedCidr>,
  fail: Fail,
  warnings: Problem[],
): IpsecConnectionModel {
  const network = (endpoint: string, path: string): ParsedCidr | undefined => {
    const cidr = parseCidr(endpoint);
    if (cidr && cidr.cidr === cidr.network) return cidr;
    fail(path, FORMAT_MESSAGES['ip-network']!);
    return undefined;
  };
  const localCidrs: ParsedCidr[] = [];
  const local = conn.local_ep_group ?? undefined;
  if (local) {
    local.endpoints.forEach((endpoint, k) => {
      const path = `${base}/local_ep_group/endpoints/${k}`;
      let cidr: ParsedCidr | undefined;
      if (local.type === 'cidr') cidr = network(endpoint, path);
      else if (!IDENTIFIER.test(endpoint)) fail(path, patternMessage('identifier'));
      else {
        cidr = subnetsById.get(endpoint);
        if (!cidr) warnings.push({ path, message: unknownSubnet(endpoint) });
      }
      if (cidr) localCidrs.push(cidr);
    });
  } else if (serviceSubnet) {
    localCidrs.push(serviceSubnet);
  }
  const peerCidrs = new Map<string, ParsedCidr>();
  (conn.peer_ep_group?.endpoints ?? []).forEach((endpoint, k) => {
    const cidr = network(endpoint, `${base}/peer_ep_group/endpoints/${k}`);
    if (cidr) peerCidrs.set(cidr.cidr, cidr);
  });
  for (const text of conn.peer_cidrs ?? []) {
    const cidr = parseCidr(text)!;
    peerCidrs.set(cidr.cidr, cidr);
  }
  const peerAddress = parseAddress(conn.peer_address)!;
  const ike = conn.ikepolicy;
  const ipsec = conn.ipsecpolicy;
  // What the appliance's strongSwan cannot do is refused rather than quietly done otherwise: the userspace
  // data path (kernel-libipsec, used where the kernel has no ESP) carries ESP in tunnel mode only, and an
  // IKE SA has no lifetime in bytes.
  if (ipsec.transform_protocol === 'ah' || ipsec.transform_protocol === 'ah-esp') {
    fail(`${base}/ipsecpolicy/transform_protocol`, `${ipsec.transform_protocol} is not supported: the appliance protects traffic with ESP only`);
  }
  if (ipsec.encapsulation_mode === 'transport') fail(`${base}/ipsecpolicy/encapsulation_mode`, 'transport is not supported: a site connection is carried in tunnel mode');
  if (ike.lifetime?.units === 'kilobytes') fail(`${base}/ikepolicy/lifetime/units`, 'an IKE SA lifetime is in seconds only (strongSwan has no byte limit for IKE SAs)');
  return {
    id: conn.id,
    name: conn.name ?? '',
    enabled: conn.admin_state_up ?? true,
    peerAddress,
    peerId: conn.peer_id ?? peerAddress.text,
    mtu: conn.mtu ?? 1500,
    initiator: conn.initiator ?? 'bi-directional',
    psk: conn.psk,
    dpd: { action: conn.dpd?.action ?? 'hold', interval: conn.dpd?.interval ?? 30, timeout: conn.dpd?.timeout ?? 120 },
    localCidrs,
    peerCidrs: [...peerCidrs.values()],
    ike: {
      version: ike.ike_version ?? 'v1',
      authAlgorithm: ike.auth_algorithm ?? 'sha1',
      encryptionAlgorithm: ike.encryption_algorithm ?? 'aes-128',
      pfs: ike.pfs ?? 'group5',
      lifetime: lifetime(ike.lifetime),
      phase1NegotiationMode: ike.phase1_negotiation_mode ?? 'main',
    },
    ipsec: {
      transformProtocol: ipsec.transform_protocol ?? 'esp',
      authAlgorithm: ipsec.auth_algorithm ?? 'sha1',
      encryptionAlgorithm: ipsec.encryption_algorithm ?? 'aes-128',
      encapsulationMode: ipsec.encapsulation_mode ?? 'tunnel',
      lifetime: lifetime(ipsec.lifetime),
      pfs: ipsec.pfs ?? 'group5',
    },
  };
}

type ListenerDoc = LoadBalancerDoc['listeners'][number];
type PoolDoc = NonNullable<ListenerDoc['default_pool']>;

/**
 * The pools each listener protocol can carry, as Octavia's compatibility
 * matrix has them: an HTTP listener is proxied request by request to HTTP
 * members (TLS towards members is not done); HTTPS is passed through as
 * bytes, so its members speak TLS (an HTTPS or TCP pool); a TCP listener
 * passes bytes to any pool.
 */
const POOL_PROTOCOLS: Readonly<Record<LbProtocol, readonly LbProtocol[]>> = {
  HTTP: ['HTTP'],
  HTTPS: ['HTTPS', 'TCP'],
  TCP: ['HTTP', 'HTTPS', 'TCP'],
};

/** Octavia's three forms: one code, a list of codes, or one range. */
const EXPECTED_CODES = /^(?:[1-5][0-9]{2}(?:,[1-5][0-9]{2})*|([1-5][0-9]{2})-([1-5][0-9]{2}))$/;

/** Where members can be reached from: what the document connects and routes, outside the management network. */
interface MemberReach {
  /** Why no traffic to `address` can leave the appliance towards a member, or undefined when it can. */
  problem(address: ParsedAddress): string | undefined;
}

function memberReach(model: ConfigModel, byAddress: ReadonlyMap<string, string>): MemberReach {
  const prefixesOf = (n: NetworkModel) => [...n.subnets.map((s) => s.cidr), ...n.addresses];
  const managementIndex = model.networks.findIndex((n) => n.type === 'management');
  const management = new PrefixSet(model.networks.filter((n) => n.type === 'management').flatMap(prefixesOf));
  const connected = new PrefixSet(model.networks.filter((n) => n.type !== 'management').flatMap(prefixesOf));
  // Routes through the management network do not count: it carries no tenant traffic.
  const routed = new PrefixSet(model.staticRoutes.filter((r) => !management.has(r.nextHop)).map((r) => r.destination));
  const gateways = defaultGateways(model);
  return {
    problem(address) {
      const notUnicast = notUnicastProblem(address);
      if (notUnicast) return `${address.text} ${notUnicast}: no member can hold it`;
      if (isLinkLocal(address)) return `${address.text} is link-local: nginx cannot reach it without naming an interface`;
      const own = byAddress.get(address.text);
      if (own !== undefined) return `${address.text} is the appliance's own address (${own}): the load balancer would proxy to itself`;
      if (management.has(address)) return `${address.text} is on the management network (/networks/${managementIndex}): members are reached through the tenant-facing networks only`;
      const defaultRoute = address.family === 4 ? gateways.v4 : gateways.v6;
      if (connected.has(address) || routed.has(address) || defaultRoute) return undefined;
      return `${address.text} is inside no subnet of the appliance's networks and no route of the document leads to it`;
    },
  };
}

function buildLoadBalancer(lb: LoadBalancerDoc, model: ConfigModel, byAddress: ReadonlyMap<string, string>, fail: Fail): LoadBalancerModel {
  const base = '/services/loadbalancer';
  const vip = parseAddress(lb.vip_address)!;
  const vipNetwork = model.networks.findIndex((n) => n.addresses.some((a) => a.text === vip.text));
  const vipType = model.networks[vipNetwork]?.type;
  if (vipType === undefined) fail(`${base}/vip_address`, `${vip.text} is not an address of any configured interface`);
  else if (vipType !== 'loadbalancer') fail(`${base}/vip_address`, `${vip.text} is an address of /networks/${vipNetwork}, a ${vipType} network: the VIP must be on the loadbalancer network`);
  const reach = memberReach(model, byAddress);
  const ports = new Map<number, number>();
  const listenerIds = new Map<string, number>();
  const poolIds = new Map<string, string>();
  const listeners = lb.listeners.map((listener, i): ListenerModel => {
    const at = `${base}/listeners/${i}`;
    const samePort = ports.get(listener.protocol_port);
    if (samePort !== undefined) fail(`${at}/protocol_port`, `port ${listener.protocol_port} is already used by listener ${samePort}`);
    else ports.set(listener.protocol_port, i);
    const sameId = listenerIds.get(listener.id);
    if (sameId !== undefined) fail(`${at}/id`, `duplicates ${base}/listeners/${sameId}/id`);
    else listenerIds.set(listener.id, i);
    const pool = listener.default_pool ?? undefined;
    if (pool) {
      const otherListener = poolIds.get(pool.id);
      if (otherListener !== undefined) fail(`${at}/default_pool/id`, `pool ${pool.id} is already the default pool of ${otherListener}: a pool serves one listener`);
      else poolIds.set(pool.id, at);
    }
    return {
      id: listener.id,
      name: listener.name ?? '',
      enabled: listener.admin_state_up ?? true,
      protocol: listener.protocol,
      port: listener.protocol_port,
      pool: pool ? buildPool(pool, listener.protocol, `${at}/default_pool`, reach, fail) : undefined,
    };
  });
  return { id: lb.id, name: lb.name ?? '', enabled: lb.admin_state_up ?? true, vip, listeners };
}

function buildPool(pool: PoolDoc, listenerProtocol: LbProtocol, base: string, reach: MemberReach, fail: Fail): PoolModel {
  const protocol = pool.protocol ?? listenerProtocol;
  if (!POOL_PROTOCOLS[listenerProtocol].includes(protocol)) {
    fail(`${base}/protocol`, `a ${listenerProtocol} listener cannot carry a ${protocol} pool (it carries ${POOL_PROTOCOLS[listenerProtocol].join(' or ')})`);
  }
  const persistence = pool.session_persistence ?? undefined;
  const cookieName = persistence?.cookie_name ? persistence.cookie_name : undefined;
  if (persistence && persistence.type !== 'SOURCE_IP') {
    fail(`${base}/session_persistence/type`, `${persistence.type} persistence needs sticky cookies, which nginx's open-source build does not have; use SOURCE_IP or no persistence`);
  }
  if (persistence?.type === 'APP_COOKIE' && cookieName === undefined) fail(`${base}/session_persistence/cookie_name`, 'is required for APP_COOKIE session persistence');
  const monitor = pool.healthmonitor ?? undefined;
  if (monitor) checkMonitor(monitor, `${base}/healthmonitor`, fail);
  const healthMonitor: HealthMonitorModel | undefined = monitor && {
    type: monitor.type,
    delay: monitor.delay,
    timeout: monitor.timeout,
    maxRetries: monitor.max_retries,
    httpMethod: monitor.http_method ?? 'GET',
    urlPath: monitor.url_path ?? '/',
    expectedCodes: monitor.expected_codes ?? '200',
    enabled: monitor.admin_state_up ?? true,
  };
  const memberIds = new Map<string, number>();
  const endpoints = new Map<string, number>();
  const members = pool.members.map((m, j): MemberModel => {
    const at = `${base}/members/${j}`;
    const address = parseAddress(m.address)!;
    const unreachable = reach.problem(address);
    if (unreachable) fail(`${at}/address`, unreachable);
    const endpoint = `${address.text}|${m.protocol_port}`;
    const sameEndpoint = endpoints.get(endpoint);
    if (sameEndpoint !== undefined) fail(`${at}/address`, `${address.text} port ${m.protocol_port} is already ${base}/members/${sameEndpoint}`);
    else endpoints.set(endpoint, j);
    if (m.id !== undefined) {
      const sameId = memberIds.get(m.id);
      if (sameId !== undefined) fail(`${at}/id`, `duplicates ${base}/members/${sameId}/id`);
      else memberIds.set(m.id, j);
    }
    return { id: m.id ?? '', address, port: m.protocol_port, weight: m.weight ?? 1, enabled: m.admin_state_up ?? true };
  });
  return {
    id: pool.id,
    name: pool.name ?? '',
    enabled: pool.admin_state_up ?? true,
    algorithm: pool.lb_algorithm ?? 'ROUND_ROBIN',
    protocol,
    healthMonitor,
    sessionPersistence: persistence && { type: persistence.type, cookieName },
    members,
  };
}

/** What the monitor's probes need to make sense: a timeout within the delay, and an HTTP target and codes a probe can use. */
function checkMonitor(monitor: HealthMonitorDoc, base: string, fail: Fail): void {
  if (monitor.timeout > monitor.delay) {
    fail(`${base}/timeout`, `${monitor.timeout} s is longer than the delay of ${monitor.delay} s between probes: a probe would still be waiting when the next is due`);
  }
  if (monitor.expected_codes !== undefined) {
    const codes = EXPECTED_CODES.exec(monitor.expected_codes);
    if (!codes) fail(`${base}/expected_codes`, 'must be one status code (200), a comma-separated list (200,202) or one range (200-204)');
    else if (codes[1] !== undefined && Number(codes[1]) > Number(codes[2])) fail(`${base}/expected_codes`, `${monitor.expected_codes} is an empty range`);
  }
  if (monitor.url_path !== undefined) {
    const problem = urlPathProblem(monitor.url_path);
    if (problem) fail(`${base}/url_path`, problem);
  }
}

/**
 * A monitor's `url_path` goes into the request line of each probe: it must
 * be a plain absolute path (RFC 3986 path-absolute, with an optional query),
 * so a probe asks exactly the resource the operator named. The schema has
 * already limited its characters.
 */
function urlPathProblem(path: string): string | undefined {
  const [pathPart = ''] = path.split('?', 1);
  if (path.startsWith('//')) return 'must not start with "//": that names a host, not a path';
  if (pathPart.split('/').some((segment) => segment === '.' || segment === '..')) return 'must not contain "." or ".." segments';
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) return 'has a "%" that is not followed by two hexadecimal digits';
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
