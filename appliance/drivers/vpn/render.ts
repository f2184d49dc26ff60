// The VPN subsystem's configuration (issue 13): the router's IPsec site
// connections as strongSwan swanctl.conf text, rendered from the validated
// model alone (pure). Decisions, and why:
//
// - One swanctl connection per enabled ipsec_site_connection of an enabled
//   service, with one child of the same name; `admin_state_up: false` (of the
//   connection or its service) leaves it out, and `swanctl --load-all` then
//   unloads it (the subsystem also ends its SAs).
// - Names: the connection id with `.` and `:` as `_` (swanctl's settings use
//   `.` as a separator); two ids that meet on one name are refused.
// - Local address: the service's external address of the peer's family, else
//   the external network's first address of that family; the local identity
//   is that address, the remote one `peer_id` (the peer's address by default).
// - Proposals (Neutron VPNaaS's policy fields): encryption, integrity, DH
//   group from `pfs`, in strongSwan's names; AEAD ciphers (GCM, CCM) take no
//   integrity algorithm (in IKE the integrity algorithm names the PRF).
// - Lifetimes: the IKE SA is rekeyed after the IKE policy's seconds; the
//   child SA lives the IPsec policy's seconds or kilobytes and is rekeyed at
//   90% of it.
// - DPD: `dpd_delay` the interval (0 for `disabled`); `dpd_timeout` the
//   timeout for IKEv1 (IKEv2 has none: its liveness checks end after the
//   retransmissions, which driver.ts bounds by the smallest timeout).
//   Actions: hold -> trap (traffic brings the tunnel back), clear -> clear,
//   restart -> restart, restart-by-peer -> clear (the peer restarts it).
// - initiator: `bi-directional` starts the child when loaded (and again when
//   closed) and keeps trying while the peer does not answer (keyingtries 0,
//   as the original's `keyingtries=%forever`): a tunnel DPD took down comes
//   back by itself once the peer does, however long it was away;
//   `response-only` only answers.
// - The PSK is written quoted; the contract admits no quote, backslash or
//   control character in it, so it cannot end the string.
import { networkOfType, type ConfigModel, type EncryptionAlgorithm, type IpsecConnectionModel, type LifetimeModel, type PfsGroup, type AuthAlgorithm, type ParsedAddress } from '../../../contract/index.js';
import { compileTemplate } from '../../host/template.js';
import { swanctlConfTemplate } from './swanctl.conf.hbs.js';

export interface VpnConnectionPlan {
  /** The connection's (and its child's) name in swanctl and in `swanctl --list-sas`. */
  readonly name: string;
  readonly id: string;
  readonly version: 1 | 2;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly localId: string;
  readonly remoteId: string;
  readonly ikeProposal: string;
  readonly espProposal: string;
  readonly aggressive: 'yes' | 'no';
  readonly ikeLifetime: number;
  readonly childLimit: 'time' | 'bytes';
  readonly childRekey: string;
  readonly childLife: string;
  readonly dpdDelay: number;
  readonly dpdTimeout: number | undefined;
  readonly dpdAction: 'trap' | 'clear' | 'restart';
  readonly startAction: 'start' | 'none';
  readonly closeAction: 'start' | 'none';
  /** How many times an initiation is retried when the peer does not answer; 0 is forever. */
  readonly keyingTries: 0 | 1;
  readonly localTs: string;
  readonly remoteTs: string;
  readonly psk: string;
  /** The tenant side and the peer side, for the firewall's NAT exemption. */
  readonly localCidrs: readonly string[];
  readonly peerCidrs: readonly string[];
  readonly family: 4 | 6;
}

export interface VpnDesired {
  readonly connections: readonly VpnConnectionPlan[];
  /** The complete swanctl.conf; undefined without a connection to run (charon then does not run). */
  readonly swanctl: string | undefined;
  /** The smallest DPD timeout of the connections (seconds): how long charon retransmits before it gives a peer up. */
  readonly dpdTimeout: number | undefined;
  /** Whether a VPN service is configured at all (the firewall opens IKE and ESP only then). */
  readonly configured: boolean;
}

const ENCRYPTION: Readonly<Record<EncryptionAlgorithm, string>> = {
  '3des': '3des',
  'aes-128': 'aes128', 'aes-192': 'aes192', 'aes-256': 'aes256',
  'aes-128-ctr': 'aes128ctr', 'aes-192-ctr': 'aes192ctr', 'aes-256-ctr': 'aes256ctr',
  'aes-128-ccm-8': 'aes128ccm8', 'aes-192-ccm-8': 'aes192ccm8', 'aes-256-ccm-8': 'aes256ccm8',
  'aes-128-ccm-12': 'aes128ccm12', 'aes-192-ccm-12': 'aes192ccm12', 'aes-256-ccm-12': 'aes256ccm12',
  'aes-128-ccm-16': 'aes128ccm16', 'aes-192-ccm-16': 'aes192ccm16', 'aes-256-ccm-16': 'aes256ccm16',
  'aes-128-gcm-8': 'aes128gcm8', 'aes-192-gcm-8': 'aes192gcm8', 'aes-256-gcm-8': 'aes256gcm8',
  'aes-128-gcm-12': 'aes128gcm12', 'aes-192-gcm-12': 'aes192gcm12', 'aes-256-gcm-12': 'aes256gcm12',
  'aes-128-gcm-16': 'aes128gcm16', 'aes-192-gcm-16': 'aes192gcm16', 'aes-256-gcm-16': 'aes256gcm16',
};

const DH_GROUP: Readonly<Record<PfsGroup, string>> = {
  group2: 'modp1024', group5: 'modp1536', group14: 'modp2048', group15: 'modp3072', group16: 'modp4096',
  group17: 'modp6144', group18: 'modp8192', group19: 'ecp256', group20: 'ecp384', group21: 'ecp521', group31: 'curve25519',
};

const INTEGRITY: Readonly<Record<AuthAlgorithm, string>> = { sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

const DPD_ACTION: Readonly<Record<IpsecConnectionModel['dpd']['action'], VpnConnectionPlan['dpdAction']>> = {
  hold: 'trap', clear: 'clear', restart: 'restart', disabled: 'clear', 'restart-by-peer': 'clear',
};

const isAead = (encryption: EncryptionAlgorithm) => /-(gcm|ccm)-/.test(encryption);

/** `aes256-sha256-modp2048`; AEAD: `aes256gcm16-prfsha256-modp2048` (IKE) or `aes256gcm16-modp2048` (ESP). */
export function proposal(encryption: EncryptionAlgorithm, integrity: AuthAlgorithm, pfs: PfsGroup, kind: 'ike' | 'esp'): string {
  const parts = [ENCRYPTION[encryption]];
  if (!isAead(encryption)) parts.push(INTEGRITY[integrity]);
  else if (kind === 'ike') parts.push(`prf${INTEGRITY[integrity]}`);
  parts.push(DH_GROUP[pfs]);
  return parts.join('-');
}

function childLimits(lifetime: LifetimeModel): Pick<VpnConnectionPlan, 'childLimit' | 'childRekey' | 'childLife'> {
  const rekey = Math.floor(lifetime.value * 0.9);
  return lifetime.units === 'seconds'
    ? { childLimit: 'time', childRekey: `${rekey}s`, childLife: `${lifetime.value}s` }
    : { childLimit: 'bytes', childRekey: `${rekey * 1024}`, childLife: `${lifetime.value * 1024}` };
}

/** swanctl section names are split at `.`; `:` is kept out too, so a name is letters, digits, `_` and `-`. */
export function connectionName(id: string): string {
  return id.replace(/[.:]/g, '_');
}

export function renderVpn(model: ConfigModel): VpnDesired {
  const external = networkOfType(model, 'external');
  const connections: VpnConnectionPlan[] = [];
  for (const service of model.vpn) {
    if (!service.enabled) continue;
    for (const conn of service.connections) {
      if (!conn.enabled) continue;
      const family = conn.peerAddress.family;
      const serviceAddress: ParsedAddress | undefined = family === 4 ? service.externalV4 : service.externalV6;
      const local = serviceAddress?.text ?? external?.addresses.find((a) => a.family === family)?.text;
      if (local === undefined) throw new Error(`VPN connection ${conn.id}: the router has no external IPv${family} address to reach its peer ${conn.peerAddress.text} from`);
      const name = connectionName(conn.id);
      if (connections.some((c) => c.name === name)) throw new Error(`VPN connections ${conn.id} and another one have the same name ${name} in strongSwan`);
      const localCidrs = conn.localCidrs.map((c) => c.cidr);
      const peerCidrs = conn.peerCidrs.map((c) => c.cidr);
      // The contract warns of subnets the router does not carry and leaves them out: a connection left with no subnet on one side has nothing to carry.
      if (localCidrs.length === 0 || peerCidrs.length === 0) continue;
      const dpdOff = conn.dpd.action === 'disabled';
      connections.push({
        name,
        id: conn.id,
        version: conn.ike.version === 'v1' ? 1 : 2,
        localAddress: local,
        remoteAddress: conn.peerAddress.text,
        localId: local,
        remoteId: conn.peerId,
        ikeProposal: proposal(conn.ike.encryptionAlgorithm, conn.ike.authAlgorithm, conn.ike.pfs, 'ike'),
        espProposal: proposal(conn.ipsec.encryptionAlgorithm, conn.ipsec.authAlgorithm, conn.ipsec.pfs, 'esp'),
        aggressive: conn.ike.phase1NegotiationMode === 'aggressive' ? 'yes' : 'no',
        ikeLifetime: conn.ike.lifetime.value,
        ...childLimits(conn.ipsec.lifetime),
        dpdDelay: dpdOff ? 0 : conn.dpd.interval,
        dpdTimeout: conn.ike.version === 'v1' && !dpdOff ? conn.dpd.timeout : undefined,
        dpdAction: DPD_ACTION[conn.dpd.action],
        startAction: conn.initiator === 'bi-directional' ? 'start' : 'none',
        closeAction: conn.initiator === 'bi-directional' ? 'start' : 'none',
        keyingTries: conn.initiator === 'bi-directional' ? 0 : 1,
        localTs: localCidrs.join(','),
        remoteTs: peerCidrs.join(','),
        psk: conn.psk,
        localCidrs,
        peerCidrs,
        family,
      });
    }
  }
  const timeouts = model.vpn.flatMap((s) => s.connections).filter((c) => c.dpd.action !== 'disabled').map((c) => c.dpd.timeout);
  return {
    connections,
    swanctl: connections.length === 0 ? undefined : swanctlFile({ connections }),
    dpdTimeout: timeouts.length === 0 ? undefined : Math.min(...timeouts),
    configured: model.vpn.length > 0,
  };
}

const swanctlFile = compileTemplate<{ connections: readonly VpnConnectionPlan[] }>(swanctlConfTemplate);
