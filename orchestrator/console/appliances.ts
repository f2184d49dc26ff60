// What the console asks the appliances themselves: their own status (daemons,
// gateways, HA, load balancer members, VPN), read when an operator opens a
// resource, and their traffic counters, sampled on every health poll into the
// TrafficHistory.
import type { Logger } from 'pino';
import type { ApplianceView, ResourceView } from '../core/control.js';
import { countersOfStats, type TrafficHistory } from './traffic.js';

/** The agent reads the console needs (the appliance client has them). */
export interface ApplianceReader {
  read(address: string, port: number, path: string): Promise<{ readonly status: number; readonly body: unknown }>;
}

export interface ApplianceStatusView {
  readonly name: string;
  readonly management_address: string | null;
  /** The agent's GET /v1/status, or null when it did not answer (`error` says why). */
  readonly status: unknown;
  /** GET /v1/loadbalancer/status's `loadbalancer`, when the appliance runs one. */
  readonly loadbalancer: unknown;
  /** GET /v1/vpn/status's `vpn`, when the appliance runs one. */
  readonly vpn: unknown;
  readonly error: string | null;
}

export interface ApplianceProbeOptions {
  /** The current reader (a config reload may replace the client). */
  readonly reader: () => ApplianceReader;
  /** The agent port of a driver's appliances. */
  readonly portOf: (driver: string) => number;
  readonly history: TrafficHistory;
  readonly log: Logger;
  /** Agents read at once when sampling. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The appliance whose counters stand for the resource: an HA pair's MASTER, else the one that answers. */
export function sampledAppliance(resource: ResourceView): ApplianceView | undefined {
  const reachable = resource.appliances.filter((a) => a.management_address !== null);
  return reachable.find((a) => a.ha?.state === 'MASTER') ?? reachable.find((a) => a.health === 'answering');
}

export class ApplianceProbe {
  #sampling = false;

  constructor(private readonly options: ApplianceProbeOptions) {}

  /** Read every resource's traffic counters once; resources no longer listed are forgotten. A round still running (slow agents) skips this one. */
  async sample(resources: readonly ResourceView[]): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      await this.#sampleAll(resources);
    } finally {
      this.#sampling = false;
    }
  }

  async #sampleAll(resources: readonly ResourceView[]): Promise<void> {
    const { history } = this.options;
    history.retain(new Set(resources.map((r) => r.id)));
    const queue = resources.flatMap((resource) => {
      const appliance = sampledAppliance(resource);
      return appliance ? [{ resource, appliance }] : [];
    });
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await this.#sampleOne(next.resource, next.appliance);
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 8 }, worker));
  }

  async #sampleOne(resource: ResourceView, appliance: ApplianceView): Promise<void> {
    try {
      const answer = await this.options.reader().read(appliance.management_address!, this.options.portOf(resource.driver), '/v1/system/stats');
      if (answer.status !== 200) return;
      const { interfaces, floatingIps } = countersOfStats(answer.body);
      this.options.history.record(resource.id, { at: (this.options.now ?? Date.now)(), appliance: appliance.id, interfaces, floatingIps });
    } catch (error) {
      // The health poll reports an appliance that does not answer; a missed sample is only a gap in a graph.
      this.options.log.debug({ resource: resource.id, err: messageOf(error) }, 'no traffic sample');
    }
  }

  /** Each appliance's own account of itself, read now. */
  status(resource: ResourceView): Promise<ApplianceStatusView[]> {
    const port = this.options.portOf(resource.driver);
    return Promise.all(
      resource.appliances.map(async (appliance): Promise<ApplianceStatusView> => {
        const base = { name: appliance.name, management_address: appliance.management_address };
        if (appliance.management_address === null) return { ...base, status: null, loadbalancer: null, vpn: null, error: 'no management address yet' };
        const reader = this.options.reader();
        const address = appliance.management_address;
        try {
          const [status, loadbalancer, vpn] = await Promise.all([
            reader.read(address, port, '/v1/status'),
            reader.read(address, port, '/v1/loadbalancer/status'),
            reader.read(address, port, '/v1/vpn/status'),
          ]);
          const field = (answer: { status: number; body: unknown }, key: string): unknown =>
            answer.status === 200 && answer.body !== null && typeof answer.body === 'object' ? ((answer.body as Record<string, unknown>)[key] ?? null) : null;
          return {
            ...base,
            status: status.status === 200 ? status.body : null,
            loadbalancer: field(loadbalancer, 'loadbalancer'),
            vpn: field(vpn, 'vpn'),
            error: status.status === 200 ? null : `GET /v1/status answered HTTP ${status.status}`,
          };
        } catch (error) {
          return { ...base, status: null, loadbalancer: null, vpn: null, error: messageOf(error) };
        }
      }),
    );
  }
}
