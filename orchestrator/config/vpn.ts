// The router document's `vpn` block (the original's VpnService.to_dict): with
// `[router] ipsec_vpn` on, `{ipsec: [...]}`, one entry per VPN service of the
// router, each with its site connections and, nested in each connection, the
// IKE and IPsec policies and the endpoint groups it names; `{}` with it off.
// Pure: what could not be built is returned for the caller to log.
import type { Configuration, IpsecConnectionDoc, VpnServiceDoc } from '../../contract/index.js';
import type { IpsecConnectionDetail, Lifetime, NeutronEndpointGroup, VpnServiceDetail } from '../model/vpnaas.js';

type EndpointGroupDoc = NonNullable<IpsecConnectionDoc['local_ep_group']>;

/** A connection left out of the document, and why. */
export interface SkippedConnection {
  readonly vpnServiceId: string;
  readonly connectionId: string;
  readonly reason: string;
}

export interface VpnConfig {
  readonly vpn: NonNullable<Configuration['vpn']>;
  readonly skipped: readonly SkippedConnection[];
}

/**
 * The `vpn` block of a router's document. A connection whose policy or
 * endpoint group the cloud no longer has (deleted while the router was read)
 * is left out and reported, rather than failing the whole document: the
 * router's other tunnels and its routing stay as they are.
 */
export function routerVpnConfig(services: readonly VpnServiceDetail[] | undefined, ipsecVpn: boolean): VpnConfig {
  if (!ipsecVpn) return { vpn: {}, skipped: [] };
  const skipped: SkippedConnection[] = [];
  const ipsec = (services ?? []).map(({ service, connections }): VpnServiceDoc => ({
    id: service.id,
    name: service.name ?? '',
    status: service.status ?? '',
    admin_state_up: service.admin_state_up,
    external_v4_ip: service.external_v4_ip,
    external_v6_ip: service.external_v6_ip,
    subnet_id: service.subnet_id,
    router_id: service.router_id,
    ipsec_connections: connections.flatMap((detail) => {
      const missing = missingReference(detail);
      if (missing === undefined) return [connectionDoc(detail)];
      skipped.push({ vpnServiceId: service.id, connectionId: detail.connection.id, reason: missing });
      return [];
    }),
  }));
  return { vpn: { ipsec }, skipped };
}

function missingReference({ connection, ikepolicy, ipsecpolicy, localEndpointGroup, peerEndpointGroup }: IpsecConnectionDetail): string | undefined {
  if (!ikepolicy) return `its IKE policy ${connection.ikepolicy_id} does not exist`;
  if (!ipsecpolicy) return `its IPsec policy ${connection.ipsecpolicy_id} does not exist`;
  if (localEndpointGroup === undefined) return `its local endpoint group ${String(connection.local_ep_group_id)} does not exist`;
  if (peerEndpointGroup === undefined) return `its peer endpoint group ${String(connection.peer_ep_group_id)} does not exist`;
  return undefined;
}

// The values are Neutron's; the contract's closed sets are the appliance's. A
// value outside them (another provider's) is the appliance's to refuse, naming the field.
type Ike = IpsecConnectionDoc['ikepolicy'];
type Ipsec = IpsecConnectionDoc['ipsecpolicy'];
type Dpd = NonNullable<IpsecConnectionDoc['dpd']>;

const lifetimeDoc = (lifetime: Lifetime): NonNullable<Ike['lifetime']> => ({ units: lifetime.units, value: lifetime.value });

function endpointGroupDoc(group: NeutronEndpointGroup | null | undefined): EndpointGroupDoc | null {
  if (!group) return null;
  return { id: group.id, tenant_id: group.tenant_id ?? '', name: group.name ?? '', type: group.type, endpoints: [...group.endpoints] };
}

function connectionDoc(detail: IpsecConnectionDetail): IpsecConnectionDoc {
  const { connection } = detail;
  const ike = detail.ikepolicy!;
  const ipsec = detail.ipsecpolicy!;
  return {
    id: connection.id,
    tenant_id: connection.tenant_id ?? '',
    name: connection.name ?? '',
    peer_address: connection.peer_address,
    peer_id: connection.peer_id,
    route_mode: connection.route_mode as IpsecConnectionDoc['route_mode'],
    mtu: connection.mtu,
    initiator: connection.initiator as IpsecConnectionDoc['initiator'],
    auth_mode: connection.auth_mode as IpsecConnectionDoc['auth_mode'],
    psk: connection.psk,
    dpd: { action: connection.dpd.action as Dpd['action'], interval: connection.dpd.interval, timeout: connection.dpd.timeout },
    status: connection.status ?? '',
    admin_state_up: connection.admin_state_up,
    vpnservice_id: connection.vpnservice_id,
    local_ep_group: endpointGroupDoc(detail.localEndpointGroup),
    peer_ep_group: endpointGroupDoc(detail.peerEndpointGroup),
    peer_cidrs: [...connection.peer_cidrs],
    ikepolicy: {
      id: ike.id,
      tenant_id: ike.tenant_id ?? '',
      name: ike.name ?? '',
      ike_version: ike.ike_version as Ike['ike_version'],
      auth_algorithm: ike.auth_algorithm as Ike['auth_algorithm'],
      encryption_algorithm: ike.encryption_algorithm as Ike['encryption_algorithm'],
      pfs: ike.pfs as Ike['pfs'],
      lifetime: lifetimeDoc(ike.lifetime),
      phase1_negotiation_mode: ike.phase1_negotiation_mode as Ike['phase1_negotiation_mode'],
    },
    ipsecpolicy: {
      id: ipsec.id,
      tenant_id: ipsec.tenant_id ?? '',
      name: ipsec.name ?? '',
      transform_protocol: ipsec.transform_protocol as Ipsec['transform_protocol'],
      auth_algorithm: ipsec.auth_algorithm as Ipsec['auth_algorithm'],
      encryption_algorithm: ipsec.encryption_algorithm as Ipsec['encryption_algorithm'],
      encapsulation_mode: ipsec.encapsulation_mode as Ipsec['encapsulation_mode'],
      lifetime: lifetimeDoc(ipsec.lifetime),
      pfs: ipsec.pfs as Ipsec['pfs'],
    },
  };
}
