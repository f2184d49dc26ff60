// A fingerprint of the host state the agent configures, cheap enough to take
// every few seconds: a re-push of the document the host already holds is
// answered without validating or applying it again, which is only sound while
// this fingerprint is the one taken right after that document was applied.
// What churns on its own without being drift (address lifetimes, DAD flags,
// carrier, packet counters, routes learned by BIRD or router advertisements,
// the kernel's local routing table, daemon pids after a supervised restart)
// is left out, so that only a change a full apply would undo moves it.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { DaemonStatus } from './supervisor.js';
import type { CommandRunner } from './exec.js';
import { FIP_TABLE, liveTable } from '../drivers/firewall/nft.js';

/** The reads of one fingerprint, each one process (about 3-10 ms each; more on a router with thousands of rules). */
export const LIVE_STATE_READS: readonly (readonly string[])[] = [
  ['ip', '-o', 'link', 'show'],
  ['ip', '-o', 'address', 'show'],
  ['ip', '-o', '-4', 'route', 'show', 'table', 'all'],
  ['ip', '-o', '-6', 'route', 'show', 'table', 'all'],
  ['iptables-save'],
  ['ip6tables-save'],
  // The floating IPs' nftables table (drivers/firewall/nft.ts); absent before the firewall's first apply.
  ['nft', '-j', 'list', 'table', 'inet', FIP_TABLE],
];

/**
 * Routes that come and go without being drift: learned ones (BIRD, router
 * advertisements), and the local table, which the kernel derives from the
 * addresses (read on their own) as their duplicate address detection ends.
 */
const NOT_CONFIGURED_ROUTE = /\bproto (bird|ra|dhcp|redirect)\b|\btable local\b/;

/** One read's output without what changes on its own. */
export function normaliseRead(argv: readonly string[], stdout: string): string {
  const [command, ...args] = argv;
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  if (command === 'iptables-save' || command === 'ip6tables-save') {
    return lines
      .filter((line) => !line.startsWith('#'))
      .map((line) => line.replace(/ \[\d+:\d+\]$/, ''))
      .join('\n');
  }
  // Without the counters' values and handles, the elements sorted (nft lists them in hash order).
  if (command === 'nft') {
    if (lines.length === 0) return '';
    const { structure, elements } = liveTable(stdout);
    return [structure, ...elements].join('\n');
  }
  if (args.includes('link')) {
    return lines.map((line) => line.replace(/\b(LOWER_UP|NO-CARRIER|M-DOWN),?/g, '').replace(/ state \S+/, '')).join('\n');
  }
  if (args.includes('address')) {
    return lines
      .filter((line) => !line.includes(' dynamic '))
      .map((line) => line.replace(/valid_lft \S+ preferred_lft \S+/, '').replace(/ (tentative|optimistic)\b/g, ''))
      .join('\n');
  }
  if (args.includes('route')) {
    return lines
      .filter((line) => !NOT_CONFIGURED_ROUTE.test(line))
      .map((line) => line.replace(/ expires \S+/, '').replace(/ linkdown\b/, ''))
      .sort()
      .join('\n');
  }
  return lines.join('\n');
}

/** A hash per part of the live state (each read, the host name, the daemons), so that a drift can say where it is. */
export type LiveFingerprint = Readonly<Record<string, string>>;

/** The fingerprint of the reads' outputs (in LIVE_STATE_READS order), the host name and the daemons' running states. */
export function liveFingerprint(outputs: readonly string[], host: string, daemons: readonly Pick<DaemonStatus, 'name' | 'running'>[]): LiveFingerprint {
  const parts: Record<string, string> = {};
  for (const [i, argv] of LIVE_STATE_READS.entries()) parts[argv.join(' ')] = sha256(normaliseRead(argv, outputs[i] ?? ''));
  parts.hostname = sha256(host);
  parts.daemons = sha256(
    [...daemons]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((d) => `${d.name} ${d.running ? 'running' : 'down'}`)
      .join('\n'),
  );
  return parts;
}

/** The parts of the live state that differ between two fingerprints (none: the same state). */
export function driftedParts(baseline: LiveFingerprint, now: LiveFingerprint): string[] {
  const names = new Set([...Object.keys(baseline), ...Object.keys(now)]);
  return [...names].filter((name) => baseline[name] !== now[name]);
}

/** Read the host and fingerprint it (the reads run side by side). */
export async function readLiveFingerprint(runner: CommandRunner, daemons: () => readonly DaemonStatus[]): Promise<LiveFingerprint> {
  const results = await Promise.all(LIVE_STATE_READS.map((argv) => runner.read(argv, { allowFailure: argv[0] === 'nft' })));
  return liveFingerprint(
    results.map((r) => r.stdout),
    hostname(),
    daemons(),
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
