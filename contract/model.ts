// The validated, normalised form of a configuration document. Renderers take
// this and nothing else: every address is parsed and canonical, legacy shapes
// are folded into one, defaults are filled in.
import { contains, type ParsedAddress, type ParsedCidr } from './ip.js';
import type { HealthMonitorDoc, IpsecConnectionDoc, LoadBalancerDoc, VpnServiceDoc } from './schema.js';

export type NetworkType = 'management' | 'external' | 'internal' | 'isolated' | 'loadbalancer';

export interface SubnetModel {
  readonly id: string;
  readonly cidr: ParsedCidr;
  readonly gateway: ParsedAddress | undefined;
  readonly dhcpEnabled: boolean;
  readonly dnsNameservers: readonly ParsedAddress[];
  readonly hostRoutes: readonly RouteModel[];
}

export interface AllocationModel {
  readonly mac: string;
  /** Every address of the port, with whether DHCP serves it. */
  readonly addresses: readonly { readonly address: ParsedAddress; readonly dhcp: boolean }[];
  readonly hostname: string | undefined;
  readonly deviceId: string;
}

export interface NetworkModel {
  readonly id: string;
  readonly type: NetworkType;
  /** Generic interface name, `geN`. */
  readonly ifname: string;
  readonly index: number;
  readonly lladdr: string | undefined;
  readonly mtu: number | undefined;
  readonly addresses: readonly ParsedCidr[];
  readonly subnets: readonly SubnetModel[];
  readonly allocations: readonly AllocationModel[];
  readonly v4ConfService: 'static' | 'dhcp';
  readonly v6ConfService: 'static' | 'dhcp' | 'ra';
}

export interface RouteModel {
  readonly destination: ParsedCidr;
  readonly nextHop: ParsedAddress;
}

export interface FloatingIpModel {
  readonly floating: ParsedAddress;
  readonly fixed: ParsedAddress;
}

export interface OrchestratorModel {
  readonly address: ParsedAddress;
  readonly metadataPort: number;
  readonly host: string;
}

export interface HaModel {
  readonly peers: readonly ParsedAddress[];
  readonly priority: number;
}

export interface ConfigModel {
  readonly tenantId: string;
  readonly hostname: string;
  readonly networks: readonly NetworkModel[];
  readonly defaultV4Gateway: ParsedAddress | undefined;
  readonly floatingIps: readonly FloatingIpModel[];
  readonly staticRoutes: readonly RouteModel[];
  readonly asn: number;
  readonly neighborAsn: number;
  readonly orchestrator: OrchestratorModel;
  readonly labels: Readonly<Record<string, readonly ParsedCidr[]>>;
  readonly ha: HaModel | undefined;
  readonly vpn: readonly VpnServiceDoc[];
  readonly loadBalancer: LoadBalancerDoc | undefined;
}

export type { HealthMonitorDoc, IpsecConnectionDoc, LoadBalancerDoc, VpnServiceDoc };

export const DEFAULT_ASN = 64512;
export const DEFAULT_METADATA_ADDRESS = 'fdca:3ba5:a17a:acda::1';
export const DEFAULT_METADATA_PORT = 9697;
export const DEFAULT_HA_PRIORITY = 100;

/** Tenant networks: those that get DHCP, router advertisements and a metadata proxy. */
export function isTenantNetwork(network: NetworkModel): boolean {
  return network.type === 'internal' || network.type === 'isolated';
}

export function networkOfType(model: ConfigModel, type: NetworkType): NetworkModel | undefined {
  return model.networks.find((n) => n.type === type);
}

/**
 * The default gateways the appliance routes through (spec section 6): IPv4 is
 * `default_v4_gateway` or, when empty, the gateway of the first external IPv4
 * subnet that holds an external address; IPv6 is the gateway of the first
 * external IPv6 subnet that has one.
 */
export function defaultGateways(model: ConfigModel): { v4: ParsedAddress | undefined; v6: ParsedAddress | undefined } {
  const external = networkOfType(model, 'external');
  let v4 = model.defaultV4Gateway;
  if (!v4 && external) {
    const subnet = external.subnets.find(
      (s) => s.cidr.family === 4 && s.gateway && external.addresses.some((a) => a.family === 4 && contains(s.cidr, a)),
    );
    v4 = subnet?.gateway;
  }
  const v6 = external?.subnets.find((s) => s.cidr.family === 6 && s.gateway)?.gateway;
  return { v4, v6 };
}
