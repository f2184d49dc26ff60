// Load balancers end to end through the orchestrator, with the local provider:
// a load balancer written into the resource file (Octavia's shapes) gets an
// appliance (a namespace running the real agent and nginx) on its VIP network
// and the management network; clients on that network reach the members
// through the VIP; an edit adding a member takes effect in the same
// appliance; `astara-ctl ssh` and `resource rebuild` work on it by its id;
// deleting the load balancer from the file removes the appliance, its
// namespace and its host device.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vipPortId } from '../../orchestrator/providers/local/network.js';
import { spawnInNs, waitFor } from '../harness/exec.js';
import { loadBalancerNamespace, OrchestratorLab, tapName } from '../harness/orchestrator.js';
import { loadBalancerFile, loadBalancerSpec, type MemberSpec } from '../harness/resources.js';

const spec = loadBalancerSpec(3);
const [m1, m2, m3] = spec.members as [MemberSpec, MemberSpec, MemberSpec];
const CLIENT = '198.51.100.50';
const VIP_URL = `http://${spec.vip}/`;

/** An HTTP server answering every request with its own name (argv: name, address, port). */
const MEMBER_SERVER = `
const [name, address, port] = process.argv.slice(1);
require('node:http').createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end(name + '\\n'); }).listen({ host: address, port: Number(port) });
`;

describe('load balancers through the orchestrator', () => {
  let lab: OrchestratorLab;

  /** Which members answer `count` requests to the VIP from the client, in order; undefined for a failed request. */
  const askVip = async (count: number): Promise<(string | undefined)[]> => {
    const answers: (string | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const result = await lab.topology.exec('cl', ['curl', '-sS', '--max-time', '3', VIP_URL], { allowFailure: true });
      answers.push(result.exitCode === 0 ? result.stdout.trim() : undefined);
    }
    return answers;
  };

  const startMember = async (member: MemberSpec) => {
    await lab.attach(member.name, spec.networkId, { addresses: [`${member.address}/24`] });
    // Ended by the topology's teardown, which ends every process in its namespaces.
    void spawnInNs(lab.topology.ns(member.name), [process.execPath, '-e', MEMBER_SERVER, member.name, member.address, String(member.port)], join(lab.topology.dir, `member-${member.name}.log`));
    await waitFor(`member ${member.name} to answer`, async () => {
      const probe = await lab.topology.exec(member.name, ['curl', '-sS', '--max-time', '1', `http://${member.address}:${member.port}/`], { allowFailure: true });
      return probe.stdout.trim() === member.name;
    });
  };

  before(async () => {
    lab = await OrchestratorLab.create({
      roles: ['cl', m1.name, m2.name, m3.name],
      ini: { DEFAULT: { enabled_drivers: 'router,loadbalancer' }, loadbalancer: { mgt_service_port: 5001 } },
      resources: loadBalancerFile(spec, [m1, m2]),
    });
    await lab.start();
    await lab.attach('cl', spec.networkId, { addresses: [`${CLIENT}/24`] });
    for (const member of spec.members) await startMember(member);
  });
  after(async () => {
    await lab?.destroy();
  });

  it('boots and configures an ak-loadbalancer appliance on the VIP network and the management network', async () => {
    const view = await lab.waitConfigured(spec.loadBalancerId);
    assert.equal(view.driver, 'loadbalancer');
    assert.equal(view.tenant_id, spec.tenantId.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'));
    assert.equal(view.appliances.length, 1);
    assert.equal(view.appliances[0]!.name, loadBalancerNamespace(spec.loadBalancerId));
    assert.ok((await lab.namespaces()).includes(loadBalancerNamespace(spec.loadBalancerId)));
    assert.ok((await lab.hostLinks('tap')).includes(tapName(vipPortId(spec.loadBalancerId))), 'the VIP port is plugged');
    const document = (await lab.resource(spec.loadBalancerId))!.last_document as {
      hostname: string;
      networks: { network_type: string; interface: { addresses: string[] } }[];
      services: { loadbalancer: { vip_address: string; listeners: { default_pool: { members: unknown[]; healthmonitor: unknown } }[] } };
    };
    assert.equal(document.hostname, `ak-loadbalancer-${spec.tenantId}`);
    assert.deepEqual(
      document.networks.map((n) => n.network_type),
      ['loadbalancer', 'management'],
    );
    assert.deepEqual(document.networks[0]!.interface.addresses, [`${spec.vip}/24`]);
    assert.equal(document.services.loadbalancer.listeners[0]!.default_pool.members.length, 2);
    assert.ok(document.services.loadbalancer.listeners[0]!.default_pool.healthmonitor);
    // astara-ctl reaches a load balancer's appliance by its id.
    const hostname = await lab.ctl(['ssh', spec.loadBalancerId, '--', 'cat', '/proc/sys/kernel/hostname']);
    assert.equal(hostname.stdout.trim(), `ak-loadbalancer-${spec.tenantId}`, hostname.stderr);
    // The agent listens on [loadbalancer] mgt_service_port.
    const agent = await lab.topology.exec('orch', ['curl', '-sS', '-g', '--max-time', '3', `http://[${view.appliances[0]!.management_address!}]:5001/v1/status/`], { allowFailure: true });
    assert.equal(agent.exitCode, 0, agent.stderr);
  });

  it('lets clients reach the members through the VIP, in turn', async () => {
    await waitFor('the VIP to answer', async () => (await askVip(1))[0] !== undefined, 20_000);
    const answers = await askVip(12);
    assert.deepEqual(
      answers.filter((a) => a === undefined),
      [],
      'no request fails',
    );
    assert.deepEqual([...new Set(answers)].sort(), [m1.name, m2.name]);
  });

  it('adds a member written into the file, in the same appliance', async () => {
    const pid = await lab.agentPid(spec.loadBalancerId);
    await lab.writeResources(loadBalancerFile(spec, [m1, m2, m3]));
    await waitFor('the new member to answer through the VIP', async () => (await askVip(3)).includes(m3.name), 30_000);
    const answers = await askVip(12);
    assert.deepEqual([...new Set(answers)].sort(), [m1.name, m2.name, m3.name]);
    assert.equal(await lab.agentPid(spec.loadBalancerId), pid, 'the same appliance, not a new one');
    const view = await lab.waitConfigured(spec.loadBalancerId);
    assert.equal(view.boot_attempts, 0);
  });

  it('rebuilds the appliance on `astara-ctl resource rebuild`', async () => {
    const before = (await lab.resource(spec.loadBalancerId))!;
    const rebuilt = await lab.ctl(['resource', 'rebuild', spec.loadBalancerId]);
    assert.equal(rebuilt.exitCode, 0, rebuilt.stderr);
    await lab.waitForResource(
      spec.loadBalancerId,
      'a new appliance',
      (r) => r.instance_state === 'configured' && r.queue_length === 0 && r.appliances[0]?.id !== before.appliances[0]?.id,
    );
    await waitFor('the VIP to answer from the new appliance', async () => (await askVip(1))[0] !== undefined, 20_000);
    assert.deepEqual([...new Set(await askVip(12))].sort(), [m1.name, m2.name, m3.name]);
  });

  it('removes the appliance, its namespace and its VIP port when the load balancer leaves the file', async () => {
    await lab.writeResources(loadBalancerFile(spec, [], false));
    await waitFor('the load balancer to be forgotten', async () => (await lab.resource(spec.loadBalancerId)) === undefined, 30_000);
    assert.ok(!(await lab.namespaces()).includes(loadBalancerNamespace(spec.loadBalancerId)), 'the namespace is gone');
    assert.ok(!(await lab.hostLinks('tap')).includes(tapName(vipPortId(spec.loadBalancerId))), 'the host end of the VIP port is gone');
    assert.deepEqual(await askVip(1), [undefined], 'nothing answers on the VIP');
  });
});
