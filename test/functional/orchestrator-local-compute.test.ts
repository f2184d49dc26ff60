// The local compute provider for real: bridges in a throwaway "host"
// namespace (never the machine's own), appliance namespaces with the real
// agent inside, adoption by a second provider over the same state directory
// and of an appliance whose booting process has exited, hot-plug, crashes and
// clean-up. Runs as root.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { pino } from 'pino';
import type { NeutronPort } from '../../orchestrator/model/neutron.js';
import { configureCommandFor, defaultAgentCommand, LocalCompute, type LocalComputeOptions } from '../../orchestrator/providers/local/compute.js';
import { bridgeName, LocalBridges, tapName } from '../../orchestrator/providers/local/host.js';
import type { BootRequest, InstanceInfo } from '../../orchestrator/providers/types.js';
import { REPO } from '../harness/agent.js';
import { run, waitFor } from '../harness/exec.js';
import { alive, signal } from '../harness/topology.js';

const HOST = `astorch${process.pid}x${randomBytes(2).toString('hex')}-host`;
const MANAGEMENT_ADDRESS = 'fdca:3ba5:a17a:acda::1/64';
const AGENT_ADDRESS = 'fdca:3ba5:a17a:acda::10';
const AGENT_PORT = 5000;
const COMPUTE_MODULE = new URL('../../orchestrator/providers/local/compute.js', import.meta.url).href;

const net = { mgmt: randomUUID(), ext: randomUUID(), ten: randomUUID(), extra: randomUUID(), gone: randomUUID(), foreign: randomUUID(), unbridged: randomUUID() };

let macCounter = 0;
function port(networkId: string, address: string): NeutronPort {
  const n = ++macCounter;
  return {
    id: randomUUID(),
    network_id: networkId,
    mac_address: `fa:16:3e:${randomBytes(1).toString('hex')}:${randomBytes(1).toString('hex')}:${n.toString(16).padStart(2, '0')}`,
    fixed_ips: [{ subnet_id: randomUUID(), ip_address: address }],
    device_id: '',
    device_owner: 'network:router_interface',
  };
}

function bootRequest(routerId: string, managementAddress: string, ports: readonly NeutronPort[]): BootRequest {
  const managementPort = { ...port(net.mgmt, managementAddress), device_owner: 'network:astara' };
  return {
    name: `ak-router-${routerId}`,
    resource: { driver: 'router', id: routerId, tenantId: 'tenant-a' },
    managementPort,
    managementInterface: `${managementAddress}/64`,
    ports,
    mtus: { [net.ext]: 1450 },
    imageId: undefined,
    servicePort: AGENT_PORT,
  };
}

interface Link {
  ifname: string;
  address: string;
  mtu: number;
  master?: string;
  ifindex: number;
  linkinfo?: { info_data?: { mcast_snooping?: number; stp_state?: number; forward_delay?: number } };
  addr_info?: { local: string; prefixlen: number }[];
}

async function ipJson(netns: string | undefined, args: readonly string[]): Promise<Link[]> {
  const { stdout } = await run(['ip', ...(netns ? ['-n', netns] : []), '-j', ...args]);
  return stdout.trim() ? (JSON.parse(stdout) as Link[]) : [];
}

const hostLinks = (...args: string[]) => ipJson(HOST, ['link', 'show', ...args]);
const namespaceExists = (name: string) => existsSync(join('/run/netns', name));

/** GET from the host namespace, as the orchestrator talks to an agent. */
async function getFromHost(path: string, address = AGENT_ADDRESS): Promise<{ status: number; body: string }> {
  const url = `http://[${address}]:${AGENT_PORT}${path}`;
  const result = await run(['ip', 'netns', 'exec', HOST, 'curl', '-g', '-sS', '--max-time', '3', '-w', '\n%{http_code}', url], { allowFailure: true, timeoutMs: 10_000 });
  const lines = result.stdout.split('\n');
  const status = Number(lines.pop());
  return { status: Number.isFinite(status) ? status : 0, body: lines.join('\n') };
}

async function agentInterfaces(): Promise<{ ifname: string; lladdr: string }[]> {
  const answer = await getFromHost('/v1/system/interfaces');
  assert.equal(answer.status, 200, answer.body);
  return (JSON.parse(answer.body) as { interfaces: { ifname: string; lladdr: string }[] }).interfaces;
}

/** Boot from a separate orchestrator process that exits once the boot returns. */
async function bootInAnotherProcess(options: LocalComputeOptions, request: BootRequest): Promise<InstanceInfo> {
  const script = [
    "import { pino } from 'pino';",
    `import { LocalCompute } from ${JSON.stringify(COMPUTE_MODULE)};`,
    "const compute = new LocalCompute({ ...JSON.parse(process.env.ASTORCH_OPTIONS), logger: pino({ level: 'silent' }) });",
    'process.stdout.write(JSON.stringify(await compute.boot(JSON.parse(process.env.ASTORCH_REQUEST))));',
  ].join('\n');
  const { logger: _logger, ...plainOptions } = options;
  const child = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    env: { ASTORCH_OPTIONS: JSON.stringify(plainOptions), ASTORCH_REQUEST: JSON.stringify(request) },
    timeout: 60_000,
  });
  return JSON.parse(child.stdout) as InstanceInfo;
}

/**
 * The first-boot command held until `gate` exists: a boot stopped part-way,
 * its namespace made, for as long as the test needs.
 */
function gatedConfigureCommand(gate: string): string[] {
  const script = [
    "const { existsSync } = require('node:fs');",
    "const { spawnSync } = require('node:child_process');",
    'const [gate, program, ...args] = process.argv.slice(1);',
    "const wait = () => (existsSync(gate) ? process.exit(spawnSync(program, args, { stdio: 'inherit' }).status ?? 1) : setTimeout(wait, 50));",
    'wait();',
  ].join('\n');
  return [process.execPath, '-e', script, gate, ...configureCommandFor(defaultAgentCommand())];
}

describe('local compute provider', { timeout: 120_000 }, () => {
  const stateRoot = mkdtempSync(join(tmpdir(), 'astorch-compute-'));
  const logger = pino({ level: 'silent' });
  const bridges = new LocalBridges({ stateDir: stateRoot, hostNetns: HOST, logger });
  const options: LocalComputeOptions = { stateDir: join(stateRoot, 'appliances'), hostNetns: HOST, logger };
  const compute = new LocalCompute(options);
  const bootedNames = new Set<string>();

  before(async () => {
    await run(['ip', 'netns', 'add', HOST]);
    await run(['ip', '-n', HOST, 'link', 'set', 'lo', 'up']);
  });

  after(async () => {
    // Whatever failed, every namespace, bridge and directory this run made goes.
    await compute.destroy(await compute.listAllInstances().catch(() => []), 10_000).catch(() => undefined);
    for (const name of bootedNames) {
      for (const pid of (await run(['ip', 'netns', 'pids', name], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean)) signal(Number(pid), 'SIGKILL');
      await run(['ip', 'netns', 'del', name], { allowFailure: true });
    }
    await bridges.destroyAll().catch(() => undefined);
    await run(['ip', 'netns', 'del', HOST], { allowFailure: true });
    await rm(stateRoot, { recursive: true, force: true });
  });

  const allNetworks = [{ id: net.mgmt }, { id: net.ext, mtu: 1450 }, { id: net.ten }, { id: net.extra }, { id: net.gone }];
  const management = { networkId: net.mgmt, address: MANAGEMENT_ADDRESS };

  describe('bridges', () => {
    it('sync creates a brq bridge per network in the host namespace only, the management bridge with the address', async () => {
      const report = await bridges.sync(allNetworks, management);
      const names = allNetworks.map((n) => bridgeName(n.id));
      assert.deepEqual([...report.created].sort(), [...names].sort());

      const inHost = new Map((await ipJson(HOST, ['-d', 'link', 'show', 'type', 'bridge'])).map((l) => [l.ifname, l]));
      for (const name of names) {
        const bridge = inHost.get(name);
        assert.ok(bridge, `${name} exists in ${HOST}`);
        assert.equal(bridge.linkinfo?.info_data?.mcast_snooping, 0);
        assert.equal(bridge.linkinfo?.info_data?.stp_state, 0);
        assert.equal(bridge.linkinfo?.info_data?.forward_delay, 0);
      }
      assert.equal(inHost.get(bridgeName(net.ext))?.mtu, 1450);
      const inRoot = new Set((await ipJson(undefined, ['link', 'show'])).map((l) => l.ifname));
      for (const name of names) assert.ok(!inRoot.has(name), `${name} must not be in the root namespace`);

      const [mgmtBridge] = await ipJson(HOST, ['addr', 'show', 'dev', bridgeName(net.mgmt)]);
      assert.ok(mgmtBridge?.addr_info?.some((a) => a.local === 'fdca:3ba5:a17a:acda::1' && a.prefixlen === 64));
    });

    it('a second sync with the same input runs no mutating command and leaves the bridges as they were', async () => {
      const before = (await hostLinks('type', 'bridge')).map((l) => `${l.ifname}:${l.ifindex}`).sort();
      const report = await bridges.sync(allNetworks, management);
      assert.deepEqual(report.commands, []);
      assert.deepEqual(report.created, []);
      assert.deepEqual(report.removed, []);
      assert.deepEqual((await hostLinks('type', 'bridge')).map((l) => `${l.ifname}:${l.ifindex}`).sort(), before);
    });

    it('removing a network deletes its bridge, and a bridge it did not create is never deleted', async () => {
      const foreign = bridgeName(net.foreign);
      await run(['ip', '-n', HOST, 'link', 'add', foreign, 'type', 'bridge']);
      const withForeign = [...allNetworks.filter((n) => n.id !== net.gone), { id: net.foreign }];
      const report = await bridges.sync(withForeign, management);
      assert.deepEqual(report.removed, [bridgeName(net.gone)]);
      assert.deepEqual(report.created, []);
      const afterFirst = new Set((await hostLinks('type', 'bridge')).map((l) => l.ifname));
      assert.ok(!afterFirst.has(bridgeName(net.gone)));
      assert.ok(afterFirst.has(foreign));

      const without = await bridges.sync(withForeign.filter((n) => n.id !== net.foreign), management);
      assert.deepEqual(without.removed, []);
      assert.ok((await hostLinks('type', 'bridge')).some((l) => l.ifname === foreign), 'the foreign bridge is kept');
    });
  });

  describe('appliances', () => {
    const routerA = randomUUID();
    const extPort = port(net.ext, '192.0.2.10');
    const tenPort = port(net.ten, '198.51.100.1');
    const requestA = bootRequest(routerA, AGENT_ADDRESS, [extPort, tenPort]);
    const plugged = [requestA.managementPort, extPort, tenPort];
    let bootedA: InstanceInfo;
    let agentPid: number;

    it('boot plugs eth0.. with the MACs in order onto the right bridges and starts the real agent', async () => {
      bootedNames.add(requestA.name);
      bootedA = await compute.boot(requestA);
      assert.equal(bootedA.name, requestA.name);
      assert.equal(bootedA.status, 'BUILD');
      assert.deepEqual(bootedA.ports, [extPort, tenPort]);
      assert.equal(bootedA.managementPort?.id, requestA.managementPort.id);
      agentPid = bootedA.details.agent_pid as number;
      assert.ok(Number.isInteger(agentPid) && alive(agentPid));
      assert.ok(namespaceExists(requestA.name));

      const inside = new Map((await ipJson(requestA.name, ['link', 'show'])).map((l) => [l.ifname, l]));
      plugged.forEach((p, i) => assert.equal(inside.get(`eth${i}`)?.address, p.mac_address, `eth${i} carries the MAC of port ${i}`));
      assert.equal(inside.get('eth1')?.mtu, 1450);

      const host = new Map((await hostLinks()).map((l) => [l.ifname, l]));
      for (const p of plugged) assert.equal(host.get(tapName(p.id))?.master, bridgeName(p.network_id), `${tapName(p.id)} is on its network's bridge`);
      assert.equal(host.get(tapName(extPort.id))?.mtu, 1450);

      await waitFor('the agent to answer GET /v1/base/ from the host namespace', async () => {
        if (!alive(agentPid)) throw new Error(`the agent exited: see ${String(bootedA.details.log_file)}`);
        return (await getFromHost('/v1/base/')).status === 200;
      }, 30_000);
      // The agent runs in its own UTS and mount namespaces, with a private /run and its namespace's sysfs.
      assert.notEqual(await readlink(`/proc/${agentPid}/ns/uts`), await readlink('/proc/self/ns/uts'));
      const mounts = (await readFile(`/proc/${agentPid}/mountinfo`, 'utf8')).split('\n').map((line) => {
        const [before, after = ''] = line.split(' - ');
        return `${before?.split(' ')[4] ?? ''} ${after.split(' ').slice(0, 2).join(' ')}`;
      });
      assert.ok(mounts.includes('/run tmpfs astara-run'), mounts.join('\n'));
      assert.ok(mounts.includes('/sys sysfs astara-sys'), mounts.join('\n'));

      const interfaces = await agentInterfaces();
      assert.deepEqual(
        interfaces.map((i) => [i.ifname, i.lladdr]),
        plugged.map((p, i) => [`ge${i}`, p.mac_address]),
      );
    });

    it('a restarted orchestrator adopts the running appliance: same id, ACTIVE, agent not restarted', async () => {
      const restarted = new LocalCompute(options);
      const listed = await restarted.listInstances(requestA.name);
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.id, bootedA.id);
      assert.equal(listed[0]?.status, 'ACTIVE');
      assert.equal(listed[0]?.details.agent_pid, agentPid);
      assert.deepEqual(listed[0]?.ports, [extPort, tenPort]);
      assert.equal((await restarted.getInstance(bootedA.id))?.name, requestA.name);
      assert.deepEqual((await restarted.listAllInstances()).map((i) => i.id), [bootedA.id]);
      assert.ok(alive(agentPid));
      assert.equal((await getFromHost('/v1/base/')).status, 200);
    });

    it('refuses to boot over a running appliance, which keeps running', async () => {
      await assert.rejects(compute.boot(requestA), new RegExp(`boot ${requestA.name}: namespace ${requestA.name} already exists`));
      const [listed] = await compute.listInstances(requestA.name);
      assert.equal(listed?.status, 'ACTIVE');
      assert.equal(listed?.id, bootedA.id);
    });

    it('attach hot-plugs the next ethN, seen by the agent; detach removes it', async () => {
      const extraPort = port(net.extra, '198.51.100.65');
      const attached = await compute.attachInterface(bootedA, extraPort, undefined);
      assert.deepEqual(attached.ports, [extPort, tenPort, extraPort]);
      const inside = new Map((await ipJson(requestA.name, ['link', 'show'])).map((l) => [l.ifname, l]));
      assert.equal(inside.get('eth3')?.address, extraPort.mac_address);
      const host = new Map((await hostLinks()).map((l) => [l.ifname, l]));
      assert.equal(host.get(tapName(extraPort.id))?.master, bridgeName(net.extra));
      assert.deepEqual((await compute.listInstances(requestA.name))[0]?.ports, [extPort, tenPort, extraPort]);
      await waitFor('the agent to list the hot-plugged interface', async () => (await agentInterfaces()).some((i) => i.ifname === 'ge3' && i.lladdr === extraPort.mac_address));

      const detached = await compute.detachInterface(attached, extraPort);
      assert.deepEqual(detached.ports, [extPort, tenPort]);
      assert.ok(!(await ipJson(requestA.name, ['link', 'show'])).some((l) => l.ifname === 'eth3'));
      assert.ok(!(await hostLinks()).some((l) => l.ifname === tapName(extraPort.id)));
      assert.deepEqual((await compute.listInstances(requestA.name))[0]?.ports, [extPort, tenPort]);
      await waitFor('the agent to drop the unplugged interface', async () => !(await agentInterfaces()).some((i) => i.lladdr === extraPort.mac_address));
    });

    it('a boot that fails part-way names the step and leaves nothing behind', async () => {
      const stray = port(net.unbridged, '198.51.100.129');
      const request = bootRequest(randomUUID(), 'fdca:3ba5:a17a:acda::11', [stray]);
      bootedNames.add(request.name);
      await assert.rejects(compute.boot(request), new RegExp(`boot ${request.name}: plug port ${stray.id} \\(network ${net.unbridged}\\) as eth1: .*${bridgeName(net.unbridged)}`));
      assert.ok(!namespaceExists(request.name));
      assert.ok(!existsSync(join(options.stateDir, request.name)));
      assert.ok(!(await hostLinks()).some((l) => l.ifname === tapName(request.managementPort.id)));
      assert.deepEqual(await compute.listInstances(request.name), []);
    });

    it('a boot another orchestrator has under way is listed as booting, and booting it again takes it over', async () => {
      const address = 'fdca:3ba5:a17a:acda::13';
      const request = bootRequest(randomUUID(), address, [port(net.ext, '192.0.2.13')]);
      bootedNames.add(request.name);
      const gate = join(stateRoot, `gate-${request.resource.id}`);
      const otherBoot = bootInAnotherProcess({ ...options, configureCommand: gatedConfigureCommand(gate) }, request);
      try {
        let listed: InstanceInfo[] = [];
        await waitFor('the boot under way to be listed', async () => (listed = await compute.listInstances(request.name)).length > 0, 30_000);
        const [booting] = listed;
        assert.equal(booting?.status, 'BUILD');
        assert.equal(booting.managementPort?.id, request.managementPort.id);
        const taken = await compute.boot(request);
        assert.equal(taken.id, booting?.id);
        assert.equal(taken.status, 'BUILD');
      } finally {
        await writeFile(gate, '');
      }
      const booted = await otherBoot;
      const [running] = await compute.listInstances(request.name);
      assert.equal(running?.id, booted.id);
      assert.equal(running?.status, 'ACTIVE');
      await waitFor('the agent to answer', async () => (await getFromHost('/v1/base/', address)).status === 200, 30_000);
      await compute.destroy([booted], 15_000);
      assert.ok(!namespaceExists(request.name));
    });

    it('destroy stops every process, removes the namespace, the tap ends and the state directory', async () => {
      const stateDir = join(options.stateDir, requestA.name);
      assert.ok(existsSync(stateDir));
      await compute.destroy([bootedA], 15_000);
      assert.ok(!namespaceExists(requestA.name));
      assert.ok(!alive(agentPid));
      assert.deepEqual((await hostLinks('type', 'veth')).map((l) => l.ifname).filter((n) => n.startsWith('tap')), []);
      assert.ok(!existsSync(stateDir));
      assert.deepEqual(await compute.listInstances(requestA.name), []);
      await compute.destroy([bootedA], 5000);
    });

    it('an appliance outlives the orchestrator that booted it; killed agent: ERROR; deleted namespace: no longer listed', async () => {
      const address = 'fdca:3ba5:a17a:acda::12';
      const request = bootRequest(randomUUID(), address, [port(net.ext, '192.0.2.12')]);
      bootedNames.add(request.name);
      const booted = await bootInAnotherProcess(options, request);
      const pid = booted.details.agent_pid as number;
      await waitFor('the agent booted by the exited process to answer', async () => {
        if (!alive(pid)) throw new Error('the agent died with the process that booted it');
        return (await getFromHost('/v1/base/', address)).status === 200;
      }, 30_000);
      const [adopted] = await compute.listInstances(request.name);
      assert.equal(adopted?.id, booted.id);
      assert.equal(adopted?.status, 'ACTIVE');
      signal(pid, 'SIGKILL');
      await waitFor('the killed agent to be gone', () => !alive(pid));
      const [crashed] = await compute.listInstances(request.name);
      assert.equal(crashed?.id, booted.id);
      assert.equal(crashed?.status, 'ERROR');

      await run(['ip', 'netns', 'del', request.name]);
      assert.deepEqual(await compute.listInstances(request.name), []);
      assert.equal(await compute.getInstance(booted.id), undefined);
      assert.ok(!existsSync(join(options.stateDir, request.name)), 'the record of a vanished namespace is removed');
    });
  });
});
