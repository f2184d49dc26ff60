// Membership of an orchestrator group in etcd, and the ownership it implies
// (the original's coordination process, over etcd instead of tooz): each
// member keeps the key `<prefix>members/<host>` bound to a lease it renews
// every heartbeat, and watches the prefix, so every member sees joins and
// leaves (a member that stops renewing is gone when its lease expires). The
// hash ring over the live members says who owns what.
//
// Out of reach of etcd, a member keeps the last ring it saw: it goes on
// serving what it owns, takes nothing new, and says so, until etcd answers
// again (then it rejoins if its lease expired meanwhile, and resyncs).
import type { Logger } from 'pino';
import type { ClusterView, Ownership } from '../core/ownership.js';
import type { EtcdClient, Watch, WatchEvent } from './etcd.js';
import { buildHashRing, hostsFor, type HashRing } from './hash-ring.js';

export interface CoordinatorOptions {
  readonly client: EtcdClient;
  /** `[coordination] group_id`: the members of one group share the resources. */
  readonly groupId: string;
  /** `[DEFAULT] host`: this member's name on the ring. */
  readonly host: string;
  readonly heartbeatMs: number;
  readonly leaseTtlS: number;
  readonly partitionExponent: number;
  readonly log: Logger;
}

/** Where a group keeps its keys. */
export const groupPrefix = (groupId: string): string => `/astara/${groupId}/`;

const sameMembers = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((m, i) => m === b[i]);

export class EtcdCoordinator implements Ownership {
  readonly enabled = true;
  readonly ready: Promise<void>;
  #resolveReady: () => void = () => undefined;
  readonly #options: CoordinatorOptions;
  readonly #membersPrefix: string;
  #members: string[] = [];
  #ring: HashRing;
  #lease: string | undefined;
  #watch: Watch | undefined;
  #problem: string | null = 'not joined yet';
  /** When the lease was last renewed: until its time-to-live runs out, this member is still one. */
  #renewedAt = 0;
  #rebalances = 0;
  #timer: NodeJS.Timeout | undefined;
  #beating = false;
  #stopped = false;
  readonly #listeners: ((members: readonly string[]) => void)[] = [];

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#membersPrefix = `${groupPrefix(options.groupId)}members/`;
    this.#ring = buildHashRing([], options.partitionExponent);
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** Hear every rebalance after the first (the members, sorted). */
  onRebalance(listener: (members: readonly string[]) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Join the group and learn its members (the first rebalance). A key of the
   * same host left by a member that died is waited out (at most its lease's
   * time-to-live); one that stays means another live member has this name.
   */
  async start(): Promise<void> {
    const { client, host, leaseTtlS, heartbeatMs } = this.#options;
    const deadline = Date.now() + (leaseTtlS + 2) * 1000;
    for (;;) {
      const lease = await client.grant(leaseTtlS);
      if (await client.create(this.#memberKey(), JSON.stringify({ host, since: new Date().toISOString() }), lease)) {
        this.#lease = lease;
        this.#renewedAt = Date.now();
        break;
      }
      await client.revoke(lease).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`[DEFAULT] host ${host}: another live member of [coordination] group_id ${this.#options.groupId} has this name`);
      await new Promise((resolve) => setTimeout(resolve, heartbeatMs));
    }
    await this.#resync();
    this.#setProblem(null);
    this.#options.log.info({ members: this.#members, lease: this.#lease }, 'joined the orchestrator group');
    this.#timer = setInterval(() => void this.#heartbeat(), heartbeatMs);
  }

  #memberKey(): string {
    return `${this.#membersPrefix}${this.#options.host}`;
  }

  /** Renew the lease (rejoining when it expired), and resync the members when the watch broke. */
  async #heartbeat(): Promise<void> {
    if (this.#beating || this.#stopped) return;
    this.#beating = true;
    const { client, host, leaseTtlS } = this.#options;
    try {
      const ttl = this.#lease === undefined ? 0 : await client.keepAlive(this.#lease);
      if (ttl <= 0) {
        // The lease expired while etcd could not be reached: join again under a new one.
        const lease = await client.grant(leaseTtlS);
        await client.put(this.#memberKey(), JSON.stringify({ host, since: new Date().toISOString() }), lease);
        this.#lease = lease;
        this.#options.log.warn({ lease }, 'the membership lease had expired; joined the group again');
      }
      this.#renewedAt = Date.now();
      if (!this.#watch) await this.#resync();
      this.#setProblem(null);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A failed renewal or two (an etcd member dying, a leader election) change nothing while the lease
      // certainly holds; only when it may be about to expire does this member stop taking new resources.
      if (Date.now() - this.#renewedAt >= leaseTtlS * 1000 - this.#options.heartbeatMs) this.#setProblem(message);
      else this.#options.log.warn({ problem: message }, 'etcd did not answer a heartbeat; the lease still holds');
    } finally {
      this.#beating = false;
    }
  }

  #setProblem(problem: string | null): void {
    if (problem === this.#problem) return;
    const before = this.#problem;
    this.#problem = problem;
    if (problem === null) {
      if (before !== 'not joined yet') this.#options.log.info('etcd answers again: taking new resources again');
    } else if (before === null) {
      this.#options.log.error({ problem }, 'lost etcd: serving the resources this orchestrator owns, taking no new ones until it answers');
    }
  }

  /** Read the members afresh and watch for changes from there on. */
  async #resync(): Promise<void> {
    this.#watch?.cancel();
    this.#watch = undefined;
    const { revision, kvs } = await this.#options.client.list(this.#membersPrefix);
    const members = new Set(kvs.map((kv) => kv.key.slice(this.#membersPrefix.length)));
    this.#apply(members);
    if (this.#stopped) return;
    this.#watch = this.#options.client.watch(
      this.#membersPrefix,
      revision + 1n,
      (events) => {
        const next = new Set(this.#members);
        for (const e of events) this.#change(next, e);
        this.#apply(next);
      },
      (error) => {
        this.#watch = undefined;
        if (this.#stopped) return;
        this.#options.log.warn({ err: error.message }, 'the watch on the group broke; resyncing at the next heartbeat');
      },
    );
  }

  #change(members: Set<string>, e: WatchEvent): void {
    const host = e.key.slice(this.#membersPrefix.length);
    if (e.type === 'PUT') members.add(host);
    else members.delete(host);
  }

  #apply(members: ReadonlySet<string>): void {
    const sorted = [...members].sort();
    const first = this.#rebalances === 0;
    if (!first && sameMembers(sorted, this.#members)) return;
    const before = this.#members;
    this.#members = sorted;
    this.#ring = buildHashRing(sorted, this.#options.partitionExponent);
    this.#rebalances++;
    this.#options.log.info({ members: sorted, joined: sorted.filter((m) => !before.includes(m)), left: before.filter((m) => !sorted.includes(m)) }, 'rebalance');
    if (first) {
      this.#resolveReady();
      return;
    }
    for (const listener of this.#listeners) listener(sorted);
  }

  owns(key: string): boolean {
    return this.owner(key) === this.#options.host;
  }

  owner(key: string): string | null {
    return hostsFor(this.#ring, key)[0] ?? null;
  }

  canTakeNew(): boolean {
    return this.#problem === null;
  }

  view(): ClusterView {
    return { enabled: true, host: this.#options.host, members: this.#members, connected: this.#problem === null, problem: this.#problem, rebalances: this.#rebalances };
  }

  /** Leave the group (the others rebalance at once rather than after the lease's time-to-live). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#watch?.cancel();
    this.#watch = undefined;
    if (this.#lease !== undefined) await this.#options.client.revoke(this.#lease).catch(() => undefined);
  }
}
