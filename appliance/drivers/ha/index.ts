// The HA subsystem: a router pair sharing its addresses by VRRP with its
// connection state kept in sync. keepalived and conntrackd come with a later
// issue; until then applying changes nothing on the host, and the subsystem
// only declares what the firewall must let through from the peers.
import type { ConfigModel } from '../../../contract/index.js';
import type { Subsystem } from '../../engine/subsystem.js';
import { haFirewall } from './firewall.js';

/** The HA part of the model: the peers and priority, or undefined for a single router. */
export type HaDesired = ConfigModel['ha'];

export function createHaSubsystem(): Subsystem<HaDesired> {
  return {
    name: 'ha',
    render: (model) => model.ha,
    firewall: (ha) => haFirewall(ha),
    apply: () => Promise.resolve({ changed: false }),
  };
}
