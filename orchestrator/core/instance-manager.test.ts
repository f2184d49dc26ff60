// The instance manager against in-memory providers and a scripted appliance:
// the original's test_instance_manager.py cases that still apply, and the
// deliberate differences (boot timeout, replacing a silent appliance,
// re-configuring an appliance that lost its document, refusals as errors).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Configuration } from '../../contract/schema.js';
import { ConfigPushError, ConfigRejectedError } from '../client/appliance.js';
import type { NeutronPort } from '../model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo, NetworkProvider } from '../providers/types.js';
import type { OrchestratorMetricsSink } from './control.js';
import type { ResourceDriver } from './driver.js';
import { BOOTING, CONFIGURED, DOWN, ERROR, GONE, REPLUG, RESTART, UP, type InstanceState } from './instance-state.js';
import { InstanceManager, type ApplianceApi } from './instance-manager.js';

const REF = { driver: 'router', id: 'r1', tenantId: 't1' };
const port = (id: string, network: string, mac: string): NeutronPort => ({
  id,
  network_id: network,
  mac_address: mac,
  fixed_ips: [{ subnet_id: `${network}-s`, ip_address: `2001:db8::${id.length}` }],
  device_id: REF.id,
  device_owner: 'network:router_interface',
});
const EXT = port('ext', 'net-ext', 'fa:16:3e:00:00:01');
const INT = port('int', 'net-int', 'fa:16:3e:00:00:02');
const NEW = port('new', 'net-new', 'fa:16:3e:00:00:03');
const MGT: NeutronPort = { ...port('mgt', 'net-mgt', 'fa:16:3e:00:00:ff'), fixed_ips: [{ subnet_id: 'mgt-s', ip_address: 'fdca:3ba5:a17a:acda::5' }] };

class FakeDriver implements ResourceDriver {
  readonly ref = REF;
  readonly name = 'ak-router-r1';
  readonly isHa = false;
  readonly servicePort = 5000;
  exists = true;
  ports: NeutronPort[] = [EXT, INT];
  builds = 0;
  synced: InstanceState[] = [];
  refresh() {
    return Promise.resolve(this.exists);
  }
  mtus() {
    return Promise.resolve({ 'net-int': 1450 });
  }
  buildConfig(_mgt: NeutronPort, map: ReadonlyMap<string, string>): Promise<Configuration> {
    this.builds++;
    return Promise.resolve({ tenant_id: 't1', hostname: 'ak-t1', networks: [...map.entries()].sort().map(([id, ifname]) => ({ network_id: id, interface: { ifname, addresses: [] } })) });
  }
  synchronizeState(state: InstanceState) {
    this.synced.push(state);
    return Promise.resolve();
  }
}

class FakeCompute implements ComputeProvider {
  instances: InstanceInfo[] = [];
  boots: BootRequest[] = [];
  destroyed: string[] = [];
  failBoot = false;
  failDestroy = false;
  failAttach = false;
  #n = 0;
  listInstances(name: string) {
    return Promise.resolve(this.instances.filter((i) => i.name === name || i.name.startsWith(`${name}_`)));
  }
  listAllInstances() {
    return Promise.resolve([...this.instances]);
  }
  getInstance(id: string) {
    return Promise.resolve(this.instances.find((i) => i.id === id));
  }
  boot(request: BootRequest) {
    this.boots.push(request);
    if (this.failBoot) return Promise.reject(new Error('no room'));
    const instance: InstanceInfo = { id: `i${++this.#n}`, name: request.name, status: 'BUILD', bootedAt: Date.now(), managementPort: request.managementPort, ports: request.ports, details: {} };
    this.instances.push(instance);
    return Promise.resolve(instance);
  }
  destroy(instances: readonly InstanceInfo[]) {
    if (this.failDestroy) return Promise.reject(new Error('stuck'));
    for (const i of instances) this.destroyed.push(i.id);
    this.instances = this.instances.filter((i) => !instances.some((d) => d.id === i.id));
    return Promise.resolve();
  }
  #replace(instance: InstanceInfo, ports: readonly NeutronPort[]): InstanceInfo {
    const next = { ...instance, ports };
    this.instances = this.instances.map((i) => (i.id === instance.id ? next : i));
    return next;
  }
  attachInterface(instance: InstanceInfo, p: NeutronPort) {
    if (this.failAttach) return Promise.reject(new Error('no slot'));
    return Promise.resolve(this.#replace(instance, [...instance.ports, p]));
  }
  detachInterface(instance: InstanceInfo, p: NeutronPort) {
    return Promise.resolve(this.#replace(instance, instance.ports.filter((x) => x.id !== p.id)));
  }
}

class FakeNetwork implements Partial<NetworkProvider> {
  deletedFor: string[] = [];
  ensureManagementPort() {
    return Promise.resolve(MGT);
  }
  ensureAppliancePort(_ref: unknown, logical: NeutronPort) {
    return Promise.resolve(logical);
  }
  appliancePortMatches(plugged: NeutronPort, logical: NeutronPort) {
    return plugged.id === logical.id && plugged.mac_address === logical.mac_address;
  }
  deleteAppliancePorts() {
    this.deletedFor.push(REF.id);
    return Promise.resolve();
  }
  managementInterface(p: NeutronPort) {
    return `${p.fixed_ips[0]!.ip_address}/64`;
  }
}

/** An appliance agent: answers while `alive`, reports the interfaces of what the compute plugged. */
class FakeAppliance implements ApplianceApi {
  alive = true;
  generation = 0;
  held: unknown = {};
  pushes: unknown[] = [];
  /** Errors thrown by the next pushes, in order. */
  pushFailures: Error[] = [];
  /** When set, what the agent reports instead of what is plugged. */
  interfacesOverride: { ifname: string; lladdr: string }[] | undefined;
  constructor(private readonly compute: FakeCompute) {}
  status() {
    return Promise.resolve(this.alive ? { generation: this.generation } : undefined);
  }
  interfaces() {
    if (this.interfacesOverride) return Promise.resolve(this.interfacesOverride);
    const instance = this.compute.instances[0]!;
    return Promise.resolve([instance.managementPort!, ...instance.ports].map((p, i) => ({ ifname: `ge${i}`, lladdr: p.mac_address })));
  }
  config() {
    return Promise.resolve(this.held);
  }
  pushConfig(_address: string, _port: number, document: unknown) {
    const failure = this.pushFailures.shift();
    if (failure) return Promise.reject(failure);
    this.pushes.push(document);
    this.held = document;
    this.generation++;
    return Promise.resolve({ generation: this.generation });
  }
}

const metrics: OrchestratorMetricsSink = { push: () => undefined, poll: () => undefined, boot: () => undefined, error: () => undefined, transition: () => undefined };

function setup(overrides: { bootTimeoutMs?: number; maxRetries?: number } = {}) {
  const driver = new FakeDriver();
  const compute = new FakeCompute();
  const network = new FakeNetwork();
  const appliance = new FakeAppliance(compute);
  let now = 1_000_000;
  const slept: number[] = [];
  const manager = new InstanceManager({
    driver,
    compute,
    network: network as unknown as NetworkProvider,
    client: appliance,
    timings: () => ({ maxRetries: overrides.maxRetries ?? 3, retryDelayMs: 1000, bootTimeoutMs: overrides.bootTimeoutMs ?? 60_000, hotplugTimeoutMs: 300, errorStateCooldownMs: 30_000 }),
    log: pino({ level: 'silent' }),
    metrics,
    imageId: undefined,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  return {
    driver,
    compute,
    network,
    appliance,
    manager,
    slept,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** A manager whose appliance is booted and configured. */
async function configured() {
  const s = setup();
  await s.manager.boot();
  await s.manager.updateState();
  assert.equal(await s.manager.configure(), CONFIGURED);
  await s.manager.updateState();
  assert.equal(s.manager.state, CONFIGURED);
  return s;
}

describe('InstanceManager.updateState', () => {
  it('GONE when the resource no longer exists', async () => {
    const { manager, driver } = setup();
    driver.exists = false;
    assert.equal(await manager.updateState(), GONE);
  });

  it('DOWN without an instance', async () => {
    const { manager } = setup();
    assert.equal(await manager.updateState(), DOWN);
  });

  it('BOOTING while no instance has a management address', async () => {
    const { manager, compute } = setup();
    compute.instances.push({ id: 'i9', name: 'ak-router-r1', status: 'BUILD', bootedAt: Date.now(), managementPort: undefined, ports: [], details: {} });
    assert.equal(await manager.updateState(), BOOTING);
  });

  it('UP once a booting appliance answers; it stays BOOTING while silent', async () => {
    const { manager, appliance } = setup();
    await manager.boot();
    appliance.alive = false;
    assert.equal(await manager.updateState(), BOOTING);
    appliance.alive = true;
    assert.equal(await manager.updateState(), UP);
  });

  it('a booting appliance silent past boot_timeout is DOWN (the original never gave up)', async () => {
    const { manager, appliance, advance } = setup({ bootTimeoutMs: 5000 });
    await manager.boot();
    appliance.alive = false;
    advance(4000);
    assert.equal(await manager.updateState(), BOOTING);
    // bootedAt is wall-clock in the fake compute; move the manager's clock well past it.
    advance(Date.now());
    assert.equal(await manager.updateState(), DOWN);
  });

  it('CONFIGURED stays while the appliance holds what was pushed, and resets the boot counter', async () => {
    const { manager } = await configured();
    assert.equal(manager.attempts, 0);
    assert.equal(await manager.updateState(), CONFIGURED);
  });

  it('CONFIGURED becomes DOWN when the appliance stops answering', async () => {
    const { manager, appliance } = await configured();
    appliance.alive = false;
    assert.equal(await manager.updateState(), DOWN);
  });

  it('CONFIGURED becomes UP when the appliance holds another generation (an agent that lost its state)', async () => {
    const { manager, appliance } = await configured();
    appliance.generation = 0;
    assert.equal(await manager.updateState(), UP);
  });

  it('reports each state change to the cloud once', async () => {
    const { manager, driver } = await configured();
    await manager.updateState();
    assert.deepEqual(driver.synced, [UP, CONFIGURED]);
  });
});

describe('InstanceManager.boot', () => {
  it('boots the appliance with its management port and the ports in order, counting the attempt', async () => {
    const { manager, compute } = setup();
    await manager.boot();
    assert.equal(manager.state, BOOTING);
    assert.equal(manager.attempts, 1);
    assert.equal(compute.boots.length, 1);
    const request = compute.boots[0]!;
    assert.equal(request.name, 'ak-router-r1');
    assert.equal(request.managementPort, MGT);
    assert.equal(request.managementInterface, 'fdca:3ba5:a17a:acda::5/64');
    assert.deepEqual(
      request.ports.map((p) => p.id),
      ['ext', 'int'],
    );
    assert.deepEqual(request.mtus, { 'net-int': 1450 });
  });

  it('a boot that fails leaves it DOWN with the attempt counted', async () => {
    const { manager, compute } = setup();
    compute.failBoot = true;
    await manager.boot();
    assert.equal(manager.state, DOWN);
    assert.equal(manager.attempts, 1);
  });

  it('destroys an appliance that exists but does not answer before booting its replacement', async () => {
    const { manager, compute, appliance } = await configured();
    const old = compute.instances[0]!.id;
    appliance.alive = false;
    assert.equal(await manager.updateState(), DOWN);
    await manager.boot();
    assert.deepEqual(compute.destroyed, [old]);
    assert.equal(compute.instances.length, 1);
    assert.notEqual(compute.instances[0]!.id, old);
  });
});

describe('InstanceManager.stop', () => {
  it('destroys the appliances and deletes their ports: DOWN', async () => {
    const { manager, compute, network } = await configured();
    assert.equal(await manager.stop(), DOWN);
    assert.equal(compute.instances.length, 0);
    assert.deepEqual(network.deletedFor, ['r1']);
  });

  it('a destroy that fails leaves the state as it was', async () => {
    const { manager, compute } = await configured();
    compute.failDestroy = true;
    assert.equal(await manager.stop(), CONFIGURED);
  });

  it('GONE stays GONE', async () => {
    const { manager, driver } = await configured();
    driver.exists = false;
    await manager.updateState();
    assert.equal(await manager.stop(), GONE);
  });
});

describe('InstanceManager.configure', () => {
  it('pushes the document built from the interface map and records the push', async () => {
    const { manager, appliance } = await configured();
    assert.equal(appliance.pushes.length, 1);
    const document = appliance.pushes[0] as Configuration;
    assert.deepEqual(
      document.networks?.map((n) => [n.network_id, n.interface.ifname]),
      [
        ['net-ext', 'ge1'],
        ['net-int', 'ge2'],
        ['net-mgt', 'ge0'],
      ],
    );
    assert.equal(manager.lastPush?.ok, true);
    assert.equal(manager.lastPush?.generation, 1);
    assert.deepEqual(manager.lastDocument, document);
  });

  it('does not push an identical document again', async () => {
    const { manager, appliance } = await configured();
    assert.equal(await manager.configure(), CONFIGURED);
    assert.equal(appliance.pushes.length, 1);
  });

  it('GONE when the resource is gone', async () => {
    const { manager, driver } = await configured();
    driver.exists = false;
    assert.equal(await manager.configure(), GONE);
  });

  it('REPLUG when the resource has a network the appliance lacks', async () => {
    const { manager, driver } = await configured();
    driver.ports = [EXT, INT, NEW];
    assert.equal(await manager.configure(), REPLUG);
  });

  it('retries a failed push max_retries times with retry_delay between, then RESTART', async () => {
    const s = setup();
    await s.manager.boot();
    await s.manager.updateState();
    s.appliance.pushFailures = [new ConfigPushError('500'), new ConfigPushError('500'), new ConfigPushError('500')];
    assert.equal(await s.manager.configure(), RESTART);
    assert.deepEqual(s.slept, [1000, 1000]);
    assert.equal(s.manager.lastPush?.ok, false);
  });

  it('succeeds on the third attempt', async () => {
    const s = setup();
    await s.manager.boot();
    await s.manager.updateState();
    s.appliance.pushFailures = [new ConfigPushError('timeout'), new ConfigPushError('timeout')];
    assert.equal(await s.manager.configure(), CONFIGURED);
    assert.equal(s.appliance.pushes.length, 1);
  });

  it('a refused document (422) is an ERROR with the agent message, no retry and no cool-down', async () => {
    const s = setup();
    await s.manager.boot();
    await s.manager.updateState();
    s.appliance.pushFailures = [new ConfigRejectedError('invalid configuration', [{ path: '/networks/1/subnets/0/cidr', message: 'host bits set' }])];
    assert.equal(await s.manager.configure(), ERROR);
    assert.equal(s.manager.state, ERROR);
    assert.match(s.manager.lastError?.message ?? '', /invalid configuration/);
    assert.deepEqual(s.slept, []);
    assert.equal(s.manager.errorCooldown, false);
  });

  it('an adopted appliance that already holds the document is not pushed to; one holding another is', async () => {
    const first = await configured();
    // A restarted orchestrator: a new manager over the same appliance.
    const restarted = () =>
      new InstanceManager({
        driver: first.driver,
        compute: first.compute,
        network: first.network as unknown as NetworkProvider,
        client: first.appliance,
        timings: () => ({ maxRetries: 3, retryDelayMs: 1000, bootTimeoutMs: 60_000, hotplugTimeoutMs: 300, errorStateCooldownMs: 30_000 }),
        log: pino({ level: 'silent' }),
        metrics,
        imageId: undefined,
      });
    const again = restarted();
    assert.equal(await again.updateState(), UP);
    assert.equal(await again.configure(), CONFIGURED);
    assert.equal(first.appliance.pushes.length, 1, 'no second push');
    first.appliance.held = { other: true };
    const third = restarted();
    await third.updateState();
    assert.equal(await third.configure(), CONFIGURED);
    assert.equal(first.appliance.pushes.length, 2, 'a different document is replaced');
  });
});

describe('InstanceManager.replug', () => {
  it('plugs a missing network and waits until the appliance sees it', async () => {
    const { manager, driver, compute } = await configured();
    driver.ports = [EXT, INT, NEW];
    await manager.configure();
    assert.equal(await manager.replug(), REPLUG);
    assert.deepEqual(
      compute.instances[0]!.ports.map((p) => p.id),
      ['ext', 'int', 'new'],
    );
    assert.equal(await manager.configure(), CONFIGURED);
  });

  it('unplugs a network the resource no longer has', async () => {
    const { manager, driver, compute } = await configured();
    driver.ports = [EXT];
    await manager.configure();
    await manager.replug();
    assert.deepEqual(
      compute.instances[0]!.ports.map((p) => p.id),
      ['ext'],
    );
  });

  it('a hot-plug that fails removes the appliance: RESTART', async () => {
    const { manager, driver, compute } = await configured();
    driver.ports = [EXT, INT, NEW];
    compute.failAttach = true;
    assert.equal(await manager.replug(), RESTART);
    assert.equal(compute.instances.length, 0);
  });

  it('an appliance that never sees its new interface is removed: RESTART', async () => {
    const { manager, driver, appliance, compute } = await configured();
    driver.ports = [EXT, INT, NEW];
    appliance.interfacesOverride = [MGT, EXT, INT].map((p, i) => ({ ifname: `ge${i}`, lladdr: p.mac_address }));
    assert.equal(await manager.replug(), RESTART);
    assert.equal(compute.instances.length, 0);
  });

  it('an appliance with other interfaces than the ones plugged: RESTART', async () => {
    const { manager, appliance } = await configured();
    appliance.interfacesOverride = [{ ifname: 'ge0', lladdr: '02:00:00:00:00:99' }];
    assert.equal(await manager.replug(), RESTART);
  });
});

describe('InstanceManager errors', () => {
  it('set_error: ERROR, in cool-down for error_state_cooldown; clear_error: DOWN with the counter reset', async () => {
    const { manager, advance, driver } = setup();
    manager.attempts = 5;
    await manager.setError();
    assert.equal(manager.state, ERROR);
    assert.equal(manager.errorCooldown, true);
    advance(29_000);
    assert.equal(manager.errorCooldown, true);
    advance(2_000);
    assert.equal(manager.errorCooldown, false);
    await manager.clearError();
    assert.equal(manager.state, DOWN);
    assert.equal(manager.attempts, 0);
    assert.deepEqual(driver.synced, [ERROR, DOWN]);
  });
});
