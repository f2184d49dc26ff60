// The firewall as data (spec section 6): one iptables-restore document per IP
// family, rendered purely from the model. Every rule of the agent lives in a
// chain named `astara-...`; the built-in chains only jump there, so an
// operator reading `iptables-save` can tell the agent's rules from others.
import {
  isTenantNetwork,
  networkOfType,
  type ConfigModel,
  type Family,
  type NetworkModel,
  type ParsedAddress,
} from '../../../contract/index.js';
import type { RenderHost } from '../../engine/engine.js';
import { metadataProxyState } from '../../metadata-proxy/state.js';

export type TableName = 'filter' | 'nat' | 'mangle';

/** The tables the agent owns in each family: restored whole, compared whole. */
export const OWNED_TABLES: Readonly<Record<Family, readonly TableName[]>> = {
  4: ['filter', 'nat', 'mangle'],
  6: ['filter', 'nat'],
};

const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};

export interface Rule {
  /** Arguments as iptables-restore reads them, starting with `-A chain`. */
  readonly text: string;
  /** A kernel target the rule needs that some kernels lack; left out when missing. */
  readonly needs?: 'CHECKSUM';
}

export interface TableRules {
  readonly name: TableName;
  /** Built-in chains whose policy is not ACCEPT. */
  readonly policies: Readonly<Record<string, 'DROP'>>;
  /** The agent's own chains, declared empty then filled. */
  readonly chains: readonly string[];
  readonly rules: readonly Rule[];
}

export interface FamilyRules {
  readonly family: Family;
  readonly tables: readonly TableRules[];
}

export interface FirewallRules {
  readonly v4: FamilyRules;
  readonly v6: FamilyRules;
}

export interface RenderOptions {
  /** TCP port of the agent's API, opened on the management interface. */
  readonly apiPort: number;
}

export const SSH_PORT = 22;
export const DEFAULT_API_PORT = 5000;
/** The orchestrator's metadata port, opened on the management interface (spec section 6). */
export const MANAGEMENT_METADATA_PORT = 9697;
export const METADATA_ADDRESS = '169.254.169.254';
/** conntrackd's UDP sync port between HA peers. */
export const CONNTRACKD_PORT = 3780;
/**
 * Marks the first packet of every connection that entered through a tenant
 * interface, so POSTROUTING (which cannot match the input interface) NATs
 * tenant traffic only: router-originated and external traffic carry no mark.
 */
export const TENANT_MARK = '0x10000/0x10000';

/** Pure: the complete rule sets of both families for a model. */
export function renderFirewall(model: ConfigModel, host: RenderHost, options: RenderOptions): FirewallRules {
  return { v4: renderFamily(model, host, options, 4), v6: renderFamily(model, host, options, 6) };
}

function renderFamily(model: ConfigModel, host: RenderHost, options: RenderOptions, family: Family): FamilyRules {
  const tables = [renderFilter(model, host, options, family), renderNat(model, host, family)];
  if (family === 4) tables.push(renderMangle(model, host));
  return { family, tables };
}

// --- filter -----------------------------------------------------------------

function renderFilter(model: ConfigModel, host: RenderHost, options: RenderOptions, family: Family): TableRules {
  const rules: Rule[] = [];
  const add = (text: string) => rules.push({ text });
  const host32 = family === 4 ? 32 : 128;
  const management = networkOfType(model, 'management');
  const managementIf = management && host.realName(management.ifname);

  add('-A INPUT -j astara-input');
  add('-A FORWARD -j astara-fip-acct');
  add('-A FORWARD -j astara-forward');

  add('-A astara-input -i lo -j ACCEPT');
  // Before anything that accepts: the management addresses answer on the
  // management interface only (the kernel would otherwise answer them on any).
  if (management && managementIf) {
    for (const address of ofFamily(management.addresses, family)) {
      add(`-A astara-input -d ${address.text}/${host32} ! -i ${managementIf} -j DROP`);
    }
  }
  add(family === 4 ? '-A astara-input -p icmp -m icmp --icmp-type 8 -j ACCEPT' : '-A astara-input -p ipv6-icmp -j ACCEPT');
  for (const network of model.networks) {
    const chain = INPUT_CHAIN[network.type];
    add(`-A astara-input -i ${host.realName(network.ifname)} -j ${chain}`);
  }

  // Management: replies, SSH, the agent's API, the metadata port; HA peers.
  add('-A astara-mgmt -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  const managementPorts = [...new Set([SSH_PORT, options.apiPort, MANAGEMENT_METADATA_PORT])];
  for (const port of managementPorts) add(`-A astara-mgmt -p tcp -m tcp --dport ${port} -j ACCEPT`);
  for (const peer of model.ha?.peers ?? []) {
    if (peer.family !== family) continue;
    add(`-A astara-mgmt -s ${peer.text}/${host32} -p vrrp -j ACCEPT`);
    add(`-A astara-mgmt -s ${peer.text}/${host32} -p udp -m udp --dport ${CONNTRACKD_PORT} -j ACCEPT`);
  }
  if (family === 6 && management?.v6ConfService === 'dhcp') add(DHCPV6_CLIENT_REPLY('astara-mgmt'));

  // External: only what answers the router's own traffic, and IPsec when a VPN is configured.
  add('-A astara-external -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  if (model.vpn.length > 0) {
    add('-A astara-external -p udp -m udp --dport 500 -j ACCEPT');
    add('-A astara-external -p udp -m udp --dport 4500 -j ACCEPT');
    add('-A astara-external -p esp -j ACCEPT');
    add('-A astara-external -p ah -j ACCEPT');
  }
  if (family === 6 && networkOfType(model, 'external')?.v6ConfService === 'dhcp') add(DHCPV6_CLIENT_REPLY('astara-external'));

  // Tenant-facing interfaces: DHCP to the router (named for the counters) and all other input.
  add(family === 4 ? '-A astara-internal -p udp -m udp --dport 67 -j ACCEPT' : '-A astara-internal -p udp -m udp --dport 547 -j ACCEPT');
  add('-A astara-internal -j ACCEPT');

  // Accounting only (no target): per floating IP bytes in and out through
  // the external interface, read by GET /v1/system/stats from the counters.
  const external = networkOfType(model, 'external');
  if (external) {
    const externalIf = host.realName(external.ifname);
    for (const { floating, fixed } of model.floatingIps.filter((f) => f.fixed.family === family)) {
      add(`-A astara-fip-acct -d ${fixed.text}/${host32} -i ${externalIf} -m comment --comment "fip-in ${floating.text} ${fixed.text}"`);
      add(`-A astara-fip-acct -s ${fixed.text}/${host32} -o ${externalIf} -m comment --comment "fip-out ${floating.text} ${fixed.text}"`);
    }
  }

  // Forwarding is allowed, except through the management network: it is
  // not a transit network, so a tenant cannot reach the orchestrator through the router.
  if (managementIf) {
    add(`-A astara-forward -i ${managementIf} -j DROP`);
    add(`-A astara-forward -o ${managementIf} -j DROP`);
  }

  return {
    name: 'filter',
    policies: { INPUT: 'DROP' },
    chains: ['astara-input', 'astara-mgmt', 'astara-external', 'astara-internal', 'astara-fip-acct', 'astara-forward'],
    rules,
  };
}

/** Input chain per network type; load-balancer networks take client traffic like tenant ones. */
const INPUT_CHAIN: Readonly<Record<NetworkModel['type'], string>> = {
  management: 'astara-mgmt',
  external: 'astara-external',
  internal: 'astara-internal',
  isolated: 'astara-internal',
  loadbalancer: 'astara-internal',
};

// A DHCPv6 server answers a multicast solicit from its link-local address:
// conntrack cannot pair the two, so the reply needs its own rule.
const DHCPV6_CLIENT_REPLY = (chain: string) => `-A ${chain} -s fe80::/10 -p udp -m udp --sport 547 --dport 546 -j ACCEPT`;

// --- nat --------------------------------------------------------------------

function renderNat(model: ConfigModel, host: RenderHost, family: Family): TableRules {
  const rules: Rule[] = [];
  const add = (text: string) => rules.push({ text });
  const host32 = family === 4 ? 32 : 128;
  const external = networkOfType(model, 'external');
  const externalIf = external && host.realName(external.ifname);
  const tenants = model.networks.filter(isTenantNetwork);
  const tenantIfs = tenants.map((n) => host.realName(n.ifname));
  // The router's first external address of this family: where tenant traffic without a floating IP is seen from.
  const routerAddress = external && ofFamily(external.addresses, family)[0];
  const floatingIps = model.floatingIps.filter((f) => f.floating.family === family && f.fixed.family === family);
  const chains = ['astara-prerouting', 'astara-output', 'astara-postrouting', 'astara-fip-dnat', 'astara-fip-snat'];
  if (family === 4) chains.splice(1, 0, 'astara-metadata');

  add('-A PREROUTING -j astara-prerouting');
  add('-A OUTPUT -j astara-output');
  add('-A POSTROUTING -j astara-postrouting');
  // IPv6 is routed, not NATed, unless a floating IP asks for it: the chains stay, empty.
  if (family === 6 && floatingIps.length === 0) return { name: 'nat', policies: {}, chains, rules };

  for (const ifname of tenantIfs) add(`-A astara-prerouting -i ${ifname} -j MARK --set-xmark ${TENANT_MARK}`);
  if (family === 4) {
    add('-A astara-prerouting -j astara-metadata');
    // Each tenant network's guests reach their own network's proxy listener.
    for (const listener of metadataProxyState(model).listeners) {
      add(
        `-A astara-metadata -d ${METADATA_ADDRESS}/32 -i ${host.realName(listener.ifname)} -p tcp -m tcp --dport 80 ` +
          `-j DNAT --to-destination ${listener.address}:${listener.port}`,
      );
    }
  }

  // Floating IPs, inbound: from outside, from tenant networks (hairpin) and from the router itself.
  if (externalIf) add(`-A astara-prerouting -i ${externalIf} -j astara-fip-dnat`);
  for (const ifname of tenantIfs) add(`-A astara-prerouting -i ${ifname} -j astara-fip-dnat`);
  add('-A astara-output -j astara-fip-dnat');
  for (const { floating, fixed } of floatingIps) {
    add(`-A astara-fip-dnat -d ${floating.text}/${host32} -j DNAT --to-destination ${fixed.text}`);
  }

  // Outbound: only tenant traffic is NATed; IPsec-bound traffic keeps its
  // address (the tunnel's selectors name the tenant subnets).
  if (model.vpn.length > 0) add('-A astara-postrouting -m policy --dir out --pol ipsec -j RETURN');
  add(`-A astara-postrouting -m mark ! --mark ${TENANT_MARK} -j RETURN`);
  if (externalIf) {
    add(`-A astara-postrouting -o ${externalIf} -j astara-fip-snat`);
    // IPv6 tenant addresses are routed as they are (spec: source NAT is for IPv4).
    if (family === 4 && routerAddress) add(`-A astara-postrouting -o ${externalIf} -j SNAT --to-source ${routerAddress.text}`);
    // Hairpin: a tenant host reached another's floating IP. Rewrite the source
    // too, so the reply comes back through the router (the two may share a
    // subnet) and the server sees an address as it would from outside.
    add(`-A astara-postrouting ! -o ${externalIf} -m conntrack --ctstate DNAT -j astara-fip-snat`);
    if (routerAddress) {
      add(`-A astara-postrouting ! -o ${externalIf} -m conntrack --ctstate DNAT -j SNAT --to-source ${routerAddress.text}`);
    }
  }
  for (const { floating, fixed } of floatingIps) {
    add(`-A astara-fip-snat -s ${fixed.text}/${host32} -j SNAT --to-source ${floating.text}`);
  }

  return { name: 'nat', policies: {}, chains, rules };
}

// --- mangle -----------------------------------------------------------------

/** DHCP replies from the router get their UDP checksum filled in (guests with checksum-offload bugs drop them otherwise). */
function renderMangle(model: ConfigModel, host: RenderHost): TableRules {
  const rules: Rule[] = [{ text: '-A POSTROUTING -j astara-checksum' }];
  for (const network of model.networks) {
    if (!isTenantNetwork(network) || !network.subnets.some((s) => s.cidr.family === 4 && s.dhcpEnabled)) continue;
    rules.push({ text: `-A astara-checksum -o ${host.realName(network.ifname)} -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill`, needs: 'CHECKSUM' });
  }
  return { name: 'mangle', policies: {}, chains: ['astara-checksum'], rules };
}

// --- text -------------------------------------------------------------------

export interface TextOptions {
  /** False when the kernel lacks the CHECKSUM target: those rules are left out. */
  readonly checksumFill: boolean;
}

/** The iptables-restore (or ip6tables-restore) document of one family. */
export function restoreDocument(rules: FamilyRules, options: TextOptions): string {
  const lines = [`# astara firewall, IPv${rules.family}: rendered by the agent, replaced whole on every change`];
  for (const table of rules.tables) {
    lines.push(`*${table.name}`);
    for (const chain of BUILTIN_CHAINS[table.name]) lines.push(`:${chain} ${table.policies[chain] ?? 'ACCEPT'} [0:0]`);
    for (const chain of table.chains) lines.push(`:${chain} - [0:0]`);
    // Chain by chain, as iptables-save prints them; order within a chain is kept.
    const order = [...BUILTIN_CHAINS[table.name], ...table.chains];
    const chainOf = (rule: Rule) => order.indexOf(rule.text.split(' ', 2)[1]!);
    const rules = table.rules.filter((rule) => rule.needs !== 'CHECKSUM' || options.checksumFill);
    for (const rule of [...rules].sort((a, b) => chainOf(a) - chainOf(b))) lines.push(rule.text);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/** An empty table with ACCEPT policies: what a table the agent never touched behaves like. */
export function emptyTableDocument(name: TableName): string {
  return [`*${name}`, ...BUILTIN_CHAINS[name].map((chain) => `:${chain} ACCEPT [0:0]`), 'COMMIT', ''].join('\n');
}

function ofFamily<T extends ParsedAddress>(addresses: readonly T[], family: Family): T[] {
  return addresses.filter((a) => a.family === family);
}
