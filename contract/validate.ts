// Validation of a configuration document: the JSON Schema first (types,
// shapes, value rules), then the cross-field rules that a schema cannot say.
// Every problem is reported at once, each with the JSON pointer of the value at
// fault, and a valid document comes out as the normalised ConfigModel.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from 'typebox';
import { contains, overlaps, parseAddress, parseCidr, isLinkLocal, type ParsedAddress, type ParsedCidr } from './ip.js';
import {
  DEFAULT_ASN,
  DEFAULT_HA_PRIORITY,
  DEFAULT_METADATA_ADDRESS,
  DEFAULT_METADATA_PORT,
  isTenantNetwork,
  type AllocationModel,
  type ConfigModel,
  type FloatingIpModel,
  type NetworkModel,
  type NetworkType,
  type RouteModel,
  type SubnetModel,
} from './model.js';
import { configurationSchema } from './configuration.schema.js';
import type { AllocationDoc, Configuration, NetworkDoc, StaticRouteDoc } from './schema.js';

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

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats;

const FORMAT_MESSAGES: Record<string, string> = {
  'ip-address': 'must be an IPv4 or IPv6 address',
  'ip-address-or-empty': 'must be an IPv4 or IPv6 address, or empty',
  'ipv4-address-or-empty': 'must be an IPv4 address, or empty',
  'ip-interface': 'must be an address with a prefix length (198.51.100.1/24, 2001:db8::1/64)',
  'ip-network': 'must be a network in CIDR notation with no host bits set (198.51.100.0/24, 2001:db8::/64)',
};

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('ip-address', (s: string) => parseAddress(s) !== undefined);
  ajv.addFormat('ip-address-or-empty', (s: string) => s === '' || parseAddress(s) !== undefined);
  ajv.addFormat('ipv4-address-or-empty', (s: string) => s === '' || parseAddress(s)?.family === 4);
  ajv.addFormat('ip-interface', (s: string) => parseCidr(s) !== undefined);
  ajv.addFormat('ip-network', (s: string) => {
    const cidr = parseCidr(s);
    return cidr !== undefined && cidr.cidr === cidr.network;
  });
  return ajv;
}

const ajv = makeAjv();
const checkSchema = ajv.compile<Configuration>(configurationSchema);

/** The original API wrapped documents as `{"configuration": {...}}`; accept both. */
export function unwrapDocument(body: unknown): unknown {
  if (isObject(body) && Object.keys(body).length === 1 && isObject(body.configuration)) return body.configuration;
  return body;
}

export function validateDocument(body: unknown, host?: HostFacts): ValidationResult {
  const warnings: Problem[] = [];
  if (!isObject(body)) return { ok: false, errors: [{ path: '', message: 'the configuration must be a JSON object' }], warnings };
  if (!checkSchema(body)) {
    return { ok: false, errors: schemaProblems(checkSchema.errors ?? []), warnings };
  }
  collectUnknownKeys(configurationSchema, body, '', warnings);
  const errors: Problem[] = [];
  const model = buildModel(body, host, errors, warnings);
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, model, document: body, warnings };
}

// ---------------------------------------------------------------------------
// Schema errors, translated into one readable line per offending value.

function schemaProblems(raw: ErrorObject[]): Problem[] {
  const dropped = new Set<ErrorObject>();
  const extra: Problem[] = [];
  for (const error of raw) {
    if (error.keyword !== 'anyOf' || dropped.has(error)) continue;
    const branches = (error.schema as TSchema[] | undefined) ?? [];
    const inBranch = (e: ErrorObject, i: number) => e.schemaPath.startsWith(`${error.schemaPath}/${i}/`);
    const below = (e: ErrorObject) => e.instancePath === error.instancePath || e.instancePath.startsWith(`${error.instancePath}/`);
    const allBranchErrors = raw.filter((e) => e !== error && below(e) && e.schemaPath.startsWith(`${error.schemaPath}/`));
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
      return 'must be a MAC address (six colon-separated hex pairs)';
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

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// Unknown keys are accepted (newer orchestrators may send more) but reported.
function collectUnknownKeys(schema: TSchema, data: unknown, path: string, warnings: Problem[]): void {
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
      if (itemSchema) collectUnknownKeys(itemSchema, item, `${path}/${i}`, warnings);
    });
    return;
  }
  if (isObject(data) && s.properties) {
    for (const [key, value] of Object.entries(data)) {
      const child = s.properties[key];
      if (child) collectUnknownKeys(child, value, `${path}/${escapePointer(key)}`, warnings);
      else warnings.push({ path: `${path}/${escapePointer(key)}`, message: 'unknown key, ignored' });
    }
  }
}

// ---------------------------------------------------------------------------
// Cross-field rules, building the model as they go.

function buildModel(doc: Configuration, host: HostFacts | undefined, errors: Problem[], warnings: Problem[]): ConfigModel {
  const fail = (path: string, message: string) => errors.push({ path, message });
  const networksDoc = doc.networks ?? [];
  const networks = networksDoc.map((n, i) => buildNetwork(n, `/networks/${i}`, host, fail, warnings));

  const firstOfType = new Map<NetworkType, number>();
  const byIfname = new Map<string, number>();
  const byId = new Map<string, number>();
  const byAddress = new Map<string, string>();
  const subnets: { cidr: ParsedCidr; path: string; network: number }[] = [];
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
    network.subnets.forEach((s, j) => {
      const path = `${base}/subnets/${j}/cidr`;
      const clash = subnets.find((o) => overlaps(o.cidr, s.cidr));
      if (clash) fail(path, `${s.cidr.cidr} overlaps ${clash.cidr.cidr} at ${clash.path}`);
      subnets.push({ cidr: s.cidr, path, network: i });
    });
  });

  // Prefixes the appliance is directly attached to: next hops must be in one.
  const connected: ParsedCidr[] = networks.flatMap((n) => [...n.subnets.map((s) => s.cidr), ...n.addresses]);
  const onLink = (a: ParsedAddress) => connected.some((c) => contains(c, a));

  let defaultV4Gateway: ParsedAddress | undefined;
  if (doc.default_v4_gateway) {
    defaultV4Gateway = parseAddress(doc.default_v4_gateway)!;
    if (!onLink(defaultV4Gateway)) fail('/default_v4_gateway', `${defaultV4Gateway.text} is not inside any subnet of the appliance's networks`);
  }

  const external = networks.find((n) => n.type === 'external');
  const floatingIps = buildFloatingIps(doc, external, networks, fail, warnings);
  const staticRoutes = buildStaticRoutes(doc.static_routes ?? [], onLink, fail);

  const orchestratorAddress = doc.orchestrator?.address ?? DEFAULT_METADATA_ADDRESS;
  const orchestrator = {
    address: parseAddress(orchestratorAddress)!,
    metadataPort: doc.orchestrator?.metadata_port ?? DEFAULT_METADATA_PORT,
    host: doc.orchestrator?.host ?? '',
  };

  let ha: ConfigModel['ha'];
  if (doc.ha_resource) {
    if (!doc.ha_config) fail('/ha_config', 'is required when ha_resource is true');
    else ha = { peers: doc.ha_config.peers.map((p) => parseAddress(p)!), priority: doc.ha_config.priority ?? DEFAULT_HA_PRIORITY };
  }

  (doc.vpn?.ipsec ?? []).forEach((service, i) =>
    service.ipsec_connections.forEach((conn, j) => {
      const base = `/vpn/ipsec/${i}/ipsec_connections/${j}`;
      for (const [key, group] of [['local_ep_group', conn.local_ep_group], ['peer_ep_group', conn.peer_ep_group]] as const) {
        group?.endpoints.forEach((endpoint, k) => {
          const path = `${base}/${key}/endpoints/${k}`;
          if (group.type === 'cidr' || key === 'peer_ep_group') {
            const cidr = parseCidr(endpoint);
            if (!cidr || cidr.cidr !== cidr.network) fail(path, FORMAT_MESSAGES['ip-network']!);
          } else if (!/^[A-Za-z0-9_.:-]{1,255}$/.test(endpoint)) fail(path, patternMessage('identifier'));
        });
      }
    }),
  );

  const loadBalancer = doc.services?.loadbalancer ?? undefined;
  if (loadBalancer) {
    const vip = parseAddress(loadBalancer.vip_address)!;
    if (!networks.some((n) => n.addresses.some((a) => a.text === vip.text))) {
      fail('/services/loadbalancer/vip_address', `${vip.text} is not an address of any configured interface`);
    }
    const seen = new Map<number, number>();
    loadBalancer.listeners.forEach((listener, i) => {
      const first = seen.get(listener.protocol_port);
      if (first !== undefined) fail(`/services/loadbalancer/listeners/${i}/protocol_port`, `port ${listener.protocol_port} is already used by listener ${first}`);
      else seen.set(listener.protocol_port, i);
    });
  }

  const labels: Record<string, ParsedCidr[]> = {};
  for (const [name, cidrs] of Object.entries(doc.labels ?? {})) labels[name] = cidrs.map((c) => parseCidr(c)!);

  return {
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
    vpn: doc.vpn?.ipsec ?? [],
    loadBalancer,
  };
}

type Fail = (path: string, message: string) => void;

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
  subnets.forEach((s, j) => {
    const dup = subnets.findIndex((o) => o.cidr.cidr === s.cidr.cidr);
    if (dup !== j) fail(`${base}/subnets/${j}/cidr`, `duplicates ${base}/subnets/${dup}/cidr`);
  });

  const mtu = doc.interface.mtu ?? doc.mtu ?? undefined;
  const addresses = doc.interface.addresses.map((text, j) => {
    const path = `${base}/interface/addresses/${j}`;
    const cidr = parseCidr(text)!;
    if (isLinkLocal(cidr)) fail(path, 'link-local addresses are managed by the kernel, not configured');
    const sameFamily = subnets.filter((s) => s.cidr.family === cidr.family);
    if (sameFamily.length > 0 && !sameFamily.some((s) => contains(s.cidr, cidr))) {
      fail(path, `${cidr.text} is not inside any subnet of this network (${sameFamily.map((s) => s.cidr.cidr).join(', ')})`);
    }
    if (cidr.family === 6 && mtu !== undefined && mtu < 1280) fail(path, `IPv6 needs an MTU of at least 1280 (the network's is ${mtu})`);
    return cidr;
  });

  if (doc.address_allocations && doc.allocations) {
    warnings.push({ path: `${base}/address_allocations`, message: 'both allocations and address_allocations given; using both' });
  }
  const allocationDocs: [AllocationDoc, string][] = [
    ...(doc.allocations ?? []).map((a, k): [AllocationDoc, string] => [a, `${base}/allocations/${k}`]),
    ...(doc.address_allocations ?? []).map((a, k): [AllocationDoc, string] => [a, `${base}/address_allocations/${k}`]),
  ];
  const macs = new Map<string, string>();
  const ips = new Map<string, string>();
  const allocations: AllocationModel[] = allocationDocs.map(([a, path]) => {
    const mac = a.mac_address.toLowerCase();
    const sameMac = macs.get(mac);
    if (sameMac !== undefined) fail(`${path}/mac_address`, `${mac} is already allocated at ${sameMac}`);
    else macs.set(mac, path);
    const entries = Object.entries(a.ip_addresses).map(([text, dhcp]) => {
      const apath = `${path}/ip_addresses/${escapePointer(text)}`;
      const address = parseAddress(text);
      if (!address) {
        fail(apath, FORMAT_MESSAGES['ip-address']!);
        return undefined;
      }
      const other = ips.get(address.text);
      if (other !== undefined) fail(apath, `${address.text} is already allocated at ${other}`);
      else ips.set(address.text, apath);
      const sameFamily = subnets.filter((s) => s.cidr.family === address.family);
      if (sameFamily.length > 0 && !sameFamily.some((s) => contains(s.cidr, address))) {
        fail(apath, `${address.text} is not inside any subnet of this network`);
      }
      return { address, dhcp };
    });
    return {
      mac,
      addresses: entries.filter((e) => e !== undefined),
      hostname: a.hostname,
      deviceId: a.device_id ?? '',
    };
  });

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

function buildFloatingIps(doc: Configuration, external: NetworkModel | undefined, networks: NetworkModel[], fail: Fail, warnings: Problem[]): FloatingIpModel[] {
  const result: FloatingIpModel[] = [];
  const seenFloating = new Map<string, number>();
  const seenFixed = new Map<string, number>();
  const tenantPrefixes = networks.filter(isTenantNetwork).flatMap((n) => [...n.subnets.map((s) => s.cidr), ...n.addresses]);
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
    if (!externalPrefixes.some((c) => contains(c, floating))) fail(`${base}/floating_ip`, `${floating.text} is not inside a subnet of the external network`);
    if (external.addresses.some((a) => a.text === floating.text)) fail(`${base}/floating_ip`, `${floating.text} is the router's own external address`);
    if (!tenantPrefixes.some((c) => contains(c, fixed))) fail(`${base}/fixed_ip`, `${fixed.text} is not inside a subnet of an internal network`);
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

function buildStaticRoutes(routes: StaticRouteDoc[], onLink: (a: ParsedAddress) => boolean, fail: Fail): RouteModel[] {
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
    result.push({ destination, nextHop });
  });
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
