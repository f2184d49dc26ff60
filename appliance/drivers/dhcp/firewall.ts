// What dnsmasq needs from the firewall: DHCP requests from the guests of each
// tenant network it serves, per IP version (DHCPv4 server port 67, DHCPv6
// 547), and nothing on networks where no subnet of that version has DHCP.
import { isTenantNetwork, type ConfigModel, type Family } from '../../../contract/index.js';
import type { FirewallRule, RenderHost } from '../../engine/subsystem.js';

const SERVER_PORT: Readonly<Record<Family, number>> = { 4: 67, 6: 547 };

/** Pure: the tenant networks with DHCP enabled, as firewall rules (the networks renderDhcp serves). */
export function dhcpFirewall(model: ConfigModel, host: RenderHost): FirewallRule[] {
  const rules: FirewallRule[] = [];
  for (const network of model.networks) {
    if (!isTenantNetwork(network)) continue;
    for (const family of [4, 6] as const) {
      if (!network.subnets.some((s) => s.cidr.family === family && s.dhcpEnabled)) continue;
      rules.push({ family, hook: 'tenant-input', rule: `-i ${host.realName(network.ifname)} -p udp -m udp --dport ${SERVER_PORT[family]} -j ACCEPT` });
    }
  }
  return rules;
}
