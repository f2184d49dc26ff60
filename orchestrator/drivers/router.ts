// The router resource kind: its appliance plugs the router's gateway and
// interface ports, and its document is the original's router document
// (config/router.ts), built from what the network provider reads.
import type { Logger } from 'pino';
import type { Configuration } from '../../contract/schema.js';
import { buildRouterConfig, loadProviderRules } from '../config/router.js';
import { routerVpnConfig } from '../config/vpn.js';
import { applianceName, type HaPeering, type ResourceDriver } from '../core/driver.js';
import type { ResourceRef } from '../core/events.js';
import { BOOTING, CONFIGURED, DEGRADED, DOWN, ERROR, UP, type InstanceState } from '../core/instance-state.js';
import { routerPorts, type NetworkDetail, type NeutronPort, type RouterDetail } from '../model/neutron.js';
import type { NetworkProvider } from '../providers/types.js';

/** What Neutron shows for each appliance state (the original's STATUS_MAP); unmapped states are not reported. */
const STATUS_MAP: Partial<Record<InstanceState, string>> = {
  [DOWN]: 'DOWN',
  [BOOTING]: 'BUILD',
  [UP]: 'BUILD',
  [CONFIGURED]: 'ACTIVE',
  [ERROR]: 'ERROR',
  [DEGRADED]: 'BUILD',
};

export interface RouterDriverOptions {
  readonly network: NetworkProvider;
  readonly servicePort: number;
  readonly asn: number;
  readonly neighborAsn: number;
  readonly providerRulesPath: string;
  /** `[router] ipsec_vpn`: the router's VPNaaS services go into its document. */
  readonly ipsecVpn: boolean;
  /** The orchestrator block of every document: where the appliances' metadata proxies forward. */
  readonly orchestrator: { readonly address: string; readonly metadata_port: number; readonly host: string };
  readonly log: Logger;
}

export class RouterDriver implements ResourceDriver {
  readonly name: string;
  #detail: RouterDetail | undefined;
  #lastStatus: string | undefined;

  constructor(
    readonly ref: ResourceRef,
    private readonly options: () => RouterDriverOptions,
  ) {
    this.name = applianceName('router', ref.id);
  }

  get servicePort(): number {
    return this.options().servicePort;
  }

  /** Neutron's `ha` of the router as last read. */
  get isHa(): boolean {
    return this.#detail?.router.ha === true;
  }

  async refresh(): Promise<boolean> {
    this.#detail = await this.options().network.getRouter(this.ref.id);
    return this.#detail !== undefined;
  }

  get ports(): readonly NeutronPort[] {
    return this.#detail ? routerPorts(this.#detail) : [];
  }

  async #networks(ids: readonly string[]): Promise<Map<string, NetworkDetail>> {
    const network = this.options().network;
    const result = new Map<string, NetworkDetail>();
    for (const id of new Set(ids)) {
      const detail = await network.getNetwork(id);
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

  async buildConfig(managementPort: NeutronPort, interfaceMap: ReadonlyMap<string, string>, ha?: HaPeering): Promise<Configuration> {
    const options = this.options();
    if (!this.#detail && !(await this.refresh())) throw new Error(`router ${this.ref.id} no longer exists`);
    const detail = this.#detail!;
    const networks = await this.#networks([managementPort.network_id, ...routerPorts(detail).map((p) => p.network_id)]);
    const networkPorts = new Map<string, readonly NeutronPort[]>();
    for (const port of detail.interfaces) networkPorts.set(port.network_id, await options.network.listNetworkPorts(port.network_id));
    const rules = await loadProviderRules(options.providerRulesPath, options.log);
    const { vpn, skipped } = routerVpnConfig(detail.vpnServices, options.ipsecVpn);
    for (const skip of skipped) {
      options.log.warn({ router: this.ref.id, vpnservice: skip.vpnServiceId, connection: skip.connectionId, reason: skip.reason }, 'VPN connection left out of the document');
    }
    return buildRouterConfig({
      detail,
      managementPort,
      networks,
      networkPorts,
      interfaceMap,
      asn: options.asn,
      neighborAsn: options.neighborAsn,
      labels: rules,
      orchestrator: options.orchestrator,
      vpn,
      ...(ha ? { haConfig: ha } : {}),
    });
  }

  /** The floating IPs a push brought along become ACTIVE, though the router's own status stayed ACTIVE. */
  async configured(): Promise<void> {
    await this.options().network.updateStatus(this.ref, STATUS_MAP[CONFIGURED]!);
  }

  async synchronizeState(state: InstanceState): Promise<void> {
    const status = STATUS_MAP[state];
    if (status === undefined || status === this.#lastStatus) return;
    this.#lastStatus = status;
    await this.options().network.updateStatus(this.ref, status);
  }
}
