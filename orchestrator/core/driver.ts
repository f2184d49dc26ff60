// A resource kind (router, load balancer) as the instance manager sees it:
// what to plug, what to push, how to report status. The original's
// BaseDriver, minus everything that belonged to Nova or Neutron.
import type { Configuration } from '../../contract/schema.js';
import type { NeutronPort } from '../model/neutron.js';
import type { ResourceRef } from './events.js';
import type { InstanceState } from './instance-state.js';

export interface ResourceDriver {
  readonly ref: ResourceRef;
  /** `ak-<driver>-<id>`: the appliance's name. */
  readonly name: string;
  /** Two appliances (VRRP pair) instead of one. */
  readonly isHa: boolean;
  /** The TCP port of the appliance's API. */
  readonly servicePort: number;
  /** Re-read the resource from the network provider; false when it no longer exists. */
  refresh(): Promise<boolean>;
  /** The logical ports the appliance needs, in plug order (gateway first), as of the last refresh. */
  readonly ports: readonly NeutronPort[];
  /** MTU per network id of the ports, where the network sets one. */
  mtus(): Promise<Record<string, number>>;
  /** The appliance document, given the management port and which `geN` each network is on. */
  buildConfig(managementPort: NeutronPort, interfaceMap: ReadonlyMap<string, string>): Promise<Configuration>;
  /** Tell the cloud the resource's state (only when it changed). */
  synchronizeState(state: InstanceState): Promise<void>;
}

/** `ak-router-<id>` for a resource; HA members add `_<index>`. */
export const applianceName = (driver: string, id: string): string => `ak-${driver}-${id}`;

/** Whether an appliance name belongs to the resource named `name` (itself, or an HA member `name_<n>`). */
export const isApplianceOf = (applianceName: string, name: string): boolean =>
  applianceName === name || (applianceName.startsWith(`${name}_`) && /^\d+$/.test(applianceName.slice(name.length + 1)));
