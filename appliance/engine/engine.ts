// The apply engine: one PUT is one transaction (spec section 5). Subsystems
// are applied in dependency order; each returns an undo step, and on any
// failure the undo steps of every subsystem already touched run in reverse so
// the host ends as it was. Applies are serialised: a PUT waits for the one
// before it, and none interleave.
import type { Logger } from 'pino';
import type { ConfigModel } from '../../contract/index.js';
import type { CommandRunner } from '../host/exec.js';
import { StateStore, type PersistedState } from './store.js';

export interface SubsystemContext {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** Memory this subsystem persisted with the last applied document. */
  readonly memory: unknown;
}

export interface SubsystemOutcome {
  readonly changed: boolean;
  /** Restores what the host had before this apply; run only on failure of a later step. */
  readonly undo?: () => Promise<void>;
  /** New memory to persist with the document (for example routes the agent added). */
  readonly memory?: unknown;
}

/** Host facts a renderer may use: the real interface name behind each generic one. */
export interface RenderHost {
  realName(generic: string): string;
}

/** One subsystem (interfaces, routes, firewall, DHCP, ...): verify, generate, apply. */
export interface Subsystem<Desired = unknown> {
  readonly name: string;
  /** Pure: the desired state for a model. Throws nothing for a valid model. */
  render(model: ConfigModel, host: RenderHost): Desired;
  /** The daemon's own checker on the rendered config; throw to reject (422). */
  check?(desired: Desired, context: SubsystemContext): Promise<void>;
  /** Make the host match `desired`, changing only what differs. */
  apply(desired: Desired, context: SubsystemContext): Promise<SubsystemOutcome>;
  /** Stop what this subsystem runs (supervised daemons) when the agent stops. */
  stop?(): Promise<void>;
}

export interface StepReport {
  readonly subsystem: string;
  readonly changed: boolean;
  readonly commands: number;
  readonly duration_ms: number;
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

export class ApplyEngine {
  readonly #store: StateStore;
  #current: AppliedState | undefined;
  #memory: Record<string, unknown> = {};
  #lastReport: ApplyReport | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #applyCount = 0;
  readonly #reportListeners: ((report: ApplyReport) => void)[] = [];

  constructor(
    stateDir: string,
    private readonly subsystems: readonly Subsystem[],
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
    private readonly host: RenderHost,
  ) {
    this.#store = new StateStore(stateDir);
  }

  get current(): AppliedState | undefined {
    return this.#current;
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

  /** The persisted state, read at start-up (validated by the caller before re-applying). */
  async loadPersisted(): Promise<PersistedState | undefined> {
    const state = await this.#store.load();
    if (state) this.#memory = state.subsystems ?? {};
    return state;
  }

  /**
   * Apply a validated document. `generation` is given when re-applying the
   * persisted document at start-up; otherwise the next number is used.
   */
  apply(document: unknown, model: ConfigModel, generation?: number): Promise<ApplyReport> {
    const run = this.#queue.then(() => this.#applyNow(document, model, generation));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #applyNow(document: unknown, model: ConfigModel, generationOverride?: number): Promise<ApplyReport> {
    const generation = generationOverride ?? (this.#current?.generation ?? (await this.#store.load())?.generation ?? 0) + 1;
    const startedAt = new Date();
    const started = performance.now();
    const steps: StepReport[] = [];
    const undos: { name: string; undo: () => Promise<void> }[] = [];
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

    // Verify and generate for every subsystem before touching anything. The
    // checkers (each a process or two: a throwaway namespace, dnsmasq --test,
    // bird -p) only read and write their own candidate files, so they run
    // side by side; a failure is reported for the first subsystem in order.
    const host = this.host;
    const rendered = new Map<Subsystem, unknown>();
    for (const subsystem of this.subsystems) rendered.set(subsystem, subsystem.render(model, host));
    const checks = await Promise.allSettled(
      this.subsystems.map(async (subsystem) => {
        await subsystem.check?.(rendered.get(subsystem), this.#context(subsystem, memory));
      }),
    );
    const refused = checks.findIndex((c) => c.status === 'rejected');
    if (refused >= 0) {
      const subsystem = this.subsystems[refused]!;
      const error = (checks[refused] as PromiseRejectedResult).reason as unknown;
      finish({ ok: false, failed_step: `${subsystem.name}:check`, error: messageOf(error) });
      throw error instanceof CheckFailedError ? error : new CheckFailedError(subsystem.name, messageOf(error));
    }
    this.runner.takeRecords();

    let step = '';
    try {
      for (const subsystem of this.subsystems) {
        step = subsystem.name;
        const stepStarted = performance.now();
        const outcome = await subsystem.apply(rendered.get(subsystem), this.#context(subsystem, memory));
        if (outcome.undo) undos.push({ name: subsystem.name, undo: outcome.undo });
        if (outcome.memory !== undefined) memory[subsystem.name] = outcome.memory;
        steps.push(this.#step(subsystem.name, outcome.changed, stepStarted));
      }
      step = 'persist';
      const stepStarted = performance.now();
      const appliedAt = new Date().toISOString();
      await this.#store.save({ generation, applied_at: appliedAt, document, subsystems: memory });
      steps.push({ subsystem: 'persist', changed: true, commands: 0, duration_ms: round(performance.now() - stepStarted) });
      this.#current = { generation, appliedAt, document, model };
      this.#memory = memory;
      return finish({ ok: true });
    } catch (error) {
      this.logger.error({ err: error, step }, 'apply failed; rolling back');
      let rolledBack = true;
      for (const { name, undo } of undos.reverse()) {
        try {
          await undo();
        } catch (undoError) {
          rolledBack = false;
          this.logger.error({ err: undoError, subsystem: name }, 'rollback step failed');
        }
      }
      const report = finish({ ok: false, failed_step: step, error: messageOf(error), rolled_back: rolledBack });
      throw new ApplyFailedError(report, `${step}: ${messageOf(error)}`);
    }
  }

  /** Stop every supervised daemon; called once when the agent stops. */
  async shutdown(): Promise<void> {
    await this.#queue;
    for (const subsystem of [...this.subsystems].reverse()) {
      try {
        await subsystem.stop?.();
      } catch (error) {
        this.logger.error({ err: error, subsystem: subsystem.name }, 'stop failed');
      }
    }
  }

  #context(subsystem: Subsystem, memory: Record<string, unknown>): SubsystemContext {
    return { runner: this.runner, logger: this.logger.child({ subsystem: subsystem.name }), memory: memory[subsystem.name] };
  }

  #step(name: string, changed: boolean, started: number): StepReport {
    const commands = this.runner.takeRecords().filter((r) => r.mutating).length;
    return { subsystem: name, changed, commands, duration_ms: round(performance.now() - started) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
