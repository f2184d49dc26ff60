// The load balancer resource kind (the original's drivers/loadbalancer.py):
// its appliance plugs the load balancer's VIP port beside the management
// port, and its document is the original's load balancer document
// (config/loadbalancer.ts), built from what the network provider reads.
import type { Configuration } from '../../contract/schema.js';
import { buildLoadBalancerConfig } from '../config/loadbalancer.js';
import { applianceName, type ResourceDriver } from '../core/driver.js';
import type { ResourceRef } from '../core/events.js';
import { BOOTING, CONFIGURED, DOWN, ERROR, REPLUG, UP, type InstanceState } from '../core/instance-state.js';
import type { NetworkDetail, NeutronPort } from '../model/neutron.js';
import type { LoadBalancerDetail } from '../model/octavia.js';
import type { NetworkProvider } from '../providers/types.js';

/** What Octavia shows for each appliance state (the original's STATUS_MAP); unmapped states are not reported. */
const STATUS_MAP: Partial<Record<InstanceState, string>> = {
  [DOWN]: 'DOWN',
  [BOOTING]: 'PENDING_CREATE',
  [UP]: 'PENDING_CREATE',
  [CONFIGURED]: 'ACTIVE',
  [ERROR]: 'ERROR',
  [REPLUG]: 'PENDING_UPDATE',
};

export interface LoadBalancerDriverOptions {
  readonly network: NetworkProvider;
  /** `[loadbalancer] mgt_service_port`. */
  readonly servicePort: number;
}

export class LoadBalancerDriver implements ResourceDriver {
  readonly name: string;
  // The original's load balancers have no HA pair.
  readonly isHa = false;
  #detail: LoadBalancerDetail | undefined;
  #lastStatus: string | undefined;

  constructor(
    readonly ref: ResourceRef,
    private readonly options: () => LoadBalancerDriverOptions,
  ) {
    this.name = applianceName('loadbalancer', ref.id);
  }

  get servicePort(): number {
    return this.options().servicePort;
  }

  async refresh(): Promise<boolean> {
    this.#detail = await this.options().network.getLoadBalancer(this.ref.id);
    return this.#detail !== undefined;
  }

  /** The VIP port: the appliance's only interface besides the management one. */
  get ports(): readonly NeutronPort[] {
    return this.#detail ? [this.#detail.vipPort] : [];
  }

  async #networks(ids: readonly string[]): Promise<Map<string, NetworkDetail>> {
    const result = new Map<string, NetworkDetail>();
    for (const id of new Set(ids)) {
      const detail = await this.options().network.getNetwork(id);
      if (detail) result.set(id, detail);
    }
    return result;
  }

  async mtus(): Promise<Record<string, number>> {
    const mtus: Record<string, number> = {};
    for (const [id, { network }] of await this.#networks(this.ports.map((p) => p.network_id))) {
      if (typeof network.mtu === 'number') mtus[id] = network.mtu;
    }
    return mtus;
  }

  async buildConfig(managementPort: NeutronPort, interfaceMap: ReadonlyMap<string, string>): Promise<Configuration> {
    if (!this.#detail && !(await this.refresh())) throw new Error(`load balancer ${this.ref.id} no longer exists`);
    const detail = this.#detail!;
    const networks = await this.#networks([managementPort.network_id, detail.vipPort.network_id]);
    return buildLoadBalancerConfig({ detail, managementPort, networks, interfaceMap });
  }

  async synchronizeState(state: InstanceState): Promise<void> {
    const status = STATUS_MAP[state];
    if (status === undefined || status === this.#lastStatus) return;
    this.#lastStatus = status;
    await this.options().network.updateStatus(this.ref, status);
  }
}
