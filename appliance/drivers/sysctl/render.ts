// The kernel settings a router needs, as `/proc/sys` paths (slash-separated,
// so that an interface name containing a dot stays one path component).
//
// Chosen on purpose, and only these:
// - IPv4 and IPv6 forwarding: the appliance is a router.
//   (Enabling IPv6 forwarding also makes the kernel ignore router
//   advertisements unless `accept_ra=2`; the appliance configures its
//   external addresses and default routes statically, so that is wanted.)
// Left alone on purpose:
// - `rp_filter`: strict reverse-path filtering breaks asymmetric paths (BGP
//   upstreams, HA pairs); anti-spoofing belongs in the firewall's rules.
// - per-interface settings (`accept_dad`, `promote_secondaries`): the
//   interfaces subsystem owns them, since they follow the interface set.
import type { ConfigModel } from '../../../contract/index.js';

/** `/proc/sys`-relative path -> value. */
export type SysctlDesired = Readonly<Record<string, string>>;

export function renderSysctls(_model: ConfigModel): SysctlDesired {
  return {
    'net/ipv4/ip_forward': '1',
    'net/ipv6/conf/all/forwarding': '1',
  };
}
