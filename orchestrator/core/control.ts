// What the admin API, astara-ctl and the console see of the running
// orchestrator: commands in, JSON views out. The core implements it; the API
// only translates HTTP to these calls.
import type { AgentHaStatus } from '../client/appliance.js';
import type { CommandBody } from './events.js';
import type { ClusterView } from './ownership.js';

/**
 * Whether an appliance's agent answered the last health check: `booting`
 * until it first answers (within boot_timeout of its boot), then `answering`
 * or `silent`.
 */
export type ApplianceHealth = 'booting' | 'answering' | 'silent';

export interface ApplianceView {
  readonly name: string;
  readonly id: string;
  /** The compute provider's status (`BUILD`, `ACTIVE`, `ERROR`). */
  readonly status: string;
  readonly health: ApplianceHealth;
  readonly management_address: string | null;
  readonly booted_at: string;
  /**
   * An HA member's VRRP state as its agent last reported it (state `unknown`
   * while it reports none); null for a single appliance.
   */
  readonly ha: AgentHaStatus | null;
  /** Provider facts (local: namespace, agent pid, state directory). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** HA of a resource: what it asks for (a router's `ha`) and what its appliances are (they differ until a rebuild). */
export interface HaView {
  readonly requested: boolean;
  readonly pair: boolean;
}

export interface PushView {
  readonly at: string;
  readonly ok: boolean;
  readonly duration_ms: number;
  /** The agent's generation after the push. */
  readonly generation: number | null;
  readonly error: string | null;
}

export interface DebugView {
  readonly enabled: boolean;
  /** What put it in debug mode: the resource itself, its tenant, or the global switch. */
  readonly scope: 'resource' | 'tenant' | 'global' | null;
  readonly reason: string | null;
}

export interface ResourceView {
  readonly id: string;
  readonly driver: string;
  readonly tenant_id: string;
  /** The state machine's current state (`CalcAction`, `CheckBoot`...). */
  readonly state: string;
  /** The appliance's state (`down`, `booting`, `up`, `configured`, `error`...). */
  readonly instance_state: string;
  readonly action: string;
  readonly queue_length: number;
  readonly boot_attempts: number;
  readonly ha: HaView;
  readonly appliances: readonly ApplianceView[];
  readonly last_push: PushView | null;
  readonly last_error: { readonly at: string; readonly message: string } | null;
  readonly debug: DebugView;
  readonly shard: number;
  /** The cluster member that handles it (this one, or it would not be listed); null when clustering is off. */
  readonly owner?: string | null;
}

export interface TransitionView {
  readonly at: string;
  readonly from: string;
  readonly to: string;
  readonly action: string;
  readonly instance_state: string;
}

export interface ResourceDetailView extends ResourceView {
  /** The last document pushed to the appliance. */
  readonly last_document: unknown;
  /** The most recent state machine transitions, oldest first. */
  readonly transitions: readonly TransitionView[];
}

export interface RunnerView {
  readonly index: number;
  /** `waiting for task`, `updating <id>`, `finalizing task for <id>`. */
  readonly status: string;
}

export interface ShardView {
  readonly index: number;
  readonly queue_length: number;
  readonly runners_busy: number;
  readonly runners: readonly RunnerView[];
  readonly resources: number;
  readonly tenants: number;
}

export interface WorkersView {
  readonly shards: readonly ShardView[];
  readonly global_debug: DebugView;
  readonly tenants_in_debug: readonly { readonly id: string; readonly reason: string | null }[];
  readonly resources_in_debug: readonly { readonly id: string; readonly reason: string | null }[];
  /** The cluster's members as this orchestrator sees them. */
  readonly cluster?: ClusterView;
}

/** A command that named a resource or tenant nobody knows. */
export class UnknownTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownTargetError';
  }
}

/** A command whose arguments make no sense (a wildcard where an id is needed, a bad enable value). */
export class BadCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadCommandError';
  }
}

export interface OrchestratorControl {
  /** Handle an operator command; throws UnknownTargetError or BadCommandError. */
  command(body: CommandBody): Promise<void>;
  listResources(): ResourceView[];
  getResource(id: string): ResourceDetailView | undefined;
  workers(): WorkersView;
}

/** What the core reports as it works; the Prometheus registry implements it. */
export interface OrchestratorMetricsSink {
  push(ok: boolean, seconds: number): void;
  poll(seconds: number, alive: boolean): void;
  boot(driver: string): void;
  error(driver: string): void;
  transition(from: string, to: string): void;
}
