// The VRRP state of an HA pair member, as the ha subsystem learns it from
// keepalived, shared with what follows it: the routing subsystem (router
// advertisements only from the master) and the API (status and metrics).
// Subsystems never import each other; this is the one place they meet.

/**
 * keepalived's words: INIT until it has said anything (or when there is
 * nothing to share), then BACKUP, MASTER, FAULT (a tracked link is down), or
 * STOP (keepalived does not run).
 */
export type VrrpRole = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export const VRRP_ROLES: readonly VrrpRole[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

export interface VrrpStatus {
  readonly state: VrrpRole;
  /** When the appliance entered that state (ISO 8601). */
  readonly since: string;
  /** The peer's management address. */
  readonly peer: string;
  /** State changes since the agent started. */
  readonly transitions: number;
}

export class VrrpState {
  #status: VrrpStatus | undefined;
  readonly #listeners: ((status: VrrpStatus | undefined) => void)[] = [];

  /** Undefined when the applied document is not an HA pair member. */
  get status(): VrrpStatus | undefined {
    return this.#status;
  }

  /** Whether the appliance holds the pair's addresses now. */
  get master(): boolean {
    return this.#status?.state === 'MASTER';
  }

  /** Called after every change of state (or of peer, or of being an HA member at all). */
  onChange(listener: (status: VrrpStatus | undefined) => void): void {
    this.#listeners.push(listener);
  }

  /** Enter `state` with `peer` (undefined: not an HA member); a repeat of the current state changes nothing. */
  set(state: VrrpRole | undefined, peer: string | undefined, now = new Date()): void {
    const current = this.#status;
    if (state === undefined || peer === undefined) {
      if (current === undefined) return;
      this.#status = undefined;
    } else {
      if (current?.state === state && current.peer === peer) return;
      const changed = current !== undefined && current.state !== state;
      this.#status = {
        state,
        since: current?.state === state ? current.since : now.toISOString(),
        peer,
        transitions: (current?.transitions ?? 0) + (changed ? 1 : 0),
      };
    }
    for (const listener of this.#listeners) listener(this.#status);
  }
}
