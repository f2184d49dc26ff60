// The debug flags of a cluster, in etcd, so a flag set through any member
// holds on every one: `<prefix>debug/global`, `<prefix>debug/tenant/<id>`,
// `<prefix>debug/resource/<id>`, each holding `{"reason": ...}`. Every
// member keeps a copy, filled by a watch, because the core reads the flags
// for every event; a member out of reach of etcd keeps the flags it last saw
// and refuses changes (the others would not see them).
import type { Logger } from 'pino';
import type { DebugEntry, DebugFlagStore } from '../core/debug-store.js';
import type { EtcdClient, KeyValue, Watch, WatchEvent } from './etcd.js';
import { groupPrefix } from './coordinator.js';

interface Flags {
  global: string | null | undefined;
  readonly tenants: Map<string, string | null>;
  readonly resources: Map<string, string | null>;
}

const reasonOf = (value: string): string | null => {
  try {
    const parsed = JSON.parse(value) as { reason?: unknown };
    return typeof parsed.reason === 'string' ? parsed.reason : null;
  } catch {
    return null;
  }
};

export class EtcdDebugStore implements DebugFlagStore {
  readonly #prefix: string;
  #flags: Flags = { global: undefined, tenants: new Map(), resources: new Map() };
  #watch: Watch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Hears a flag removed by any member, so this one's resources catch up. */
  onCleared: (scope: 'global' | 'tenant' | 'resource', id: string) => void = () => undefined;

  private constructor(
    private readonly client: EtcdClient,
    groupId: string,
    private readonly log: Logger,
    private readonly resyncMs: number,
  ) {
    this.#prefix = `${groupPrefix(groupId)}debug/`;
  }

  /** Read the flags and follow them; a broken watch is resumed every `resyncMs` until etcd answers. */
  static async open(client: EtcdClient, groupId: string, log: Logger, resyncMs: number): Promise<EtcdDebugStore> {
    const store = new EtcdDebugStore(client, groupId, log, resyncMs);
    await store.#resync();
    store.#timer = setInterval(() => {
      if (!store.#watch && !store.#stopped) store.#resync().catch((error: unknown) => store.log.debug({ err: error }, 'debug flags: etcd still out of reach'));
    }, resyncMs);
    return store;
  }

  async #resync(): Promise<void> {
    const { revision, kvs } = await this.client.list(this.#prefix);
    const before = this.#flags;
    this.#flags = { global: undefined, tenants: new Map(), resources: new Map() };
    for (const kv of kvs) this.#set(kv);
    // Flags removed while the watch was down are catch-ups too.
    if (before.global !== undefined && this.#flags.global === undefined) this.onCleared('global', '*');
    for (const id of before.tenants.keys()) if (!this.#flags.tenants.has(id)) this.onCleared('tenant', id);
    for (const id of before.resources.keys()) if (!this.#flags.resources.has(id)) this.onCleared('resource', id);
    if (this.#stopped) return;
    this.#watch = this.client.watch(
      this.#prefix,
      revision + 1n,
      (events) => {
        for (const e of events) this.#event(e);
      },
      (error) => {
        this.#watch = undefined;
        if (!this.#stopped) this.log.warn({ err: error.message }, `debug flags: the watch broke; resuming within ${this.resyncMs} ms`);
      },
    );
  }

  #set(kv: Pick<KeyValue, 'key' | 'value'>): void {
    const path = kv.key.slice(this.#prefix.length);
    const reason = reasonOf(kv.value);
    if (path === 'global') this.#flags.global = reason;
    else if (path.startsWith('tenant/')) this.#flags.tenants.set(path.slice('tenant/'.length), reason);
    else if (path.startsWith('resource/')) this.#flags.resources.set(path.slice('resource/'.length), reason);
  }

  #event(e: WatchEvent): void {
    if (e.type === 'PUT') {
      this.#set(e);
      return;
    }
    const path = e.key.slice(this.#prefix.length);
    if (path === 'global') {
      this.#flags.global = undefined;
      this.onCleared('global', '*');
    } else if (path.startsWith('tenant/')) {
      const id = path.slice('tenant/'.length);
      if (this.#flags.tenants.delete(id)) this.onCleared('tenant', id);
    } else if (path.startsWith('resource/')) {
      const id = path.slice('resource/'.length);
      if (this.#flags.resources.delete(id)) this.onCleared('resource', id);
    }
  }

  global(): { enabled: boolean; reason: string | null } {
    return { enabled: this.#flags.global !== undefined, reason: this.#flags.global ?? null };
  }

  resource(id: string): string | null | undefined {
    return this.#flags.resources.get(id);
  }

  tenant(id: string): string | null | undefined {
    return this.#flags.tenants.get(id);
  }

  resources(): DebugEntry[] {
    return [...this.#flags.resources].map(([id, reason]) => ({ id, reason }));
  }

  tenants(): DebugEntry[] {
    return [...this.#flags.tenants].map(([id, reason]) => ({ id, reason }));
  }

  // Enabling again keeps the first reason, as the original's unique row did: create-if-absent.
  async enableResource(id: string, reason: string | undefined): Promise<void> {
    await this.#enable(`resource/${id}`, reason);
    if (!this.#flags.resources.has(id)) this.#flags.resources.set(id, reason ?? null);
  }

  async disableResource(id: string): Promise<void> {
    await this.client.delete(`${this.#prefix}resource/${id}`);
    this.#flags.resources.delete(id);
  }

  async enableTenant(id: string, reason: string | undefined): Promise<void> {
    await this.#enable(`tenant/${id}`, reason);
    if (!this.#flags.tenants.has(id)) this.#flags.tenants.set(id, reason ?? null);
  }

  async disableTenant(id: string): Promise<void> {
    await this.client.delete(`${this.#prefix}tenant/${id}`);
    this.#flags.tenants.delete(id);
  }

  async enableGlobal(reason: string | undefined): Promise<void> {
    await this.#enable('global', reason);
    if (this.#flags.global === undefined) this.#flags.global = reason ?? null;
  }

  async disableGlobal(): Promise<void> {
    await this.client.delete(`${this.#prefix}global`);
    this.#flags.global = undefined;
  }

  async #enable(path: string, reason: string | undefined): Promise<void> {
    await this.client.create(`${this.#prefix}${path}`, JSON.stringify({ reason: reason ?? null }));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#watch?.cancel();
    this.#watch = undefined;
  }
}
