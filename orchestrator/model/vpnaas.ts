// Neutron VPNaaS's resources in its own JSON shapes (`GET /v2.0/vpn/...`),
// whichever provider produced them: the local resource file holds exactly
// these. Each object names what it uses by id; RouterDetail carries a router's
// VPN services with those references resolved (VpnServiceDetail).

export interface Lifetime {
  readonly units: 'seconds' | 'kilobytes';
  readonly value: number;
}

/** `GET /v2.0/vpn/ikepolicies`: phase 1 (the IKE SA). */
export interface NeutronIkePolicy {
  readonly id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly auth_algorithm: string;
  readonly encryption_algorithm: string;
  readonly phase1_negotiation_mode: string;
  readonly ike_version: string;
  readonly lifetime: Lifetime;
  readonly pfs: string;
}

/** `GET /v2.0/vpn/ipsecpolicies`: phase 2 (the IPsec SAs). */
export interface NeutronIpsecPolicy {
  readonly id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly transform_protocol: string;
  readonly auth_algorithm: string;
  readonly encryption_algorithm: string;
  readonly encapsulation_mode: string;
  readonly lifetime: Lifetime;
  readonly pfs: string;
}

/** `GET /v2.0/vpn/endpoint-groups`: subnet ids (`subnet`) or networks in CIDR notation (`cidr`). */
export interface NeutronEndpointGroup {
  readonly id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly type: 'subnet' | 'cidr';
  readonly endpoints: readonly string[];
}

/** `GET /v2.0/vpn/vpnservices`. */
export interface NeutronVpnService {
  readonly id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly router_id: string;
  /** The local subnet of the (older) peer_cidrs style; null with endpoint groups. */
  readonly subnet_id: string | null;
  readonly admin_state_up: boolean;
  readonly status?: string;
  readonly external_v4_ip: string | null;
  readonly external_v6_ip: string | null;
}

export interface DeadPeerDetection {
  readonly action: string;
  readonly interval: number;
  readonly timeout: number;
}

/** `GET /v2.0/vpn/ipsec-site-connections`. */
export interface NeutronIpsecSiteConnection {
  readonly id: string;
  readonly tenant_id?: string;
  readonly name?: string;
  readonly vpnservice_id: string;
  readonly ikepolicy_id: string;
  readonly ipsecpolicy_id: string;
  readonly local_ep_group_id: string | null;
  readonly peer_ep_group_id: string | null;
  readonly peer_address: string;
  readonly peer_id: string;
  readonly peer_cidrs: readonly string[];
  readonly route_mode: string;
  readonly mtu: number;
  readonly initiator: string;
  readonly auth_mode: string;
  readonly psk: string;
  readonly dpd: DeadPeerDetection;
  readonly admin_state_up: boolean;
  readonly status?: string;
}

/**
 * A site connection with what it names resolved. A policy or endpoint group
 * is undefined when the cloud no longer has it (a deletion in flight): the
 * document builder leaves such a connection out.
 */
export interface IpsecConnectionDetail {
  readonly connection: NeutronIpsecSiteConnection;
  readonly ikepolicy: NeutronIkePolicy | undefined;
  readonly ipsecpolicy: NeutronIpsecPolicy | undefined;
  /** undefined: named and missing; null: not named. */
  readonly localEndpointGroup: NeutronEndpointGroup | null | undefined;
  readonly peerEndpointGroup: NeutronEndpointGroup | null | undefined;
}

/** A router's VPN service with its site connections, in the cloud's order. */
export interface VpnServiceDetail {
  readonly service: NeutronVpnService;
  readonly connections: readonly IpsecConnectionDetail[];
}
