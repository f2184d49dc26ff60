// The validated, normalised form of a configuration document. Renderers take
// this and nothing else: every address is parsed and canonical, legacy shapes
// are folded into one, defaults are filled in.
import { contains, type ParsedAddress, type ParsedCidr } from './ip.js';
import type { IpsecConnectionDoc } from './schema.js';

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
  /**
   * The router's own interface port, which the orchestrator lists with the
   * guests (it holds only addresses of this network's interface). Nothing may
   * serve it: DHCP must not offer the router's address to any MAC.
   */
  readonly routerPort: boolean;
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

export interface LifetimeModel {
  readonly units: 'seconds' | 'kilobytes';
  readonly value: number;
}

export type AuthAlgorithm = NonNullable<IpsecConnectionDoc['ikepolicy']['auth_algorithm']>;
export type EncryptionAlgorithm = NonNullable<IpsecConnectionDoc['ikepolicy']['encryption_algorithm']>;
export type PfsGroup = NonNullable<IpsecConnectionDoc['ikepolicy']['pfs']>;

/** Phase 1 (IKE SA), with Neutron VPNaaS's defaults filled in. */
export interface IkePolicyModel {
  readonly version: 'v1' | 'v2';
  readonly authAlgorithm: AuthAlgorithm;
  readonly encryptionAlgorithm: EncryptionAlgorithm;
  readonly pfs: PfsGroup;
  readonly lifetime: LifetimeModel;
  readonly phase1NegotiationMode: 'main' | 'aggressive';
}

/** Phase 2 (the IPsec SAs), with Neutron VPNaaS's defaults filled in. */
export interface IpsecPolicyModel {
  readonly transformProtocol: 'esp' | 'ah' | 'ah-esp';
  readonly authAlgorithm: AuthAlgorithm;
  readonly encryptionAlgorithm: EncryptionAlgorithm;
  readonly encapsulationMode: 'tunnel' | 'transport';
  readonly lifetime: LifetimeModel;
  readonly pfs: PfsGroup;
}

export interface IpsecConnectionModel {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly peerAddress: ParsedAddress;
  /** The peer's IKE identity; its address when the document gives none. */
  readonly peerId: string;
  readonly mtu: number;
  readonly initiator: 'bi-directional' | 'response-only';
  readonly psk: string;
  readonly dpd: { readonly action: 'hold' | 'clear' | 'restart' | 'disabled' | 'restart-by-peer'; readonly interval: number; readonly timeout: number };
  /** The router's side: its subnets named by the local endpoint group (or the service's subnet), as networks. */
  readonly localCidrs: readonly ParsedCidr[];
  /** The peer's side: the peer endpoint group and `peer_cidrs`, without duplicates. */
  readonly peerCidrs: readonly ParsedCidr[];
  readonly ike: IkePolicyModel;
  readonly ipsec: IpsecPolicyModel;
}

export interface VpnServiceModel {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly externalV4: ParsedAddress | undefined;
  readonly externalV6: ParsedAddress | undefined;
  readonly connections: readonly IpsecConnectionModel[];
}

export type LbProtocol = 'HTTP' | 'HTTPS' | 'TCP';

export interface HealthMonitorModel {
  readonly type: 'PING' | 'TCP' | 'HTTP' | 'HTTPS';
  readonly delay: number;
  readonly timeout: number;
  readonly maxRetries: number;
  /** HTTP(S) monitors only; Neutron LBaaS's defaults (GET, `/`, `200`) filled in. */
  readonly httpMethod: string;
  readonly urlPath: string;
  readonly expectedCodes: string;
  readonly enabled: boolean;
}

export interface MemberModel {
  readonly id: string;
  readonly address: ParsedAddress;
  readonly port: number;
  readonly weight: number;
  readonly enabled: boolean;
}

export interface PoolModel {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly algorithm: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP';
  readonly protocol: LbProtocol;
  readonly healthMonitor: HealthMonitorModel | undefined;
  readonly sessionPersistence: { readonly type: 'SOURCE_IP' | 'HTTP_COOKIE' | 'APP_COOKIE'; readonly cookieName: string | undefined } | undefined;
  readonly members: readonly MemberModel[];
}

export interface ListenerModel {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly protocol: LbProtocol;
  readonly port: number;
  readonly pool: PoolModel | undefined;
}

export interface LoadBalancerModel {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly vip: ParsedAddress;
  readonly listeners: readonly ListenerModel[];
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
  readonly vpn: readonly VpnServiceModel[];
  readonly loadBalancer: LoadBalancerModel | undefined;
}

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
