// Orchestrators push the same document again and again (a periodic re-sync,
// several orchestrators after a failover). Validating, rendering and reading
// the whole host for it costs 50-180 ms and grows with the router, yet
// answers the same thing while the host still holds what the last apply left.
// So a PUT whose body has the same bytes as the last applied one, with the
// same generation still current, is answered from what that apply answered,
// with no command, while the host is *verified*: its live-state fingerprint
// (host/live-state.ts) equals the one taken right after that apply. A timer
// verifies it again every period; a verification that finds the fingerprint
// moved marks the host *drifted*, and from then on the same document is
// applied in full again (which repairs it), as is any PUT sent with
// `Cache-Control: no-cache`. A different document is applied as a delta
// while the host is verified: the engine skips the subsystems it does not
// change (engine.ts).
import type { Logger } from 'pino';
import { driftedParts, type LiveFingerprint } from '../host/live-state.js';
import type { ApplyEngine } from './engine.js';

/** What the agent knows of the live state against the last applied document. */
export type LiveCondition = 'unverified' | 'verified' | 'drifted';

export interface LiveState {
  readonly condition: LiveCondition;
  /** When the condition was last established (an apply, a verification). */
  readonly since: string;
}

interface AppliedBody {
  readonly bodyHash: string;
  readonly generation: number;
  /** The answer that apply gave, byte for byte. */
  readonly answer: string;
}

export class RepushGuard {
  #applied: AppliedBody | undefined;
  #baseline: LiveFingerprint | undefined;
  #state: LiveState = { condition: 'unverified', since: new Date().toISOString() };
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Pick<ApplyEngine, 'current' | 'degraded' | 'lastReport' | 'idle' | 'applyCount'>,
    private readonly readFingerprint: () => Promise<LiveFingerprint>,
    private readonly logger: Logger,
    /** How often the host is verified; 0 never, and then no re-push is reused. */
    private readonly periodMs: number,
  ) {}

  get state(): LiveState {
    return this.#state;
  }

  /**
   * The answer to a PUT of a body with `bodyHash`, when it can be given
   * without applying: the same bytes as the last applied body, that apply's
   * generation still current and its report the last one, nothing queued,
   * and the host verified since. Undefined means: apply it in full.
   */
  answerFor(bodyHash: string): string | undefined {
    const applied = this.#applied;
    if (applied?.bodyHash !== bodyHash || this.#state.condition !== 'verified') return undefined;
    const { current, lastReport } = this.engine;
    if (current?.generation !== applied.generation || this.engine.degraded || !this.engine.idle) return undefined;
    if (!lastReport?.ok || lastReport.generation !== applied.generation) return undefined;
    return applied.answer;
  }

  /**
   * The host is verified to still hold what the apply of `generation` left:
   * the engine then skips the subsystems a new document does not change.
   */
  verifiedFor(generation: number): boolean {
    return this.#state.condition === 'verified' && this.#applied?.generation === generation;
  }

  /** A full apply of `bodyHash` answered `answer`: its fingerprint is taken next, in the background. */
  applied(bodyHash: string, generation: number, answer: string): void {
    this.#applied = { bodyHash, generation, answer };
    this.#baseline = undefined;
    this.#set('unverified');
    if (this.periodMs > 0) void this.verify();
  }

  /**
   * Fingerprint the host. The first fingerprint after an apply is the
   * baseline; each later one is compared with it. A fingerprint taken while
   * an apply ran (or started) is thrown away: it may hold half of one.
   */
  async verify(): Promise<LiveState> {
    const applied = this.#applied;
    if (this.periodMs <= 0 || !applied || this.#state.condition === 'drifted' || !this.engine.idle) return this.#state;
    const applies = this.engine.applyCount;
    let fingerprint: LiveFingerprint;
    try {
      fingerprint = await this.readFingerprint();
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot read the live state to verify it; the next re-push is applied in full');
      this.#set('unverified');
      return this.#state;
    }
    if (this.#applied !== applied || this.engine.applyCount !== applies || !this.engine.idle) return this.#state;
    this.#baseline ??= fingerprint;
    const drifted = driftedParts(this.#baseline, fingerprint);
    if (drifted.length === 0) {
      this.#set('verified');
    } else {
      this.logger.warn({ generation: applied.generation, drifted }, 'the live state no longer matches the applied document: the next push of it is applied in full');
      this.#set('drifted');
    }
    return this.#state;
  }

  /** Verify every period, from now on. */
  start(): void {
    if (this.periodMs <= 0) return;
    const tick = () => {
      void this.verify().finally(() => {
        this.#timer = setTimeout(tick, this.periodMs);
        this.#timer.unref();
      });
    };
    this.#timer = setTimeout(tick, this.periodMs);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #set(condition: LiveCondition): void {
    this.#state = { condition, since: new Date().toISOString() };
  }
}
