// What the live feed last said: every resource and the workers, with the
// views that want to hear when it changes.
import type { Resource, Workers } from './api.js';

export type Listener = (changed: ReadonlySet<string> | 'all') => void;

export class Store {
  readonly resources = new Map<string, Resource>();
  workers: Workers | undefined;
  status: 'connecting' | 'live' | 'reconnecting' | 'unauthorized' = 'connecting';
  /** True once the first snapshot arrived. */
  loaded = false;
  readonly #listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(resources: readonly Resource[], workers: Workers): void {
    this.resources.clear();
    for (const r of resources) this.resources.set(r.id, r);
    this.workers = workers;
    this.loaded = true;
    this.#notify('all');
  }

  update(resource: Resource): void {
    this.resources.set(resource.id, resource);
    this.#notify(new Set([resource.id]));
  }

  remove(id: string): void {
    this.resources.delete(id);
    this.#notify(new Set([id]));
  }

  setWorkers(workers: Workers): void {
    this.workers = workers;
    this.#notify(new Set());
  }

  setStatus(status: Store['status']): void {
    this.status = status;
    this.#notify(new Set());
  }

  #notify(changed: ReadonlySet<string> | 'all'): void {
    for (const listener of this.#listeners) listener(changed);
  }
}
