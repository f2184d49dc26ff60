// The interfaces, routes, ARP, hostname and sysctl subsystems of a real agent
// in the router lab: exact address sets, MTUs, DAD, floating IP aliases,
// routes the agent owns versus routes added by hand, connection tracking of
// removed addresses, gratuitous ARP seen upstream, stale neighbours removed,
// the host name of the agent's own UTS namespace, a re-push that runs
// nothing, and a failed apply that puts everything back.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { run, waitFor } from '../harness/exec.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Network {
  network_type: string;
  mtu?: number;
  interface: { addresses: string[]; mtu?: number };
  subnets: { cidr: string; host_routes: { destination: string; nexthop: string }[] }[];
}
interface Doc {
  hostname: string;
  networks: Network[];
  floating_ips: { floating_ip: string; fixed_ip: string }[];
  static_routes: { destination: string; next_hop: string }[];
}
interface StepReport {
  subsystem: string;
  changed: boolean;
  commands: number;
  duration_ms: number;
}
interface ApplyReport {
  ok: boolean;
  duration_ms: number;
  steps: StepReport[];
  failed_step?: string;
  rolled_back?: boolean;
}
interface IpLink {
  ifname: string;
  flags: string[];
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number; scope: string; tentative?: boolean }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  protocol?: string;
}
interface IpNeighbour {
  dst: string;
  dev: string;
  lladdr?: string;
}

const MINE = ['hostname', 'sysctl', 'interfaces', 'routes', 'arp'];
const STALE_MAC = '02:00:00:00:99:99';

describe('interfaces, routes, ARP, hostname and sysctls of an agent in the router lab', () => {
  let lab: Topology;
  let agent: Agent;
  let doc1: Doc;
  let doc2: Doc;
  const hostNameBefore = hostHostname();
  const timings: Record<string, Record<string, number>> = {};

  const put = async (name: string, body: Doc, status = 200): Promise<ApplyReport> => {
    const started = performance.now();
    const answer = await agent.request('PUT', '/v1/system/config', { body });
    const elapsed = Math.round(performance.now() - started);
    assert.equal(answer.status, status, answer.body);
    const { report } = (await agent.request('GET', '/v1/system/apply')).json<{ report: ApplyReport }>();
    timings[name] = { put: elapsed, ...Object.fromEntries(report.steps.filter((s) => MINE.includes(s.subsystem)).map((s) => [s.subsystem, Math.round(s.duration_ms)])) };
    return report;
  };
  const links = async () => JSON.parse((await lab.ip('router', ['-j', 'addr', 'show'])).stdout) as IpLink[];
  const link = async (name: string) => (await links()).find((l) => l.ifname === name)!;
  /** Addresses other than link-local ones, sorted. */
  const managed = (l: IpLink) => l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`).sort();
  const routes = async (family: 4 | 6) => JSON.parse((await lab.ip('router', ['-j', `-${family}`, 'route', 'show', 'table', 'main'])).stdout) as IpRoute[];
  const hasRoute = (list: IpRoute[], dst: string, gateway: string) => list.some((r) => r.dst === dst && r.gateway === gateway);
  const sysctls = async (...keys: string[]) => (await lab.exec('router', ['sysctl', '-n', ...keys])).stdout.trim().split('\n');
  const agentHostname = async () => (await run(['nsenter', '-t', String(agent.pid), '-u', 'hostname'])).stdout.trim();
  const neighbours = async (role: string) => JSON.parse((await lab.ip(role, ['-j', 'neigh', 'show'])).stdout) as IpNeighbour[];
  const conntrack = async () => (await lab.exec('router', ['conntrack', '-L'], { allowFailure: true })).stdout;

  before(async () => {
    lab = await routerLab();
    const fixture = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    doc1 = structuredClone(fixture);
    const [, , tenantA, tenantB] = doc1.networks;
    tenantA!.interface.mtu = 1400; // the interface's MTU wins over the network's
    tenantA!.mtu = 1450;
    tenantB!.mtu = 1450;
    tenantB!.subnets[0]!.host_routes = [{ destination: '198.51.100.128/26', nexthop: '198.51.100.74' }];
    doc2 = structuredClone(doc1);
    doc2.static_routes = [];
    doc2.floating_ips = doc1.floating_ips.filter((f) => f.floating_ip !== '203.0.113.10');

    // State the document does not describe: a stray address on a configured
    // interface (must go), one on an interface outside the document (stays).
    await lab.ip('router', ['addr', 'add', '198.51.100.50/26', 'dev', 'eth2']);
    await lab.ip('router', ['addr', 'add', '192.0.2.200/32', 'dev', 'lo']);
    // The upstream still believes the floating IP is elsewhere (as after a move):
    // a gratuitous ARP corrects an existing entry even with arp_accept off.
    await lab.ip('ext', ['neigh', 'add', '203.0.113.10', 'lladdr', STALE_MAC, 'dev', 'ext0', 'nud', 'stale']);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
  });
  after(async () => {
    for (const [name, ms] of Object.entries(timings)) console.log(`# ${name} (ms): ${JSON.stringify(ms)}`);
    await agent?.stop();
    await lab?.destroy();
  });

  it('makes addresses, MTUs, DAD, routes, forwarding and the host name match the document', async () => {
    const report = await put('first', doc1);
    for (const name of MINE) assert.ok(report.steps.find((s) => s.subsystem === name)!.changed, `${name} changed`);

    const live = await links();
    const byName = (name: string) => live.find((l) => l.ifname === name)!;
    assert.deepEqual(managed(byName('eth0')), [`${LAB.mgmtAddress}/64`]);
    assert.deepEqual(managed(byName('eth1')), ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.10/24', '203.0.113.11/24']);
    assert.deepEqual(managed(byName('eth2')), ['198.51.100.1/26', 'fd00:a::1/64']);
    assert.deepEqual(managed(byName('eth3')), ['198.51.100.65/26', 'fd00:b::1/64']);
    assert.ok(managed(byName('lo')).includes('192.0.2.200/32'), 'an interface outside the document keeps its addresses');
    for (const name of ['eth0', 'eth1', 'eth2', 'eth3']) {
      const l = byName(name);
      assert.ok(l.flags.includes('UP'), `${name} up`);
      assert.ok(l.addr_info.some((a) => a.local.startsWith('fe80:')), `${name} keeps its link-local address`);
    }
    assert.deepEqual(live.filter((l) => l.ifname.startsWith('eth')).map((l) => l.mtu), [1500, 1500, 1400, 1450]);
    // DAD off on all but the external interface: tenant addresses usable at once.
    assert.deepEqual(await sysctls('net.ipv6.conf.eth0.accept_dad', 'net.ipv6.conf.eth1.accept_dad', 'net.ipv6.conf.eth2.accept_dad', 'net.ipv6.conf.eth3.accept_dad'), ['0', '1', '0', '0']);
    // (The kernel's own link-local address may still be finishing the DAD it
    // began when the harness brought the link up, before the agent ran.)
    for (const name of ['eth2', 'eth3']) {
      assert.ok(!byName(name).addr_info.some((a) => a.tentative && !a.local.startsWith('fe80:')), `${name} has no tentative address`);
    }
    assert.deepEqual(await sysctls('net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'), ['1', '1']);

    const v4 = await routes(4);
    const v6 = await routes(6);
    assert.ok(v4.some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'eth1'), JSON.stringify(v4));
    assert.ok(v6.some((r) => r.dst === 'default' && r.gateway === '2001:db8:e::1' && r.dev === 'eth1'), JSON.stringify(v6));
    assert.ok(hasRoute(v4, '198.51.100.192/26', '198.51.100.10'), 'static route');
    assert.ok(hasRoute(v4, '198.51.100.128/26', '198.51.100.74'), 'subnet host route');

    assert.equal(await agentHostname(), 'ak-harness-router');
    assert.equal(hostHostname(), hostNameBefore, "the host's own name is untouched");

    await waitFor('the upstream to learn the floating IP from the gratuitous ARP', async () =>
      (await neighbours('ext')).some((n) => n.dst === '203.0.113.10' && n.lladdr === LAB.routerMacs[1]),
    );
  });

  it('runs no command on a re-push of the same document', async () => {
    const report = await put('re-push', doc1);
    for (const name of MINE) {
      const step = report.steps.find((s) => s.subsystem === name)!;
      assert.deepEqual({ name, changed: step.changed, commands: step.commands }, { name, changed: false, commands: 0 });
    }
  });

  it('removes what is no longer configured and leaves what it did not add', async () => {
    // Routes added by hand.
    await lab.ip('router', ['route', 'add', '203.0.113.128/25', 'via', '192.0.2.1']);
    await lab.ip('router', ['-6', 'route', 'add', '2001:db8:f::/48', 'via', '2001:db8:e::1']);
    // Connections of the floating IP about to go (inbound to it, and a guest
    // NATed to it), and one of an address that stays.
    const icmp = (id: number) => ['-p', 'icmp', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', String(id), '-t', '120'];
    await lab.exec('router', ['conntrack', '-I', '-s', '192.0.2.1', '-d', '203.0.113.10', ...icmp(1)]);
    await lab.exec('router', ['conntrack', '-I', '-s', '198.51.100.10', '-d', '192.0.2.1', '-r', '192.0.2.1', '-q', '203.0.113.10', ...icmp(2)]);
    await lab.exec('router', ['conntrack', '-I', '-s', '192.0.2.1', '-d', '192.0.2.2', ...icmp(3)]);
    assert.match(await conntrack(), /203\.0\.113\.10/);
    // A neighbour entry contradicting an allocation, and one agreeing with it.
    await lab.ip('router', ['neigh', 'replace', '198.51.100.74', 'lladdr', STALE_MAC, 'dev', 'eth3', 'nud', 'stale']);
    await lab.ip('router', ['neigh', 'replace', '198.51.100.10', 'lladdr', LAB.guestMacs.ta, 'dev', 'eth2', 'nud', 'stale']);

    await put('remove', doc2);

    const v4 = await routes(4);
    assert.ok(!hasRoute(v4, '198.51.100.192/26', '198.51.100.10'), 'the removed static route is gone');
    assert.ok(hasRoute(v4, '203.0.113.128/25', '192.0.2.1'), 'the IPv4 route added by hand stays');
    assert.ok(hasRoute(await routes(6), '2001:db8:f::/48', '2001:db8:e::1'), 'the IPv6 route added by hand stays');
    assert.ok(hasRoute(v4, '198.51.100.128/26', '198.51.100.74'), 'the host route stays');
    // 203.0.113.10 was the primary address of its subnet: the other floating IP survives its removal.
    assert.deepEqual(managed(await link('eth1')), ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.11/24']);

    const table = await conntrack();
    assert.doesNotMatch(table, /203\.0\.113\.10/, table);
    assert.match(table, /src=192\.0\.2\.1 dst=192\.0\.2\.2 type=8 code=0 id=3/, table);

    const router = await neighbours('router');
    assert.ok(!router.some((n) => n.lladdr === STALE_MAC), JSON.stringify(router));
    assert.ok(router.some((n) => n.dst === '198.51.100.10' && n.lladdr === LAB.guestMacs.ta), JSON.stringify(router));
  });

  it('puts addresses, MTUs, routes and the host name back when a later step fails', async () => {
    const snapshot = async () => ({
      links: (await links()).map((l) => ({ name: l.ifname, up: l.flags.includes('UP'), mtu: l.mtu, addresses: l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort() })),
      v4: (await routes(4)).map((r) => JSON.stringify(r)).sort(),
      v6: (await routes(6)).map((r) => JSON.stringify(r)).sort(),
      hostname: await agentHostname(),
    });
    const before = await snapshot();

    // The routes step fails on a next hop inside a configured subnet that no
    // address of the router reaches (the floating subnet without floating
    // IPs). Before that: a new host name, MTU and external address, and eth3
    // loses its IPv4 address, so the kernel drops the routes through it.
    const doc3 = structuredClone(doc2);
    doc3.hostname = 'ak-rolled-back';
    doc3.networks[1]!.interface.addresses = ['192.0.2.3/24', '2001:db8:e::2/64'];
    doc3.networks[2]!.interface.mtu = 1300;
    doc3.networks[3]!.interface.addresses = ['fd00:b::1/64'];
    doc3.floating_ips = [];
    doc3.static_routes = [{ destination: '198.51.100.192/26', next_hop: '203.0.113.5' }];
    const report = await put('failing', doc3, 500);
    assert.equal(report.failed_step, 'routes');
    assert.equal(report.rolled_back, true);

    assert.deepEqual(await snapshot(), before);
    // And the host is exactly what the last accepted document made it.
    const again = await put('after-rollback', doc2);
    for (const name of MINE) assert.equal(again.steps.find((s) => s.subsystem === name)!.commands, 0, name);
  });
});
