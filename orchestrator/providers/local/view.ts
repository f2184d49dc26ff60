// One valid reading of the local resource file: every collection keyed by id,
// in file order. Immutable: an edit produces a new view.
import type { NeutronFloatingIp, NeutronNetwork, NeutronPort, NeutronRouter, NeutronSubnet, NovaServer } from '../../model/neutron.js';
import type { NeutronEndpointGroup, NeutronIkePolicy, NeutronIpsecPolicy, NeutronIpsecSiteConnection, NeutronVpnService } from '../../model/vpnaas.js';
import type { OctaviaHealthMonitor, OctaviaListener, OctaviaLoadBalancer, OctaviaMember, OctaviaPool } from '../../model/octavia.js';

export interface ResourceView {
  readonly networks: ReadonlyMap<string, NeutronNetwork>;
  readonly subnets: ReadonlyMap<string, NeutronSubnet>;
  readonly ports: ReadonlyMap<string, NeutronPort>;
  readonly routers: ReadonlyMap<string, NeutronRouter>;
  readonly floatingips: ReadonlyMap<string, NeutronFloatingIp>;
  /** Load balancers and their parts (Octavia's shapes), each naming its parent by id. */
  readonly loadbalancers: ReadonlyMap<string, OctaviaLoadBalancer>;
  readonly listeners: ReadonlyMap<string, OctaviaListener>;
  readonly pools: ReadonlyMap<string, OctaviaPool>;
  readonly members: ReadonlyMap<string, OctaviaMember>;
  readonly healthmonitors: ReadonlyMap<string, OctaviaHealthMonitor>;
  /** VPNaaS (Neutron's shapes), each naming what it uses by id. */
  readonly vpnservices: ReadonlyMap<string, NeutronVpnService>;
  readonly ipsec_site_connections: ReadonlyMap<string, NeutronIpsecSiteConnection>;
  readonly ikepolicies: ReadonlyMap<string, NeutronIkePolicy>;
  readonly ipsecpolicies: ReadonlyMap<string, NeutronIpsecPolicy>;
  readonly endpoint_groups: ReadonlyMap<string, NeutronEndpointGroup>;
  /** Optional guest instances (Nova's shape), for the metadata service. */
  readonly servers: ReadonlyMap<string, NovaServer>;
  /** The management network (declared in the file, or implied from the options). */
  readonly managementNetworkId: string;
  /** The management network's subnet (management_prefix). */
  readonly managementSubnetId: string;
}
