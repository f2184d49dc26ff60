// What the service needs of a cluster: ownership for the core, the shared
// debug flags, and word of rebalances and of flags cleared by other members.
import type { Logger } from 'pino';
import type { DebugFlagStore } from '../core/debug-store.js';
import type { Ownership } from '../core/ownership.js';
import type { OrchestratorOptions } from '../options-types.js';
import { StartupError } from '../wiring.js';
import { EtcdCoordinator } from './coordinator.js';
import { EtcdClient, EtcdUnavailableError } from './etcd.js';
import { EtcdDebugStore } from './etcd-debug-store.js';

export interface Cluster {
  readonly ownership: Ownership;
  readonly debug: DebugFlagStore;
  /** Hear every change of members after the first. */
  onRebalance(listener: () => void): void;
  /** Hear a debug flag removed (by any member). */
  onCleared(listener: (scope: 'global' | 'tenant' | 'resource', id: string) => void): void;
  /** Leave the group: the others take this member's resources at once. */
  stop(): Promise<void>;
}

/** Join `[coordination] group_id` in etcd and read the shared debug flags; an etcd that does not answer stops the start. */
export async function startCluster(options: OrchestratorOptions, logger: Logger): Promise<Cluster> {
  const { coordination } = options;
  const log = logger.child({ component: 'coordination' });
  const heartbeatMs = coordination.heartbeatIntervalS * 1000;
  // A request may take a heartbeat before the next endpoint is tried, but never so long that the lease runs out meanwhile.
  const client = new EtcdClient({ endpoints: coordination.endpoints, requestTimeoutMs: Math.max(500, Math.min(heartbeatMs, (coordination.leaseTtlS * 1000) / (coordination.endpoints.length + 1))) });
  const coordinator = new EtcdCoordinator({
    client,
    groupId: coordination.groupId,
    host: options.host,
    heartbeatMs,
    leaseTtlS: coordination.leaseTtlS,
    partitionExponent: options.hashPartitionExponent,
    log,
  });
  let debug: EtcdDebugStore;
  try {
    await coordinator.start();
    debug = await EtcdDebugStore.open(client, coordination.groupId, log, heartbeatMs);
  } catch (error) {
    await coordinator.stop();
    await client.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new StartupError(error instanceof EtcdUnavailableError ? `[coordination] url: ${message}` : message);
  }
  return {
    ownership: coordinator,
    debug,
    onRebalance: (listener) => coordinator.onRebalance(() => listener()),
    onCleared: (listener) => {
      debug.onCleared = listener;
    },
    stop: async () => {
      debug.stop();
      await coordinator.stop();
      await client.close();
    },
  };
}
