// A resource kind (router, load balancer) as the instance manager sees it:
// what to plug, what to push, how to report status. The original's
// BaseDriver, minus everything that belonged to Nova or Neutron.
import type { Configuration } from '../../contract/schema.js';
import type { NeutronPort } from '../model/neutron.js';
import type { ResourceRef } from './events.js';
import type { InstanceState } from './instance-state.js';

/** An HA member's `ha_config`: the other members' management addresses and its VRRP priority. */
export interface HaPeering {
  readonly peers: readonly string[];
  readonly priority: number;
}

export interface ResourceDriver {
  readonly ref: ResourceRef;
  /** `ak-<driver>-<id>`: the appliance's name. */
  readonly name: string;
  /**
   * The resource asks for two appliances (a VRRP pair) instead of one. The
   * instance manager applies it when it boots the resource's appliances from
   * nothing (creation, rebuild, every appliance lost), never to running ones.
   */
  readonly isHa: boolean;
  /** The TCP port of the appliance's API. */
  readonly servicePort: number;
  /** Re-read the resource from the network provider; false when it no longer exists. */
  refresh(): Promise<boolean>;
  /** The logical ports the appliance needs, in plug order (gateway first), as of the last refresh. */
  readonly ports: readonly NeutronPort[];
  /** MTU per network id of the ports, where the network sets one. */
  mtus(): Promise<Record<string, number>>;
  /** The appliance document, given the management port, which `geN` each network is on and, for an HA member, its peering. */
  buildConfig(managementPort: NeutronPort, interfaceMap: ReadonlyMap<string, string>, ha?: HaPeering): Promise<Configuration>;
  /** Tell the cloud the resource's state (only when it changed). */
  synchronizeState(state: InstanceState): Promise<void>;
  /**
   * After each configuration push that succeeded, even when the state stayed
   * CONFIGURED: what came with the new document may have a status of its own
   * in the cloud (a router's new floating IPs).
   */
  configured?(): Promise<void>;
}

/** `ak-router-<id>` for a resource; HA members add `_<index>`. */
export const applianceName = (driver: string, id: string): string => `ak-${driver}-${id}`;

/** The indexes of an HA pair's members: `<name>_0` and `<name>_1`. */
export const HA_MEMBERS: readonly number[] = [0, 1];

export const memberName = (name: string, index: number): string => `${name}_${index}`;

/** `n` for the HA member `name_<n>` of the resource named `name`; undefined for the resource's single appliance or another name. */
export function memberIndex(applianceName: string, name: string): number | undefined {
  if (!applianceName.startsWith(`${name}_`)) return undefined;
  const suffix = applianceName.slice(name.length + 1);
  return /^\d+$/.test(suffix) ? Number(suffix) : undefined;
}

/** Whether an appliance name belongs to the resource named `name` (itself, or an HA member `name_<n>`). */
export const isApplianceOf = (applianceName: string, name: string): boolean => applianceName === name || memberIndex(applianceName, name) !== undefined;
