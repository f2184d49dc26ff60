// The configuration document (appliance spec, section 4) as one TypeBox
// definition: the JSON Schema that ajv compiles and the TypeScript types the
// code uses both come from here, so they cannot drift apart.
//
// Value rules are strict on purpose. Anything that can reach a daemon's config
// file (hostnames, names, ids, MACs, paths, secrets) is limited to characters
// that cannot start a new directive, comment or quoted string in dnsmasq, BIRD,
// nginx, keepalived or strongSwan syntax. Addresses use the custom formats of
// formats.ts (checked with ipaddr.js), so "198.51.100.1/24" and
// "2001:db8::1" are accepted and "1.2.3" or "fe80::1%eth0" are not.
import Type, { type Static, type TLiteral, type TSchema, type TUnion } from 'typebox';

/** An identifier as Neutron produces them (UUIDs, hex tenant ids). */
export const Id = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,255}$', description: 'identifier' });
export const IdOrEmpty = Type.String({ pattern: '^[A-Za-z0-9_.:-]{0,255}$', description: 'identifier' });

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export const Hostname = Type.String({
  maxLength: 253,
  pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$',
  description: 'host name',
});

/**
 * Free text (names, descriptions, statuses): printable, and without the
 * characters that quote, escape, comment or end a directive in daemon configs.
 */
export const SafeText = Type.String({ maxLength: 255, pattern: '^[^\\u0000-\\u001f\\u007f"\'\\\\`{};$#]*$', description: 'text' });

/**
 * A unicast MAC: the group bit (the lowest bit of the first octet) clear, so
 * never the broadcast `ff:ff:ff:ff:ff:ff` nor a multicast address, which no
 * interface or guest can own.
 */
export const Mac = Type.String({ pattern: '^[0-9A-Fa-f][02468AaCcEe](?::[0-9A-Fa-f]{2}){5}$', description: 'MAC address' });
export const Port = Type.Integer({ minimum: 1, maximum: 65535 });
export const Asn = Type.Integer({ minimum: 1, maximum: 4294967295 });
export const Mtu = Type.Integer({ minimum: 68, maximum: 65535 });

export const IpAddress = Type.String({ format: 'ip-address' });
export const Ipv4OrEmpty = Type.String({ format: 'ipv4-address-or-empty' });
export const IpOrEmpty = Type.String({ format: 'ip-address-or-empty' });
/** An address with its prefix length, as configured on an interface. */
export const IpInterface = Type.String({ format: 'ip-interface' });
/** A network in CIDR notation, host bits zero. */
export const IpNetwork = Type.String({ format: 'ip-network' });

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const HostRoute = Type.Object({ destination: IpNetwork, nexthop: IpAddress });

export const Subnet = Type.Object({
  id: Type.Optional(Id),
  cidr: IpNetwork,
  gateway_ip: Type.Optional(Nullable(IpOrEmpty)),
  dhcp_enabled: Type.Optional(Type.Boolean()),
  dns_nameservers: Type.Optional(Type.Array(IpAddress, { maxItems: 16 })),
  host_routes: Type.Optional(Type.Array(HostRoute, { maxItems: 1024 })),
});

export const Allocation = Type.Object({
  mac_address: Mac,
  /** Address -> whether DHCP serves it. */
  ip_addresses: Type.Record(Type.String(), Type.Boolean()),
  hostname: Type.Optional(Hostname),
  device_id: Type.Optional(IdOrEmpty),
});

export const NetworkInterface = Type.Object({
  ifname: Type.String({ pattern: '^ge(?:0|[1-9][0-9]{0,3})$', description: 'generic interface name' }),
  addresses: Type.Array(IpInterface, { maxItems: 4096 }),
  mtu: Type.Optional(Nullable(Mtu)),
  lladdr: Type.Optional(Nullable(Mac)),
  description: Type.Optional(SafeText),
  // Reported by GET /v1/system/interfaces; accepted back and ignored.
  groups: Type.Optional(Type.Array(SafeText)),
  media: Type.Optional(Nullable(SafeText)),
  state: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')])),
});

export const NetworkTypeSchema = Type.Union([
  Type.Literal('management'),
  Type.Literal('external'),
  Type.Literal('internal'),
  Type.Literal('isolated'),
  Type.Literal('loadbalancer'),
]);

export const Network = Type.Object({
  network_id: Id,
  network_type: Type.Optional(NetworkTypeSchema),
  name: Type.Optional(SafeText),
  interface: NetworkInterface,
  mtu: Type.Optional(Nullable(Mtu)),
  v4_conf_service: Type.Optional(Type.Union([Type.Literal('static'), Type.Literal('dhcp')])),
  v6_conf_service: Type.Optional(Type.Union([Type.Literal('static'), Type.Literal('dhcp'), Type.Literal('ra')])),
  subnets: Type.Optional(Type.Array(Subnet, { maxItems: 256 })),
  allocations: Type.Optional(Type.Array(Allocation, { maxItems: 65536 })),
  /** The original appliance's older name for `allocations`. */
  address_allocations: Type.Optional(Type.Array(Allocation, { maxItems: 65536 })),
});

export const FloatingIp = Type.Object({ floating_ip: IpAddress, fixed_ip: IpAddress });

/** `{destination, next_hop}`, `{destination, nexthop}` or the original's `[destination, next_hop]`. */
export const StaticRoute = Type.Union([
  Type.Object({ destination: IpNetwork, next_hop: Type.Optional(IpAddress), nexthop: Type.Optional(IpAddress) }),
  Type.Tuple([IpNetwork, IpAddress]),
]);

export const Orchestrator = Type.Object({
  address: Type.Optional(IpAddress),
  metadata_port: Type.Optional(Port),
  host: Type.Optional(SafeText),
});

export const HaConfig = Type.Object({
  peers: Type.Array(IpAddress, { minItems: 1, maxItems: 8 }),
  // 255 is reserved by VRRP for the address owner.
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 254 })),
});

const Lifetime = Type.Object({
  units: Type.Optional(Type.Union([Type.Literal('seconds'), Type.Literal('kilobytes')])),
  value: Type.Optional(Type.Integer({ minimum: 60, maximum: 2147483647 })),
});
type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };
/** A union of string literals, typed as such (a plain map over the values would type every member `never`). */
const Enum = <const T extends readonly string[]>(...values: T): TUnion<Literals<T>> =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<Literals<T>>;
const AuthAlgorithm = Enum('sha1', 'sha256', 'sha384', 'sha512');
const EncryptionAlgorithm = Enum(
  '3des', 'aes-128', 'aes-192', 'aes-256',
  'aes-128-ctr', 'aes-192-ctr', 'aes-256-ctr',
  'aes-128-ccm-8', 'aes-192-ccm-8', 'aes-256-ccm-8', 'aes-128-ccm-12', 'aes-192-ccm-12', 'aes-256-ccm-12',
  'aes-128-ccm-16', 'aes-192-ccm-16', 'aes-256-ccm-16', 'aes-128-gcm-8', 'aes-192-gcm-8', 'aes-256-gcm-8',
  'aes-128-gcm-12', 'aes-192-gcm-12', 'aes-256-gcm-12', 'aes-128-gcm-16', 'aes-192-gcm-16', 'aes-256-gcm-16',
);
const Pfs = Enum('group2', 'group5', 'group14', 'group15', 'group16', 'group17', 'group18', 'group19', 'group20', 'group21', 'group31');

export const EndpointGroup = Type.Object({
  id: Type.Optional(Id),
  tenant_id: Type.Optional(IdOrEmpty),
  name: Type.Optional(SafeText),
  type: Type.Optional(Enum('subnet', 'cidr')),
  endpoints: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 256 }),
});

export const IpsecConnection = Type.Object({
  id: Id,
  tenant_id: Type.Optional(IdOrEmpty),
  name: Type.Optional(SafeText),
  peer_address: IpAddress,
  peer_id: Type.Optional(Type.String({ maxLength: 255, pattern: '^[A-Za-z0-9_.:@=/-]*$', description: 'IKE identity' })),
  route_mode: Type.Optional(Enum('static')),
  mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
  initiator: Type.Optional(Enum('bi-directional', 'response-only')),
  auth_mode: Type.Optional(Enum('psk')),
  // Written quoted into strongSwan's secrets: no quote, backslash or control character.
  psk: Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\u0020\\u0021\\u0023-\\u005b\\u005d-\\u007e]+$', description: 'pre-shared key' }),
  dpd: Type.Optional(
    Type.Object({
      action: Type.Optional(Enum('hold', 'clear', 'restart', 'disabled', 'restart-by-peer')),
      interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
      timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    }),
  ),
  status: Type.Optional(SafeText),
  admin_state_up: Type.Optional(Type.Boolean()),
  vpnservice_id: Type.Optional(IdOrEmpty),
  local_ep_group: Type.Optional(Nullable(EndpointGroup)),
  peer_ep_group: Type.Optional(Nullable(EndpointGroup)),
  peer_cidrs: Type.Optional(Type.Array(IpNetwork, { maxItems: 256 })),
  ikepolicy: Type.Object({
    id: Type.Optional(Id),
    tenant_id: Type.Optional(IdOrEmpty),
    name: Type.Optional(SafeText),
    ike_version: Type.Optional(Enum('v1', 'v2')),
    auth_algorithm: Type.Optional(AuthAlgorithm),
    encryption_algorithm: Type.Optional(EncryptionAlgorithm),
    pfs: Type.Optional(Pfs),
    lifetime: Type.Optional(Lifetime),
    phase1_negotiation_mode: Type.Optional(Enum('main', 'aggressive')),
  }),
  ipsecpolicy: Type.Object({
    id: Type.Optional(Id),
    tenant_id: Type.Optional(IdOrEmpty),
    name: Type.Optional(SafeText),
    transform_protocol: Type.Optional(Enum('esp', 'ah', 'ah-esp')),
    auth_algorithm: Type.Optional(AuthAlgorithm),
    encryption_algorithm: Type.Optional(EncryptionAlgorithm),
    encapsulation_mode: Type.Optional(Enum('tunnel', 'transport')),
    lifetime: Type.Optional(Lifetime),
    pfs: Type.Optional(Pfs),
  }),
});

export const VpnService = Type.Object({
  id: Id,
  name: Type.Optional(SafeText),
  status: Type.Optional(SafeText),
  admin_state_up: Type.Optional(Type.Boolean()),
  external_v4_ip: Type.Optional(Nullable(IpOrEmpty)),
  external_v6_ip: Type.Optional(Nullable(IpOrEmpty)),
  subnet_id: Type.Optional(Nullable(IdOrEmpty)),
  router_id: Type.Optional(IdOrEmpty),
  ipsec_connections: Type.Array(IpsecConnection, { maxItems: 256 }),
});

export const HealthMonitor = Type.Object({
  id: Type.Optional(Id),
  tenant_id: Type.Optional(IdOrEmpty),
  type: Enum('PING', 'TCP', 'HTTP', 'HTTPS'),
  delay: Type.Integer({ minimum: 1, maximum: 3600 }),
  timeout: Type.Integer({ minimum: 1, maximum: 3600 }),
  max_retries: Type.Integer({ minimum: 1, maximum: 10 }),
  http_method: Type.Optional(Enum('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT')),
  url_path: Type.Optional(Type.String({ maxLength: 255, pattern: "^/[A-Za-z0-9._~!&()*+,=:@%/?-]*$", description: 'URL path' })),
  expected_codes: Type.Optional(Type.String({ maxLength: 64, pattern: '^[1-5][0-9]{2}(?:-[1-5][0-9]{2})?(?:,[1-5][0-9]{2}(?:-[1-5][0-9]{2})?)*$' })),
  admin_state_up: Type.Optional(Type.Boolean()),
});

export const Member = Type.Object({
  id: Type.Optional(Id),
  tenant_id: Type.Optional(IdOrEmpty),
  admin_state_up: Type.Optional(Type.Boolean()),
  address: IpAddress,
  protocol_port: Port,
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 256 })),
  // Neutron's subnet reference; informational here.
  subnet: Type.Optional(Type.Unknown()),
});

export const Pool = Type.Object({
  id: Id,
  tenant_id: Type.Optional(IdOrEmpty),
  name: Type.Optional(SafeText),
  admin_state_up: Type.Optional(Type.Boolean()),
  lb_algorithm: Type.Optional(Enum('ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP')),
  protocol: Type.Optional(Enum('HTTP', 'HTTPS', 'TCP')),
  healthmonitor: Type.Optional(Nullable(HealthMonitor)),
  session_persistence: Type.Optional(
    Nullable(Type.Object({ type: Enum('SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE'), cookie_name: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z0-9_-]{0,64}$', description: 'cookie name' }))) })),
  ),
  members: Type.Array(Member, { maxItems: 1024 }),
});

export const Listener = Type.Object({
  id: Id,
  tenant_id: Type.Optional(IdOrEmpty),
  name: Type.Optional(SafeText),
  admin_state_up: Type.Optional(Type.Boolean()),
  protocol: Enum('HTTP', 'HTTPS', 'TCP'),
  protocol_port: Port,
  default_pool: Type.Optional(Nullable(Pool)),
});

export const LoadBalancer = Type.Object({
  id: Id,
  tenant_id: Type.Optional(IdOrEmpty),
  name: Type.Optional(SafeText),
  admin_state_up: Type.Optional(Type.Boolean()),
  status: Type.Optional(SafeText),
  vip_address: IpAddress,
  // The raw Neutron port; informational here.
  vip_port: Type.Optional(Type.Unknown()),
  listeners: Type.Array(Listener, { maxItems: 256 }),
});

export const Configuration = Type.Object({
  tenant_id: Id,
  hostname: Hostname,
  networks: Type.Optional(Type.Array(Network, { maxItems: 1024 })),
  default_v4_gateway: Type.Optional(Nullable(Ipv4OrEmpty)),
  floating_ips: Type.Optional(Type.Array(FloatingIp, { maxItems: 65536 })),
  static_routes: Type.Optional(Type.Array(StaticRoute, { maxItems: 4096 })),
  asn: Type.Optional(Asn),
  neighbor_asn: Type.Optional(Asn),
  orchestrator: Type.Optional(Orchestrator),
  labels: Type.Optional(
    Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.Array(IpNetwork, { maxItems: 1024 }), { additionalProperties: false }),
  ),
  ha_resource: Type.Optional(Type.Boolean()),
  ha_config: Type.Optional(Nullable(HaConfig)),
  vpn: Type.Optional(Type.Object({ ipsec: Type.Optional(Type.Array(VpnService, { maxItems: 64 })) })),
  services: Type.Optional(
    Type.Object({
      loadbalancer: Type.Optional(Nullable(LoadBalancer)),
      router: Type.Optional(Type.Unknown()),
    }),
  ),
});

export type Configuration = Static<typeof Configuration>;
export type NetworkDoc = Static<typeof Network>;
export type SubnetDoc = Static<typeof Subnet>;
export type AllocationDoc = Static<typeof Allocation>;
export type StaticRouteDoc = Static<typeof StaticRoute>;
export type VpnServiceDoc = Static<typeof VpnService>;
export type IpsecConnectionDoc = Static<typeof IpsecConnection>;
export type LoadBalancerDoc = Static<typeof LoadBalancer>;
export type HealthMonitorDoc = Static<typeof HealthMonitor>;
