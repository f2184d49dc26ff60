// Two routers, each with a tenant network and a guest, joined only through
// an "internet" namespace that forwards between their external networks:
//
//   ma m0 ---- ra eth0 (management)        mb m0 ---- rb eth0
//   inet ia0 192.0.2.1/24 ---- ra eth1      inet ib0 203.0.113.1/24 ---- rb eth1
//   ga eth0 198.51.100.10/26 ---- ra eth2   gb eth0 198.51.100.74/26 ---- rb eth2
//
// The documents give router A 192.0.2.2 and tenant 198.51.100.0/26, router B
// 203.0.113.2 and tenant 198.51.100.64/26; a VPN joins the two tenants.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Configuration, NetworkDoc, SubnetDoc } from '../../contract/index.js';
import { REPO } from './agent.js';
import { LAB, Topology, type LinkEnd } from './topology.js';

export const VPN_LAB = {
  a: { external: '192.0.2.2', gateway: '192.0.2.1', tenant: '198.51.100.0/26', router: '198.51.100.1', guest: '198.51.100.10', routerCidr: '198.51.100.1/26', externalSubnet: '192.0.2.0/24' },
  b: { external: '203.0.113.2', gateway: '203.0.113.1', tenant: '198.51.100.64/26', router: '198.51.100.65', guest: '198.51.100.74', routerCidr: '198.51.100.65/26', externalSubnet: '203.0.113.0/24' },
} as const;

export type Side = keyof typeof VPN_LAB;

export async function vpnLab(): Promise<Topology> {
  const side = (s: Side, inet: string): [LinkEnd, LinkEnd][] => [
    [
      { ns: `r${s}`, ifname: 'eth0', mac: LAB.routerMacs[0], addresses: [`${LAB.mgmtAddress}/64`] },
      { ns: `m${s}`, ifname: 'm0', addresses: [`${LAB.mgmtPeer}/64`] },
    ],
    [{ ns: `r${s}`, ifname: 'eth1', mac: LAB.routerMacs[1] }, { ns: 'inet', ifname: inet, addresses: [`${VPN_LAB[s].gateway}/24`] }],
    [{ ns: `r${s}`, ifname: 'eth2', mac: LAB.routerMacs[2] }, { ns: `g${s}`, ifname: 'eth0', addresses: [`${VPN_LAB[s].guest}/26`] }],
  ];
  const lab = await Topology.create({
    namespaces: ['ra', 'rb', 'ma', 'mb', 'inet', 'ga', 'gb'],
    links: [...side('a', 'ia0'), ...side('b', 'ib0')],
    routes: { ga: [['default', 'via', VPN_LAB.a.router]], gb: [['default', 'via', VPN_LAB.b.router]] },
  });
  await lab.exec('inet', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  return lab;
}

/** The harness router document cut to one tenant network, on side `s`'s addresses. */
export async function vpnRouterDocument(s: Side): Promise<Configuration> {
  const doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Configuration;
  const me = VPN_LAB[s];
  const [management, external, tenant] = doc.networks ?? [];
  if (management === undefined || external === undefined || tenant === undefined) throw new Error('the harness router document has fewer than three networks');
  const firstSubnet = (network: NetworkDoc): SubnetDoc => {
    const subnet = network.subnets?.[0];
    if (subnet === undefined) throw new Error(`the harness network ${network.network_id} has no subnet`);
    return subnet;
  };
  return {
    ...doc,
    hostname: `vpn-router-${s}`,
    networks: [
      management,
      {
        ...external,
        interface: { ...external.interface, addresses: [`${me.external}/24`] },
        subnets: [{ ...firstSubnet(external), id: `ext-${s}`, cidr: me.externalSubnet, gateway_ip: me.gateway }],
      },
      {
        ...tenant,
        interface: { ...tenant.interface, addresses: [me.routerCidr] },
        subnets: [{ ...firstSubnet(tenant), id: `tenant-${s}`, cidr: me.tenant, gateway_ip: me.router, dhcp_enabled: false, dns_nameservers: [] }],
        allocations: [],
      },
    ],
    default_v4_gateway: me.gateway,
    floating_ips: [],
    static_routes: [],
    labels: {},
    vpn: {},
  };
}

export interface VpnOptions {
  readonly psk: string;
  readonly ikeVersion?: 'v1' | 'v2';
  readonly initiator?: 'bi-directional' | 'response-only';
  readonly encryption?: string;
  readonly auth?: string;
  readonly pfs?: string;
  readonly dpd?: { action: string; interval: number; timeout: number };
}

/**
 * The IKE and IPsec policies `options` ask for (IKEv2, AES-128, SHA-256,
 * group14 by default), in Neutron VPNaaS's shapes: a document nests them in
 * each connection, a resource file lists them in `ikepolicies` and `ipsecpolicies`.
 */
export function vpnPolicies(options: VpnOptions): { ikepolicy: Record<string, unknown>; ipsecpolicy: Record<string, unknown> } {
  const policy = { encryption_algorithm: options.encryption ?? 'aes-128', auth_algorithm: options.auth ?? 'sha256', pfs: options.pfs ?? 'group14' };
  return {
    ikepolicy: { ike_version: options.ikeVersion ?? 'v2', ...policy },
    ipsecpolicy: { transform_protocol: 'esp', encapsulation_mode: 'tunnel', ...policy },
  };
}

/** Side `s`'s VPN to the other router, in the document's Neutron VPNaaS shape. */
export function vpnService(s: Side, options: VpnOptions): Record<string, unknown> {
  const me = VPN_LAB[s];
  const peer = VPN_LAB[s === 'a' ? 'b' : 'a'];
  return {
    ipsec: [{
      id: `vpn-${s}`,
      external_v4_ip: me.external,
      ipsec_connections: [{
        id: `site-${s}`,
        peer_address: peer.external,
        peer_id: peer.external,
        initiator: options.initiator ?? 'bi-directional',
        psk: options.psk,
        dpd: options.dpd ?? { action: 'hold', interval: 30, timeout: 120 },
        local_ep_group: { type: 'cidr', endpoints: [me.tenant] },
        peer_cidrs: [peer.tenant],
        ...vpnPolicies(options),
      }],
    }],
  };
}
