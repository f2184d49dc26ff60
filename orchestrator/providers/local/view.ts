// One valid reading of the local resource file: every collection keyed by id,
// in file order. Immutable: an edit produces a new view.
import type { NeutronFloatingIp, NeutronNetwork, NeutronPort, NeutronRouter, NeutronSubnet, NovaServer } from '../../model/neutron.js';

export interface ResourceView {
  readonly networks: ReadonlyMap<string, NeutronNetwork>;
  readonly subnets: ReadonlyMap<string, NeutronSubnet>;
  readonly ports: ReadonlyMap<string, NeutronPort>;
  readonly routers: ReadonlyMap<string, NeutronRouter>;
  readonly floatingips: ReadonlyMap<string, NeutronFloatingIp>;
  /** Optional guest instances (Nova's shape), for the metadata service. */
  readonly servers: ReadonlyMap<string, NovaServer>;
  /** The management network (declared in the file, or implied from the options). */
  readonly managementNetworkId: string;
  /** The management network's subnet (management_prefix). */
  readonly managementSubnetId: string;
}
