// The kernel settings a router needs, as `/proc/sys` paths (slash-separated,
// so that an interface name containing a dot stays one path component).
//
// Chosen on purpose, and only these:
// - IPv4 and IPv6 forwarding: the appliance is a router.
//   (Enabling IPv6 forwarding also makes the kernel ignore router
//   advertisements unless `accept_ra=2`; the appliance configures its
//   external addresses and default routes statically, so that is wanted.)
// - binding to an address the host does not hold (`ip_nonlocal_bind`), on
//   HA pair members only: the backup lacks the pair's addresses until it
//   takes over, and the metadata proxy must keep its listeners on them
//   meanwhile. Off (the kernel's default) on a single router, so a document
//   turning HA off puts it back.
// Left alone on purpose:
// - `rp_filter`: strict reverse-path filtering breaks asymmetric paths (BGP
//   upstreams, HA pairs); anti-spoofing belongs in the firewall's rules.
// - per-interface settings (`accept_dad`, `promote_secondaries`): the
//   interfaces subsystem owns them, since they follow the interface set.
import type { ConfigModel } from '../../../contract/index.js';

/** `/proc/sys`-relative path -> value. */
export type SysctlDesired = Readonly<Record<string, string>>;

export function renderSysctls(model: ConfigModel): SysctlDesired {
  const nonlocalBind = model.ha === undefined ? '0' : '1';
  return {
    'net/ipv4/ip_forward': '1',
    'net/ipv6/conf/all/forwarding': '1',
    'net/ipv4/ip_nonlocal_bind': nonlocalBind,
    'net/ipv6/ip_nonlocal_bind': nonlocalBind,
  };
}
