// Generated configuration documents for the benchmarks (issue 5). Only
// documentation ranges: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32 and fd00::/8 (the management network keeps the harness's
// fdca:3ba5:a17a:acda::/64, inside fd00::/8).
//
// W1, a typical router: management, external, 3 internal networks with an
// IPv4 /25 and an IPv6 /64 each, 100 dual-stack allocations, 20 IPv4
// floating IPs (in 203.0.113.128/25, an external subnet).
//
// W2, a large router: 50 internal networks, 5,000 allocations, 1,000
// floating IPs. The documentation ranges hold only 768 IPv4 addresses, so:
// each internal network has an IPv4 /29 (carved from 198.51.100.0/24 and
// 203.0.113.0/24: gateway and 5 guests) and an IPv6 /64 in fd00::/8; 5 of
// its 100 allocations are dual-stack and 95 IPv6-only (DHCPv6); of its 20
// floating IPs, 5 are IPv4 (in the external 192.0.2.0/24, for the 5 IPv4
// guests) and 15 IPv6 (in the external 2001:db8:f::/64, 1:1 NAT with
// ip6tables, for IPv6-only guests). The rule, address and host-file counts
// are those of a 1,000-floating-IP, 5,000-allocation router whatever the
// family; docs/performance.md explains the choice.
//
// W3 is W2's shape at a fraction of its size (networks rounded, then 100
// allocations and 20 floating IPs per network).

/** The document as JSON: only the keys the generator sets. */
export interface Doc {
  tenant_id: string;
  hostname: string;
  asn: number;
  neighbor_asn: number;
  default_v4_gateway: string;
  networks: NetworkDoc[];
  floating_ips: { floating_ip: string; fixed_ip: string }[];
  static_routes: { destination: string; next_hop: string }[];
  orchestrator: { address: string; metadata_port: number; host: string };
  ha_resource: boolean;
}

export interface NetworkDoc {
  network_id: string;
  network_type: 'management' | 'external' | 'internal';
  name?: string;
  interface: { ifname: string; lladdr: string; addresses: string[] };
  v4_conf_service: 'static';
  v6_conf_service: 'static';
  subnets: {
    id: string;
    cidr: string;
    gateway_ip: string;
    dhcp_enabled: boolean;
    dns_nameservers: string[];
    host_routes: { destination: string; nexthop: string }[];
  }[];
  allocations: AllocationDoc[];
}

export interface AllocationDoc {
  mac_address: string;
  ip_addresses: Record<string, boolean>;
  hostname: string;
  device_id: string;
}

export interface Workload {
  /** `W1`, `W2`, `W3-10%`... */
  readonly name: string;
  readonly doc: Doc;
  /** Tenant networks: the router needs eth0..eth(tenants+1). */
  readonly tenants: number;
  readonly counts: { readonly networks: number; readonly allocations: number; readonly floatingIps: number };
  /** Floating IPs the delta benchmark adds, one at a time, each new (for guests that have none). */
  readonly extraFloatingIps: readonly { readonly floating_ip: string; readonly fixed_ip: string }[];
}

export const MGMT = { address: 'fdca:3ba5:a17a:acda::2', peer: 'fdca:3ba5:a17a:acda::1', cidr: 'fdca:3ba5:a17a:acda::/64' } as const;
export const EXT = { v4: '192.0.2.1', v6: '2001:db8:e::1', routerV4: '192.0.2.2', routerV6: '2001:db8:e::2' } as const;
export const METADATA_PORT = 9697;

const TENANT = '0123456789abcdef0123456789abcdef';

/** MAC of the router's ethN: fixed, so documents can name it. */
export function routerMac(n: number): string {
  return `02:00:00:00:${hex2(n >> 8)}:${hex2(n & 0xff)}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function uuid(kind: number, n: number): string {
  return `00000000-0000-4000-8${kind.toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`;
}

function management(): NetworkDoc {
  return {
    network_id: uuid(0, 0),
    network_type: 'management',
    interface: { ifname: 'ge0', lladdr: routerMac(0), addresses: [`${MGMT.address}/64`] },
    v4_conf_service: 'static',
    v6_conf_service: 'static',
    subnets: [{ id: 'mgmt-v6', cidr: MGMT.cidr, gateway_ip: '', dhcp_enabled: false, dns_nameservers: [], host_routes: [] }],
    allocations: [],
  };
}

function external(floatingSubnets: string[]): NetworkDoc {
  const subnet = (id: string, cidr: string, gateway: string) => ({ id, cidr, gateway_ip: gateway, dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
  return {
    network_id: uuid(0, 1),
    network_type: 'external',
    interface: { ifname: 'ge1', lladdr: routerMac(1), addresses: [`${EXT.routerV4}/24`, `${EXT.routerV6}/64`] },
    v4_conf_service: 'static',
    v6_conf_service: 'static',
    subnets: [
      subnet('ext-v4', '192.0.2.0/24', EXT.v4),
      subnet('ext-v6', '2001:db8:e::/64', EXT.v6),
      ...floatingSubnets.map((cidr, i) => subnet(`ext-floating-${i}`, cidr, '')),
    ],
    allocations: [],
  };
}

function base(hostname: string, networks: NetworkDoc[], floating: Doc['floating_ips'], staticRoutes: Doc['static_routes']): Doc {
  return {
    tenant_id: TENANT,
    hostname,
    asn: 64512,
    neighbor_asn: 64512,
    default_v4_gateway: EXT.v4,
    networks,
    floating_ips: floating,
    static_routes: staticRoutes,
    orchestrator: { address: MGMT.peer, metadata_port: METADATA_PORT, host: 'bench' },
    ha_resource: false,
  };
}

interface TenantSpec {
  /** Index of the tenant network (0-based); its interface is ge(index+2). */
  readonly index: number;
  /** IPv4 subnet: network address as four octets, prefix. */
  readonly v4: { readonly octets: readonly number[]; readonly prefix: number };
  /** IPv6 /64 prefix without the trailing `::`, e.g. `fd00:1:0:2`. */
  readonly v6: string;
  readonly allocations: number;
  /** How many allocations (the first ones) get an IPv4 address besides the IPv6 one. */
  readonly dualStack: number;
}

function v4Address(octets: readonly number[], offset: number): string {
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) + offset;
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** The IPv4 address of guest `k` of a tenant network (offset 2 onward: .1 is the router). */
export function guestV4(spec: { v4: { octets: readonly number[] } }, k: number): string {
  return v4Address(spec.v4.octets, 2 + k);
}

/** The IPv6 address of guest `k` of a tenant network. */
export function guestV6(spec: { v6: string }, k: number): string {
  return `${spec.v6}::${(0x100 + k).toString(16)}`;
}

function tenant(spec: TenantSpec): NetworkDoc {
  const n = spec.index + 2;
  const v4Cidr = `${spec.v4.octets.join('.')}/${spec.v4.prefix}`;
  const gateway4 = v4Address(spec.v4.octets, 1);
  const allocations: AllocationDoc[] = [];
  for (let k = 0; k < spec.allocations; k++) {
    const ips: Record<string, boolean> = {};
    if (k < spec.dualStack) ips[guestV4(spec, k)] = true;
    ips[guestV6(spec, k)] = true;
    allocations.push({
      mac_address: `02:a0:${hex2(n >> 8)}:${hex2(n & 0xff)}:${hex2(k >> 8)}:${hex2(k & 0xff)}`,
      ip_addresses: ips,
      hostname: `vm-${n}-${k}`,
      device_id: uuid(n, k),
    });
  }
  return {
    network_id: uuid(1, n),
    network_type: 'internal',
    name: `tenant-${n}`,
    interface: { ifname: `ge${n}`, lladdr: routerMac(n), addresses: [`${gateway4}/${spec.v4.prefix}`, `${spec.v6}::1/64`] },
    v4_conf_service: 'static',
    v6_conf_service: 'static',
    subnets: [
      { id: `t${n}-v4`, cidr: v4Cidr, gateway_ip: gateway4, dhcp_enabled: true, dns_nameservers: [EXT.v4], host_routes: [] },
      { id: `t${n}-v6`, cidr: `${spec.v6}::/64`, gateway_ip: `${spec.v6}::1`, dhcp_enabled: true, dns_nameservers: [EXT.v6], host_routes: [] },
    ],
    allocations,
  };
}

/** The three tenant networks of W1; the first one also carries the metadata benchmark's guests. */
export const W1_TENANTS: readonly TenantSpec[] = [
  { index: 0, v4: { octets: [198, 51, 100, 0], prefix: 25 }, v6: 'fd00:1:0:2', allocations: 34, dualStack: 34 },
  { index: 1, v4: { octets: [198, 51, 100, 128], prefix: 25 }, v6: 'fd00:1:0:3', allocations: 33, dualStack: 33 },
  { index: 2, v4: { octets: [203, 0, 113, 0], prefix: 25 }, v6: 'fd00:1:0:4', allocations: 33, dualStack: 33 },
];

export function w1(): Workload {
  const tenants = W1_TENANTS.map(tenant);
  // 20 IPv4 floating IPs in 203.0.113.128/25, for the first guests of each network in turn.
  const floating: Doc['floating_ips'] = [];
  for (let j = 0; j < 20; j++) {
    const spec = W1_TENANTS[j % 3]!;
    floating.push({ floating_ip: `203.0.113.${140 + j}`, fixed_ip: guestV4(spec, Math.floor(j / 3)) });
  }
  const doc = base('bench-w1', [management(), external(['203.0.113.128/25']), ...tenants], floating, [
    { destination: '2001:db8:100::/48', next_hop: guestV6(W1_TENANTS[0]!, 0) },
  ]);
  // Guests 7-33 of the first network have no floating IP (guests 0-6 have one).
  const extraFloatingIps = Array.from({ length: 5 }, (_, i) => ({ floating_ip: `203.0.113.${250 - i}`, fixed_ip: guestV4(W1_TENANTS[0]!, 7 + i) }));
  return { name: 'W1', doc, tenants: 3, counts: { networks: 3, allocations: 100, floatingIps: 20 }, extraFloatingIps };
}

/** W2's tenant network `i` (0-49): an IPv4 /29 and an IPv6 /64. */
export function w2Tenant(i: number): TenantSpec {
  const octets = i < 32 ? [198, 51, 100, 8 * i] : [203, 0, 113, 8 * (i - 32)];
  return { index: i, v4: { octets, prefix: 29 }, v6: `fd00:2:0:${(i + 2).toString(16)}`, allocations: 100, dualStack: 5 };
}

export const W2_NETWORKS = 50;
const V4_FLOATING_PER_NETWORK = 5;
const V6_FLOATING_PER_NETWORK = 15;

/** W2 at `fraction` of its size (1 is W2 itself). */
export function w2(fraction = 1, name = fraction === 1 ? 'W2' : `W3-${Math.round(fraction * 100)}%`): Workload {
  const count = Math.max(1, Math.round(W2_NETWORKS * fraction));
  const specs = Array.from({ length: count }, (_, i) => w2Tenant(i));
  const floating: Doc['floating_ips'] = [];
  for (const spec of specs) {
    for (let k = 0; k < V4_FLOATING_PER_NETWORK; k++) {
      // 192.0.2.3-252: the router is .2, the gateway .1.
      floating.push({ floating_ip: `192.0.2.${3 + V4_FLOATING_PER_NETWORK * spec.index + k}`, fixed_ip: guestV4(spec, k) });
    }
    for (let k = 0; k < V6_FLOATING_PER_NETWORK; k++) {
      const guest = V4_FLOATING_PER_NETWORK + k;
      floating.push({ floating_ip: `2001:db8:f::${(0x100 * (spec.index + 1) + guest).toString(16)}`, fixed_ip: guestV6(spec, guest) });
    }
  }
  const doc = base(`bench-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-$/, '')}`, [management(), external(['2001:db8:f::/64']), ...specs.map(tenant)], floating, [
    { destination: '2001:db8:100::/48', next_hop: guestV6(specs[0]!, 0) },
  ]);
  // Every IPv4 guest has a floating IP; the IPv6 addresses of the dual-stack guests 0-4 have none.
  const extraFloatingIps = Array.from({ length: 5 }, (_, i) => ({ floating_ip: `2001:db8:f::fff${i}`, fixed_ip: guestV6(specs[0]!, i) }));
  return { name, doc, tenants: count, counts: { networks: count, allocations: count * 100, floatingIps: floating.length }, extraFloatingIps };
}

/** The document with the workload's `i`-th extra floating IP added (a document the agent has not seen). */
export function withOneMoreFloatingIp(workload: Workload, i = 0): Doc {
  const next = structuredClone(workload.doc);
  next.floating_ips.push({ ...workload.extraFloatingIps[i % workload.extraFloatingIps.length]! });
  return next;
}

/**
 * The document with one allocation changed: the `i`-th allocation from the
 * end of the first tenant network gets a new address (IPv4 when it has one,
 * else IPv6) and a new MAC, as a port replaced by Neutron would.
 */
export function withOneAllocationChanged(doc: Doc, i = 0): Doc {
  const next = structuredClone(doc);
  const network = next.networks.find((n) => n.network_type === 'internal')!;
  const allocation = network.allocations[network.allocations.length - 1 - i]!;
  const addresses = Object.keys(allocation.ip_addresses);
  const old = addresses.find((a) => !a.includes(':')) ?? addresses[0]!;
  const replacement = old.includes(':') ? old.replace(/::[0-9a-f]+$/, `::f${i.toString(16).padStart(2, '0')}`) : old.replace(/\.\d+$/, (m) => `.${Number(m.slice(1)) + 50}`);
  allocation.ip_addresses = Object.fromEntries(Object.entries(allocation.ip_addresses).map(([a, dhcp]) => [a === old ? replacement : a, dhcp]));
  allocation.mac_address = allocation.mac_address.replace(/^02:a0/, '02:a1');
  return next;
}
