// The document pushed to a router appliance (the original's
// api/config/router.py; the network entries are common.ts's), built from
// Neutron-shaped resources. buildRouterConfig is pure; the keys and their
// order are the original's, so documents read and diff the same.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { canonicalAddress, contains, parseAddress, parseCidr } from '../../contract/ip.js';
import type { Configuration, NetworkDoc } from '../../contract/index.js';
import { tenantOf, type NetworkDetail, type NeutronPort, type RouterDetail } from '../model/neutron.js';
import { hostLabel, networkConfig, requireInterfaces, type NetworkType } from './common.js';

export interface RouterConfigInput {
  readonly detail: RouterDetail;
  /** The appliance's port on the management network. */
  readonly managementPort: NeutronPort;
  /** Every network of the management port and of the router's ports. */
  readonly networks: ReadonlyMap<string, NetworkDetail>;
  /** Every port of each internal network (they become its DHCP allocations). */
  readonly networkPorts: ReadonlyMap<string, readonly NeutronPort[]>;
  /** Network id -> the appliance's interface on it (`geN`). */
  readonly interfaceMap: ReadonlyMap<string, string>;
  readonly asn: number;
  readonly neighborAsn: number;
  /** Firewall labels (provider rules), label -> networks. */
  readonly labels: Record<string, string[]>;
  /** Where the appliance reaches the orchestrator (metadata upstream) and its name. */
  readonly orchestrator: { readonly address: string; readonly metadata_port: number; readonly host: string };
  /**
   * HA pair members only: the other members' management addresses and this
   * one's VRRP priority. It, not the router's `ha`, makes `ha_resource`: a
   * router whose `ha` changed runs as it was booted until it is rebuilt.
   */
  readonly haConfig?: { readonly peers: readonly string[]; readonly priority: number };
  /** The `vpn` block (config/vpn.ts's routerVpnConfig); absent: `{}`, no VPN. */
  readonly vpn?: Configuration['vpn'];
}

/** `ak-<tenant id>`, as the original named router appliances. */
export const applianceHostname = (tenantId: string): string => hostLabel(`ak-${tenantId}`);

export function buildRouterConfig(input: RouterConfigInput): Configuration {
  const { detail } = input;
  const planned: [NeutronPort, NetworkType][] = [
    [input.managementPort, 'management'],
    ...(detail.gatewayPort ? [[detail.gatewayPort, 'external'] as [NeutronPort, NetworkType]] : []),
    ...detail.interfaces.map((port): [NeutronPort, NetworkType] => [port, 'internal']),
  ];
  requireInterfaces(input.interfaceMap, planned.map(([port]) => port));
  const networks = planned.map(([port, type]) => networkConfig(input, port, type));
  const tenantId = tenantOf(detail.router);
  return {
    asn: input.asn,
    neighbor_asn: input.neighborAsn,
    default_v4_gateway: defaultV4Gateway(networks),
    networks,
    labels: Object.fromEntries(Object.entries(input.labels).map(([name, cidrs]) => [name, [...cidrs]])),
    floating_ips: detail.floatingIps.flatMap((fip) =>
      // Only associated floating IPs have a fixed address to translate to.
      fip.fixed_ip_address === null ? [] : [{ floating_ip: canonicalAddress(fip.floating_ip_address), fixed_ip: canonicalAddress(fip.fixed_ip_address) }],
    ),
    tenant_id: tenantId,
    hostname: applianceHostname(tenantId),
    orchestrator: { address: input.orchestrator.address, metadata_port: input.orchestrator.metadata_port, host: input.orchestrator.host },
    ha_resource: input.haConfig !== undefined,
    vpn: input.vpn ?? {},
    ...(input.haConfig ? { ha_config: { peers: [...input.haConfig.peers], priority: input.haConfig.priority } } : {}),
  };
}

/** The gateway of the first external IPv4 subnet that holds one of the external interface's IPv4 addresses; '' without one. */
function defaultV4Gateway(networks: readonly NetworkDoc[]): string {
  for (const network of networks.filter((n) => n.network_type === 'external')) {
    const addresses = network.interface.addresses.map((a) => parseAddress(a.slice(0, a.indexOf('/')))).filter((a) => a?.family === 4);
    for (const subnet of network.subnets ?? []) {
      const cidr = parseCidr(subnet.cidr);
      if (cidr?.family === 4 && addresses.some((a) => a !== undefined && contains(cidr, a))) return subnet.gateway_ip ?? '';
    }
  }
  return '';
}

/**
 * The `labels` of the provider rules file, re-read for every document as the
 * original did; `{}` when it is missing, unreadable or not the expected shape.
 */
export async function loadProviderRules(path: string, logger: Logger): Promise<Record<string, string[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Most deployments have no rules file: not worth more than a debug line per document.
    if (code === 'ENOENT') logger.debug({ path }, 'no provider rules file: no labels');
    else logger.warn({ path, err: error }, 'cannot read the provider rules file: no labels');
    return {};
  }
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch (error) {
    logger.warn({ path, err: error }, 'the provider rules file is not JSON: no labels');
    return {};
  }
  const labels = rules !== null && typeof rules === 'object' ? (rules as { labels?: unknown }).labels : undefined;
  if (labels === undefined) return {};
  if (
    labels === null ||
    typeof labels !== 'object' ||
    Array.isArray(labels) ||
    !Object.values(labels).every((cidrs) => Array.isArray(cidrs) && cidrs.every((c) => typeof c === 'string'))
  ) {
    logger.warn({ path }, 'the labels of the provider rules file are not an object of lists of networks: no labels');
    return {};
  }
  return labels as Record<string, string[]>;
}
