// The firewall and NAT of a real agent, proven with traffic between the lab's
// namespaces: what the external side can and cannot reach, the management
// address hidden from tenants, source NAT to the router's address, 1:1
// floating IPs both ways and hairpin, their traffic counted in both IP
// versions, a removed floating IP closing inbound, and a re-push that runs
// nothing. What guests may reach on the router itself is exposure.test.ts.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { run, spawnInNs, waitFor } from '../harness/exec.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Doc {
  floating_ips: { floating_ip: string; fixed_ip: string }[];
}
interface StepReport {
  subsystem: string;
  changed: boolean;
  commands: number;
  reads: number;
  duration_ms: number;
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const FLOATING = '203.0.113.10';
const FLOATING6 = '2001:db8:e::10';
const GUEST_A = '198.51.100.10'; // in `ta`, owns the floating IP
const GUEST_A6 = 'fd00:a::10'; // in `ta`, owns the IPv6 floating IP
const GUEST_B = '198.51.100.74'; // in `tb`, no floating IP until the last test gives it FLOATING_B
const FLOATING_B = '203.0.113.11';
const ROUTER_EXT = '192.0.2.2';
const HTTP_PORT = 8080;
/** Answers every request with the client address it sees; binds one address only (testing.md trap 1). */
const WHO_AM_I = "require('node:http').createServer((q, s) => s.end(q.socket.remoteAddress)).listen(Number(process.argv[2]), process.argv[1])";

describe('firewall and NAT of an agent in the router lab', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;
  const timings: Record<string, number> = {};

  /** PUT a document and return the firewall step of its apply report. */
  const put = async (body: Doc): Promise<StepReport> => {
    const answer = await agent.request('PUT', '/v1/system/config', { body });
    assert.equal(answer.status, 200, answer.body);
    const { report } = (await agent.request('GET', '/v1/system/apply')).json<{ report: { steps: StepReport[] } }>();
    return report.steps.find((s) => s.subsystem === 'firewall')!;
  };
  /** curl from a namespace: exit 0 with the body, 7 refused (a reset), 28 timed out (dropped). */
  const curl = async (role: string, url: string, seconds = 2) => {
    const result = await lab.exec(role, ['curl', '-sS', '-g', '--max-time', String(seconds), url], { allowFailure: true, timeoutMs: (seconds + 5) * 1000 });
    return { exitCode: result.exitCode, body: result.stdout };
  };
  const ping = async (role: string, address: string) =>
    (await lab.exec(role, ['ping', '-n', '-q', '-c', '1', '-W', '2', address], { allowFailure: true })).exitCode;

  before(async () => {
    lab = await routerLab();
    // Stand-ins for the interfaces, routes and sysctl subsystems (placeholders
    // while this was written): the router's addresses, the floating IP as an
    // external alias with its subnet's prefix, the default route, forwarding.
    // `replace` keeps this harmless once those subsystems do it themselves.
    await run(['ip', '-n', lab.ns('router'), '-batch', '-'], {
      input: [
        `addr replace ${ROUTER_EXT}/24 dev eth1`,
        'addr replace 2001:db8:e::2/64 dev eth1 nodad',
        `addr replace ${FLOATING}/24 dev eth1`,
        'addr replace 198.51.100.1/26 dev eth2',
        'addr replace fd00:a::1/64 dev eth2 nodad',
        'addr replace 198.51.100.65/26 dev eth3',
        'route replace default via 192.0.2.1',
        '',
      ].join('\n'),
    });
    await lab.exec('router', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The guests, configured by hand (DHCP is another test's subject).
    for (const [role, address, gateway] of [['ta', `${GUEST_A}/26`, '198.51.100.1'], ['tb', `${GUEST_B}/26`, '198.51.100.65']] as const) {
      await run(['ip', '-n', lab.ns(role), '-batch', '-'], { input: `addr add ${address} dev eth0\nroute add default via ${gateway}\n` });
    }
    await run(['ip', '-n', lab.ns('ta'), '-batch', '-'], { input: 'addr add fd00:a::10/64 dev eth0 nodad\nroute add ::/0 via fd00:a::1\n' });

    for (const [role, address] of [['ext', LAB.ext.v4], ['ext', LAB.ext.v6], ['ta', GUEST_A], ['ta', GUEST_A6], ['tb', GUEST_B]] as const) {
      void spawnInNs(lab.ns(role), [process.execPath, '-e', WHO_AM_I, address, String(HTTP_PORT)], join(lab.dir, `http-${role}-${address}.log`));
      const host = address.includes(':') ? `[${address}]` : address;
      await waitFor(`the HTTP server on ${address} in ${role}`, async () => (await curl(role, `http://${host}:${HTTP_PORT}/`, 1)).exitCode === 0);
    }

    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    doc.floating_ips = [
      { floating_ip: FLOATING, fixed_ip: GUEST_A },
      { floating_ip: FLOATING6, fixed_ip: GUEST_A6 },
    ];
    const started = performance.now();
    const step = await put(doc);
    timings.firstPut = Math.round(performance.now() - started);
    timings.firstApplyFirewallStep = step.duration_ms;
    assert.equal(step.changed, true);
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
    console.log('firewall timings (ms):', JSON.stringify(timings));
  });

  it('shows the agent chains in GET /v1/firewall/rules', async () => {
    const rules = await agent.request('GET', '/v1/firewall/rules');
    assert.equal(rules.status, 200);
    assert.equal(rules.body.match(/^:INPUT DROP/gm)?.length, 2, 'INPUT dropped by default in both families');
    assert.equal(rules.body.match(/^-A INPUT -j astara-input$/gm)?.length, 2);
    // The floating IPs are map elements of their own nftables table, listed after the saves.
    assert.match(rules.body, /^table inet astara-fip \{$/m);
    assert.match(rules.body, new RegExp(`\\b${escaped(FLOATING)} : ${escaped(GUEST_A)}\\b`));
    assert.doesNotMatch(rules.body, new RegExp(`-A \\S+ .*${escaped(FLOATING)}`), 'no iptables rule names a floating IP');
  });

  it('drops the agent API and SSH from outside, lets management in', async () => {
    // Nothing listens on the external addresses: without the firewall these
    // would be refused at once (exit 7); dropped, they time out (exit 28).
    const [api4, ssh4, api6, fromMgmt, sshFromMgmt] = await Promise.all([
      curl('ext', `http://${ROUTER_EXT}:5000/v1/base/`),
      curl('ext', `telnet://${ROUTER_EXT}:22`),
      curl('ext', 'http://[2001:db8:e::2]:5000/v1/base/'),
      agent.request('GET', '/v1/base/'),
      // No sshd runs: passing the firewall shows as a reset.
      curl('mgmt', `telnet://[${LAB.mgmtAddress}]:22`),
    ]);
    assert.equal(api4.exitCode, 28);
    assert.equal(ssh4.exitCode, 28);
    assert.equal(api6.exitCode, 28);
    assert.equal(fromMgmt.status, 200);
    assert.equal(sshFromMgmt.exitCode, 7);
  });

  it('hides the management address from a tenant guest, not the router itself', async () => {
    const [management, tenantSide, ownListener] = await Promise.all([
      curl('ta', `http://[${LAB.mgmtAddress}]:5000/v1/base/`),
      // The tenant side takes only what the appliance serves there: a closed port is dropped too.
      curl('ta', 'http://[fd00:a::1]:5000/'),
      // What it serves answers (the metadata listener; its upstream is absent here, so a 500).
      curl('ta', 'http://198.51.100.1:9602/'),
    ]);
    assert.equal(management.exitCode, 28, 'the API on the management address must not answer a tenant');
    assert.equal(tenantSide.exitCode, 28);
    assert.deepEqual(ownListener, { exitCode: 0, body: 'Internal Server Error' });
  });

  it('answers ICMP echo', async () => {
    assert.deepEqual(
      await Promise.all([ping('ext', ROUTER_EXT), ping('ext', '2001:db8:e::2'), ping('ta', '198.51.100.1'), ping('mgmt', LAB.mgmtAddress)]),
      [0, 0, 0, 0],
    );
  });

  it('source-NATs a guest without a floating IP to the router’s external address', async () => {
    assert.deepEqual(await curl('tb', `http://${LAB.ext.v4}:${HTTP_PORT}/`), { exitCode: 0, body: ROUTER_EXT });
  });

  it('maps a floating IP 1:1 both ways', async () => {
    assert.deepEqual(await curl('ta', `http://${LAB.ext.v4}:${HTTP_PORT}/`), { exitCode: 0, body: FLOATING });
    // Inbound, the guest sees the outside client's own address.
    assert.deepEqual(await curl('ext', `http://${FLOATING}:${HTTP_PORT}/`), { exitCode: 0, body: LAB.ext.floatingGateway });
  });

  it('hairpins a tenant guest to another guest’s floating IP', async () => {
    // Seen as the router's external address, so the reply comes back through the router.
    assert.deepEqual(await curl('tb', `http://${FLOATING}:${HTTP_PORT}/`), { exitCode: 0, body: ROUTER_EXT });
  });

  it('maps an IPv6 floating IP 1:1 both ways', async () => {
    assert.deepEqual(await curl('ext', `http://[${FLOATING6}]:${HTTP_PORT}/`), { exitCode: 0, body: LAB.ext.v6 });
    assert.deepEqual(await curl('ta', `http://[${LAB.ext.v6}]:${HTTP_PORT}/`, 2), { exitCode: 0, body: FLOATING6 });
  });

  it('counts the traffic of IPv4 and IPv6 floating IPs in GET /v1/system/stats', async () => {
    assert.equal((await curl('ext', `http://${FLOATING}:${HTTP_PORT}/`)).exitCode, 0);
    assert.equal((await curl('ext', `http://[${FLOATING6}]:${HTTP_PORT}/`)).exitCode, 0);
    const stats = await agent.request('GET', '/v1/system/stats');
    assert.equal(stats.status, 200);
    const counters = stats.json<{ floating_ips: { floating_ip: string; fixed_ip: string; bytes_in: number; bytes_out: number }[] }>().floating_ips;
    for (const [floating, fixed] of [[FLOATING, GUEST_A], [FLOATING6, GUEST_A6]] as const) {
      const entry = counters.find((c) => c.floating_ip === floating);
      assert.ok(entry && entry.fixed_ip === fixed && entry.bytes_in > 0 && entry.bytes_out > 0, `${floating}: ${JSON.stringify(counters)}`);
    }
  });

  it('runs no command when the same document is pushed again', async () => {
    const step = await put(doc);
    timings.reapplyFirewallStep = step.duration_ms;
    assert.deepEqual({ changed: step.changed, commands: step.commands }, { changed: false, commands: 0 });
  });

  it('stops inbound traffic to a floating IP removed from the document', async () => {
    const step = await put({ ...doc, floating_ips: [] });
    timings.removeFloatingFirewallStep = step.duration_ms;
    assert.equal(step.changed, true);
    const inbound = await curl('ext', `http://${FLOATING}:${HTTP_PORT}/`);
    assert.notEqual(inbound.exitCode, 0);
    assert.equal(inbound.body, '');
    // The guest now leaves as the router, like any other.
    assert.deepEqual(await curl('ta', `http://${LAB.ext.v4}:${HTTP_PORT}/`), { exitCode: 0, body: ROUTER_EXT });
  });

  it('adds a floating IP as a delta: its NAT works both ways and the others keep theirs', async () => {
    const floatingIps = [...doc.floating_ips, { floating_ip: FLOATING_B, fixed_ip: GUEST_B }];
    const step = await put({ ...doc, floating_ips: floatingIps });
    timings.addFloatingFirewallStep = step.duration_ms;
    assert.equal(step.changed, true);
    const [inboundB, outboundB, inboundA, outboundA, inboundA6] = await Promise.all([
      curl('ext', `http://${FLOATING_B}:${HTTP_PORT}/`),
      curl('tb', `http://${LAB.ext.v4}:${HTTP_PORT}/`),
      curl('ext', `http://${FLOATING}:${HTTP_PORT}/`),
      curl('ta', `http://${LAB.ext.v4}:${HTTP_PORT}/`),
      curl('ext', `http://[${FLOATING6}]:${HTTP_PORT}/`),
    ]);
    assert.deepEqual(inboundB, { exitCode: 0, body: LAB.ext.floatingGateway }, 'the new floating IP reaches its guest');
    assert.deepEqual(outboundB, { exitCode: 0, body: FLOATING_B }, 'its guest leaves as the new floating IP');
    assert.deepEqual(inboundA, { exitCode: 0, body: LAB.ext.floatingGateway });
    assert.deepEqual(outboundA, { exitCode: 0, body: FLOATING });
    assert.deepEqual(inboundA6, { exitCode: 0, body: LAB.ext.v6 });
    const rules = (await agent.request('GET', '/v1/firewall/rules')).body;
    for (const [floating, fixed] of [[FLOATING, GUEST_A], [FLOATING_B, GUEST_B]] as const) {
      assert.match(rules, new RegExp(`\\b${escaped(floating)} : ${escaped(fixed)}\\b`), 'its DNAT map element');
      assert.match(rules, new RegExp(`\\b${escaped(fixed)} : ${escaped(floating)}\\b`), 'its SNAT map element');
    }
    // One nft transaction of elements: no restore (a command more), no listing of the table (a read beyond the two
    // saves, which are left out too when the host was verified before the push).
    assert.equal(step.commands, 1);
    assert.ok([0, 2].includes(step.reads), `reads: ${step.reads}`);
  });

  it('puts back a map element deleted by hand at the next full push, and counts the new floating IP', async () => {
    await lab.exec('router', ['nft', 'delete', 'element', 'inet', 'astara-fip', 'dnat4', `{ ${FLOATING_B} }`]);
    assert.notEqual((await curl('ext', `http://${FLOATING_B}:${HTTP_PORT}/`)).exitCode, 0, 'the hand-made drift breaks its DNAT');
    const floatingIps = [...doc.floating_ips, { floating_ip: FLOATING_B, fixed_ip: GUEST_B }];
    const answer = await agent.request('PUT', '/v1/system/config', { body: { ...doc, floating_ips: floatingIps }, headers: ['Cache-Control: no-cache'] });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(await curl('ext', `http://${FLOATING_B}:${HTTP_PORT}/`), { exitCode: 0, body: LAB.ext.floatingGateway });
    const stats = (await agent.request('GET', '/v1/system/stats')).json<{ floating_ips: { floating_ip: string; bytes_in: number }[] }>();
    assert.ok((stats.floating_ips.find((f) => f.floating_ip === FLOATING_B)?.bytes_in ?? 0) > 0, JSON.stringify(stats.floating_ips));
  });
});
