// The firewall as data (spec section 6): one iptables-restore document per IP
// family, rendered purely from the model and from what the other subsystems
// contribute (host.contributions: each rule with the hook it belongs to, see
// engine/subsystem.ts). Every rule of the agent lives in a chain named
// `astara-...`; the built-in chains only jump there, so an operator reading
// `iptables-save` can tell the agent's rules from others. The firewall's own
// rules are what no other subsystem owns: the default policy, the management
// plane (SSH, the agent's API), replies, ICMP and NAT. The floating IPs are
// not here: they are elements of an nftables table of their own (nft.ts),
// rendered here too (`fip`), so that adding one leaves these documents as
// they were.
import {
  DEFAULT_METADATA_PORT,
  isTenantNetwork,
  networkOfType,
  type ConfigModel,
  type Family,
  type NetworkModel,
  type ParsedAddress,
} from '../../../contract/index.js';
import type { FirewallContribution, FirewallHook, FirewallRenderHost, RenderHost } from '../../engine/subsystem.js';
import type { FloatingIpTable } from './nft.js';

export type TableName = 'filter' | 'nat' | 'mangle';

/** The tables the agent owns in each family: restored whole, compared whole. */
export const OWNED_TABLES: Readonly<Record<Family, readonly TableName[]>> = {
  4: ['filter', 'nat', 'mangle'],
  6: ['filter', 'nat', 'mangle'],
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
  /** The floating IPs' nftables table. */
  readonly fip: FloatingIpTable;
}

export interface RenderOptions {
  /** TCP port of the agent's API, opened on the management interface. */
  readonly apiPort: number;
}

export const SSH_PORT = 22;
/**
 * Marks the first packet of every connection that entered through a tenant
 * interface, so POSTROUTING (which cannot match the input interface) NATs
 * tenant traffic only: router-originated and external traffic carry no mark.
 */
export const TENANT_MARK = '0x10000/0x10000';
/**
 * Marks every packet a NAT exemption (the nat-postrouting-exempt hook)
 * matches, in the mangle table's POSTROUTING (priority -150): the floating
 * IPs' SNAT (nft.ts, priority 99) runs before the iptables nat POSTROUTING
 * (100) that holds the exemptions themselves, so it needs to know sooner.
 */
export const EXEMPT_MARK = '0x20000/0x20000';

/**
 * The chain each hook's contributed rules are appended to. Input hooks land
 * after the firewall's own rules of that network type (replies first); the
 * destination NAT of services after the tenant mark, before floating IPs;
 * NAT exemptions first in POSTROUTING, before anything is NATed.
 */
const HOOK_CHAINS: Readonly<Record<FirewallHook, string>> = {
  'management-input': 'astara-mgmt',
  'external-input': 'astara-external',
  'tenant-input': 'astara-internal',
  'nat-prerouting': 'astara-prerouting',
  'nat-postrouting-exempt': 'astara-postrouting',
};

/** Pure: the complete rule sets of both families for a model and the other subsystems' contributions. */
export function renderFirewall(model: ConfigModel, host: FirewallRenderHost, options: RenderOptions): FirewallRules {
  const contributed = contributedRules(host.contributions);
  return {
    v4: renderFamily(model, host, options, 4, contributed),
    v6: renderFamily(model, host, options, 6, contributed),
    fip: renderFloatingIpTable(model, host),
  };
}

/** The floating IPs of both families, each pair of one family (the contract validates that). */
function renderFloatingIpTable(model: ConfigModel, host: RenderHost): FloatingIpTable {
  const management = networkOfType(model, 'management');
  const external = networkOfType(model, 'external');
  return {
    managementIf: management && host.realName(management.ifname),
    externalIf: external && host.realName(external.ifname),
    tenantMark: TENANT_MARK,
    exemptMark: EXEMPT_MARK,
    pairs: model.floatingIps.map(({ floating, fixed }) => ({ family: floating.family, floating: floating.text, fixed: fixed.text })),
  };
}

/** `-A chain rule` texts per family and hook, in contribution order. */
type ContributedRules = (family: Family, hook: FirewallHook) => string[];

function renderFamily(model: ConfigModel, host: RenderHost, options: RenderOptions, family: Family, contributed: ContributedRules): FamilyRules {
  return { family, tables: [renderFilter(model, host, options, family, contributed), renderNat(model, host, family, contributed), renderMangle(model, host, family, contributed)] };
}

// A contributed rule is iptables-restore arguments after `-A chain` on one
// line: a line break would let it write anything into the document.
const RULE_TEXT = /^[!-][ -~]*$/;

function contributedRules(contributions: readonly FirewallContribution[]): ContributedRules {
  const byHook = new Map<string, string[]>();
  for (const { subsystem, rules } of contributions) {
    for (const { family, hook, rule } of rules) {
      if (!RULE_TEXT.test(rule)) {
        throw new Error(`the ${subsystem} subsystem contributed a firewall rule that is not one rule's matches and target: ${JSON.stringify(rule)}`);
      }
      // Each exemption is also a mark in the mangle table (renderMangle): a rule that ends anywhere but RETURN cannot be one.
      if (hook === 'nat-postrouting-exempt' && !rule.endsWith(' -j RETURN')) {
        throw new Error(`the ${subsystem} subsystem contributed a NAT exemption that does not end in -j RETURN: ${JSON.stringify(rule)}`);
      }
      const key = `${family}:${hook}`;
      const list = byHook.get(key) ?? [];
      list.push(`-A ${HOOK_CHAINS[hook]} ${rule}`);
      byHook.set(key, list);
    }
  }
  return (family, hook) => byHook.get(`${family}:${hook}`) ?? [];
}

// --- filter -----------------------------------------------------------------

function renderFilter(model: ConfigModel, host: RenderHost, options: RenderOptions, family: Family, contributed: ContributedRules): TableRules {
  const rules: Rule[] = [];
  const add = (text: string) => rules.push({ text });
  const host32 = family === 4 ? 32 : 128;
  const management = networkOfType(model, 'management');
  const managementIf = management && host.realName(management.ifname);

  add('-A INPUT -j astara-input');
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

  // Management: replies, SSH, the agent's API, the metadata port; then what
  // other subsystems serve there (HA peers' VRRP and state sync).
  add('-A astara-mgmt -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  const managementPorts = [...new Set([SSH_PORT, options.apiPort, DEFAULT_METADATA_PORT])];
  for (const port of managementPorts) add(`-A astara-mgmt -p tcp -m tcp --dport ${port} -j ACCEPT`);
  if (family === 6 && management?.v6ConfService === 'dhcp') add(DHCPV6_CLIENT_REPLY('astara-mgmt'));
  contributed(family, 'management-input').forEach(add);

  // External: only what answers the router's own traffic; then what other
  // subsystems serve there (BGP from the configured peers, IPsec).
  add('-A astara-external -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  if (family === 6 && networkOfType(model, 'external')?.v6ConfService === 'dhcp') add(DHCPV6_CLIENT_REPLY('astara-external'));
  contributed(family, 'external-input').forEach(add);

  // Tenant-facing interfaces: replies, then only what the appliance serves
  // there (DHCP, each network's own metadata listener, BGP from a peer on
  // that network); the rest falls through to the INPUT policy and is dropped.
  add('-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  contributed(family, 'tenant-input').forEach(add);

  // Forwarding is allowed, except through the management network: it is
  // not a transit network, so a tenant cannot reach the orchestrator through the router.
  if (managementIf) {
    add(`-A astara-forward -i ${managementIf} -j DROP`);
    add(`-A astara-forward -o ${managementIf} -j DROP`);
  }

  return {
    name: 'filter',
    policies: { INPUT: 'DROP' },
    chains: ['astara-input', 'astara-mgmt', 'astara-external', 'astara-internal', 'astara-forward'],
    rules,
  };
}

/** Input chain per network type; load-balancer networks face clients like tenant ones (tenant-input hook). */
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

function renderNat(model: ConfigModel, host: RenderHost, family: Family, contributed: ContributedRules): TableRules {
  const rules: Rule[] = [];
  const add = (text: string) => rules.push({ text });
  const external = networkOfType(model, 'external');
  const externalIf = external && host.realName(external.ifname);
  const tenantIfs = model.networks.filter(isTenantNetwork).map((n) => host.realName(n.ifname));
  // The router's first external address of this family: where tenant traffic without a floating IP is seen from.
  const routerAddress = external && ofFamily(external.addresses, family)[0];

  add('-A PREROUTING -j astara-prerouting');
  add('-A POSTROUTING -j astara-postrouting');
  // In both families whatever the floating IPs: their SNAT (nft.ts) is for tenant traffic only.
  for (const ifname of tenantIfs) add(`-A astara-prerouting -i ${ifname} -j MARK --set-xmark ${TENANT_MARK}`);
  // Services reached at another address (the metadata proxy at 169.254.169.254),
  // before the floating IPs' DNAT (nft.ts, a later priority).
  contributed(family, 'nat-prerouting').forEach(add);

  // Outbound: only tenant traffic is NATed, except what a subsystem exempts
  // (IPsec-bound traffic keeps its address: the tunnel's selectors name the
  // tenant subnets). A floating IP's SNAT came before (nft.ts): what reaches
  // here has none.
  contributed(family, 'nat-postrouting-exempt').forEach(add);
  add(`-A astara-postrouting -m mark ! --mark ${TENANT_MARK} -j RETURN`);
  if (externalIf) {
    // IPv6 tenant addresses are routed as they are (spec: source NAT is for IPv4).
    if (family === 4 && routerAddress) add(`-A astara-postrouting -o ${externalIf} -j SNAT --to-source ${routerAddress.text}`);
    // Hairpin: a tenant host reached another's floating IP. Rewrite the source
    // too, so the reply comes back through the router (the two may share a
    // subnet) and the server sees an address as it would from outside.
    if (routerAddress) {
      add(`-A astara-postrouting ! -o ${externalIf} -m conntrack --ctstate DNAT -j SNAT --to-source ${routerAddress.text}`);
    }
  }

  return { name: 'nat', policies: {}, chains: ['astara-prerouting', 'astara-postrouting'], rules };
}

// --- mangle -----------------------------------------------------------------

/**
 * DHCP replies from the router get their UDP checksum filled in (guests with
 * checksum-offload bugs drop them otherwise); NAT exemptions mark their
 * packets (EXEMPT_MARK) for the floating IPs' SNAT, which runs before the nat table.
 */
function renderMangle(model: ConfigModel, host: RenderHost, family: Family, contributed: ContributedRules): TableRules {
  const rules: Rule[] = [{ text: '-A POSTROUTING -j astara-exempt' }];
  for (const exemption of contributed(family, 'nat-postrouting-exempt')) {
    rules.push({ text: `${exemption.replace(/^-A \S+/, '-A astara-exempt').replace(/ -j RETURN$/, '')} -j MARK --set-xmark ${EXEMPT_MARK}` });
  }
  if (family === 6) return { name: 'mangle', policies: {}, chains: ['astara-exempt'], rules };
  rules.push({ text: '-A POSTROUTING -j astara-checksum' });
  for (const network of model.networks) {
    if (!isTenantNetwork(network) || !network.subnets.some((s) => s.cidr.family === 4 && s.dhcpEnabled)) continue;
    rules.push({ text: `-A astara-checksum -o ${host.realName(network.ifname)} -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill`, needs: 'CHECKSUM' });
  }
  return { name: 'mangle', policies: {}, chains: ['astara-exempt', 'astara-checksum'], rules };
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
