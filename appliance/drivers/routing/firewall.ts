// What BIRD needs from the firewall: BGP (TCP 179) from each configured
// neighbour, on the interface of the network it is on, and from no one else:
// guests must not reach the daemon's session port.
import { contains, parseAddress, type ConfigModel, type NetworkType } from '../../../contract/index.js';
import type { FirewallHook, FirewallRule, RenderHost } from '../../engine/subsystem.js';
import type { RoutingPlan } from './render.js';

export const BGP_PORT = 179;

const INPUT_HOOK: Readonly<Record<NetworkType, FirewallHook>> = {
  management: 'management-input',
  external: 'external-input',
  internal: 'tenant-input',
  isolated: 'tenant-input',
  loadbalancer: 'tenant-input',
};

/** Pure: one rule per BGP session of the plan (none when BGP is not configured). */
export function routingFirewall(plan: Pick<RoutingPlan, 'bgp'>, model: ConfigModel, host: RenderHost): FirewallRule[] {
  const rules: FirewallRule[] = [];
  for (const session of plan.bgp) {
    const neighbor = parseAddress(session.neighbor);
    const network = neighbor && model.networks.find((n) => n.subnets.some((s) => contains(s.cidr, neighbor)));
    // The planner only peers with a gateway of a subnet the appliance is on; anything else could never connect.
    if (!neighbor || !network) continue;
    rules.push({
      family: neighbor.family,
      hook: INPUT_HOOK[network.type],
      rule: `-s ${neighbor.text}/${neighbor.family === 4 ? 32 : 128} -i ${host.realName(network.ifname)} -p tcp -m tcp --dport ${BGP_PORT} -j ACCEPT`,
    });
  }
  return rules;
}
