// GET /metrics in Prometheus text format (prom-client): the figures of
// /v1/system/stats, refreshed at scrape time, plus the agent's own: applies,
// apply durations, and API requests by route and status.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApplyReport } from '../engine/engine.js';
import type { DaemonRegistry } from '../host/daemons.js';
import type { StatsCollector } from './stats.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({ name: 'astara_api_requests_total', help: 'API requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly #applies = new Counter({ name: 'astara_applies_total', help: 'Configuration applies by result', labelNames: ['result'], registers: [this.registry] });
  readonly #applySeconds = new Histogram({
    name: 'astara_apply_duration_seconds',
    help: 'Duration of configuration applies',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #generation = new Gauge({ name: 'astara_config_generation', help: 'Generation of the applied configuration', registers: [this.registry] });

  constructor(stats: StatsCollector, daemons: DaemonRegistry, generation: () => number) {
    const registry = this.registry;
    const interfaceGauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['interface', 'direction'], registers: [registry] });
    const bytes = interfaceGauge('astara_interface_bytes', 'Bytes through a generic interface');
    const packets = interfaceGauge('astara_interface_packets', 'Packets through a generic interface');
    const errors = interfaceGauge('astara_interface_errors', 'Errors on a generic interface');
    const drops = interfaceGauge('astara_interface_dropped', 'Packets dropped on a generic interface');
    const conntrack = new Gauge({ name: 'astara_conntrack_entries', help: 'Connection tracking entries', registers: [registry] });
    const fipBytes = new Gauge({ name: 'astara_floating_ip_bytes', help: 'Bytes to (in) and from (out) the guest behind a floating IP', labelNames: ['floating_ip', 'direction'], registers: [registry] });
    const daemonUp = new Gauge({ name: 'astara_daemon_up', help: 'Whether a supervised daemon runs', labelNames: ['daemon'], registers: [registry] });
    const daemonRestarts = new Gauge({ name: 'astara_daemon_restarts', help: 'Restarts of a supervised daemon', labelNames: ['daemon'], registers: [registry] });
    const memory = new Gauge({ name: 'astara_host_memory_bytes', help: 'Host memory', labelNames: ['kind'], registers: [registry] });
    const load = new Gauge({ name: 'astara_host_load_percent', help: 'Host CPU load', registers: [registry] });
    const disk = new Gauge({ name: 'astara_host_disk_bytes', help: 'Root file system', labelNames: ['kind'], registers: [registry] });

    // Refreshed once per scrape, before the registry is serialised.
    this.refresh = async () => {
      this.#generation.set(generation());
      const figures = await stats.collect();
      for (const gauge of [bytes, packets, errors, drops]) gauge.reset();
      for (const [name, c] of Object.entries(figures.interfaces)) {
        bytes.set({ interface: name, direction: 'rx' }, c.rx_bytes);
        bytes.set({ interface: name, direction: 'tx' }, c.tx_bytes);
        packets.set({ interface: name, direction: 'rx' }, c.rx_packets);
        packets.set({ interface: name, direction: 'tx' }, c.tx_packets);
        errors.set({ interface: name, direction: 'rx' }, c.rx_errors);
        errors.set({ interface: name, direction: 'tx' }, c.tx_errors);
        drops.set({ interface: name, direction: 'rx' }, c.rx_dropped);
        drops.set({ interface: name, direction: 'tx' }, c.tx_dropped);
      }
      if (figures.conntrack_entries !== null) conntrack.set(figures.conntrack_entries);
      fipBytes.reset();
      for (const f of figures.floating_ips) {
        fipBytes.set({ floating_ip: f.floating_ip, direction: 'in' }, f.bytes_in);
        fipBytes.set({ floating_ip: f.floating_ip, direction: 'out' }, f.bytes_out);
      }
      for (const d of daemons.status()) {
        daemonUp.set({ daemon: d.name }, d.running ? 1 : 0);
        daemonRestarts.set({ daemon: d.name }, d.restarts);
      }
      if (figures.host) {
        memory.set({ kind: 'total' }, figures.host.memory_total_bytes);
        memory.set({ kind: 'available' }, figures.host.memory_available_bytes);
        load.set(figures.host.load_percent);
        disk.set({ kind: 'size' }, figures.host.disk_size_bytes);
        disk.set({ kind: 'used' }, figures.host.disk_used_bytes);
      }
    };
  }

  readonly refresh: () => Promise<void>;

  request(method: string, route: string, status: number): void {
    this.#requests.inc({ method, route, status: String(status) });
  }

  applied(report: ApplyReport): void {
    this.#applies.inc({ result: report.ok ? 'ok' : 'failed' });
    this.#applySeconds.observe(report.duration_ms / 1000);
  }

  async text(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }
}
