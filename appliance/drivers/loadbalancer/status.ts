// The operating status of the load balancer, each listener and each member,
// for GET /v1/loadbalancer/status and /metrics. `assess` is pure: a plan and
// what the health monitors say give each status and why. `StatusBook` keeps,
// for each, when it last changed: it is told every time the plan or a
// member's health changes, so `since` is the instant of the change, not of
// the first question after it.
//
// Statuses (Octavia's, plus DISABLED for what admin_state_up takes out):
// - member: DISABLED (it, its pool, listener or load balancer is
//   administratively down); ONLINE, OFFLINE or ERROR as its active monitor
//   says (OFFLINE: the probes failed; ERROR: they could not be made);
//   DRAINING (weight 0, healthy or unmonitored: no new connection);
//   NO_MONITOR (no enabled health monitor: nginx's passive checks only).
// - listener: DISABLED; ERROR (no member can take a new connection: HTTP
//   answers 503, TCP closes); DEGRADED (some members held down by their
//   monitor, others serve); ONLINE.
// - load balancer: DISABLED; OFFLINE (no enabled listener); ERROR (no
//   listener can serve); DEGRADED (some listener is DEGRADED or ERROR);
//   ONLINE.
import type { HealthChange } from './monitor.js';
import { heldDown, inRotation, type ListenerPlan, type LoadBalancerPlan, type MemberPlan } from './render.js';

export type OperatingStatus = 'ONLINE' | 'DEGRADED' | 'DRAINING' | 'OFFLINE' | 'ERROR' | 'NO_MONITOR' | 'DISABLED';

export interface Assessment {
  readonly status: OperatingStatus;
  readonly reason: string;
  /** When the health monitor saw this status first (ms since the epoch); unset for statuses the plan decides. */
  readonly since?: number;
}

export interface ListenerAssessment extends Assessment {
  readonly members: readonly Assessment[];
}

export interface LoadBalancerAssessment extends Assessment {
  readonly listeners: readonly ListenerAssessment[];
}

export function assess(plan: LoadBalancerPlan, health: ReadonlyMap<string, HealthChange>): LoadBalancerAssessment {
  const down = heldDown(plan, health);
  const monitored = new Set(plan.targets.map((t) => t.key));
  const listeners = plan.listeners.map((l): ListenerAssessment => ({ ...listenerStatus(plan, l, down), members: l.members.map((m) => memberStatus(plan, l, m, monitored.has(m.key) ? health.get(m.key) : undefined, monitored.has(m.key))) }));
  return { ...loadBalancerStatus(plan, listeners), listeners };
}

function loadBalancerStatus(plan: LoadBalancerPlan, listeners: readonly Assessment[]): Assessment {
  if (!plan.loadBalancer.enabled) return { status: 'DISABLED', reason: 'admin_state_up is false: no listener is open' };
  const open = listeners.filter((l) => l.status !== 'DISABLED');
  if (open.length === 0) return { status: 'OFFLINE', reason: 'no listener is enabled' };
  const failing = open.filter((l) => l.status === 'ERROR').length;
  if (failing === open.length) return { status: 'ERROR', reason: 'no listener has a member that takes new connections' };
  const degraded = open.filter((l) => l.status === 'DEGRADED').length + failing;
  if (degraded > 0) return { status: 'DEGRADED', reason: `${degraded} of ${open.length} listeners are degraded or failing` };
  return { status: 'ONLINE', reason: `${open.length} listeners serve` };
}

function listenerStatus(plan: LoadBalancerPlan, listener: ListenerPlan, down: ReadonlySet<string>): Assessment {
  if (!plan.loadBalancer.enabled) return { status: 'DISABLED', reason: "the load balancer's admin_state_up is false" };
  if (!listener.listener.enabled) return { status: 'DISABLED', reason: 'admin_state_up is false' };
  const refusal = listener.context === 'http' ? 'nginx answers 503' : 'nginx closes new connections';
  const pool = listener.pool;
  if (!pool) return { status: 'ERROR', reason: `no default pool: ${refusal}` };
  if (!pool.enabled) return { status: 'ERROR', reason: `its pool's admin_state_up is false: ${refusal}` };
  const serving = listener.members.filter((m) => inRotation(m, down)).length;
  const held = listener.members.filter((m) => m.out === undefined && down.has(m.key)).length;
  if (serving === 0) return { status: 'ERROR', reason: `no member takes new connections (${listener.members.length} members, ${held} held down by the health monitor): ${refusal}` };
  if (held > 0) return { status: 'DEGRADED', reason: `${held} of ${serving + held} members held down by the health monitor` };
  return { status: 'ONLINE', reason: `${serving} members take new connections` };
}

/** `seen` is what the member's monitor says, when it is `monitored` and has said anything yet. */
function memberStatus(plan: LoadBalancerPlan, listener: ListenerPlan, member: MemberPlan, seen: HealthChange | undefined, monitored: boolean): Assessment {
  if (!plan.loadBalancer.enabled) return { status: 'DISABLED', reason: "the load balancer's admin_state_up is false" };
  if (!listener.listener.enabled) return { status: 'DISABLED', reason: "its listener's admin_state_up is false" };
  if (member.out === 'disabled') return { status: 'DISABLED', reason: listener.pool?.enabled === false ? "its pool's admin_state_up is false" : 'admin_state_up is false' };
  if (seen && seen.status !== 'ONLINE') return { status: seen.status, reason: seen.reason, since: seen.since };
  if (member.out === 'drained') return { status: 'DRAINING', reason: 'weight 0: takes no new connections' };
  if (seen) return { status: 'ONLINE', reason: seen.reason, since: seen.since };
  if (monitored) return { status: 'ONLINE', reason: 'monitoring starts' };
  const monitor = listener.pool?.healthMonitor;
  return { status: 'NO_MONITOR', reason: monitor ? 'its health monitor is disabled: nginx notices failures on requests only' : 'no health monitor: nginx notices failures on requests only' };
}

export interface StatusEntry {
  readonly operating_status: OperatingStatus;
  /** When the status last changed (ISO 8601). */
  readonly since: string;
  readonly reason: string;
}

export interface MemberStatus extends StatusEntry {
  readonly id: string;
  readonly address: string;
  readonly protocol_port: number;
  readonly weight: number;
}

export interface ListenerStatus extends StatusEntry {
  readonly id: string;
  readonly name: string;
  readonly protocol: string;
  readonly protocol_port: number;
  readonly pool_id: string | null;
  readonly members: readonly MemberStatus[];
}

export interface LoadBalancerStatus extends StatusEntry {
  readonly id: string;
  readonly name: string;
  readonly vip_address: string;
  readonly listeners: readonly ListenerStatus[];
}

interface Seen {
  readonly status: OperatingStatus;
  readonly since: number;
}

/** The instant of each status's last change, by the key of what it is the status of. */
export class StatusBook {
  #seen = new Map<string, Seen>();
  #document: LoadBalancerStatus | undefined;

  /** Record the statuses of `plan` as they are at `now`; undefined forgets everything (no load balancer). */
  observe(plan: LoadBalancerPlan | undefined, health: ReadonlyMap<string, HealthChange>, now: number): void {
    if (!plan) {
      this.#seen = new Map();
      this.#document = undefined;
      return;
    }
    const seen = new Map<string, Seen>();
    const entry = (key: string, a: Assessment): StatusEntry => {
      const before = this.#seen.get(key);
      const since = a.since ?? (before?.status === a.status ? before.since : now);
      seen.set(key, { status: a.status, since });
      return { operating_status: a.status, since: new Date(since).toISOString(), reason: a.reason };
    };
    const assessed = assess(plan, health);
    const lb = plan.loadBalancer;
    this.#document = {
      id: lb.id,
      name: lb.name,
      vip_address: lb.vip.text,
      ...entry(`loadbalancer/${lb.id}`, assessed),
      listeners: plan.listeners.map((l, i) => {
        const listener = assessed.listeners[i]!;
        return {
          id: l.listener.id,
          name: l.listener.name,
          protocol: l.listener.protocol,
          protocol_port: l.listener.port,
          pool_id: l.pool?.id ?? null,
          ...entry(`listener/${l.listener.id}`, listener),
          members: l.members.map((m, j) => ({ id: m.id, address: m.address.text, protocol_port: m.port, weight: m.weight, ...entry(`member/${m.key}`, listener.members[j]!) })),
        };
      }),
    };
    this.#seen = seen;
  }

  /** The last document observed; undefined without a load balancer. */
  get document(): LoadBalancerStatus | undefined {
    return this.#document;
  }
}
