// Processes that come and go inside a router namespace without being part of
// its steady state: gratuitous ARP runs for a second after an apply, and the
// agent's check of its live state (appliance/host/live-state.ts) reads the host
// every period. Tests that compare a namespace's processes before and after a
// fault leave these out. Derived from the agent's own list of reads, so a read
// added there is left out here too.
import { LIVE_STATE_READS } from '../../appliance/host/live-state.js';

const TRANSIENT_PROGRAMS = new Set<string>([
  'arping',
  ...LIVE_STATE_READS.map((argv) => argv[0]!),
  // What iptables-save and ip6tables-save may be links to.
  'iptables-legacy-save',
  'ip6tables-legacy-save',
  'xtables-nft-multi',
  'xtables-legacy-multi',
]);

/** True for a process (its argv, as /proc/PID/cmdline splits it) that is not part of the steady state. */
export function isTransientProcess(argv: readonly string[]): boolean {
  const program = argv[0]?.replace(/.*\//, '');
  return program !== undefined && TRANSIENT_PROGRAMS.has(program);
}
