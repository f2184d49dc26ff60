// HA router pairs (notes 2.11 and 7.3) in the instance manager and the state
// machine, against in-memory providers and one scripted agent per management
// address: a pair of `_0` and `_1` with ports of their own, the peering each
// is pushed, a lost member rebuilt alone while the survivor keeps running,
// and a changed `ha` applied by a rebuild only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Configuration } from '../../contract/schema.js';
import type { AgentHaStatus } from '../client/appliance.js';
import type { NeutronPort } from '../model/neutron.js';
import type { BootRequest, ComputeProvider, InstanceInfo, NetworkProvider } from '../providers/types.js';
import type { OrchestratorMetricsSink } from './control.js';
import type { HaPeering, ResourceDriver } from './driver.js';
import { CREATE, POLL, UPDATE, event } from './events.js';
import { BOOTING, CONFIGURED, DEGRADED, REPLUG, UP, type InstanceState } from './instance-state.js';
import { InstanceManager, type ApplianceApi } from './instance-manager.js';
import { Automaton, type Transition } from './state-machine.js';

const REF = { driver: 'router', id: 'r1', tenantId: 't1' };
const NAME = 'ak-router-r1';
const BOOT_TIMEOUT_MS = 60_000;

const port = (id: string, network: string, mac: string): NeutronPort => ({
  id,
  network_id: network,
  mac_address: mac,
  fixed_ips: [{ subnet_id: `${network}-s`, ip_address: '198.51.100.1' }],
  device_id: REF.id,
  device_owner: 'network:router_interface',
});
const EXT = port('ext', 'net-ext', 'fa:16:3e:00:00:01');
const INT = port('int', 'net-int', 'fa:16:3e:00:00:02');
const NEW = port('new', 'net-new', 'fa:16:3e:00:00:03');
const NEWER = port('newer', 'net-newer', 'fa:16:3e:00:00:04');

const managementAddress = (index: number): string => `fdca:3ba5:a17a:acda::${10 + index}`;
const managementPort = (index: number): NeutronPort => ({
  ...port(`mgt${index}`, 'net-mgt', `fa:16:3e:00:ff:0${index}`),
  fixed_ips: [{ subnet_id: 'mgt-s', ip_address: managementAddress(index) }],
});
/** What the network provider plugs into member `member` for `logical`: a port of its own. */
const memberPort = (logical: NeutronPort, member: number): NeutronPort => ({
  ...logical,
  id: `${logical.id}-m${member}`,
  mac_address: `${logical.mac_address.slice(0, -2)}${(0x10 * (member + 1)).toString(16)}`,
  fixed_ips: [],
});

class FakeDriver implements ResourceDriver {
  readonly ref = REF;
  readonly name = NAME;
  readonly servicePort = 5000;
  isHa = false;
  ports: NeutronPort[] = [EXT, INT];
  refresh() {
    return Promise.resolve(true);
  }
  mtus() {
    return Promise.resolve({});
  }
  /** As the router driver: the peering, not the router's `ha`, makes an HA document. */
  buildConfig(management: NeutronPort, map: ReadonlyMap<string, string>, ha?: HaPeering): Promise<Configuration> {
    return Promise.resolve({
      tenant_id: 't1',
      hostname: `for-${management.id}`,
      networks: [...map.entries()].sort().map(([id, ifname]) => ({ network_id: id, interface: { ifname, addresses: [] } })),
      ha_resource: ha !== undefined,
      ...(ha ? { ha_config: { peers: [...ha.peers], priority: ha.priority } } : {}),
    });
  }
  synchronizeState(_state: InstanceState) {
    return Promise.resolve();
  }
}

/** One agent per management address; a booted instance gets a fresh one. */
class FakeAgents implements ApplianceApi {
  readonly #agents = new Map<string, { answersAfter: number; polls: number; generation: number; held: unknown; ha: AgentHaStatus | undefined }>();
  /** Addresses whose agent does not answer. */
  readonly silent = new Set<string>();
  /** How many status polls a freshly booted agent ignores. */
  bootPolls = 0;
  /** The same for the next agent booted at an address. */
  readonly nextBootPolls = new Map<string, number>();
  readonly pushes: { address: string; document: Configuration }[] = [];
  constructor(private readonly compute: FakeCompute) {}

  booted(address: string): void {
    this.#agents.set(address, { answersAfter: this.nextBootPolls.get(address) ?? this.bootPolls, polls: 0, generation: 0, held: {}, ha: undefined });
    this.nextBootPolls.delete(address);
  }
  #agent(address: string) {
    const agent = this.#agents.get(address);
    if (!agent) throw new Error(`no agent at ${address}`);
    return agent;
  }
  setHa(address: string, ha: AgentHaStatus): void {
    this.#agent(address).ha = ha;
  }
  status(address: string) {
    const agent = this.#agents.get(address);
    if (!agent || this.silent.has(address) || agent.polls++ < agent.answersAfter) return Promise.resolve(undefined);
    return Promise.resolve({ generation: agent.generation, ...(agent.ha ? { ha: agent.ha } : {}) });
  }
  interfaces(address: string) {
    const instance = this.compute.instances.find((i) => i.managementPort?.fixed_ips[0]?.ip_address === address);
    if (!instance) return Promise.reject(new Error(`nothing at ${address}`));
    return Promise.resolve([instance.managementPort!, ...instance.ports].map((p, i) => ({ ifname: `ge${i}`, lladdr: p.mac_address })));
  }
  config(address: string) {
    return Promise.resolve(this.#agent(address).held);
  }
  pushConfig(address: string, _port: number, document: unknown) {
    const agent = this.#agent(address);
    agent.held = document;
    agent.generation++;
    this.pushes.push({ address, document: document as Configuration });
    return Promise.resolve({ generation: agent.generation });
  }
}

class FakeCompute implements ComputeProvider {
  instances: InstanceInfo[] = [];
  boots: BootRequest[] = [];
  destroyed: string[] = [];
  attached: { name: string; port: string }[] = [];
  /** Names of instances whose hot-plugs fail. */
  failAttach = new Set<string>();
  agents: FakeAgents | undefined;
  #n = 0;
  constructor(private readonly now: () => number) {}
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
    const instance: InstanceInfo = { id: `i${++this.#n}`, name: request.name, status: 'BUILD', bootedAt: this.now() + this.#n, managementPort: request.managementPort, ports: request.ports, details: {} };
    this.instances.push(instance);
    this.agents?.booted(request.managementPort.fixed_ips[0]!.ip_address);
    return Promise.resolve(instance);
  }
  destroy(instances: readonly InstanceInfo[]) {
    for (const i of instances) this.destroyed.push(i.name);
    this.instances = this.instances.filter((i) => !instances.some((d) => d.id === i.id));
    return Promise.resolve();
  }
  /** The provider no longer lists it: its namespace was deleted behind the orchestrator's back. */
  vanish(name: string): InstanceInfo {
    const gone = this.instances.find((i) => i.name === name)!;
    this.instances = this.instances.filter((i) => i !== gone);
    return gone;
  }
  attachInterface(instance: InstanceInfo, p: NeutronPort) {
    if (this.failAttach.has(instance.name)) return Promise.reject(new Error('no slot'));
    this.attached.push({ name: instance.name, port: p.id });
    const next = { ...instance, ports: [...instance.ports, p] };
    this.instances = this.instances.map((i) => (i.id === instance.id ? next : i));
    return Promise.resolve(next);
  }
  detachInterface(instance: InstanceInfo, p: NeutronPort) {
    const next = { ...instance, ports: instance.ports.filter((x) => x.id !== p.id) };
    this.instances = this.instances.map((i) => (i.id === instance.id ? next : i));
    return Promise.resolve(next);
  }
}

class FakeNetwork implements Partial<NetworkProvider> {
  ensureManagementPort(_ref: unknown, index: number) {
    return Promise.resolve(managementPort(index));
  }
  ensureAppliancePort(_ref: unknown, logical: NeutronPort, member?: number) {
    return Promise.resolve(member === undefined ? logical : memberPort(logical, member));
  }
  appliancePortMatches(plugged: NeutronPort, logical: NeutronPort, member?: number) {
    const expected = member === undefined ? logical : memberPort(logical, member);
    return plugged.id === expected.id && plugged.mac_address === expected.mac_address;
  }
  deleteAppliancePorts() {
    return Promise.resolve();
  }
  managementInterface(p: NeutronPort) {
    return `${p.fixed_ips[0]!.ip_address}/64`;
  }
}

const metrics: OrchestratorMetricsSink = { push: () => undefined, poll: () => undefined, boot: () => undefined, error: () => undefined, transition: () => undefined };

function setup(ha = true) {
  let now = 1_000_000;
  const clock = () => now;
  const driver = new FakeDriver();
  driver.isHa = ha;
  const compute = new FakeCompute(clock);
  const agents = new FakeAgents(compute);
  compute.agents = agents;
  const network = new FakeNetwork();
  const manager = new InstanceManager({
    driver,
    compute,
    network: network as unknown as NetworkProvider,
    client: agents,
    timings: () => ({ maxRetries: 1, retryDelayMs: 1000, bootTimeoutMs: BOOT_TIMEOUT_MS, hotplugTimeoutMs: 300, errorStateCooldownMs: 30_000 }),
    log: pino({ level: 'silent' }),
    metrics,
    imageId: undefined,
    now: clock,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  });
  return {
    driver,
    compute,
    agents,
    manager,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** A manager whose appliances (a pair unless `ha` is false) are booted and configured. */
async function configured(ha = true) {
  const s = setup(ha);
  await s.manager.boot();
  assert.equal(await s.manager.updateState(), UP);
  assert.equal(await s.manager.configure(), CONFIGURED);
  assert.equal(await s.manager.updateState(), CONFIGURED);
  return s;
}

const idOf = (s: { compute: FakeCompute }, name: string): string => s.compute.instances.find((i) => i.name === name)!.id;
const lastPushTo = (s: { agents: FakeAgents }, address: string): Configuration | undefined => s.agents.pushes.filter((p) => p.address === address).at(-1)?.document;

describe('HA pairs: booting and configuring', () => {
  it('a router that asks for a pair gets _0 and _1, each with its own management port and ports, in one attempt', async () => {
    const { manager, compute } = setup();
    await manager.boot();
    assert.equal(manager.state, BOOTING);
    assert.equal(manager.attempts, 1);
    assert.deepEqual(
      compute.boots.map((b) => [b.name, b.managementPort.id, b.ports.map((p) => p.id)]),
      [
        [`${NAME}_0`, 'mgt0', ['ext-m0', 'int-m0']],
        [`${NAME}_1`, 'mgt1', ['ext-m1', 'int-m1']],
      ],
    );
    assert.equal(manager.pair, true);
  });

  it('pushes each member its peer and priority: 100 for the oldest, 50 for the other, the oldest first', async () => {
    const s = await configured();
    assert.deepEqual(
      s.agents.pushes.map((p) => [p.address, p.document.ha_resource, p.document.ha_config]),
      [
        [managementAddress(0), true, { peers: [managementAddress(1)], priority: 100 }],
        [managementAddress(1), true, { peers: [managementAddress(0)], priority: 50 }],
      ],
    );
    assert.equal(await s.manager.configure(), CONFIGURED);
    assert.equal(s.agents.pushes.length, 2, 'an unchanged pair is not pushed again');
  });

  it("shows each member's health and the VRRP state its agent reports, unknown while it reports none", async () => {
    const s = await configured();
    assert.deepEqual(
      s.manager.applianceViews.map((a) => [a.name, a.health, a.management_address, a.ha]),
      [
        [`${NAME}_0`, 'answering', managementAddress(0), { state: 'unknown', since: null, peer: null }],
        [`${NAME}_1`, 'answering', managementAddress(1), { state: 'unknown', since: null, peer: null }],
      ],
    );
    s.agents.setHa(managementAddress(0), { state: 'MASTER', since: '2024-05-01T10:00:00Z', peer: managementAddress(1) });
    s.agents.setHa(managementAddress(1), { state: 'BACKUP', since: '2024-05-01T10:00:01Z', peer: managementAddress(0) });
    await s.manager.updateState();
    assert.deepEqual(
      s.manager.applianceViews.map((a) => a.ha?.state),
      ['MASTER', 'BACKUP'],
    );
    s.agents.silent.add(managementAddress(1));
    await s.manager.updateState();
    assert.deepEqual(
      s.manager.applianceViews.map((a) => [a.health, a.ha?.state]),
      [
        ['answering', 'MASTER'],
        ['silent', 'unknown'],
      ],
      'a silent member has no VRRP state to show',
    );
    const single = await configured(false);
    assert.deepEqual(
      single.manager.applianceViews.map((a) => [a.name, a.ha]),
      [[NAME, null]],
    );
  });

  it('waits for a member still booting instead of configuring half the pair or replacing it', async () => {
    const s = setup();
    await s.manager.boot();
    s.agents.silent.add(managementAddress(1));
    assert.equal(await s.manager.updateState(), BOOTING);
    assert.deepEqual(
      s.manager.applianceViews.map((a) => a.health),
      ['answering', 'booting'],
    );
    // Alive goes on to ConfigureInstance while BOOTING: half the pair is DEGRADED, and the rebuild must not kill the member on its way up.
    assert.equal(await s.manager.configure(), DEGRADED);
    await s.manager.boot();
    assert.deepEqual(s.compute.destroyed, []);
    assert.equal(s.compute.boots.length, 2, 'nothing more booted');
    assert.equal(s.manager.state, BOOTING);
    s.agents.silent.delete(managementAddress(1));
    assert.equal(await s.manager.updateState(), UP);
    assert.equal(await s.manager.configure(), CONFIGURED);
  });

  it('a member silent past boot_timeout: the other is configured, then the silent one alone is replaced', async () => {
    const s = setup();
    await s.manager.boot();
    s.agents.silent.add(managementAddress(1));
    assert.equal(await s.manager.updateState(), BOOTING);
    s.advance(BOOT_TIMEOUT_MS + 1000);
    assert.equal(await s.manager.updateState(), UP);
    assert.equal(await s.manager.configure(), DEGRADED);
    assert.deepEqual(lastPushTo(s, managementAddress(0))?.ha_config, { peers: [managementAddress(1)], priority: 100 });
    const survivor = idOf(s, `${NAME}_0`);
    await s.manager.boot();
    assert.deepEqual(s.compute.destroyed, [`${NAME}_1`]);
    assert.deepEqual(
      s.compute.boots.slice(2).map((b) => [b.name, b.managementPort.id]),
      [[`${NAME}_1`, 'mgt1']],
    );
    assert.equal(idOf(s, `${NAME}_0`), survivor);
    assert.equal(s.manager.attempts, 1, 'rebuilding a member is not a boot attempt of the router');
  });
});

describe('HA pairs: losing a member', () => {
  it('a member whose namespace is gone: DEGRADED, only it is rebuilt, under its own name and ports; then both get the new peering', async () => {
    const s = await configured();
    const survivor = idOf(s, `${NAME}_1`);
    s.compute.vanish(`${NAME}_0`);
    assert.equal(await s.manager.updateState(), DEGRADED);
    s.agents.bootPolls = 1;
    await s.manager.boot();
    assert.equal(s.manager.attempts, 0);
    assert.deepEqual(s.compute.destroyed, []);
    assert.deepEqual(
      s.compute.boots.slice(2).map((b) => [b.name, b.managementPort.id, b.ports.map((p) => p.id)]),
      [[`${NAME}_0`, 'mgt0', ['ext-m0', 'int-m0']]],
    );
    assert.equal(await s.manager.updateState(), BOOTING, 'the new member is waited for');
    assert.equal(await s.manager.updateState(), UP);
    const pushed = s.agents.pushes.length;
    assert.equal(await s.manager.configure(), CONFIGURED);
    assert.deepEqual(
      s.agents.pushes.slice(pushed).map((p) => [p.address, p.document.ha_config]),
      [
        // The survivor is now the oldest: it leads, and is told first.
        [managementAddress(1), { peers: [managementAddress(0)], priority: 100 }],
        [managementAddress(0), { peers: [managementAddress(1)], priority: 50 }],
      ],
    );
    assert.equal(idOf(s, `${NAME}_1`), survivor, 'the survivor was never restarted');
    assert.deepEqual(s.compute.attached, [], 'nor re-plugged');
  });

  it('a member whose agent died is destroyed and booted again under its name; the survivor is untouched', async () => {
    const s = await configured();
    const survivor = idOf(s, `${NAME}_0`);
    s.agents.silent.add(managementAddress(1));
    assert.equal(await s.manager.updateState(), DEGRADED);
    assert.deepEqual(
      s.manager.applianceViews.map((a) => [a.name, a.health]),
      [
        [`${NAME}_0`, 'answering'],
        [`${NAME}_1`, 'silent'],
      ],
      'the silent member is still shown',
    );
    s.agents.silent.clear();
    await s.manager.boot();
    assert.deepEqual(s.compute.destroyed, [`${NAME}_1`]);
    assert.deepEqual(
      s.compute.boots.slice(2).map((b) => b.name),
      [`${NAME}_1`],
    );
    assert.equal(idOf(s, `${NAME}_0`), survivor);
    assert.equal(await s.manager.updateState(), UP);
    assert.equal(await s.manager.configure(), CONFIGURED);
  });

  it("each member gets a port of its own on a new network; a member whose hot-plug fails is removed, and the survivor's peer stays named", async () => {
    const s = await configured();
    s.driver.ports = [EXT, INT, NEW];
    assert.equal(await s.manager.configure(), REPLUG);
    assert.equal(await s.manager.replug(), REPLUG);
    assert.deepEqual(s.compute.attached, [
      { name: `${NAME}_0`, port: 'new-m0' },
      { name: `${NAME}_1`, port: 'new-m1' },
    ]);
    assert.equal(await s.manager.configure(), CONFIGURED);

    s.driver.ports = [EXT, INT, NEW, NEWER];
    s.compute.failAttach.add(`${NAME}_0`);
    assert.equal(await s.manager.configure(), REPLUG);
    assert.equal(await s.manager.replug(), DEGRADED);
    assert.deepEqual(
      s.compute.instances.map((i) => i.name),
      [`${NAME}_1`],
    );
    assert.equal(await s.manager.configure(), DEGRADED, 'one member of two');
    assert.deepEqual(lastPushTo(s, managementAddress(1))?.ha_config, { peers: [managementAddress(0)], priority: 100 });
  });
});

describe('HA pairs: switching ha', () => {
  it('an edit of ha alone changes nothing on a running single appliance; it is a pair once rebuilt', async () => {
    const s = await configured(false);
    s.driver.isHa = true;
    assert.equal(await s.manager.updateState(), CONFIGURED);
    assert.equal(await s.manager.configure(), CONFIGURED);
    assert.equal(s.agents.pushes.length, 1, 'the single appliance is not told it is in a pair');
    assert.equal(s.manager.haRequested, true);
    assert.equal(s.manager.pair, false);
    assert.equal(s.compute.boots.length, 1);
    // A rebuild: RebuildInstance stops, then CreateInstance boots.
    await s.manager.stop();
    assert.equal(s.manager.pair, true, 'with no appliance left, the request decides');
    await s.manager.boot();
    assert.deepEqual(
      s.compute.instances.map((i) => i.name),
      [`${NAME}_0`, `${NAME}_1`],
    );
  });

  it('a pair whose router no longer asks for one stays a pair until rebuilt, then is one appliance on the logical ports', async () => {
    const s = await configured();
    s.driver.isHa = false;
    assert.equal(await s.manager.updateState(), CONFIGURED);
    assert.equal(s.manager.pair, true);
    await s.manager.stop();
    await s.manager.boot();
    assert.deepEqual(
      s.compute.boots.slice(2).map((b) => [b.name, b.managementPort.id, b.ports.map((p) => p.id)]),
      [[NAME, 'mgt0', ['ext', 'int']]],
    );
    assert.equal(await s.manager.updateState(), UP);
    assert.equal(await s.manager.configure(), CONFIGURED);
    const document = lastPushTo(s, managementAddress(0));
    assert.equal(document?.ha_resource, false);
    assert.equal(document !== undefined && 'ha_config' in document, false);
  });
});

describe('HA pairs in the state machine', () => {
  function machine(s: ReturnType<typeof setup>) {
    const transitions: Transition[] = [];
    const automaton = new Automaton({
      resource: REF,
      instance: s.manager,
      log: pino({ level: 'silent' }),
      queueWarningThreshold: 10,
      rebootErrorThreshold: 5,
      bootCheckIntervalMs: 250,
      stopRetryDelayMs: 1000,
      onDelete: () => undefined,
      onTransition: (t) => transitions.push(t),
    });
    const pass = async () => {
      await automaton.update();
      s.advance(automaton.takeRetryDelay());
    };
    /** Run the machine as a runner would, until it has no work; fails on a runaway loop. */
    const settle = async () => {
      for (let passes = 0; automaton.hasMoreWork(); passes++) {
        assert.ok(passes < 40, `still busy after ${passes} passes: ${JSON.stringify(transitions.slice(-6))}`);
        await pass();
      }
    };
    return { automaton, transitions, pass, settle };
  }

  it('CREATE configures the pair; a lost member makes the router DEGRADED and only it is booted again, the survivor kept', async () => {
    const s = setup();
    s.agents.bootPolls = 2;
    const { automaton, transitions, settle } = machine(s);
    automaton.sendMessage(event(REF, CREATE));
    await settle();
    assert.equal(s.manager.state, CONFIGURED);
    assert.equal(s.compute.instances.length, 2);
    const survivor = idOf(s, `${NAME}_1`);

    s.compute.vanish(`${NAME}_0`);
    transitions.length = 0;
    automaton.sendMessage(event(REF, POLL));
    await settle();
    assert.equal(s.manager.state, CONFIGURED);
    assert.deepEqual(
      s.compute.instances.map((i) => i.name).sort(),
      [`${NAME}_0`, `${NAME}_1`],
    );
    assert.equal(idOf(s, `${NAME}_1`), survivor);
    assert.deepEqual(s.compute.destroyed, []);
    // As the original's Alive: a loss found by a poll goes straight to CreateInstance.
    assert.ok(
      transitions.some((t) => t.from === 'Alive' && t.to === 'CreateInstance' && t.instanceState === DEGRADED),
      JSON.stringify(transitions),
    );
    assert.ok(!transitions.some((t) => t.to === 'StopInstance' || t.to === 'RebuildInstance'), 'nothing is stopped');
    assert.equal(s.manager.attempts, 0);
  });

  it('a member that never answers: the other is configured, CLUSTER_REBUILD replaces the silent one, then both are configured', async () => {
    const s = setup();
    s.agents.nextBootPolls.set(managementAddress(1), Number.MAX_SAFE_INTEGER);
    const { automaton, transitions, pass, settle } = machine(s);
    automaton.sendMessage(event(REF, CREATE));
    for (let i = 0; i < 4; i++) await pass();
    assert.equal(s.manager.state, BOOTING);
    assert.equal(s.agents.pushes.length, 0, 'half a pair is not configured while the other half may still come up');
    s.advance(BOOT_TIMEOUT_MS);
    await settle();
    assert.equal(s.manager.state, CONFIGURED);
    assert.deepEqual(s.compute.destroyed, [`${NAME}_1`]);
    assert.deepEqual(
      s.agents.pushes.map((p) => [p.address, p.document.ha_config]),
      [
        [managementAddress(0), { peers: [managementAddress(1)], priority: 100 }],
        // _0's document did not change: it is not pushed again.
        [managementAddress(1), { peers: [managementAddress(0)], priority: 50 }],
      ],
    );
    // CalcAction queues a CLUSTER_REBUILD for a DEGRADED router and boots the missing member (the sticky CREATE absorbs it, as in the original).
    assert.ok(
      transitions.some((t) => t.from === 'CalcAction' && t.to === 'CreateInstance' && t.instanceState === DEGRADED),
      JSON.stringify(transitions),
    );
    assert.ok(transitions.some((t) => t.action === 'cluster_rebuild'), JSON.stringify(transitions));
    assert.equal(s.manager.attempts, 0, 'a configured pair resets the attempts');
  });

  it('an UPDATE after an edit of ha alone leaves the appliances as they are', async () => {
    const s = setup(false);
    const { automaton, transitions, settle } = machine(s);
    automaton.sendMessage(event(REF, CREATE));
    await settle();
    s.driver.isHa = true;
    transitions.length = 0;
    automaton.sendMessage(event(REF, UPDATE));
    await settle();
    assert.equal(s.manager.state, CONFIGURED);
    assert.deepEqual(
      s.compute.instances.map((i) => i.name),
      [NAME],
    );
    assert.ok(!transitions.some((t) => t.to === 'CreateInstance'), JSON.stringify(transitions));
  });
});
