// What pauses a bench process (issue 16, O2): its garbage collections, and
// the times its event loop was held. A held loop comes with the CPU the
// process used meanwhile: about the wall time (or more, with V8's helper
// threads) when it was running, near zero when it was descheduled.
import { PerformanceObserver, constants } from 'node:perf_hooks';

const STALL_TICK_MS = 10;
const STALL_REPORTED_MS = 50;

const GC_KINDS = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'scavenge'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'mark-compact'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental marking'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weak callbacks'],
]);

const wallClock = (): number => performance.timeOrigin + performance.now();

export interface Stall {
  /** Epoch ms. */
  readonly startedAt: number;
  readonly heldMs: number;
  /** The process's user + system CPU over the stall, all threads. */
  readonly cpuMs: number;
  /** The same start on the monotonic clock of a V8 CPU profile, µs. */
  readonly monotonicUs: number;
}

export interface Collection {
  readonly startedAt: number;
  readonly pauseMs: number;
  readonly kind: string;
}

export function watchCollections(report: (collection: Collection) => void): void {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry.detail as { kind?: number } | null)?.kind;
      report({ startedAt: performance.timeOrigin + entry.startTime, pauseMs: entry.duration, kind: GC_KINDS.get(kind ?? -1) ?? String(kind) });
    }
  }).observe({ entryTypes: ['gc'] });
}

/** Reports each time the event loop was held 50 ms or more (a 10 ms timer that came late). */
export function watchStalls(report: (stall: Stall) => void): void {
  let lastAt = wallClock();
  let lastMonotonic = process.hrtime.bigint();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const at = wallClock();
    const monotonic = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const heldMs = at - lastAt - STALL_TICK_MS;
    if (heldMs >= STALL_REPORTED_MS) {
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      report({ startedAt: lastAt + STALL_TICK_MS, heldMs, cpuMs, monotonicUs: Number(lastMonotonic / 1000n) + STALL_TICK_MS * 1000 });
    }
    lastAt = at;
    lastMonotonic = monotonic;
    lastCpu = cpu;
  }, STALL_TICK_MS).unref();
}
