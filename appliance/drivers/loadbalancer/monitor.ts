// Active health monitors of load-balancer members. nginx's open-source build
// only notices a dead member when a client request to it fails; the agent
// therefore probes every monitored member itself and tells the nginx
// subsystem (through `onChange`) when one must be taken out or put back.
//
// The counting is a pure function (`countProbe`); `MemberMonitors` is the
// shell around it: one timer per member, re-armed when its probe has
// finished, so probes of one member never overlap and a slow member never
// delays another. No probe runs a process except PING (one short-lived
// `ping` per probe).
import type { Logger } from 'pino';
import type { ParsedAddress } from '../../../contract/ip.js';
import type { HealthMonitorModel } from '../../../contract/model.js';
import { systemProber } from './probe.js';

export type MemberHealth = 'ONLINE' | 'OFFLINE' | 'ERROR';

export interface MonitorTarget {
  /** `${poolId}/${memberId}`, unique among the targets of one `update`. */
  readonly key: string;
  readonly address: ParsedAddress;
  readonly port: number;
  readonly monitor: HealthMonitorModel;
}

export interface HealthChange {
  readonly key: string;
  readonly status: MemberHealth;
  /** When the status last changed (or monitoring began), in ms since the epoch. */
  readonly since: number;
  readonly reason: string;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly reason: string;
  /**
   * The probe could not be made at all, for a reason on the appliance's side
   * (no route to the member's network, the ping command missing): counted
   * towards ERROR rather than OFFLINE.
   */
  readonly error?: boolean;
}

export interface Prober {
  /**
   * Probe `target` once, giving up after `timeoutMs`. Resolves, never rejects,
   * for anything the member does; `signal` aborts it when the monitor stops.
   */
  probe(target: MonitorTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult>;
}

export type ProbeOutcome = 'success' | 'failure' | 'error';

/** What the counting of one member remembers between probes. */
export interface MemberCount {
  readonly status: MemberHealth;
  /** The outcome of the last probe and how many probes in a row had it. */
  readonly last: ProbeOutcome | undefined;
  readonly run: number;
  /** Probes in a row that did not succeed (failures and errors together). */
  readonly unhealthy: number;
}

export const FRESH_COUNT: MemberCount = { status: 'ONLINE', last: undefined, run: 0, unhealthy: 0 };

function outcomeOf(result: ProbeResult): ProbeOutcome {
  if (result.ok) return 'success';
  return result.error ? 'error' : 'failure';
}

function probes(type: HealthMonitorModel['type'], count: number): string {
  return count === 1 ? `${type} probe` : `${count} consecutive ${type} probes`;
}

/**
 * Count one probe result. A member goes OFFLINE after `maxRetries` probes in
 * a row that did not succeed, ERROR when all of those could not be made at
 * all, ONLINE after `maxRetries` successes in a row; a down member moves
 * between OFFLINE and ERROR after `maxRetries` probes in a row of the other
 * kind. `change` is the reason when the status changes, else undefined.
 */
export function countProbe(count: MemberCount, result: ProbeResult, monitor: HealthMonitorModel): { count: MemberCount; change: string | undefined } {
  const outcome = outcomeOf(result);
  const run = count.last === outcome ? count.run + 1 : 1;
  const unhealthy = outcome === 'success' ? 0 : count.unhealthy + 1;
  const limit = monitor.maxRetries;
  let status: MemberHealth = count.status;
  let change: string | undefined;
  if (outcome === 'success') {
    if (count.status !== 'ONLINE' && run >= limit) {
      status = 'ONLINE';
      change = `${probes(monitor.type, run)} succeeded: ${result.reason}`;
    }
  } else if (run >= limit && count.status !== (outcome === 'error' ? 'ERROR' : 'OFFLINE')) {
    status = outcome === 'error' ? 'ERROR' : 'OFFLINE';
    change = `${probes(monitor.type, run)} ${outcome === 'error' ? 'could not be made' : 'failed'}: ${result.reason}`;
  } else if (count.status === 'ONLINE' && unhealthy >= limit) {
    // A mix of failures and errors: the member is not answering either way.
    status = 'OFFLINE';
    change = `${probes(monitor.type, unhealthy)} failed or could not be made, the last: ${result.reason}`;
  }
  return { count: { status, last: outcome, run, unhealthy }, change };
}

/** Whether two targets of one key probe the same thing the same way (else the counting restarts). */
function sameProbe(a: MonitorTarget, b: MonitorTarget): boolean {
  const x = a.monitor;
  const y = b.monitor;
  return (
    a.address.text === b.address.text &&
    a.port === b.port &&
    x.type === y.type &&
    x.delay === y.delay &&
    x.timeout === y.timeout &&
    x.maxRetries === y.maxRetries &&
    x.httpMethod === y.httpMethod &&
    x.urlPath === y.urlPath &&
    x.expectedCodes === y.expectedCodes
  );
}

interface Watched {
  target: MonitorTarget;
  count: MemberCount;
  since: number;
  reason: string;
  timer: NodeJS.Timeout | undefined;
  /** The probe in flight; replaced or cleared when its result no longer counts. */
  probing: AbortController | undefined;
}

export interface MemberMonitorsOptions {
  readonly logger: Logger;
  onChange(change: HealthChange): void;
  readonly prober?: Prober;
  /** The clock, in ms since the epoch (for `since` and to keep each member's probes `delay` apart). */
  readonly now?: () => number;
}

export class MemberMonitors {
  readonly #members = new Map<string, Watched>();
  readonly #logger: Logger;
  readonly #onChange: (change: HealthChange) => void;
  readonly #prober: Prober;
  readonly #now: () => number;

  constructor(options: MemberMonitorsOptions) {
    this.#logger = options.logger;
    this.#onChange = (change) => {
      options.onChange(change);
    };
    this.#prober = options.prober ?? systemProber;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The targets now wanted: unchanged ones keep their state and timer; new
   * ones start ONLINE; gone ones stop. A target whose address, port or
   * monitor settings changed restarts its counting and keeps its status.
   * Targets whose monitor is disabled (`admin_state_up: false`) are not
   * probed. Never calls `onChange`: nothing has been probed yet.
   */
  update(targets: readonly MonitorTarget[]): void {
    const wanted = new Map<string, MonitorTarget>();
    for (const target of targets) {
      if (wanted.has(target.key)) throw new Error(`two monitored members share the key ${target.key}`);
      if (target.monitor.enabled) wanted.set(target.key, target);
    }
    for (const [key, watched] of this.#members) {
      if (!wanted.has(key)) {
        this.#cancel(watched);
        this.#members.delete(key);
      }
    }
    const starting: Watched[] = [];
    for (const target of wanted.values()) {
      const watched = this.#members.get(target.key);
      if (!watched) {
        const added: Watched = { target, count: FRESH_COUNT, since: this.#now(), reason: 'monitoring started', timer: undefined, probing: undefined };
        this.#members.set(target.key, added);
        starting.push(added);
      } else if (!sameProbe(watched.target, target)) {
        this.#cancel(watched);
        watched.target = target;
        watched.count = { ...FRESH_COUNT, status: watched.count.status };
        starting.push(watched);
      } else {
        watched.target = target;
      }
    }
    // The first probes of the members that start together are spread over
    // their delay, so a thousand members do not all connect (or, for PING,
    // start a process) in the same instant, period after period.
    starting.forEach((watched, index) => {
      this.#schedule(watched, Math.floor((index * watched.target.monitor.delay * 1000) / starting.length));
    });
  }

  snapshot(): ReadonlyMap<string, HealthChange> {
    const health = new Map<string, HealthChange>();
    for (const [key, watched] of this.#members) health.set(key, { key, status: watched.count.status, since: watched.since, reason: watched.reason });
    return health;
  }

  /** Cancel every timer and in-flight probe and forget every member. */
  stop(): void {
    for (const watched of this.#members.values()) this.#cancel(watched);
    this.#members.clear();
  }

  #cancel(watched: Watched): void {
    clearTimeout(watched.timer);
    watched.timer = undefined;
    watched.probing?.abort();
    watched.probing = undefined;
  }

  #schedule(watched: Watched, delayMs: number): void {
    // unref: a pending probe never keeps the agent alive.
    watched.timer = setTimeout(() => {
      watched.timer = undefined;
      void this.#probe(watched);
    }, delayMs).unref();
  }

  async #probe(watched: Watched): Promise<void> {
    const { target } = watched;
    const probing = new AbortController();
    watched.probing = probing;
    const started = this.#now();
    let result: ProbeResult;
    try {
      result = await this.#prober.probe(target, target.monitor.timeout * 1000, probing.signal);
    } catch (err) {
      result = { ok: false, error: true, reason: err instanceof Error ? err.message : String(err) };
    }
    // Stopped, removed or restarted meanwhile: this result counts for nothing.
    if (watched.probing !== probing) return;
    watched.probing = undefined;
    const counted = countProbe(watched.count, result, target.monitor);
    watched.count = counted.count;
    if (counted.change !== undefined) {
      watched.since = this.#now();
      watched.reason = counted.change;
      const change: HealthChange = { key: target.key, status: counted.count.status, since: watched.since, reason: counted.change };
      const level = change.status === 'ONLINE' ? 'info' : 'warn';
      this.#logger[level]({ member: change.key, status: change.status, reason: change.reason }, 'load-balancer member health changed');
      try {
        this.#onChange(change);
      } catch (err) {
        this.#logger.error({ err, member: change.key }, 'the member health change could not be acted on');
      }
    }
    // Probes start `delay` apart when they are quicker than that; the clamp
    // keeps a clock step from stalling or racing the member's probing.
    const delayMs = target.monitor.delay * 1000;
    this.#schedule(watched, Math.min(delayMs, Math.max(0, started + delayMs - this.#now())));
  }
}
