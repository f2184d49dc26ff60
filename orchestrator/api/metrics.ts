// GET /metrics in Prometheus text format (prom-client, on a registry of its
// own so two orchestrators in one process, as in tests, never share figures).
// Counters and histograms are fed by the core through OrchestratorMetricsSink;
// the gauges are computed at scrape time from the core's views.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OrchestratorMetricsSink, ResourceView, WorkersView } from '../core/control.js';
import { INSTANCE_STATES } from '../core/instance-state.js';

const PREFIX = 'astara_orchestrator_';

/** Where the scrape-time gauges read from; the core exists only after the metrics do. */
export interface MetricsSources {
  readonly resources: () => readonly ResourceView[];
  readonly workers: () => WorkersView;
}

export class OrchestratorMetrics implements OrchestratorMetricsSink {
  readonly registry = new Registry();
  #sources: MetricsSources | undefined;

  readonly #pushes = new Counter({ name: `${PREFIX}pushes_total`, help: 'Configuration pushes to appliances by result', labelNames: ['result'], registers: [this.registry] });
  readonly #pushSeconds = new Histogram({
    name: `${PREFIX}push_duration_seconds`,
    help: 'Duration of configuration pushes to appliances',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #pollSeconds = new Histogram({
    name: `${PREFIX}poll_duration_seconds`,
    help: 'Round trip of appliance liveness polls, by whether the appliance answered',
    labelNames: ['alive'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #boots = new Counter({ name: `${PREFIX}boots_total`, help: 'Appliance boots started, by driver', labelNames: ['driver'], registers: [this.registry] });
  readonly #errors = new Counter({ name: `${PREFIX}errors_total`, help: 'Resources that went to ERROR, by driver', labelNames: ['driver'], registers: [this.registry] });
  readonly #transitions = new Counter({
    name: `${PREFIX}state_transitions_total`,
    help: 'State machine transitions, by the state left and the state entered',
    labelNames: ['from', 'to'],
    registers: [this.registry],
  });

  constructor(sources?: MetricsSources) {
    this.#sources = sources;
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.#clusterGauges();
    const resources = () => this.#sources?.resources() ?? [];
    const shards = () => this.#sources?.workers().shards ?? [];

    new Gauge({
      name: `${PREFIX}resources_by_state`,
      help: 'Managed resources by the state of their state machine',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [state, count] of countBy(resources(), (r) => r.state)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: `${PREFIX}resources_by_instance_state`,
      help: 'Managed resources by the state of their appliance',
      labelNames: ['instance_state'],
      registers: [this.registry],
      collect() {
        this.reset();
        // Every known state is present, at zero when empty, so alerts on `error` never see a missing series.
        for (const state of INSTANCE_STATES) this.set({ instance_state: state }, 0);
        for (const [state, count] of countBy(resources(), (r) => r.instance_state)) this.set({ instance_state: state }, count);
      },
    });
    new Gauge({
      name: `${PREFIX}queue_length`,
      help: 'Resources waiting for a runner, by worker shard',
      labelNames: ['shard'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const shard of shards()) this.set({ shard: String(shard.index) }, shard.queue_length);
      },
    });
    new Gauge({
      name: `${PREFIX}runners_busy`,
      help: 'Runners working on a resource, by worker shard',
      labelNames: ['shard'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const shard of shards()) this.set({ shard: String(shard.index) }, shard.runners_busy);
      },
    });
    new Gauge({
      name: `${PREFIX}ha_members_by_vrrp_state`,
      help: 'Appliances of HA router pairs by the VRRP state their agents report (unknown while one reports none)',
      labelNames: ['vrrp_state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of ['MASTER', 'BACKUP', 'FAULT']) this.set({ vrrp_state: state }, 0);
        const members = resources().flatMap((r) => r.appliances.flatMap((a) => (a.ha ? [a.ha.state] : [])));
        for (const [state, count] of countBy(members, (s) => s)) this.set({ vrrp_state: state }, count);
      },
    });
    new Gauge({
      name: `${PREFIX}ha_pairs_without_one_master`,
      help: 'HA router pairs whose members report no MASTER, or more than one (split management link)',
      registers: [this.registry],
      collect() {
        // Either way the router is not served as it should be: no one owns its addresses, or both answer for them.
        this.set(resources().filter((r) => r.ha.pair && r.appliances.filter((a) => a.ha?.state === 'MASTER').length !== 1).length);
      },
    });
  }

  /** The cluster as this member sees it (absent series alone). */
  #clusterGauges(): void {
    const cluster = () => this.#sources?.workers().cluster;
    const resources = () => this.#sources?.resources() ?? [];
    new Gauge({
      name: `${PREFIX}cluster_members`,
      help: 'Live members of the orchestrator group, as this member sees them (0 when clustering is off)',
      registers: [this.registry],
      collect() {
        this.set(cluster()?.members.length ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}cluster_owned_resources`,
      help: 'Resources this member owns and handles',
      registers: [this.registry],
      collect() {
        // Every resource listed is one this member owns: it lets go of the others.
        this.set(resources().length);
      },
    });
    new Counter({
      name: `${PREFIX}cluster_rebalances_total`,
      help: 'Changes of the group\'s members this member acted on, the first one included',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(cluster()?.rebalances ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}cluster_coordination_up`,
      help: '1 while etcd answers this member (or clustering is off), 0 while it serves only what it owns',
      registers: [this.registry],
      collect() {
        this.set(cluster()?.connected === false ? 0 : 1);
      },
    });
  }

  setSources(sources: MetricsSources): void {
    this.#sources = sources;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  push(ok: boolean, seconds: number): void {
    this.#pushes.inc({ result: ok ? 'ok' : 'failed' });
    this.#pushSeconds.observe(seconds);
  }

  poll(seconds: number, alive: boolean): void {
    this.#pollSeconds.observe({ alive: String(alive) }, seconds);
  }

  boot(driver: string): void {
    this.#boots.inc({ driver });
  }

  error(driver: string): void {
    this.#errors.inc({ driver });
  }

  transition(from: string, to: string): void {
    this.#transitions.inc({ from, to });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
