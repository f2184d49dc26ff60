// An HA router pair end to end: two real agents in two namespaces on shared
// bridges (test/harness/ha-lab.ts), keepalived and conntrackd for real, a
// guest holding a TCP connection through NAT to the upstream and the
// upstream holding one to the other guest through its floating IP, both
// with data every 100 ms. The member with priority 100 is master; killing it
// (its links go down, every process in it is killed) makes the backup hold
// every address within 3 s with every connection going on; the old master
// comes back, waits as backup, then takes over again without a connection
// lost; a split management link makes both members master, and the pair
// converges when it is joined again; the master's agent killed, or one of
// its shared links down, moves the router too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DhcpClient } from '../harness/dhclient.js';
import { waitFor } from '../harness/exec.js';
import { HA, HaLab, type Flow, type FlowEvent, type Member } from '../harness/ha-lab.js';
import { seenAs, startEchoServer, startMetadataServer } from '../harness/servers.js';
import { LAB } from '../harness/topology.js';
import { PREEMPT_DELAY_S } from '../../appliance/drivers/ha/render.js';

const NAT_PORT = 7001;
const FLOATING_PORT = 7002;
const PUSH_PORT = 7003;
const INTERVAL_MS = 100;

describe('an HA router pair', () => {
  let lab: HaLab;
  /**
   * Guest A -> upstream through NAT and upstream -> guest B through its
   * floating IP, data both ways; and the upstream pushing data to guest A,
   * which sends nothing: after a failover its first packets reach the new
   * master from the upstream, at the NAT mapping, and only a mapping
   * synchronised before the failover lets them in (a guest's packet would
   * have the kernel pick its connection up again, NAT included).
   */
  let flows: { nat: Flow; floating: Flow; push: Flow };

  const put = async (member: Member, priority: number) => {
    const answer = await lab.agent(member).request('PUT', '/v1/system/config', { body: await lab.document(member, priority) });
    assert.equal(answer.status, 200, answer.body);
  };

  before(async () => {
    lab = await HaLab.create();
    await startEchoServer(lab.topology, 'ext', LAB.ext.v4);
    await startMetadataServer(lab.topology, 'mgmt', HA.orchestrator);
    await lab.startAgent('ra');
    await lab.startAgent('rb');
    await put('ra', 100);
    await put('rb', 50);
  });
  after(async () => {
    await lab?.destroy();
  });

  it('makes the member with priority 100 master, holding every shared address and the default routes; the backup holds none', async () => {
    await lab.waitForState('ra', 'MASTER');
    await lab.waitForState('rb', 'BACKUP');
    await waitFor('ra to hold every shared address', () => lab.holdsAll('ra'));
    assert.deepEqual(await lab.sharedAddresses('ra'), [...HA.shared].sort());
    assert.deepEqual(await lab.sharedAddresses('rb'), []);
    const defaults = async (member: Member) => (await lab.topology.exec(member, ['ip', '-j', 'route', 'show', 'default'])).stdout;
    assert.match(await defaults('ra'), /"gateway":"192\.0\.2\.1"/);
    assert.doesNotMatch(await defaults('rb'), /gateway/);
    const status = await lab.status('rb');
    assert.equal(status?.peer, HA.management.ra);
    assert.ok(status && Date.parse(status.since) > 0);
    await waitFor('router advertisements from the master only', async () => (await lab.advertises('ra')) && !(await lab.advertises('rb')));
    const metrics = (await lab.agent('ra').request('GET', '/metrics')).body;
    assert.match(metrics, new RegExp(`^astara_appliance_ha_state\\{state="MASTER",peer="${HA.management.rb}"\\} 1$`, 'm'));
    assert.match(metrics, /^astara_appliance_ha_state\{state="BACKUP",peer="[^"]+"\} 0$/m);
  });

  it('serves the guests from the master: DHCP, NAT, floating IPs, metadata', async () => {
    for (const [role, address] of [['ta', HA.guestA], ['tb', HA.guestB]] as const) {
      const { lease } = await new DhcpClient(lab.topology, role).lease();
      assert.equal(lease?.address, address);
    }
    assert.equal(await seenAs(lab.topology, 'ta', `http://${LAB.ext.v4}:8080/`), HA.routerExternal);
    assert.equal(await seenAs(lab.topology, 'tb', `http://${LAB.ext.v4}:8080/`), HA.floatingB);
    await startEchoServer(lab.topology, 'tb', HA.guestB);
    assert.equal(await seenAs(lab.topology, 'ext', `http://${HA.floatingB}:8080/`), LAB.ext.floatingGateway);
    const metadata = await lab.topology.exec('ta', ['curl', '-sS', '--max-time', '5', 'http://169.254.169.254/latest/meta-data/instance-id']);
    assert.equal((JSON.parse(metadata.stdout) as { forwarded_for: string }).forwarded_for, HA.guestA);
  });

  it('keeps every connection through a crash of the master: the backup holds every address within 3 s, answers DHCP and says MASTER', async (t) => {
    lab.flow('ext', ['tcp-server', LAB.ext.v4, String(NAT_PORT)]);
    lab.flow('tb', ['tcp-server', HA.guestB, String(FLOATING_PORT)]);
    lab.flow('ext', ['tcp-pusher', LAB.ext.v4, String(PUSH_PORT), String(INTERVAL_MS)]);
    for (const [role, port] of [['ext', NAT_PORT], ['tb', FLOATING_PORT], ['ext', PUSH_PORT]] as const) await listening(role, port);
    flows = {
      nat: lab.flow('ta', ['tcp-client', LAB.ext.v4, String(NAT_PORT), '1', String(INTERVAL_MS)]),
      floating: lab.flow('ext', ['tcp-client', HA.floatingB, String(FLOATING_PORT), '1', String(INTERVAL_MS)]),
      push: lab.flow('ta', ['tcp-reader', LAB.ext.v4, String(PUSH_PORT), '1']),
    };
    await waitFor('every connection to carry data', async () => (await Promise.all(Object.values(flows).map((f) => echoesAfter(f, 0)))).every((n) => n > 5));
    // The backup holds the connections (NAT mappings included) aside, to commit them when it takes over.
    await waitFor('the backup to hold the connections', async () => {
      const cache = (await lab.topology.exec('rb', ['conntrackd', '-C', lab.conntrackdConf('rb'), '-e'])).stdout;
      return [NAT_PORT, FLOATING_PORT, PUSH_PORT].every((port) => cache.includes(`dport=${port}`));
    });

    const crashed = await lab.crash('ra');
    const tookOver = await lab.timeUntil(() => lab.holdsAll('rb'), 10_000);
    assert.ok(tookOver - crashed <= 3000, `the backup held every address ${tookOver - crashed} ms after the master was lost`);
    t.diagnostic(`the backup held every address ${tookOver - crashed} ms after the master was lost`);
    await lab.waitForState('rb', 'MASTER');
    await waitFor('the new master to send router advertisements', () => lab.advertises('rb'));
    await waitFor('every connection to carry data again', async () => (await Promise.all(Object.values(flows).map((f) => echoesAfter(f, tookOver)))).every((n) => n > 5), 20_000);
    await assertUnbroken(flows);
    const { lease } = await new DhcpClient(lab.topology, 'ta').lease();
    assert.equal(lease?.address, HA.guestA, 'the new master answers DHCP');
    assert.equal(await seenAs(lab.topology, 'ta', `http://${LAB.ext.v4}:8080/`), HA.routerExternal);
  });

  it('takes the old master back as backup; after its preemption delay it is master again, and every connection goes on', async () => {
    await lab.reboot('ra');
    await lab.waitForState('ra', 'BACKUP');
    const rejoined = Date.now();
    await lab.waitForState('ra', 'MASTER', 30_000);
    const tookBack = Date.now();
    // keepalived counts its delay from its start, a little before the first BACKUP the test sees.
    assert.ok(tookBack - rejoined >= (PREEMPT_DELAY_S - 2) * 1000, `took over ${tookBack - rejoined} ms after coming back`);
    await lab.waitForState('rb', 'BACKUP');
    await waitFor('ra to hold every shared address, rb none', async () => (await lab.holdsAll('ra')) && (await lab.sharedAddresses('rb')).length === 0);
    await waitFor('every connection to carry data through ra', async () => (await Promise.all(Object.values(flows).map((f) => echoesAfter(f, tookBack + 1000)))).every((n) => n > 5), 20_000);
    await assertUnbroken(flows);
  });

  it('makes both members master while the management link is split, and converges on the priority-100 member when it is joined again', async () => {
    await lab.splitManagement(true);
    await lab.waitForState('rb', 'MASTER');
    assert.equal(await lab.state('ra'), 'MASTER');
    assert.ok((await lab.holdsAll('ra')) && (await lab.holdsAll('rb')), 'both hold the addresses');
    await lab.splitManagement(false);
    await lab.waitForState('rb', 'BACKUP');
    assert.equal(await lab.state('ra'), 'MASTER');
    await waitFor('rb to give every address up', async () => (await lab.sharedAddresses('rb')).length === 0);
    // The master announces itself again on hearing the lower-priority one: the neighbours come back to it.
    await waitFor('the upstream and the guests to reach ra again', async () =>
      (await lab.neighbourMac('ext', HA.floatingB)) === HA.macs.ra[1] && (await lab.neighbourMac('ext', HA.routerExternal)) === HA.macs.ra[1],
    );
    assert.equal(await seenAs(lab.topology, 'ta', `http://${LAB.ext.v4}:8080/`), HA.routerExternal);
    assert.equal(await seenAs(lab.topology, 'ext', `http://${HA.floatingB}:8080/`, 5), LAB.ext.floatingGateway);
  });

  it("gives the router up at once when the master's agent is killed (keepalived stops with it), and takes it back when the agent is back", async () => {
    const killed = Date.now();
    await lab.agent('ra').kill();
    const tookOver = await lab.timeUntil(() => lab.holdsAll('rb'), 10_000);
    // Faster than the 1.8 s timers: the stopping keepalived told the peer (priority 0).
    assert.ok(tookOver - killed < 1500, `rb held every address ${tookOver - killed} ms after ra's agent was killed`);
    assert.deepEqual(await lab.sharedAddresses('ra'), [], 'the stopping keepalived gave every address up');
    await lab.startAgent('ra');
    await lab.waitForState('ra', 'BACKUP');
    await lab.waitForState('ra', 'MASTER', 30_000);
    await lab.waitForState('rb', 'BACKUP');
  });

  it('moves the router when a shared link of the master goes down (FAULT), and back once it returns', async () => {
    await lab.topology.ip('sw', ['link', 'set', 'a2', 'down']);
    await lab.waitForState('ra', 'FAULT');
    await lab.waitForState('rb', 'MASTER');
    await waitFor('rb to hold every address, ra none', async () => (await lab.holdsAll('rb')) && (await lab.sharedAddresses('ra')).length === 0);
    assert.equal(await seenAs(lab.topology, 'ta', `http://${LAB.ext.v4}:8080/`), HA.routerExternal);
    await lab.topology.ip('sw', ['link', 'set', 'a2', 'up']);
    await lab.waitForState('ra', 'MASTER', 30_000);
    await lab.waitForState('rb', 'BACKUP');
    await waitFor('ra to hold every address again', () => lab.holdsAll('ra'));
  });

  const listening = (role: string, port: number) =>
    waitFor(`a server on port ${port} in ${role}`, async () => (await lab.topology.exec(role, ['ss', '-Hltn', `sport = :${port}`])).stdout.trim() !== '');
});

async function echoesAfter(flow: Flow, at: number): Promise<number> {
  return (await flow.events()).filter((e) => e.event === 'echo' && e.at > at).length;
}

/** No connection saw an error or was closed, and each is the one opened first. */
async function assertUnbroken(flows: Record<string, Flow>): Promise<void> {
  for (const [name, flow] of Object.entries(flows)) {
    const events = await flow.events();
    const broken = events.filter((e: FlowEvent) => e.event === 'error' || e.event === 'close');
    assert.deepEqual(broken, [], `the ${name} connection broke`);
    assert.equal(events.filter((e) => e.event === 'open').length, 1, `the ${name} connection is the one opened first`);
  }
}
