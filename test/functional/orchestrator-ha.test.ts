// HA routers with the local provider: a router with `ha: true` in the
// resource file gets a pair of appliances (`ak-router-<id>_0` and `_1`, real
// agents in their own namespaces, each with ports of its own on every
// network), each pushed a document naming the other as its peer; a member
// lost (namespace deleted, or agent killed) is rebuilt alone while the other
// keeps running untouched, and both end with the new peering, while a guest's
// TCP flow through NAT goes on through the survivor; `ha` switched in the
// file changes nothing until `astara-ctl router rebuild`, which turns the pair
// into one appliance and back; `astara-ctl show` lists both members.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpFrom, REPO } from '../harness/agent.js';
import { run, spawnInNs, waitFor } from '../harness/exec.js';
import { applianceNamespace, memberNamespace, OrchestratorLab, type ResourceState } from '../harness/orchestrator.js';
import { EXTERNAL, externalNetwork, resourceFile, routerSpec, type RouterSpec } from '../harness/resources.js';
import { alive, signal } from '../harness/topology.js';

const AGENT_PORT = 5000;
const FLOW_PORT = 7000;
const FLOW_INTERVAL_MS = 100;
const external = externalNetwork();
const router: RouterSpec = { ...routerSpec(1, '192.0.2.2'), ha: true };
const net = router.tenants[0]!;
const MEMBERS = [memberNamespace(router.routerId, 0), memberNamespace(router.routerId, 1)] as const;

interface HaDocument {
  readonly ha_resource?: boolean;
  readonly ha_config?: { readonly peers: readonly string[]; readonly priority: number } | null;
  readonly networks?: readonly { readonly network_type: string; readonly interface: { readonly addresses: readonly string[] } }[];
}

type Appliance = ResourceState['appliances'][number];

/** One line of test/harness/flow.mjs's output. */
interface FlowEvent {
  readonly at: number;
  readonly event: 'open' | 'echo' | 'error' | 'close';
  readonly seq?: number;
  readonly message?: string;
}

describe('HA routers with the local provider', () => {
  let lab: OrchestratorLab;

  const member = (view: ResourceState, name: string): Appliance => {
    const found = view.appliances.find((a) => a.name === name);
    assert.ok(found, `no ${name} in ${JSON.stringify(view.appliances.map((a) => a.name))}`);
    return found;
  };
  const addressOf = (appliance: Appliance): string => {
    assert.ok(appliance.management_address, `${appliance.name} has no management address`);
    return appliance.management_address;
  };
  const agentGet = async <T>(appliance: Appliance, path: string): Promise<T> => {
    const answer = await httpFrom(lab.topology, 'orch', 'GET', `http://[${addressOf(appliance)}]:${AGENT_PORT}${path}`, { timeoutS: 10 });
    assert.equal(answer.status, 200, `${appliance.name} GET ${path}: ${answer.body}`);
    return answer.json<T>();
  };
  const documentOf = async (appliance: Appliance): Promise<HaDocument> => (await agentGet<{ configuration: HaDocument }>(appliance, '/v1/system/config')).configuration;
  const oldest = (view: ResourceState): Appliance => [...view.appliances].sort((a, b) => Date.parse(a.booted_at) - Date.parse(b.booted_at))[0]!;
  const other = (view: ResourceState, appliance: Appliance): Appliance => view.appliances.find((a) => a.name !== appliance.name)!;
  const pairConfigured = (view: ResourceState) =>
    view.instance_state === 'configured' && view.state === 'CalcAction' && view.queue_length === 0 && view.appliances.length === 2 && view.appliances.every((a) => a.health === 'answering');
  /** Name, MAC and ifindex of each interface of a namespace: a re-plugged interface is a new veth. */
  const links = async (namespace: string): Promise<string[]> => {
    const { stdout } = await run(['ip', '-n', namespace, '-j', 'link', 'show']);
    return (JSON.parse(stdout) as { ifindex: number; ifname: string; address?: string }[]).map((l) => `${l.ifname} ${l.address ?? ''} ${l.ifindex}`).sort();
  };
  const macs = async (namespace: string): Promise<string[]> =>
    (await links(namespace)).filter((l) => l.startsWith('eth')).map((l) => l.split(' ')[1]!);

  /** Each member's document names the other's management address as its only peer; the oldest has priority 100, the other 50. */
  async function assertPeering(view: ResourceState, leader: string): Promise<void> {
    for (const name of MEMBERS) {
      const own = member(view, name);
      const other = member(view, name === MEMBERS[0] ? MEMBERS[1] : MEMBERS[0]);
      const document = await documentOf(own);
      assert.equal(document.ha_resource, true, name);
      assert.deepEqual(document.ha_config, { peers: [addressOf(other)], priority: name === leader ? 100 : 50 }, name);
    }
  }

  async function deleteNamespace(namespace: string): Promise<void> {
    const { stdout } = await run(['ip', 'netns', 'pids', namespace]);
    const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await waitFor(`the processes of ${namespace} to die`, () => pids.every((pid) => !alive(pid)));
    await run(['ip', 'netns', 'del', namespace]);
  }

  async function writeHa(ha: boolean): Promise<ResourceState> {
    await lab.writeResources(resourceFile(external, [{ ...router, ha }]));
    return lab.waitForResource(router.routerId, `the edit of ha to ${ha} to be read`, (r) => r.ha.requested === ha && r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0);
  }

  /** Start flow.mjs in `role`; the topology's teardown ends it. */
  const flow = (role: string, args: readonly string[]): string => {
    const logFile = join(lab.dir, `flow-${role}.log`);
    void spawnInNs(lab.topology.ns(role), [process.execPath, join(REPO, 'test/harness/flow.mjs'), ...args], logFile);
    return logFile;
  };
  const flowEvents = async (logFile: string): Promise<FlowEvent[]> =>
    (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as FlowEvent);
  const vrrpStates = async (view: ResourceState): Promise<Map<string, string | undefined>> =>
    new Map(await Promise.all(MEMBERS.map(async (name) => [name, (await agentGet<{ ha?: { state?: string } }>(member(view, name), '/v1/status/')).ha?.state] as const)));

  before(async () => {
    lab = await OrchestratorLab.create({ roles: ['ext', 'ga'], resources: resourceFile(external, [router]) });
    await lab.start();
    await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
    await lab.attach('ga', net.networkId, { mac: net.guestMac, addresses: [`${net.guestAddress}/26`] });
    await lab.topology.ip('ga', ['route', 'add', 'default', 'via', net.gateway]);
  });
  after(async () => {
    await lab?.destroy();
    const left = (await lab?.namespaces()) ?? [];
    assert.deepEqual(
      left.filter((ns) => ns.startsWith(applianceNamespace(router.routerId))),
      [],
      'no appliance namespace left behind',
    );
  });

  it('gives a router with ha: true a pair of configured appliances, each on ports of its own, each naming the other as peer', async () => {
    const view = await lab.waitForResource(router.routerId, 'the pair to be configured', pairConfigured);
    assert.deepEqual(view.ha, { requested: true, pair: true });
    assert.deepEqual(
      view.appliances.map((a) => a.name),
      [...MEMBERS],
    );
    const namespaces = await lab.namespaces();
    for (const name of MEMBERS) assert.ok(namespaces.includes(name), `namespace ${name}`);
    assert.ok(!namespaces.includes(applianceNamespace(router.routerId)), 'no single appliance');
    await assertPeering(view, MEMBERS[0]);

    const [zero, one] = await Promise.all(MEMBERS.map((name) => documentOf(member(view, name))));
    const routerAddresses = (document: HaDocument) => (document.networks ?? []).filter((n) => n.network_type !== 'management').map((n) => n.interface.addresses);
    assert.deepEqual(routerAddresses(zero!), [[`${router.externalAddress}/24`], [`${net.gateway}/26`]], "the router's addresses");
    assert.deepEqual(routerAddresses(one!), routerAddresses(zero!), 'the same in both documents');

    const [macsZero, macsOne] = await Promise.all(MEMBERS.map(macs));
    assert.equal(macsZero!.length, 3, 'management, external and the tenant network');
    assert.equal(new Set([...macsZero!, ...macsOne!, net.routerMac]).size, 7, 'every member port has a MAC of its own, none the logical port\'s');
  });

  it('astara-ctl show lists both members with their address, health and the VRRP state their agents report', async () => {
    const configured = await lab.waitForResource(router.routerId, 'the pair', pairConfigured);
    // The agents settle their VRRP roles within seconds of their push (agents without HA report none).
    let agents = new Map<string, string | undefined>();
    await waitFor('the members to settle their VRRP roles', async () => {
      agents = await vrrpStates(configured);
      const reported = [...agents.values()].filter((state) => state !== undefined);
      return reported.length === 0 || reported.includes('MASTER');
    }, 30_000);
    // The orchestrator reads them at its health checks.
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const view = await lab.waitForResource(router.routerId, 'the VRRP states the agents report', (r) => MEMBERS.every((name) => member(r, name).ha?.state === (agents.get(name) ?? 'unknown')));
    const result = await lab.ctl(['show', router.routerId]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^ha: +pair$/m);
    for (const name of MEMBERS) {
      const appliance = member(view, name);
      const line = new RegExp(`^appliance ${name}: +ACTIVE, answering, ${addressOf(appliance)}, VRRP ${agents.get(name) ?? 'unknown'}\\b.*, id ${appliance.id}, booted `, 'm');
      assert.match(result.stdout, line);
    }
    const json = JSON.parse((await lab.ctl(['show', router.routerId, '--json'])).stdout) as ResourceState;
    assert.deepEqual(
      json.appliances.map((a) => [a.name, a.management_address, a.health]),
      MEMBERS.map((name) => [name, member(view, name).management_address, 'answering']),
    );
  });

  it("keeps a guest's TCP flow through NAT going through the other member while the lost master is rebuilt", async () => {
    const view = await lab.waitForResource(router.routerId, 'the pair', pairConfigured);
    let master: string | undefined;
    await waitFor('one member to be VRRP master', async () => {
      master = [...(await vrrpStates(view))].find(([, state]) => state === 'MASTER')?.[0];
      return master !== undefined;
    }, 30_000);
    const lost = member(view, master!);
    const survivor = member(view, master === MEMBERS[0] ? MEMBERS[1] : MEMBERS[0]);

    flow('ext', ['tcp-server', EXTERNAL.gateway, String(FLOW_PORT)]);
    await waitFor('the upstream server to listen', async () => (await lab.topology.exec('ext', ['ss', '-Hltn', `sport = :${FLOW_PORT}`])).stdout.trim() !== '');
    const client = flow('ga', ['tcp-client', EXTERNAL.gateway, String(FLOW_PORT), '1', String(FLOW_INTERVAL_MS)]);
    const echoes = async () => (await flowEvents(client)).filter((e) => e.event === 'echo');
    await waitFor('echoes through the pair', async () => (await echoes()).length >= 10, 30_000);

    await deleteNamespace(lost.name);
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const after = await lab.waitForResource(router.routerId, `a new ${lost.name} and a configured pair`, (r) => pairConfigured(r) && member(r, lost.name).id !== lost.id, 90_000);
    const rebuiltAt = Date.now();
    assert.equal(member(after, survivor.name).id, survivor.id, 'the survivor is the same appliance');
    await waitFor('echoes after the rebuild', async () => (await echoes()).filter((e) => e.at > rebuiltAt).length >= 10, 30_000);

    const events = await flowEvents(client);
    assert.deepEqual(
      events.filter((e) => e.event !== 'echo'),
      [events.find((e) => e.event === 'open')],
      'one connection, never reset nor closed',
    );
    const seqs = events.filter((e) => e.event === 'echo').map((e) => e.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'every line came back, in order');
    await waitFor('the new member to be VRRP backup', async () => (await vrrpStates(after)).get(lost.name) === 'BACKUP', 30_000);
    assert.equal((await vrrpStates(after)).get(survivor.name), 'MASTER', 'the survivor stays master: its new priority (100) keeps the new member from taking over');
    // The orchestrator reads the VRRP states at its health checks.
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    await lab.waitForResource(router.routerId, 'the states read at the next health check', (r) => member(r, survivor.name).ha?.state === 'MASTER' && member(r, lost.name).ha?.state === 'BACKUP');
    assert.match((await lab.ctl(['show', router.routerId])).stdout, new RegExp(`^appliance ${survivor.name}: .*, VRRP MASTER since `, 'm'));
  });

  it('rebuilds a member whose namespace was deleted alone, the other untouched, and configures both with the new peering', async () => {
    const before = await lab.waitForResource(router.routerId, 'the pair', pairConfigured);
    // The leader is lost: the survivor's priority changes, so it must be configured again.
    const lost = oldest(before);
    const survivor = other(before, lost);
    const survivorPid = survivor.details.agent_pid as number;
    const survivorLinks = await links(survivor.name);
    const survivorGeneration = (await agentGet<{ generation: number }>(survivor, '/v1/status/')).generation;

    await deleteNamespace(lost.name);
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const after = await lab.waitForResource(router.routerId, `a new ${lost.name} and a configured pair`, (r) => pairConfigured(r) && member(r, lost.name).id !== lost.id, 90_000);

    const kept = member(after, survivor.name);
    assert.equal(kept.id, survivor.id, 'the survivor is the same appliance');
    assert.equal(kept.details.agent_pid, survivorPid);
    assert.ok(alive(survivorPid), 'its agent never stopped');
    assert.deepEqual(await links(survivor.name), survivorLinks, 'and it was not re-plugged');
    const transitions = after.transitions ?? [];
    assert.ok(transitions.some((t) => t.instance_state === 'degraded' && t.to === 'CreateInstance'), JSON.stringify(transitions));
    assert.ok(!transitions.some((t) => t.to === 'StopInstance' || t.to === 'RebuildInstance'), JSON.stringify(transitions));

    // The survivor is now the oldest: it leads, and was pushed its new peering.
    await assertPeering(after, survivor.name);
    assert.ok((await agentGet<{ generation: number }>(kept, '/v1/status/')).generation > survivorGeneration, 'the survivor was configured again');
  });

  it('replaces a member whose agent was killed alone, the other untouched', async () => {
    const before = await lab.waitForResource(router.routerId, 'the pair', pairConfigured);
    const survivor = oldest(before);
    const killed = other(before, survivor);
    const killedPid = killed.details.agent_pid as number;
    signal(killedPid, 'SIGKILL');
    await waitFor('the agent to die', () => !alive(killedPid));
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const after = await lab.waitForResource(router.routerId, `a new ${killed.name} and a configured pair`, (r) => pairConfigured(r) && member(r, killed.name).id !== killed.id, 90_000);
    assert.notEqual(member(after, killed.name).details.agent_pid, killedPid);
    assert.equal(member(after, survivor.name).id, survivor.id);
    assert.equal(member(after, survivor.name).details.agent_pid, survivor.details.agent_pid);
    await assertPeering(after, survivor.name);
  });

  it('an edit of ha alone changes nothing; astara-ctl router rebuild then makes the pair one appliance', async () => {
    const pair = await lab.waitForResource(router.routerId, 'the pair', pairConfigured);
    const edited = await writeHa(false);
    assert.deepEqual(edited.ha, { requested: false, pair: true });
    assert.deepEqual(
      edited.appliances.map((a) => [a.name, a.id]),
      pair.appliances.map((a) => [a.name, a.id]),
      'the same two appliances',
    );
    assert.match((await lab.ctl(['show', router.routerId])).stdout, /^ha: +pair \(the router no longer asks for one: a rebuild makes it one appliance\)$/m);
    await assertPeering(edited, oldest(pair).name);

    const rebuild = await lab.ctl(['router', 'rebuild', router.routerId]);
    assert.equal(rebuild.exitCode, 0, rebuild.stderr);
    const single = await lab.waitForResource(
      router.routerId,
      'one appliance',
      (r) => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0 && r.appliances.length === 1 && r.appliances[0]!.name === applianceNamespace(router.routerId),
      90_000,
    );
    assert.deepEqual(single.ha, { requested: false, pair: false });
    assert.equal(single.appliances[0]!.ha, null);
    const namespaces = await lab.namespaces();
    for (const name of MEMBERS) assert.ok(!namespaces.includes(name), `${name} is gone`);
    const document = await documentOf(single.appliances[0]!);
    assert.equal(document.ha_resource, false);
    assert.equal(document.ha_config ?? null, null);
    assert.ok((await macs(applianceNamespace(router.routerId))).includes(net.routerMac), 'one appliance plugs the logical ports themselves');
  });

  it('switched on again, the router stays one appliance until the rebuild makes it a pair', async () => {
    const single = await writeHa(true);
    assert.deepEqual(single.ha, { requested: true, pair: false });
    assert.deepEqual(
      single.appliances.map((a) => a.name),
      [applianceNamespace(router.routerId)],
    );
    assert.match((await lab.ctl(['show', router.routerId])).stdout, /^ha: +one appliance \(the router asks for a pair: a rebuild makes it one\)$/m);
    const rebuild = await lab.ctl(['router', 'rebuild', router.routerId]);
    assert.equal(rebuild.exitCode, 0, rebuild.stderr);
    const pair = await lab.waitForResource(router.routerId, 'the pair again', (r) => pairConfigured(r) && r.appliances.every((a) => a.name !== applianceNamespace(router.routerId)), 90_000);
    assert.deepEqual(pair.ha, { requested: true, pair: true });
    assert.ok(!(await lab.namespaces()).includes(applianceNamespace(router.routerId)));
    await assertPeering(pair, MEMBERS[0]);
  });
});
