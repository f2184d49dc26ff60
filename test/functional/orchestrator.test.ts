// The orchestrator end to end, with the local provider: a router written into
// the resource file gets an appliance (a namespace running the real agent),
// its guests get DHCP leases, reach the upstream server through NAT and a
// floating IP, and read their metadata; file edits hot-plug networks and move
// floating IPs; a dead appliance is replaced; operator commands do what they
// say; a restarted orchestrator adopts the running appliances.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO } from '../harness/agent.js';
import { DhcpClient } from '../harness/dhclient.js';
import { run, waitFor } from '../harness/exec.js';
import { applianceNamespace, OrchestratorLab, tapName } from '../harness/orchestrator.js';
import { EXTERNAL, externalNetwork, resourceFile, routerSpec, tenantNetwork, type FloatingIp } from '../harness/resources.js';
import { seenAs, startEchoServer } from '../harness/servers.js';
import { alive, signal } from '../harness/topology.js';

const external = externalNetwork();
const router = routerSpec(2);
const [netA, netB] = router.tenants as [ReturnType<typeof tenantNetwork>, ReturnType<typeof tenantNetwork>];
const netC = tenantNetwork(2, 'guest-c');
const FLOATING_B: FloatingIp = { id: randomUUID(), address: '192.0.2.50', routerId: router.routerId, portId: netB.guestPortId, fixedAddress: netB.guestAddress };
const FLOATING_A: FloatingIp = { id: randomUUID(), address: '192.0.2.51', routerId: router.routerId, portId: netA.guestPortId, fixedAddress: netA.guestAddress };

describe('the orchestrator with the local provider', () => {
  let lab: OrchestratorLab;

  const files = {
    initial: () => resourceFile(external, [router], [FLOATING_B]),
    withC: () => resourceFile(external, [{ ...router, tenants: [netA, netB, netC] }], [FLOATING_B]),
  };
  const lease = async (role: string, expected: string) => {
    const attempt = await new DhcpClient(lab.topology, role).lease(10);
    assert.equal(attempt.lease?.address, expected, `${role} gets its lease`);
  };
  const instanceId = async (role: string) => (await lab.topology.exec(role, ['curl', '-sS', '--max-time', '5', 'http://169.254.169.254/latest/meta-data/instance-id'], { allowFailure: true })).stdout;

  before(async () => {
    lab = await OrchestratorLab.create({ roles: ['ext', 'ga', 'gb', 'gc'], resources: files.initial() });
    await lab.start();
    await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
    await startEchoServer(lab.topology, 'ext', EXTERNAL.gateway);
    await lab.attach('ga', netA.networkId, { mac: netA.guestMac });
    await lab.attach('gb', netB.networkId, { mac: netB.guestMac });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('boots and configures an appliance for the router in the file', async () => {
    const view = await lab.waitConfigured(router.routerId);
    assert.equal(view.appliances.length, 1);
    assert.equal(view.appliances[0]!.name, applianceNamespace(router.routerId));
    assert.ok((await lab.namespaces()).includes(applianceNamespace(router.routerId)));
    assert.equal(view.last_push?.ok, true);
  });

  it('serves its guests: DHCP, NAT to the upstream server, the floating IP both ways, metadata', async () => {
    await lease('ga', netA.guestAddress);
    await lease('gb', netB.guestAddress);
    assert.equal(await seenAs(lab.topology, 'ga', `http://${EXTERNAL.gateway}:8080/`), router.externalAddress);
    assert.equal(await seenAs(lab.topology, 'gb', `http://${EXTERNAL.gateway}:8080/`), FLOATING_B.address);
    await startEchoServer(lab.topology, 'gb', netB.guestAddress);
    assert.equal(await seenAs(lab.topology, 'ext', `http://${FLOATING_B.address}:8080/`), EXTERNAL.gateway);
    assert.equal(await instanceId('ga'), netA.instanceId);
    assert.equal(await instanceId('gb'), netB.instanceId);
    const metaData = JSON.parse((await lab.topology.exec('gb', ['curl', '-sS', '--max-time', '5', 'http://169.254.169.254/openstack/latest/meta_data.json'])).stdout) as Record<string, unknown>;
    assert.equal(metaData.uuid, netB.instanceId);
    assert.equal(metaData.name, netB.guestName);
    assert.equal(metaData.project_id, router.tenantId);
  });

  it('hot-plugs a router interface added to the file, and serves the new network', async () => {
    const pid = await lab.agentPid(router.routerId);
    await lab.writeResources(files.withC());
    await lab.attach('gc', netC.networkId, { mac: netC.guestMac });
    await lab.waitForResource(router.routerId, 'the new interface to be configured', (r) => {
      const document = r.last_document as { networks?: { network_id: string }[] } | undefined;
      return r.instance_state === 'configured' && (document?.networks ?? []).some((n) => n.network_id === netC.networkId);
    });
    assert.equal(await lab.agentPid(router.routerId), pid, 'the same appliance, not a new one');
    await lease('gc', netC.guestAddress);
    assert.equal(await seenAs(lab.topology, 'gc', `http://${EXTERNAL.gateway}:8080/`), router.externalAddress);
    assert.equal(await instanceId('gc'), netC.instanceId);
  });

  it('adds and removes a floating IP as the file says', async () => {
    await startEchoServer(lab.topology, 'ga', netA.guestAddress);
    await lab.writeResources(resourceFile(external, [{ ...router, tenants: [netA, netB, netC] }], [FLOATING_B, FLOATING_A]), 'in-place');
    await waitFor('the new floating IP to answer', async () => (await seenAs(lab.topology, 'ext', `http://${FLOATING_A.address}:8080/`, 1)) === EXTERNAL.gateway, 30_000);
    assert.equal(await seenAs(lab.topology, 'ga', `http://${EXTERNAL.gateway}:8080/`), FLOATING_A.address);
    await lab.writeResources(files.withC());
    await waitFor('the removed floating IP to stop answering', async () => (await seenAs(lab.topology, 'ext', `http://${FLOATING_A.address}:8080/`, 1)) === undefined, 30_000);
    assert.equal(await seenAs(lab.topology, 'ga', `http://${EXTERNAL.gateway}:8080/`), router.externalAddress);
  });

  it('reports an invalid edit with the path of each problem and changes nothing', async () => {
    const before = (await lab.resource(router.routerId))!;
    const lines = await lab.logLines();
    const broken = files.withC();
    broken.ports[0] = { ...broken.ports[0]!, fixed_ips: [{ subnet_id: 'no-such-subnet', ip_address: '198.51.100.1' }] };
    await lab.writeResources(broken);
    const at = await lab.waitForLog('the invalid edit to be reported', (l) => l.msg === 'resource file is invalid: keeping the last valid view', lines);
    const problems = (JSON.parse((await lab.log()).split('\n')[at]!) as { problems: { path: string }[] }).problems;
    assert.ok(problems.some((p) => p.path === '/ports/0/fixed_ips/0/subnet_id'), JSON.stringify(problems));
    const after = (await lab.resource(router.routerId))!;
    assert.equal(after.last_push?.at, before.last_push?.at, 'nothing pushed');
    await lab.writeResources(files.withC());
  });

  it('unplugs a router interface removed from the file, keeping the appliance', async () => {
    const pid = await lab.agentPid(router.routerId);
    await lab.writeResources(files.initial());
    await lab.waitForResource(router.routerId, 'network C to be unplugged', (r) => {
      const document = r.last_document as { networks?: { network_id: string }[] } | undefined;
      return r.instance_state === 'configured' && r.queue_length === 0 && !(document?.networks ?? []).some((n) => n.network_id === netC.networkId);
    });
    assert.ok(!(await lab.hostLinks('tap')).includes(tapName(netC.routerPortId)), 'the tap of network C is gone');
    assert.equal(await lab.agentPid(router.routerId), pid, 'the same appliance');
    assert.equal(await seenAs(lab.topology, 'gb', `http://${EXTERNAL.gateway}:8080/`), FLOATING_B.address);
    await lab.writeResources(files.withC());
    await lab.waitForResource(router.routerId, 'network C to be plugged again', (r) => {
      const document = r.last_document as { networks?: { network_id: string }[] } | undefined;
      return r.instance_state === 'configured' && r.queue_length === 0 && (document?.networks ?? []).some((n) => n.network_id === netC.networkId);
    });
  });

  it('replaces an appliance whose agent was killed', async () => {
    const before = await lab.resource(router.routerId);
    const pid = await lab.agentPid(router.routerId);
    signal(pid, 'SIGKILL');
    await waitFor('the agent to die', () => !alive(pid));
    // The health check runs hourly in this lab: ask for a poll, as the health monitor would.
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const after = await lab.waitForResource(router.routerId, 'a new appliance', (r) => r.instance_state === 'configured' && r.appliances[0]?.id !== before?.appliances[0]?.id && r.queue_length === 0);
    assert.notEqual(after.appliances[0]!.details.agent_pid, pid);
    await lease('ga', netA.guestAddress);
    assert.equal(await seenAs(lab.topology, 'gb', `http://${EXTERNAL.gateway}:8080/`), FLOATING_B.address);
  });

  it('replaces an appliance whose namespace was deleted', async () => {
    const before = await lab.resource(router.routerId);
    for (const pid of await lab.appliancePids(router.routerId)) signal(pid, 'SIGKILL');
    await run(['ip', 'netns', 'del', applianceNamespace(router.routerId)]);
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    await lab.waitForResource(router.routerId, 'a new appliance', (r) => r.instance_state === 'configured' && r.appliances[0]?.id !== before?.appliances[0]?.id && r.queue_length === 0);
    assert.equal(await seenAs(lab.topology, 'ga', `http://${EXTERNAL.gateway}:8080/`), router.externalAddress);
  });

  it('configures again an agent that came back with an empty state directory', async () => {
    const view = (await lab.resource(router.routerId))!;
    const pid = await lab.agentPid(router.routerId);
    const stateDir = view.appliances[0]!.details.state_dir as string;
    signal(pid, 'SIGKILL');
    await waitFor('the agent to die', () => !alive(pid));
    // Keep the management record (first boot), lose the applied document.
    await rm(join(stateDir, 'applied.json'), { force: true });
    // Started again the way the orchestrator starts it: its own session, no pipe back to us.
    spawn(
      'ip',
      ['netns', 'exec', applianceNamespace(router.routerId), 'unshare', '--mount', '--uts', '--propagation', 'private', '--',
        'sh', join(REPO, 'orchestrator/providers/local/appliance-init.sh'), join(REPO, 'bin/astara-appliance'), 'serve', '--state-dir', stateDir],
      { detached: true, stdio: 'ignore' },
    ).unref();
    await waitFor('the restarted agent to answer', async () => (await lab.topology.exec('orch', ['curl', '-sS', '-g', '--max-time', '1', `http://[${view.appliances[0]!.management_address!}]:5000/v1/base/`], { allowFailure: true })).exitCode === 0, 30_000);
    assert.equal((await lab.ctl(['poll'])).exitCode, 0);
    const after = await lab.waitForResource(router.routerId, 'the document pushed again', (r) => r.instance_state === 'configured' && r.last_push?.generation === 1 && r.queue_length === 0);
    assert.equal(after.appliances[0]!.id, view.appliances[0]!.id, 'the same appliance: configured, not rebooted');
    assert.equal(await seenAs(lab.topology, 'gb', `http://${EXTERNAL.gateway}:8080/`), FLOATING_B.address);
  });

  it('adopts the running appliance after an orchestrator restart', async () => {
    const before = (await lab.resource(router.routerId))!;
    await lab.stop();
    assert.ok((await lab.namespaces()).includes(applianceNamespace(router.routerId)), 'the appliance kept running');
    assert.equal(await seenAs(lab.topology, 'ga', `http://${EXTERNAL.gateway}:8080/`), router.externalAddress, 'and kept routing');
    const lines = await lab.logLines();
    await lab.start();
    const after = await lab.waitConfigured(router.routerId);
    assert.equal(after.appliances[0]!.id, before.appliances[0]!.id);
    assert.equal(after.appliances[0]!.details.agent_pid, before.appliances[0]!.details.agent_pid);
    await lab.waitForLog('the adoption', (l) => l.msg === 'the appliance already holds this document' && l.resource === router.routerId, lines);
  });

  it('removes the appliance, its namespace and every tap when the router leaves the file', async () => {
    const ports = [netA, netB, netC].map((t) => tapName(t.routerPortId));
    assert.ok((await lab.hostLinks('tap')).some((l) => ports.includes(l)));
    await lab.writeResources({ ...files.withC(), routers: [], ports: files.withC().ports.filter((p) => p.device_owner !== 'network:router_interface'), floatingips: [] });
    await waitFor('the appliance namespace to go', async () => !(await lab.namespaces()).includes(applianceNamespace(router.routerId)), 30_000);
    assert.deepEqual((await lab.hostLinks('tap')).filter((l) => ports.includes(l)), []);
    await waitFor('the resource to be forgotten', async () => (await lab.resource(router.routerId)) === undefined);
  });
});
