// GET /metrics in Prometheus text format (prom-client): the figures of
// /v1/system/stats, refreshed at scrape time, plus the agent's own: applies,
// apply durations, and API requests by route and status; on a load
// balancer, what GET /v1/loadbalancer/status says with each listener's
// connections and requests; on an HA pair member, its VRRP state; with a
// VPN, each connection's SA states and counters (vpn-metrics.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ListenerTraffic } from '../drivers/loadbalancer/index.js';
import type { LoadBalancerStatus } from '../drivers/loadbalancer/status.js';
import type { ApplyReport } from '../engine/engine.js';
import type { DaemonRegistry } from '../host/daemons.js';
import { VRRP_ROLES, type VrrpStatus } from '../host/vrrp.js';
import type { StatsCollector } from './stats.js';
import { vpnGauges, type VpnView } from './vpn-metrics.js';

/** What the API reads of the load-balancer subsystem. */
export interface LoadBalancerView {
  /** Undefined when no load balancer is configured. */
  status(): LoadBalancerStatus | undefined;
  traffic(): Promise<ListenerTraffic[]>;
}

/** What the API reads of the ha subsystem. */
export interface HaView {
  /** Undefined on a single router. */
  status(): VrrpStatus | undefined;
}

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

  constructor(stats: StatsCollector, daemons: DaemonRegistry, generation: () => number, loadBalancer?: LoadBalancerView, ha?: HaView, vpn?: VpnView) {
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

    const lbStatus = new Gauge({ name: 'astara_lb_status', help: "The load balancer's operating status (1 for the current one)", labelNames: ['status'], registers: [registry] });
    const listenerLabels = ['listener', 'port'] as const;
    const memberLabels = ['listener', 'member', 'address', 'port'] as const;
    const listenerStatus = new Gauge({ name: 'astara_lb_listener_status', help: "A listener's operating status (1 for the current one)", labelNames: [...listenerLabels, 'status'], registers: [registry] });
    const listenerSince = new Gauge({ name: 'astara_lb_listener_status_since_seconds', help: "When a listener's operating status last changed (Unix time)", labelNames: listenerLabels, registers: [registry] });
    const memberStatus = new Gauge({ name: 'astara_lb_member_status', help: "A member's operating status (1 for the current one)", labelNames: [...memberLabels, 'status'], registers: [registry] });
    const memberSince = new Gauge({ name: 'astara_lb_member_status_since_seconds', help: "When a member's operating status last changed (Unix time)", labelNames: memberLabels, registers: [registry] });
    const connections = new Gauge({ name: 'astara_lb_listener_connections', help: "New connections a listener's firewall rule accepted since the firewall last changed", labelNames: listenerLabels, registers: [registry] });
    const requests = new Gauge({ name: 'astara_lb_listener_requests', help: 'HTTP requests a listener received since the agent started', labelNames: listenerLabels, registers: [registry] });
    const refreshLoadBalancer = async (view: LoadBalancerView) => {
      for (const gauge of [lbStatus, listenerStatus, listenerSince, memberStatus, memberSince, connections, requests]) gauge.reset();
      const status = view.status();
      if (!status) return;
      const seconds = (iso: string) => Date.parse(iso) / 1000;
      lbStatus.set({ status: status.operating_status }, 1);
      for (const l of status.listeners) {
        const labels = { listener: l.id, port: l.protocol_port };
        listenerStatus.set({ ...labels, status: l.operating_status }, 1);
        listenerSince.set(labels, seconds(l.since));
        for (const m of l.members) {
          const member = { listener: l.id, member: m.id, address: m.address, port: m.protocol_port };
          memberStatus.set({ ...member, status: m.operating_status }, 1);
          memberSince.set(member, seconds(m.since));
        }
      }
      for (const t of await view.traffic()) {
        const labels = { listener: t.listener_id, port: t.protocol_port };
        connections.set(labels, t.connections);
        if (t.requests !== null) requests.set(labels, t.requests);
      }
    };

    const haState = new Gauge({ name: 'astara_appliance_ha_state', help: "An HA pair member's VRRP state (1 for the current one, 0 for the others)", labelNames: ['state', 'peer'], registers: [registry] });
    const haSince = new Gauge({ name: 'astara_appliance_ha_state_since_seconds', help: 'When the HA pair member entered its VRRP state (Unix time)', labelNames: ['peer'], registers: [registry] });
    const haTransitions = new Gauge({ name: 'astara_appliance_ha_transitions', help: "Changes of the HA pair member's VRRP state since the agent started", labelNames: ['peer'], registers: [registry] });
    const refreshHa = (view: HaView) => {
      for (const gauge of [haState, haSince, haTransitions]) gauge.reset();
      const status = view.status();
      if (!status) return;
      for (const state of VRRP_ROLES) haState.set({ state, peer: status.peer }, state === status.state ? 1 : 0);
      haSince.set({ peer: status.peer }, Date.parse(status.since) / 1000);
      haTransitions.set({ peer: status.peer }, status.transitions);
    };

    const refreshVpn = vpnGauges(registry);

    // Refreshed once per scrape, before the registry is serialised.
    this.refresh = async () => {
      if (loadBalancer) await refreshLoadBalancer(loadBalancer);
      if (ha) refreshHa(ha);
      if (vpn) await refreshVpn(vpn);
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
