// The apply engine: one PUT is one transaction (spec section 5). Every
// subsystem (the contract is subsystem.ts) is rendered and checked before
// anything is touched; then they are applied in dependency order, each
// returning an undo step, and on any failure the undo steps of every
// subsystem already applied run in reverse so the host ends as it was.
// Applies are serialised: a PUT waits for the one before it.
//
// A delta (one floating IP, one allocation) should cost what it changes, not
// what the router holds. So while the host is verified to still hold what
// the last successful apply left (the re-push fingerprint, repush.ts), a
// subsystem whose rendered desired state is structurally equal to the one
// that apply used is skipped: no check, no apply, no read. Anything else is
// applied in full, as always: no verified live state, `full` asked (a PUT
// with `Cache-Control: no-cache`), a failed or start-up apply since, or an
// earlier step in this apply that removed host state later ones build on
// (`Applied.unsettling`: an address gone takes the kernel's routes with it).
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { ConfigModel } from '../../contract/index.js';
import type { CommandRunner } from '../host/exec.js';
import { StateStore, type PersistedState } from './store.js';
import type { AnySubsystem, ApplyContext, FirewallContribution, FirewallRenderHost, RenderHost } from './subsystem.js';

export type { Applied, ApplyContext, CheckContext, RenderHost, Subsystem } from './subsystem.js';

export interface StepReport {
  readonly subsystem: string;
  readonly changed: boolean;
  readonly commands: number;
  /** Commands that only read the host (the state a step compares with). */
  readonly reads: number;
  readonly duration_ms: number;
  /** Not checked nor applied: its desired state is the last apply's and the host is verified to hold it. */
  readonly skipped?: true;
}

export interface ApplyOptions {
  /** Check and apply every subsystem, whatever the host is verified to hold (`Cache-Control: no-cache`). */
  readonly full?: boolean;
}

/** The last successful apply's rendered desired states, by subsystem name. */
interface AppliedDesired {
  readonly generation: number;
  readonly desired: ReadonlyMap<string, unknown>;
}

export interface ApplyReport {
  readonly generation: number;
  readonly ok: boolean;
  readonly started_at: string;
  readonly duration_ms: number;
  readonly steps: StepReport[];
  readonly failed_step?: string;
  readonly error?: string;
  readonly rolled_back?: boolean;
  /** A re-push of the document the host was verified to hold: answered without validating or applying it (see repush.ts). */
  readonly reused?: boolean;
}

export interface AppliedState {
  readonly generation: number;
  readonly appliedAt: string;
  readonly document: unknown;
  readonly model: ConfigModel;
}

/** A configuration a daemon's own checker refused: the client's fault (422). */
export class CheckFailedError extends Error {
  constructor(
    readonly subsystem: string,
    message: string,
  ) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

/** An apply that failed on the host and was rolled back (500). */
export class ApplyFailedError extends Error {
  constructor(
    readonly report: ApplyReport,
    message: string,
  ) {
    super(message);
    this.name = 'ApplyFailedError';
  }
}

/** Why the host does not hold the desired document yet (a start-up re-apply that failed and is being retried). */
export interface DegradedState {
  readonly reason: string;
  readonly since: string;
  readonly attempts: number;
}

/** The longest wait between two attempts to re-apply the persisted document. */
const MAX_RESTORE_BACKOFF_MS = 30_000;

export class ApplyEngine {
  readonly #store: StateStore;
  #current: AppliedState | undefined;
  #degraded: DegradedState | undefined;
  #restoreTimer: NodeJS.Timeout | undefined;
  /** Every subsystem's memory by its key: what the host holds that the agent owns. */
  #memory: Record<string, unknown> = {};
  #lastReport: ApplyReport | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Tasks queued or running in `exclusive`. */
  #pending = 0;
  #applyCount = 0;
  #appliedDesired: AppliedDesired | undefined;
  /** Whether the host is verified to still hold what the apply of a generation left; never, until told (trustLiveState). */
  #liveVerified: (generation: number) => boolean = () => false;
  readonly #reportListeners: ((report: ApplyReport) => void)[] = [];

  constructor(
    stateDir: string,
    private readonly subsystems: readonly AnySubsystem[],
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
    private readonly host: RenderHost,
  ) {
    this.#store = new StateStore(stateDir);
    const keys = subsystems.flatMap((s) => (s.memory ? [s.memory.key] : []));
    if (new Set(keys).size !== keys.length) throw new Error(`two subsystems share a memory key: ${keys.join(', ')}`);
  }

  get current(): AppliedState | undefined {
    return this.#current;
  }

  /** Set while the desired document is not (yet) on the host; the status reports it. */
  get degraded(): DegradedState | undefined {
    return this.#degraded;
  }

  get lastReport(): ApplyReport | undefined {
    return this.#lastReport;
  }

  get applyCount(): number {
    return this.#applyCount;
  }

  /** Call `listener` with the report of every apply, successful or not. */
  onReport(listener: (report: ApplyReport) => void): void {
    this.#reportListeners.push(listener);
  }

  /**
   * The persisted state, read at start-up (validated by the caller before
   * re-applying). The memory is the write-ahead record when an apply was
   * interrupted: it names everything that apply may have left.
   */
  async loadPersisted(): Promise<PersistedState | undefined> {
    const state = await this.#store.load();
    this.#memory = (await this.#store.loadOwnership()) ?? state?.subsystems ?? {};
    return state;
  }

  /** Apply a validated document (one transaction; the next generation). */
  apply(document: unknown, model: ConfigModel, options: ApplyOptions = {}): Promise<ApplyReport> {
    return this.exclusive(() => this.#applyNow(document, model, undefined, true, options.full ?? false));
  }

  /**
   * How to tell, when an apply starts, that the host still holds what the
   * apply of `generation` left (the re-push guard's verification): only then
   * are subsystems with an unchanged desired state skipped.
   */
  trustLiveState(verified: (generation: number) => boolean): void {
    this.#liveVerified = verified;
  }

  /**
   * Start-up: the persisted document is the desired state. It is applied
   * without rolling back a failure (the host only ever gets closer to it:
   * daemons that started keep running); if that fails it stays the desired
   * state (answered by GET, the generation kept, the status degraded) and is
   * tried again with backoff until it holds or a newer document replaces it.
   */
  restore(document: unknown, model: ConfigModel, generation: number, appliedAt: string): Promise<void> {
    this.#current = { generation, appliedAt, document, model };
    return this.#attemptRestore(generation, 0);
  }

  /** The persisted document cannot be applied at all (it no longer validates on this host): say so. */
  markDegraded(reason: string): void {
    this.#degraded = { reason, since: new Date().toISOString(), attempts: 0 };
  }

  async #attemptRestore(generation: number, attempt: number): Promise<void> {
    const desired = this.#current;
    if (!desired || desired.generation !== generation) return;
    try {
      await this.exclusive(() => this.#applyNow(desired.document, desired.model, generation, false, true));
    } catch (error) {
      // A newer document may have replaced this one meanwhile: then there is nothing to retry.
      if (this.#current?.generation !== generation || (this.#lastReport?.ok && this.#lastReport.generation > generation)) return;
      const delay = Math.min(1000 * 2 ** attempt, MAX_RESTORE_BACKOFF_MS);
      this.#degraded = { reason: messageOf(error), since: this.#degraded?.since ?? new Date().toISOString(), attempts: attempt + 1 };
      this.logger.error({ err: error, attempt: attempt + 1, retry_in_ms: delay }, 'the persisted configuration could not be re-applied; trying again');
      this.#restoreTimer = setTimeout(() => void this.#attemptRestore(generation, attempt + 1), delay);
      this.#restoreTimer.unref();
    }
  }

  /**
   * Run `task` in the queue of applies: after the apply in progress, before
   * the next. For what changes the host outside a PUT (a health monitor's
   * nginx reload), so that it never interleaves with an apply.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = this.#queue.then(task).finally(() => this.#pending--);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** No apply (nor other exclusive task) is running or waiting. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * Report a re-push answered without applying (the document is the one the
   * host holds, as verified): the generation stays, every subsystem is
   * reported unchanged with no command. Only while idle, so that it cannot
   * overtake an apply queued before it.
   */
  reuse(): ApplyReport {
    const current = this.#current;
    if (!current || !this.idle) throw new Error('a re-push can only be reused while the engine is idle and holds a document');
    const report: ApplyReport = {
      generation: current.generation,
      ok: true,
      started_at: new Date().toISOString(),
      duration_ms: 0,
      steps: this.subsystems.map((s) => ({ subsystem: s.name, changed: false, commands: 0, reads: 0, duration_ms: 0 })),
      reused: true,
    };
    this.#lastReport = report;
    for (const listener of this.#reportListeners) listener(report);
    return report;
  }

  /**
   * The desired states the host is verified to hold, when this apply may
   * skip what did not change: the last apply succeeded, is the current
   * generation, and the host was verified since.
   */
  #trustedDesired(full: boolean): ReadonlyMap<string, unknown> | undefined {
    const applied = this.#appliedDesired;
    const { generation } = this.#current ?? {};
    if (full || !applied || applied.generation !== generation || this.#degraded) return undefined;
    if (!this.#lastReport?.ok || this.#lastReport.generation !== generation || !this.#liveVerified(generation)) return undefined;
    return applied.desired;
  }

  async #applyNow(document: unknown, model: ConfigModel, generationOverride: number | undefined, rollback: boolean, full: boolean): Promise<ApplyReport> {
    const generation = generationOverride ?? (this.#current?.generation ?? (await this.#store.load())?.generation ?? 0) + 1;
    const startedAt = new Date();
    const started = performance.now();
    const steps: StepReport[] = [];
    const undos: { name: string; undo: () => Promise<void> }[] = [];
    const commits: (() => Promise<void>)[] = [];
    // A working copy: what remember() and each apply add, kept (as a superset of
    // what the host may hold) even when the apply fails.
    const memory: Record<string, unknown> = { ...this.#memory };
    this.runner.setRecording(true);
    this.#applyCount++;

    const finish = (extra: Partial<ApplyReport>): ApplyReport => {
      const report: ApplyReport = {
        generation,
        ok: extra.ok ?? true,
        started_at: startedAt.toISOString(),
        duration_ms: round(performance.now() - started),
        steps,
        ...extra,
      };
      this.#lastReport = report;
      this.runner.setRecording(false);
      for (const listener of this.#reportListeners) listener(report);
      return report;
    };

    const trusted = this.#trustedDesired(full);
    this.#appliedDesired = undefined;
    let step = 'render';
    try {
      const rendered = this.#render(model, (name) => (step = `${name}:render`));
      const unchanged = new Set(trusted ? this.subsystems.filter((s) => trusted.has(s.name) && isDeepStrictEqual(trusted.get(s.name), rendered.get(s))) : []);
      step = 'check';
      // An unchanged desired state passed its check when it was applied: checks read nothing but it.
      await this.#check(rendered, memory, finish, unchanged);
      this.runner.takeRecords();
      let unsettled = false;
      for (const subsystem of this.subsystems) {
        step = subsystem.name;
        const stepStarted = performance.now();
        if (unchanged.has(subsystem) && !unsettled) {
          steps.push({ ...this.#step(subsystem.name, false, stepStarted), skipped: true });
          continue;
        }
        const previous = trusted && !unsettled ? trusted.get(subsystem.name) : undefined;
        const outcome = await subsystem.apply(rendered.get(subsystem), this.#context(subsystem, memory), previous);
        if (outcome.undo) undos.push({ name: subsystem.name, undo: outcome.undo });
        if (outcome.commit) commits.push(outcome.commit);
        if (subsystem.memory && outcome.memory !== undefined) memory[subsystem.memory.key] = outcome.memory;
        unsettled ||= outcome.unsettling === true;
        steps.push(this.#step(subsystem.name, outcome.changed, stepStarted));
      }
      step = 'persist';
      const stepStarted = performance.now();
      const appliedAt = new Date().toISOString();
      await this.#store.save({ generation, applied_at: appliedAt, document, subsystems: memory });
      steps.push({ subsystem: 'persist', changed: true, commands: 0, reads: 0, duration_ms: round(performance.now() - stepStarted) });
      this.#current = { generation, appliedAt, document, model };
      this.#appliedDesired = { generation, desired: new Map(this.subsystems.map((s) => [s.name, rendered.get(s)])) };
      this.#memory = memory;
      this.#degraded = undefined;
      clearTimeout(this.#restoreTimer);
      for (const commit of commits) await commit().catch((error: unknown) => this.logger.warn({ err: error }, 'could not drop a copy kept for undo'));
      return finish({ ok: true });
    } catch (error) {
      if (error instanceof CheckFailedError) throw error;
      this.logger.error({ err: error, step }, 'apply failed; rolling back');
      let rolledBack = rollback;
      for (const { name, undo } of rollback ? undos.reverse() : []) {
        try {
          await undo();
        } catch (undoError) {
          rolledBack = false;
          this.logger.error({ err: undoError, subsystem: name }, 'rollback step failed');
        }
      }
      // Without a rollback the changes stay: so do their files.
      if (!rollback) for (const commit of commits) await commit().catch(() => undefined);
      // What was remembered stays: it may name host state an undo could not take back.
      this.#memory = memory;
      const report = finish({ ok: false, failed_step: step, error: messageOf(error), rolled_back: rolledBack });
      throw new ApplyFailedError(report, `${step}: ${messageOf(error)}`);
    }
  }

  /** Every subsystem's desired state; the firewall last, with what the others need from it. */
  #render(model: ConfigModel, onStep: (name: string) => void): Map<AnySubsystem, unknown> {
    const rendered = new Map<AnySubsystem, unknown>();
    const contributions: FirewallContribution[] = [];
    const host: FirewallRenderHost = { realName: (generic) => this.host.realName(generic), contributions };
    const ordered = [...this.subsystems.filter((s) => !s.collectsFirewall), ...this.subsystems.filter((s) => s.collectsFirewall)];
    for (const subsystem of ordered) {
      onStep(subsystem.name);
      const desired: unknown = subsystem.render(model, host);
      rendered.set(subsystem, desired);
      const rules = subsystem.firewall?.(desired, model, host);
      if (rules && rules.length > 0) contributions.push({ subsystem: subsystem.name, rules });
    }
    return rendered;
  }

  /**
   * Every subsystem's checker, before anything is touched. The checkers (each
   * a process or two: a throwaway namespace, dnsmasq --test, bird -p) only
   * read and write their own candidate files, so they run side by side; a
   * refusal is reported for the first subsystem in order.
   */
  async #check(rendered: Map<AnySubsystem, unknown>, memory: Record<string, unknown>, finish: (extra: Partial<ApplyReport>) => ApplyReport, unchanged: ReadonlySet<AnySubsystem>): Promise<void> {
    const checks = await Promise.allSettled(
      this.subsystems.map(async (subsystem) => {
        if (unchanged.has(subsystem)) return;
        const { runner, logger } = this.#context(subsystem, memory);
        await subsystem.check?.(rendered.get(subsystem), { runner, logger });
      }),
    );
    const refused = checks.findIndex((c) => c.status === 'rejected');
    if (refused < 0) return;
    const subsystem = this.subsystems[refused]!;
    const error = (checks[refused] as PromiseRejectedResult).reason as unknown;
    if (!(error instanceof CheckFailedError) && isHostFailure(error)) {
      // Not the document's fault: the host could not run the check (a full disk, a missing binary).
      throw new Error(`${subsystem.name} check could not run: ${messageOf(error)}`);
    }
    finish({ ok: false, failed_step: `${subsystem.name}:check`, error: messageOf(error) });
    throw error instanceof CheckFailedError ? error : new CheckFailedError(subsystem.name, messageOf(error));
  }

  /** Stop every supervised daemon; called once when the agent stops. */
  async shutdown(): Promise<void> {
    clearTimeout(this.#restoreTimer);
    await this.#queue;
    for (const subsystem of [...this.subsystems].reverse()) {
      try {
        await subsystem.stop?.();
      } catch (error) {
        this.logger.error({ err: error, subsystem: subsystem.name }, 'stop failed');
      }
    }
  }

  #context(subsystem: AnySubsystem, memory: Record<string, unknown>): ApplyContext<unknown> {
    const spec = subsystem.memory;
    return {
      runner: this.runner,
      logger: this.logger.child({ subsystem: subsystem.name }),
      memory: spec ? spec.parse(memory[spec.key]) : undefined,
      remember: async (value: unknown) => {
        if (!spec) throw new Error(`${subsystem.name} has no memory to remember with`);
        memory[spec.key] = value;
        await this.#store.saveOwnership(memory);
      },
    };
  }

  #step(name: string, changed: boolean, started: number): StepReport {
    const records = this.runner.takeRecords();
    const commands = records.filter((r) => r.mutating).length;
    return { subsystem: name, changed, commands, reads: records.length - commands, duration_ms: round(performance.now() - started) };
  }
}

/** Errors of the host itself (the file system, a command that cannot start), as opposed to a refusal of the content. */
function isHostFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'ENOENT', 'EMFILE', 'ENFILE'].includes(code);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
