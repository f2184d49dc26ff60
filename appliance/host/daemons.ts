// The registry of every daemon the agent supervises: the status API and the
// metrics read it, the subsystems register their daemons in it.
import type { Daemon, DaemonStatus } from './supervisor.js';

/** Every daemon the agent supervises, for status reports and shutdown. */
export class DaemonRegistry {
  readonly #daemons = new Map<string, Daemon>();

  register(daemon: Daemon): Daemon {
    this.#daemons.set(daemon.spec.name, daemon);
    return daemon;
  }

  get(name: string): Daemon | undefined {
    return this.#daemons.get(name);
  }

  status(): DaemonStatus[] {
    return [...this.#daemons.values()].map((d) => d.status());
  }
}
