// O2's compute provider, inside the orchestrator process the bench starts: it
// "boots" an appliance by registering its management address and MACs with
// the simulated appliances (bench/simulated-appliances.ts), which answer the
// agent's API for it from then on. Instances live in memory only: every start
// boots every router again, as the bench wants.
import { randomUUID } from 'node:crypto';
import { isApplianceOf } from '../../orchestrator/core/driver.js';
import type { NeutronPort } from '../../orchestrator/model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo } from '../../orchestrator/providers/types.js';

/** The name of the resource's appliance (`ak-router-<id>`) an instance belongs to: HA members add `_<n>`. */
const applianceOf = (instanceName: string): string => instanceName.replace(/_\d+$/, '');

interface Simulated {
  readonly info: InstanceInfo;
  readonly resource: string;
  readonly address: string;
}

export class SimulatedCompute implements ComputeProvider {
  readonly #instances = new Map<string, Simulated>();
  /**
   * Instance ids by appliance name: the instance manager lists its instances
   * on every run of its state machine, and a scan of thousands of instances
   * each time would put the bench's own cost into the orchestrator's CPU.
   */
  readonly #byAppliance = new Map<string, Set<string>>();

  /** `controlUrl`: the simulated appliances' control API, e.g. `http://[::1]:44301`. */
  constructor(private readonly controlUrl: string) {}

  listInstances(name: string): Promise<InstanceInfo[]> {
    const ids = [...(this.#byAppliance.get(applianceOf(name)) ?? [])];
    return Promise.resolve(ids.map((id) => this.#instances.get(id)!.info).filter((info) => isApplianceOf(info.name, name)));
  }

  listAllInstances(): Promise<InstanceInfo[]> {
    return Promise.resolve([...this.#instances.values()].map((s) => s.info));
  }

  getInstance(id: string): Promise<InstanceInfo | undefined> {
    return Promise.resolve(this.#instances.get(id)?.info);
  }

  async boot(request: BootRequest): Promise<InstanceInfo> {
    const address = request.managementInterface.split('/')[0]!;
    const info: InstanceInfo = {
      id: randomUUID(),
      name: request.name,
      status: 'ACTIVE',
      bootedAt: Date.now(),
      managementPort: request.managementPort,
      ports: request.ports,
      details: { simulated: true },
    };
    await this.#register(address, request.resource.id, info);
    this.#instances.set(info.id, { info, resource: request.resource.id, address });
    const appliance = applianceOf(info.name);
    this.#byAppliance.set(appliance, (this.#byAppliance.get(appliance) ?? new Set()).add(info.id));
    return { ...info, status: 'BUILD' };
  }

  async destroy(instances: readonly InstanceInfo[]): Promise<void> {
    for (const instance of instances) {
      const simulated = this.#instances.get(instance.id);
      if (!simulated) continue;
      this.#instances.delete(instance.id);
      this.#byAppliance.get(applianceOf(simulated.info.name))?.delete(instance.id);
      const answer = await fetch(`${this.controlUrl}/appliances/${encodeURIComponent(simulated.address)}`, { method: 'DELETE' });
      if (!answer.ok) throw new Error(`the simulated appliances refused to remove ${simulated.address}: HTTP ${answer.status}`);
    }
  }

  attachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo> {
    return this.#replug(instance, (ports) => [...ports, port]);
  }

  detachInterface(instance: InstanceInfo, port: NeutronPort): Promise<InstanceInfo> {
    return this.#replug(instance, (ports) => ports.filter((p) => p.id !== port.id));
  }

  async #replug(instance: InstanceInfo, change: (ports: readonly NeutronPort[]) => readonly NeutronPort[]): Promise<InstanceInfo> {
    const simulated = this.#instances.get(instance.id);
    if (!simulated) throw new Error(`instance ${instance.name} (${instance.id}) does not exist`);
    const info = { ...simulated.info, ports: change(simulated.info.ports) };
    await this.#register(simulated.address, simulated.resource, info);
    this.#instances.set(info.id, { ...simulated, info });
    return info;
  }

  async #register(address: string, resource: string, info: InstanceInfo): Promise<void> {
    const macs = [info.managementPort, ...info.ports].filter((p) => p !== undefined).map((p) => p.mac_address);
    const answer = await fetch(`${this.controlUrl}/appliances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address, resource, macs }),
    });
    if (!answer.ok) throw new Error(`the simulated appliances refused ${info.name} on ${address}: HTTP ${answer.status}`);
  }
}
