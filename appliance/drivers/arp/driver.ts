// Gratuitous ARP for floating IPs the upstream has not been told about yet
// (the memory holds those announced), and removal of neighbour entries on
// tenant interfaces whose MAC contradicts an allocation.
import type { Logger } from 'pino';
import { parseAddress } from '../../../contract/index.js';
import type { Applied } from '../../engine/subsystem.js';
import type { CommandRunner } from '../../host/exec.js';
import { CONCURRENCY, mapLimited } from '../../host/concurrency.js';
import { runForced } from '../../host/ip-batch.js';
import type { ArpDesired } from './render.js';

/** Persisted between applies: `<device> <address>` of every floating IP announced there. */
export interface ArpMemory {
  readonly announced: readonly string[];
}

/** One entry of `ip -j neigh show`. */
export interface LiveNeighbour {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
}

/** Announcements that failed in the background: the next apply sends them again. */
const failedAnnouncements = new Set<string>();
let inFlight: Promise<unknown> = Promise.resolve();

/** Resolves once the announcements sent so far have finished (for tests and shutdown). */
export function announcementsSettled(): Promise<unknown> {
  return inFlight;
}

export async function applyArp(desired: ArpDesired, runner: CommandRunner, logger: Logger, memory: ArpMemory | undefined): Promise<Applied<ArpMemory>> {
  const external = desired.external;
  const floating = external === undefined ? [] : desired.floating;
  const key = (ip: string) => `${external!} ${ip}`;
  const before = new Set(memory?.announced ?? []);
  const announce = floating.filter((ip) => !before.has(key(ip)) || failedAnnouncements.has(key(ip)));
  // arping takes a second per address (it waits one interval before it
  // exits), and the address already works without the announcement: send
  // them in the background once the apply has answered, rather than hold
  // the PUT for a second or make it share the machine with their start-up.
  // They are not counted in any apply's report.
  for (const ip of announce) failedAnnouncements.delete(key(ip));
  if (announce.length > 0) {
    inFlight = Promise.all([
      inFlight,
      runner.idle().then(() =>
        mapLimited(announce, CONCURRENCY, async (ip) => {
          if (!(await gratuitousArp(runner, external!, ip, logger))) failedAnnouncements.add(key(ip));
        }),
      ),
    ]);
  }
  const nextMemory: ArpMemory = { announced: floating.map(key).sort() };

  let removed = 0;
  if (desired.neighbours.length > 0) {
    const { stdout } = await runner.read(['ip', '-j', 'neigh', 'show']);
    const stale = staleNeighbours(desired, JSON.parse(stdout || '[]') as LiveNeighbour[]);
    if (stale.length > 0) {
      // Forced: an entry may expire between the read and the delete.
      const failed = await runForced(runner, stale.map((n) => `neigh del ${n.dst} dev ${n.dev}`));
      if (failed) logger.warn({ error: failed }, 'some neighbour entries could not be removed');
      logger.info({ entries: stale }, 'removed neighbour entries that contradict allocations');
      removed = stale.length;
    }
  }
  // Nothing to undo: an announcement cannot be taken back, and a removed entry is re-learnt on demand.
  return { changed: announce.length > 0 || removed > 0, memory: nextMemory };
}

/** Entries on tenant devices for an allocated address but with another MAC. */
export function staleNeighbours(desired: ArpDesired, live: readonly LiveNeighbour[]): LiveNeighbour[] {
  const macOf = new Map(desired.neighbours.map((n) => [`${n.device} ${n.address}`, n.mac]));
  return live.filter((entry) => {
    if (entry.lladdr === undefined) return false;
    const address = parseAddress(entry.dst);
    const mac = address && macOf.get(`${entry.dev} ${address.text}`);
    return mac !== undefined && mac !== entry.lladdr.toLowerCase();
  });
}

/**
 * One unsolicited ARP request (sender = target = the floating IP) with
 * iputils arping; it takes about a second (arping waits one interval), hence
 * several run side by side. A failure is logged, not fatal: the address is
 * left out of the memory, so the next apply tries again.
 */
async function gratuitousArp(runner: CommandRunner, device: string, ip: string, logger: Logger): Promise<boolean> {
  const result = await runner.change(['arping', '-q', '-U', '-c', '1', '-I', device, '-s', ip, ip], { allowFailure: true, timeoutMs: 10_000, background: true });
  if (result.exitCode !== 0) logger.warn({ ip, device, error: (result.stderr || result.stdout).trim() }, 'gratuitous ARP failed');
  return result.exitCode === 0;
}

/** The memory persisted by an earlier apply; anything unexpected counts as nothing announced. */
export function parseArpMemory(value: unknown): ArpMemory | undefined {
  const announced = (value as Partial<ArpMemory> | undefined)?.announced;
  return Array.isArray(announced) ? { announced: announced.filter((a): a is string => typeof a === 'string') } : undefined;
}
