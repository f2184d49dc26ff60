// Which resources this orchestrator handles. Alone, all of them; in a
// cluster, those the hash ring over the live members gives it (the cluster
// module implements this over etcd). The core asks only these questions.

export interface ClusterView {
  readonly enabled: boolean;
  /** This orchestrator's `[DEFAULT] host`. */
  readonly host: string;
  /** The live members, sorted; empty when clustering is off. */
  readonly members: readonly string[];
  /** Whether the coordination service answers; false stops taking new resources. */
  readonly connected: boolean;
  /** Why it does not, while it does not. */
  readonly problem: string | null;
  readonly rebalances: number;
}

export interface Ownership {
  readonly enabled: boolean;
  /** Settles at the first rebalance: until then every event and command waits. */
  readonly ready: Promise<void>;
  /** Whether `key` (a resource id, a tenant id, or the designated coordinator key) is this orchestrator's. */
  owns(key: string): boolean;
  /** The member `key` belongs to; null when there is none (no members) or clustering is off. */
  owner(key: string): string | null;
  /**
   * Whether a resource this orchestrator does not manage yet may be taken:
   * not while the coordination service is out of reach, because the members
   * it cannot see may be serving it.
   */
  canTakeNew(): boolean;
  view(): ClusterView;
}

/** One orchestrator alone: it owns everything. */
export function singleNode(host: string): Ownership {
  return {
    enabled: false,
    ready: Promise.resolve(),
    owns: () => true,
    owner: () => null,
    canTakeNew: () => true,
    view: () => ({ enabled: false, host, members: [], connected: true, problem: null, rebalances: 0 }),
  };
}
