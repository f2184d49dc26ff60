// A re-push of the document the host holds, answered without applying it,
// and drift still repaired: a real agent in the router lab, verifying its
// live state every 200 ms. Once verified, the same bytes are answered with
// the same generation and no command; a rule or an address removed by hand
// is seen by the next verification, and the next push of the same document
// applies in full and puts it back; `Cache-Control: no-cache` repairs at once.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { waitFor } from '../harness/exec.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Doc {
  floating_ips: { floating_ip: string; fixed_ip: string }[];
}
interface Report {
  generation: number;
  reused?: boolean;
  steps: { subsystem: string; changed: boolean; commands: number }[];
}
interface LiveState {
  condition: 'unverified' | 'verified' | 'drifted';
  since: string;
}

const FLOATING = '203.0.113.10';
const GUEST_A = '198.51.100.10';
const SNAT_RULE = ['astara-postrouting', '-o', 'eth1', '-j', 'SNAT', '--to-source', '192.0.2.2'];

describe('a re-push of the document the host holds', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;

  const put = async (headers: readonly string[] = []): Promise<Report> => {
    const answer = await agent.request('PUT', '/v1/system/config', { body: doc, headers });
    assert.equal(answer.status, 200, answer.body);
    const { report } = (await agent.request('GET', '/v1/system/apply')).json<{ report: Report }>();
    assert.equal(answer.json<{ generation: number }>().generation, report.generation);
    return report;
  };
  const liveState = async (): Promise<LiveState> => (await agent.request('GET', '/v1/status')).json<{ live_state: LiveState }>().live_state;
  const awaitCondition = async (condition: LiveState['condition'], after = ''): Promise<LiveState> => {
    let state: LiveState | undefined;
    try {
      await waitFor(`the live state to be ${condition}`, async () => {
        state = await liveState();
        return state.condition === condition && state.since > after;
      });
    } catch (error) {
      throw new Error(`${String(error)}; it is ${JSON.stringify(state)}; the agent's log:\n${(await agent.log()).split('\n').filter((l) => /live state|verify/.test(l)).slice(-5).join('\n')}`);
    }
    return state!;
  };
  const natRules = async () => (await lab.exec('router', ['iptables-save', '-t', 'nat'])).stdout;
  const floatingIpDnat = async () => (await lab.exec('router', ['nft', 'list', 'map', 'inet', 'astara-fip', 'dnat4'])).stdout;
  const routerAddresses = async () => (await lab.exec('router', ['ip', '-o', 'address', 'show', 'dev', 'eth1'])).stdout;

  before(async () => {
    lab = await routerLab();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], extraArgs: ['--verify-period', '0.2'] });
    doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    doc.floating_ips = [{ floating_ip: FLOATING, fixed_ip: GUEST_A }];
    const first = await put();
    assert.notEqual(first.reused, true);
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('is answered with the same generation and no command once the host is verified, and stays verified', async () => {
    const verified = await awaitCondition('verified');
    const generation = (await agent.request('GET', '/v1/status')).json<{ generation: number }>().generation;
    const report = await put();
    assert.equal(report.reused, true);
    assert.equal(report.generation, generation);
    assert.ok(report.steps.every((s) => s.commands === 0 && !s.changed), JSON.stringify(report.steps));
    // Later verifications of an untouched host find nothing: no false drift from counters, lifetimes or daemons.
    await awaitCondition('verified', verified.since);
    assert.equal((await put()).reused, true);
  });

  it('a firewall rule deleted by hand is found by the next verification and put back by the next push', async () => {
    const before = await awaitCondition('verified');
    const rule = new RegExp(`^-A ${SNAT_RULE.join(' ').replace(/\./g, '\\.')}$`, 'm');
    await lab.exec('router', ['iptables', '-t', 'nat', '-D', ...SNAT_RULE]);
    assert.doesNotMatch(await natRules(), rule);
    await awaitCondition('drifted', before.since);
    const report = await put();
    assert.notEqual(report.reused, true);
    assert.equal(report.steps.find((s) => s.subsystem === 'firewall')?.changed, true);
    assert.match(await natRules(), rule);
    await awaitCondition('verified');
    assert.equal((await put()).reused, true, 'the repaired host is verified again');
  });

  it('a floating IP’s map element deleted by hand is found by the next verification and put back by the next push', async () => {
    const element = new RegExp(`${FLOATING.replace(/\./g, '\\.')} : ${GUEST_A.replace(/\./g, '\\.')}`);
    assert.match(await floatingIpDnat(), element);
    const before = await awaitCondition('verified');
    await lab.exec('router', ['nft', 'delete', 'element', 'inet', 'astara-fip', 'dnat4', `{ ${FLOATING} }`]);
    assert.doesNotMatch(await floatingIpDnat(), element);
    await awaitCondition('drifted', before.since);
    const report = await put();
    assert.notEqual(report.reused, true);
    assert.equal(report.steps.find((s) => s.subsystem === 'firewall')?.changed, true);
    assert.match(await floatingIpDnat(), element);
    await awaitCondition('verified');
    assert.equal((await put()).reused, true, 'the repaired host is verified again');
  });

  it('Cache-Control: no-cache applies in full at once, before any verification saw the drift', async () => {
    await awaitCondition('verified');
    await lab.ip('router', ['address', 'del', '192.0.2.2/24', 'dev', 'eth1']);
    assert.doesNotMatch(await routerAddresses(), /192\.0\.2\.2\/24/);
    const report = await put(['Cache-Control: no-cache']);
    assert.notEqual(report.reused, true);
    assert.equal(report.steps.find((s) => s.subsystem === 'interfaces')?.changed, true);
    assert.match(await routerAddresses(), /192\.0\.2\.2\/24/);
  });
});
