// The per-resource state machine (the original's astara/state.py), ported
// state for state: the same queue coalescing, the same sticky action, the
// same transitions, the same yield at CalcAction. Deliberate differences, each
// marked where it happens:
// - a DELETE is never held back by the ERROR cool-down (the original
//   busy-looped on it for up to the cool-down);
// - CheckBoot asks the runner to wait `bootCheckIntervalMs` before looking
//   again while the appliance is still booting (the original relied on HTTP
//   timeouts of a VM that does not answer yet; a namespace refuses at once),
//   doubling the wait after the first checks (see bootCheckDelay);
// - a StopInstance that fails waits `stopRetryDelayMs` before trying again
//   instead of spinning;
// - the instance manager is asked for its state once before the first event
//   (the original did that in its constructor), so an appliance that already
//   runs is adopted rather than booted again.
import type { Logger } from 'pino';
import { CLUSTER_REBUILD, CREATE, DELETE, POLL, READ, REBUILD, UPDATE, type Event, type ResourceRef } from './events.js';
import { BOOTING, CONFIGURED, DEGRADED, DOWN, ERROR, GONE, REPLUG, RESTART, UP, type InstanceManagerApi } from './instance-state.js';

/** One step of a resource's life, reported to whoever watches (logs, the admin API, metrics). */
export interface Transition {
  readonly from: string;
  readonly to: string;
  readonly action: string;
  readonly instanceState: string;
}

export interface AutomatonOptions {
  readonly resource: ResourceRef;
  readonly instance: InstanceManagerApi;
  readonly log: Logger;
  readonly queueWarningThreshold: number;
  readonly rebootErrorThreshold: number;
  /** How long CheckBoot lets a booting appliance be before looking again. */
  readonly bootCheckIntervalMs: number;
  /** How long StopInstance waits before retrying a stop that failed. */
  readonly stopRetryDelayMs: number;
  /** The image a REBUILD without one goes back to. */
  readonly defaultImageId?: string | undefined;
  /** Called once, when the resource has been deleted (Exit reached). */
  readonly onDelete: () => void;
  readonly onTransition?: (transition: Transition) => void;
  /** READ: read the appliance's traffic figures (optional; nothing emits READ today). */
  readonly readStats?: () => Promise<void>;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What every state shares: the original's StateParams. */
interface Params {
  readonly options: AutomatonOptions;
  readonly instance: InstanceManagerApi;
  readonly queue: string[];
  readonly log: Logger;
  /** Set by CheckBoot: the runner should wait this long before the next update(). */
  retryDelayMs: number;
  /** CheckBoot passes in a row that found the appliance still booting. */
  bootChecks: number;
}

/** Checks at the full rate before the wait between them starts doubling: a local appliance answers within them. */
const BOOT_CHECKS_AT_FULL_RATE = 8;
/** The longest wait between boot checks. */
const BOOT_CHECK_MAX_MS = 4000;

/**
 * The wait before boot check number `checks` + 1: `intervalMs` for the first
 * checks, then doubling up to BOOT_CHECK_MAX_MS. An appliance that never comes
 * up is otherwise checked every interval until boot_timeout: with 500 such
 * appliances (10% of 5,000 routers, bench O2) those checks took the CPU the
 * other routers' pushes needed.
 */
export function bootCheckDelay(checks: number, intervalMs: number): number {
  const doublings = Math.max(0, checks - BOOT_CHECKS_AT_FULL_RATE);
  return Math.max(intervalMs, Math.min(BOOT_CHECK_MAX_MS, intervalMs * 2 ** Math.min(doublings, 16)));
}

export abstract class State {
  constructor(protected readonly params: Params) {}

  get name(): string {
    return this.constructor.name;
  }

  execute(action: string): Promise<string> {
    return Promise.resolve(action);
  }

  // Subclasses return other states; only the base (and Exit) stays put.
  // eslint-disable-next-line @typescript-eslint/prefer-return-this-type
  transition(_action: string): State {
    return this;
  }

  protected get instance(): InstanceManagerApi {
    return this.params.instance;
  }
}

export class CalcAction extends State {
  // Queue coalescing, exactly as the original: the sticky action absorbs
  // what it implies and stops at the first event that means other work.
  override execute(action: string): Promise<string> {
    const queue = this.params.queue;
    if (queue.includes(DELETE)) return Promise.resolve(DELETE);
    if (this.instance.state === DEGRADED && !queue.includes(CLUSTER_REBUILD)) queue.push(CLUSTER_REBUILD);
    let current: string | undefined = action;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (current === UPDATE && next === CREATE) {
        current = queue.shift();
        continue;
      } else if ((current === CREATE || current === UPDATE || current === CLUSTER_REBUILD) && next === REBUILD) {
        current = queue.shift();
        continue;
      } else if (current === CREATE && next === UPDATE) {
        queue.shift();
        continue;
      } else if (current && next === POLL) {
        queue.shift();
        continue;
      } else if (current && current !== POLL && current !== next) {
        break;
      }
      current = queue.shift();
    }
    return Promise.resolve(current ?? POLL);
  }

  override transition(action: string): State {
    const state = this.instance.state;
    let next: State;
    if (state === GONE) next = new StopInstance(this.params);
    else if (action === DELETE) next = new StopInstance(this.params);
    else if (action === REBUILD) next = new RebuildInstance(this.params);
    else if (action === CLUSTER_REBUILD && (state === DEGRADED || state === DOWN)) next = new CreateInstance(this.params);
    else if (state === BOOTING) next = new CheckBoot(this.params);
    else if (state === DOWN || state === DEGRADED) next = new CreateInstance(this.params);
    else next = new Alive(this.params);

    if (state === ERROR) {
      if (action === POLL) return this;
      // Deviation: a DELETE goes through at once; the cool-down only holds back work that would boot.
      if (this.instance.errorCooldown && action !== DELETE) {
        this.params.log.info({ action }, 'Resource is in ERROR cooldown, ignoring event.');
        return this;
      }
      return new ClearError(this.params, next);
    }
    return next;
  }
}

export class PushUpdate extends State {
  override execute(action: string): Promise<string> {
    this.params.queue.unshift(UPDATE);
    return Promise.resolve(action);
  }

  override transition(_action: string): State {
    return new CalcAction(this.params);
  }
}

export class ClearError extends State {
  constructor(
    params: Params,
    readonly nextState?: State,
  ) {
    super(params);
  }

  override async execute(action: string): Promise<string> {
    await this.instance.clearError();
    return action;
  }

  override transition(_action: string): State {
    return this.nextState ?? new CalcAction(this.params);
  }
}

export class Alive extends State {
  override async execute(action: string): Promise<string> {
    await this.instance.updateState();
    return action;
  }

  override transition(action: string): State {
    const state = this.instance.state;
    if (state === GONE) return new StopInstance(this.params);
    if (state === DOWN || state === DEGRADED) return new CreateInstance(this.params);
    if (action === POLL && state === CONFIGURED) return new CalcAction(this.params);
    if (action === READ && state === CONFIGURED) return new ReadStats(this.params);
    return new ConfigureInstance(this.params);
  }
}

export class CreateInstance extends State {
  override async execute(action: string): Promise<string> {
    const threshold = this.params.options.rebootErrorThreshold;
    if (this.instance.state !== DEGRADED && this.instance.attempts >= threshold) {
      this.params.log.info({ attempts: this.instance.attempts }, `Dropping out of boot loop after ${this.instance.attempts} trials`);
      await this.instance.setError();
      return action;
    }
    await this.instance.boot();
    return action;
  }

  override transition(_action: string): State {
    const state = this.instance.state;
    if (state === GONE) return new StopInstance(this.params);
    if (state === ERROR) return new CalcAction(this.params);
    if (state === DOWN) return new CreateInstance(this.params);
    return new CheckBoot(this.params);
  }
}

export class CheckBoot extends State {
  override async execute(action: string): Promise<string> {
    await this.instance.updateState();
    const state = this.instance.state;
    if (state !== DOWN && state !== GONE) {
      // Come back here on the next pass (the original re-queues even when UP).
      this.params.queue.unshift(action);
    }
    if (state === BOOTING) {
      this.params.retryDelayMs = bootCheckDelay(this.params.bootChecks, this.params.options.bootCheckIntervalMs);
      this.params.bootChecks++;
    } else {
      this.params.bootChecks = 0;
    }
    return action;
  }

  override transition(_action: string): State {
    const state = this.instance.state;
    if (state === REPLUG) return new ReplugInstance(this.params);
    if (state === DOWN || state === GONE) return new StopInstance(this.params);
    if (state === UP) return new ConfigureInstance(this.params);
    return new CalcAction(this.params);
  }
}

export class ReplugInstance extends State {
  override async execute(action: string): Promise<string> {
    await this.instance.replug();
    return action;
  }

  override transition(_action: string): State {
    if (this.instance.state === RESTART) return new StopInstance(this.params);
    return new ConfigureInstance(this.params);
  }
}

export class StopInstance extends State {
  override async execute(action: string): Promise<string> {
    await this.instance.stop();
    const state = this.instance.state;
    if (state === GONE) return DELETE;
    if (state !== DOWN) await (this.params.options.sleep ?? sleep)(this.params.options.stopRetryDelayMs);
    return action;
  }

  override transition(action: string): State {
    const state = this.instance.state;
    if (state !== DOWN && state !== GONE) return this;
    if (state === GONE) return new Exit(this.params);
    if (action === DELETE) return new Exit(this.params);
    return new CreateInstance(this.params);
  }
}

export class RebuildInstance extends State {
  override async execute(_action: string): Promise<string> {
    await this.instance.stop();
    const state = this.instance.state;
    if (state === GONE) return DELETE;
    if (state !== DOWN) await (this.params.options.sleep ?? sleep)(this.params.options.stopRetryDelayMs);
    this.instance.resetBootCounter();
    return CREATE;
  }

  override transition(_action: string): State {
    const state = this.instance.state;
    if (state !== DOWN && state !== GONE) return this;
    if (state === GONE) return new Exit(this.params);
    return new CreateInstance(this.params);
  }
}

export class ConfigureInstance extends State {
  override async execute(action: string): Promise<string> {
    await this.instance.configure();
    if (this.instance.state === CONFIGURED) return action === READ ? READ : POLL;
    return action;
  }

  override transition(action: string): State {
    const state = this.instance.state;
    if (state === REPLUG) return new ReplugInstance(this.params);
    if (state === RESTART || state === DOWN || state === GONE) return new StopInstance(this.params);
    if (state === UP) return new PushUpdate(this.params);
    if (action === READ) return new ReadStats(this.params);
    return new CalcAction(this.params);
  }
}

export class ReadStats extends State {
  override async execute(_action: string): Promise<string> {
    await this.params.options.readStats?.();
    return POLL;
  }

  override transition(_action: string): State {
    return new CalcAction(this.params);
  }
}

export class Exit extends State {}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One resource's state machine: a queue of events and the state it is in. */
export class Automaton {
  readonly resource: ResourceRef;
  #state: State;
  #action: string = POLL;
  #deleted = false;
  #initialised = false;
  readonly #params: Params;
  #onDelete: (() => void) | undefined;

  constructor(private readonly options: AutomatonOptions) {
    this.resource = options.resource;
    this.#params = { options, instance: options.instance, queue: [], log: options.log, retryDelayMs: 0, bootChecks: 0 };
    this.#state = new CalcAction(this.#params);
    this.#onDelete = options.onDelete;
  }

  get state(): State {
    return this.#state;
  }

  get stateName(): string {
    return this.#state.name;
  }

  /** The sticky action: what the last pass was doing, kept until it succeeds. */
  get action(): string {
    return this.#action;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  get queue(): readonly string[] {
    return this.#params.queue;
  }

  get instance(): InstanceManagerApi {
    return this.options.instance;
  }

  /** Queue an event; false when it is dropped (deleted resource, POLL while in ERROR). */
  sendMessage(message: Event): boolean {
    const log = this.options.log;
    if (this.#deleted) {
      log.debug({ crud: message.crud }, 'resource has been deleted, ignoring message');
      return false;
    }
    if (message.crud === POLL && this.instance.state === ERROR) {
      log.info({ crud: message.crud }, 'Resource status is ERROR, ignoring POLL message');
      return false;
    }
    if (message.crud === REBUILD) {
      // The original kept the image only in a field nobody read; here it is the next boot's image.
      const body = message.body;
      const image = [body.image_uuid, body.resource_image_uuid, body.router_image_uuid].find((v): v is string => typeof v === 'string' && v !== '');
      this.instance.imageId = image ?? this.options.defaultImageId;
    }
    this.#params.queue.push(message.crud);
    const length = this.#params.queue.length;
    if (length > this.options.queueWarningThreshold) log.warn({ queue_length: length }, `incoming message brings queue length to ${length}`);
    else log.debug({ queue_length: length }, `incoming message brings queue length to ${length}`);
    return true;
  }

  hasMoreWork(): boolean {
    return !this.#deleted && this.#params.queue.length > 0;
  }

  hasError(): boolean {
    return this.instance.state === ERROR;
  }

  dropQueue(): void {
    this.#params.queue.length = 0;
  }

  /** How long the runner should wait before the next update() (0: at once). Reading it resets it. */
  takeRetryDelay(): number {
    const delay = this.#params.retryDelayMs;
    this.#params.retryDelayMs = 0;
    return delay;
  }

  /**
   * Run from CalcAction through as many states as it takes to reach
   * CalcAction again (or Exit). Nothing happens when the queue is empty.
   */
  async update(): Promise<void> {
    if (this.#params.queue.length === 0) return;
    if (!this.#initialised) {
      this.#initialised = true;
      try {
        await this.instance.updateState();
      } catch (error) {
        this.options.log.error({ err: error }, 'could not read the appliance state before the first event');
      }
    }
    for (;;) {
      if (this.#deleted) return;
      const from = this.#state;
      try {
        this.#action = await from.execute(this.#action);
      } catch (error) {
        this.options.log.error({ err: error, state: from.name, action: this.#action }, `${from.name}.execute() failed for action: ${this.#action}`);
      }
      this.#state = from.transition(this.#action);
      this.options.onTransition?.({ from: from.name, to: this.#state.name, action: this.#action, instanceState: this.instance.state });
      if (this.#state instanceof CalcAction) return;
      if (this.#state instanceof Exit) {
        this.#doDelete();
        return;
      }
    }
  }

  #doDelete(): void {
    const callback = this.#onDelete;
    this.#onDelete = undefined;
    this.#deleted = true;
    callback?.();
  }
}

/** For unit tests of single states: the parameters a state is built with. */
export function stateParams(options: AutomatonOptions, queue: string[] = []): Params {
  return { options, instance: options.instance, queue, log: options.log, retryDelayMs: 0, bootChecks: 0 };
}

export type { Params as StateParams };
