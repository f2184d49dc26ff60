// What nginx needs from the firewall: each enabled listener's port on the
// VIP, arriving on the VIP's own (loadbalancer) interface, and nothing else:
// the load-balancer network otherwise accepts only replies, and the
// management rules are the firewall's own. Each rule accepts new
// connections only (what conntrack finds invalid, such as a late segment of
// a closed connection, is dropped) and carries the comment
// `lb-listener-<port>`, so its packet counter is the listener's count of
// new connections, read back for /metrics.
import type { ConfigModel } from '../../../contract/index.js';
import type { FirewallRule, RenderHost } from '../../engine/subsystem.js';
import type { LoadBalancerPlan } from './render.js';

export const LISTENER_COMMENT_PREFIX = 'lb-listener-';

/** Pure: one rule per listener nginx listens on (none without a load balancer). */
export function loadBalancerFirewall(plan: LoadBalancerPlan | undefined, model: ConfigModel, host: RenderHost): FirewallRule[] {
  if (!plan) return [];
  const vip = plan.loadBalancer.vip;
  // The contract puts the VIP on the loadbalancer network.
  const network = model.networks.find((n) => n.type === 'loadbalancer' && n.addresses.some((a) => a.text === vip.text));
  if (!network) return [];
  const ifname = host.realName(network.ifname);
  return plan.listeners
    .filter((l) => l.enabled)
    .map((l) => ({
      family: vip.family,
      hook: 'tenant-input' as const,
      rule: `-d ${vip.text}/${vip.family === 4 ? 32 : 128} -i ${ifname} -p tcp -m tcp --dport ${l.listener.port} -m conntrack --ctstate NEW -m comment --comment ${LISTENER_COMMENT_PREFIX}${l.listener.port} -j ACCEPT`,
    }));
}

/** Per listener port, the packets its ACCEPT rule counted, from `iptables-save -c` (or `ip6tables-save -c`) text. */
export function listenerConnections(save: string): Map<number, number> {
  const counted = new Map<number, number>();
  const rule = new RegExp(`^\\[(\\d+):\\d+\\] -A \\S+ .*--comment "?${LISTENER_COMMENT_PREFIX}(\\d+)"? -j ACCEPT$`);
  for (const line of save.split('\n')) {
    const match = rule.exec(line);
    if (match) counted.set(Number(match[2]), (counted.get(Number(match[2])) ?? 0) + Number(match[1]));
  }
  return counted;
}
