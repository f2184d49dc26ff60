// A delta costs what it changes: a real agent in the router lab, verifying
// its live state every 200 ms. Once the host is verified to hold the last
// applied document, a document with one more floating IP, or one allocation
// changed, is checked and applied only in the subsystems it changes: the
// others are reported skipped and run no command, not even a read (a full
// apply of the same document reads in every one of them). The change itself
// reaches the host; on a drifted host everything is applied again.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { waitFor } from '../harness/exec.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Allocation {
  mac_address: string;
  ip_addresses: Record<string, boolean>;
  hostname?: string;
}
interface Doc {
  networks: { interface: { ifname: string }; allocations: Allocation[] }[];
  floating_ips: { floating_ip: string; fixed_ip: string }[];
}
interface Step {
  subsystem: string;
  changed: boolean;
  commands: number;
  reads: number;
  skipped?: true;
}
interface Report {
  generation: number;
  reused?: boolean;
  steps: Step[];
}
interface LiveState {
  condition: 'unverified' | 'verified' | 'drifted';
  since: string;
}

const FIRST_FLOATING = { floating_ip: '203.0.113.10', fixed_ip: '198.51.100.10' };
const NEW_FLOATING = { floating_ip: '203.0.113.20', fixed_ip: '198.51.100.74' };
/** Subsystems each delta leaves alone; those before `hostname` read the host (run `ip`) in a full apply. */
const UNTOUCHED_BY_FLOATING_IP = ['routes', 'hostname', 'sysctl', 'dhcp', 'routing'];
// Not arp: it keeps a static neighbour entry per allocated address, with its MAC.
const UNTOUCHED_BY_ALLOCATION = ['interfaces', 'routes', 'hostname', 'sysctl', 'routing'];
const readersOf = (subsystems: readonly string[]) => subsystems.slice(0, subsystems.indexOf('hostname'));

describe('a delta on a verified host', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;

  const put = async (body: Doc, headers: readonly string[] = []): Promise<Report> => {
    const answer = await agent.request('PUT', '/v1/system/config', { body, headers });
    assert.equal(answer.status, 200, answer.body);
    return (await agent.request('GET', '/v1/system/apply')).json<{ report: Report }>().report;
  };
  const liveState = async (): Promise<LiveState> => (await agent.request('GET', '/v1/status')).json<{ live_state: LiveState }>().live_state;
  const awaitCondition = async (condition: LiveState['condition'], after = ''): Promise<LiveState> => {
    let state: LiveState | undefined;
    await waitFor(`the live state to be ${condition} (it is ${JSON.stringify(state)})`, async () => {
      state = await liveState();
      return state.condition === condition && state.since > after;
    });
    return state!;
  };
  const step = (report: Report, subsystem: string): Step => {
    const found = report.steps.find((s) => s.subsystem === subsystem);
    assert.ok(found, `no ${subsystem} step in ${JSON.stringify(report.steps)}`);
    return found;
  };
  const assertSkipped = (report: Report, subsystems: readonly string[]) => {
    for (const subsystem of subsystems) {
      assert.deepEqual(step(report, subsystem), { ...step(report, subsystem), skipped: true, changed: false, commands: 0, reads: 0 }, subsystem);
    }
  };
  const externalAddresses = async () => (await lab.exec('router', ['ip', '-o', 'address', 'show', 'dev', 'eth1'])).stdout;

  before(async () => {
    lab = await routerLab();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], extraArgs: ['--verify-period', '0.2'] });
    doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    doc.floating_ips = [FIRST_FLOATING];
    await put(doc);
    await awaitCondition('verified');
    // The same document applied in full: what every subsystem reads when nothing is trusted.
    const full = await put(doc, ['Cache-Control: no-cache']);
    assert.ok(full.steps.every((s) => s.skipped === undefined), JSON.stringify(full.steps));
    for (const subsystem of [...readersOf(UNTOUCHED_BY_FLOATING_IP), ...readersOf(UNTOUCHED_BY_ALLOCATION)]) {
      assert.ok(step(full, subsystem).reads > 0, `a full apply reads in ${subsystem}: ${JSON.stringify(full.steps)}`);
    }
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('one more floating IP: only the subsystems it changes are applied, and it is on the host', async () => {
    await awaitCondition('verified');
    doc = { ...doc, floating_ips: [FIRST_FLOATING, NEW_FLOATING] };
    const report = await put(doc);
    assert.notEqual(report.reused, true);
    assertSkipped(report, UNTOUCHED_BY_FLOATING_IP);
    for (const subsystem of ['interfaces', 'firewall']) {
      assert.equal(step(report, subsystem).skipped, undefined, subsystem);
      assert.equal(step(report, subsystem).changed, true, subsystem);
    }
    assert.match(await externalAddresses(), /inet 203\.0\.113\.20\//);
  });

  it('one allocation changed: the dhcp step applies it, the untouched subsystems are skipped', async () => {
    await awaitCondition('verified');
    const changed = structuredClone(doc);
    const network = changed.networks.find((n) => n.interface.ifname === 'ge3')!;
    network.allocations = [{ ...network.allocations[0]!, mac_address: '02:00:00:00:03:0c' }];
    const report = await put(changed);
    assertSkipped(report, UNTOUCHED_BY_ALLOCATION);
    assert.equal(step(report, 'dhcp').skipped, undefined);
    assert.equal(step(report, 'dhcp').changed, true);
    const hosts = await readFile(join(agent.stateDir, 'dnsmasq', 'hosts'), 'utf8').catch(() => '');
    assert.match(hosts, /02:00:00:00:03:0c/, hosts);
    doc = changed;
  });

  it('on a drifted host, a delta is applied in full and repairs the drift', async () => {
    const verified = await awaitCondition('verified');
    await lab.ip('router', ['address', 'del', '192.0.2.2/24', 'dev', 'eth1']);
    await awaitCondition('drifted', verified.since);
    doc = { ...doc, floating_ips: [FIRST_FLOATING] };
    const report = await put(doc);
    assert.ok(report.steps.every((s) => s.skipped === undefined), JSON.stringify(report.steps));
    for (const subsystem of readersOf(UNTOUCHED_BY_ALLOCATION)) assert.ok(step(report, subsystem).reads > 0, subsystem);
    const addresses = await externalAddresses();
    assert.match(addresses, /inet 192\.0\.2\.2\/24/);
    assert.doesNotMatch(addresses, /203\.0\.113\.20/);
  });
});
