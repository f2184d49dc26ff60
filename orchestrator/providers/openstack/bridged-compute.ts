// Neutron's routers served by local namespace appliances on one machine
// (`network_provider = openstack`, `compute_provider = local`): the local
// compute plugs each port into its network's Linux bridge, and with Neutron
// there is no resource file to make the bridges from, so they are made as
// appliances need them: every network an appliance was plugged into (and the
// management network, with the orchestrator's address) keeps its bridge.
import type { BridgeNetwork, LocalBridges, ManagementBridge } from '../local/host.js';
import type { NeutronPort } from '../../model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo } from '../types.js';

export class BridgedLocalCompute implements ComputeProvider {
  readonly #networks = new Map<string, BridgeNetwork>();

  constructor(
    private readonly compute: ComputeProvider,
    private readonly bridges: LocalBridges,
    private readonly management: ManagementBridge,
  ) {}

  /**
   * The management bridge with the orchestrator's address (the appliances'
   * agents are reached through it), and the bridges of the appliances that
   * run already (a restarted orchestrator adopts them).
   */
  async start(): Promise<void> {
    const running = await this.compute.listAllInstances();
    await this.#sync(running.flatMap((i) => [...(i.managementPort ? [i.managementPort] : []), ...i.ports]).map((p) => ({ id: p.network_id })));
  }

  listInstances(name: string): Promise<InstanceInfo[]> {
    return this.compute.listInstances(name);
  }

  listAllInstances(): Promise<InstanceInfo[]> {
    return this.compute.listAllInstances();
  }

  getInstance(id: string): Promise<InstanceInfo | undefined> {
    return this.compute.getInstance(id);
  }

  async boot(request: BootRequest): Promise<InstanceInfo> {
    await this.#sync([request.managementPort, ...request.ports].map((p) => ({ id: p.network_id, mtu: request.mtus[p.network_id] ?? null })));
    return this.compute.boot(request);
  }

  destroy(instances: readonly InstanceInfo[], timeoutMs: number): Promise<void> {
    return this.compute.destroy(instances, timeoutMs);
  }

  async attachInterface(instance: InstanceInfo, port: NeutronPort, mtu: number | undefined): Promise<InstanceInfo> {
    await this.#sync([{ id: port.network_id, mtu: mtu ?? null }]);
    return this.compute.attachInterface(instance, port, mtu);
  }

  detachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo> {
    return this.compute.detachInterface(instance, port);
  }

  /** Bridges are only added while the orchestrator runs: another appliance may still use a network one left. */
  async #sync(networks: readonly BridgeNetwork[]): Promise<void> {
    for (const network of networks) this.#networks.set(network.id, network);
    await this.bridges.sync([...this.#networks.values()], this.management);
  }
}
