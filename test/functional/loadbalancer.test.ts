// The load balancer on real traffic: the agent's nginx in the appliance
// namespace, member servers and clients in their own namespaces on the
// loadbalancer network (test/harness/loadbalancer.ts). Round robin with
// weights, a drained member, least connections, source-IP stickiness, a TCP
// listener, admin_state_up at every level, documents nginx cannot serve
// refused with nothing changed, configuration changes under load with no
// failed request, and the active health monitor taking a stopped member out
// and putting it back.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../harness/agent.js';
import { run, waitFor } from '../harness/exec.js';
import { LB_LAB, loadBalancerDocument, loadBalancerLab, Member, runClients, startClients, type ListenerSpec, type MemberSpec, type PoolSpec } from '../harness/loadbalancer.js';
import type { Topology } from '../harness/topology.js';

interface MemberStatus {
  id: string;
  operating_status: string;
  since: string;
  reason: string;
}
interface ListenerStatus {
  id: string;
  operating_status: string;
  reason: string;
  members: MemberStatus[];
}
interface LoadBalancerStatus {
  operating_status: string;
  listeners: ListenerStatus[];
}
interface DaemonStatus {
  name: string;
  running: boolean;
  pid: number | null;
}

const HTTP = `http://${LB_LAB.vip}:80/`;
const [A, B, C, D] = LB_LAB.members;
const member = (id: string, address: string, extra: Partial<MemberSpec> = {}): MemberSpec => ({ id, address, protocol_port: 8080, ...extra });
const httpListener = (pool: Partial<PoolSpec> & Pick<PoolSpec, 'members'>, extra: Partial<ListenerSpec> = {}): ListenerSpec => ({
  id: 'web',
  protocol: 'HTTP',
  protocol_port: 80,
  default_pool: { id: 'web-pool', lb_algorithm: 'ROUND_ROBIN', ...pool },
  ...extra,
});

describe('load balancer: nginx driven by the agent', () => {
  let lab: Topology;
  let agent: Agent;
  const members = new Map<string, Member>();
  const figures: Record<string, string> = {};

  const put = (doc: object) => agent.request('PUT', '/v1/system/config', { body: doc });
  const apply = async (doc: object) => {
    const answer = await put(doc);
    assert.equal(answer.status, 200, answer.body);
  };
  const status = async () => (await agent.request('GET', '/v1/loadbalancer/status')).json<{ loadbalancer: LoadBalancerStatus }>().loadbalancer;
  const nginx = async () => (await agent.request('GET', '/v1/status')).json<{ daemons: DaemonStatus[] }>().daemons.find((d) => d.name === 'nginx');
  const lastApplyMs = async () => (await agent.request('GET', '/v1/system/apply')).json<{ report: { duration_ms: number } }>().report.duration_ms;

  before(async () => {
    lab = await loadBalancerLab();
    for (const [name, address] of [['a', A], ['b', B], ['c', C], ['d', D]] as const) members.set(name, await Member.start(lab, name, 'http', address, 8080));
    members.set('tcp-a', await Member.start(lab, 'tcp-a', 'tcp', A, 5432));
    members.set('tcp-b', await Member.start(lab, 'tcp-b', 'tcp', B, 5432));
    agent = await Agent.start(lab, { role: 'lb', listen: [LB_LAB.mgmtAddress] });
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
    if (Object.keys(figures).length > 0) console.log(`load balancer figures: ${JSON.stringify(figures)}`);
  });

  it('round robin with weights 3:1 over 400 requests, and a weight 0 member gets none', async () => {
    await apply(loadBalancerDocument([httpListener({ members: [member('a', A, { weight: 3 }), member('b', B, { weight: 1 }), member('c', C, { weight: 0 })] })]));
    figures.first_apply_ms = String(await lastApplyMs());
    const result = await runClients(lab, { url: HTTP, count: 400, concurrency: 8 });
    assert.deepEqual(result.failures, []);
    const a = result.answers.a ?? 0;
    const b = result.answers.b ?? 0;
    assert.equal(a + b, 400, JSON.stringify(result.answers));
    assert.ok(Math.abs(a / b - 3) <= 0.3, `a:b is ${a}:${b}, not within 10% of 3:1`);
    assert.equal(result.answers.c, undefined, 'the weight 0 member got requests');
  });

  it('least connections: with one member slowed down, new requests go to the other', async () => {
    const slow = await Member.start(lab, 'slow', 'http', D, 8081, 3000);
    await apply(loadBalancerDocument([httpListener({ lb_algorithm: 'LEAST_CONNECTIONS', members: [member('slow', D, { protocol_port: 8081 }), member('b', B)] })]));
    // A request every 50 ms for 1.5 s: the slow member holds its first one for 3 s, so it is always the busier.
    const result = await runClients(lab, { url: HTTP, count: 30, intervalMs: 50, timeoutMs: 10_000 });
    assert.deepEqual(result.failures, []);
    assert.ok((result.answers.slow ?? 0) <= 1, `the slowed member got ${result.answers.slow} of 30 requests: ${JSON.stringify(result.answers)}`);
    assert.ok((result.answers.b ?? 0) >= 29, JSON.stringify(result.answers));
    await slow.stop();
  });

  it('source IP: each client address always reaches the same member', async () => {
    await apply(loadBalancerDocument([httpListener({ lb_algorithm: 'SOURCE_IP', members: [member('a', A), member('b', B), member('c', C)] })]));
    const result = await runClients(lab, { url: HTTP, count: 60, concurrency: 6, sources: LB_LAB.clients });
    assert.deepEqual(result.failures, []);
    for (const [source, answers] of Object.entries(result.bySource)) assert.deepEqual(Object.values(answers), [10], `${source} reached ${JSON.stringify(answers)}`);
    const reached = new Set(Object.values(result.bySource).flatMap((answers) => Object.keys(answers)));
    assert.ok(reached.size >= 2, `every client reached the same member, so stickiness shows nothing: ${JSON.stringify(result.bySource)}`);
    // SOURCE_IP session persistence on a round-robin pool is the same hash.
    await apply(loadBalancerDocument([httpListener({ session_persistence: { type: 'SOURCE_IP' }, members: [member('a', A), member('b', B), member('c', C)] })]));
    const persisted = await runClients(lab, { url: HTTP, count: 60, concurrency: 6, sources: LB_LAB.clients });
    assert.deepEqual(persisted.bySource, result.bySource);
  });

  it('a TCP listener passes connections to its members; only listener ports are open on the VIP', async () => {
    const tcp: ListenerSpec = { id: 'db', protocol: 'TCP', protocol_port: 5432, default_pool: { id: 'db-pool', members: [member('tcp-a', A, { protocol_port: 5432 }), member('tcp-b', B, { protocol_port: 5432 })] } };
    await apply(loadBalancerDocument([httpListener({ members: [member('a', A)] }), tcp]));
    const result = await runClients(lab, { url: `tcp://${LB_LAB.vip}:5432`, count: 20, concurrency: 2 });
    assert.deepEqual(result.failures, []);
    assert.deepEqual(result.answers, { 'tcp-a': 10, 'tcp-b': 10 });
    // The agent's API port and SSH are not reachable on the VIP; the listeners are.
    const closed = await runClients(lab, { url: `http://${LB_LAB.vip}:5000/v1/base`, count: 1, timeoutMs: 1000 });
    assert.equal(closed.failures.length, 1, JSON.stringify(closed));
    const rules = (await agent.request('GET', '/v1/firewall/rules')).body;
    // IPv4, then IPv6 (replies only).
    assert.deepEqual(rules.match(/^-A astara-internal .*ACCEPT$/gm), [
      '-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-A astara-internal -d ${LB_LAB.vip}/32 -i eth1 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m comment --comment lb-listener-80 -j ACCEPT`,
      `-A astara-internal -d ${LB_LAB.vip}/32 -i eth1 -p tcp -m tcp --dport 5432 -m conntrack --ctstate NEW -m comment --comment lb-listener-5432 -j ACCEPT`,
      '-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
  });

  it('admin_state_up false takes out a member, a pool (503), a listener and the load balancer; true brings each back', async () => {
    const pool = (extra: Partial<PoolSpec> = {}, a: Partial<MemberSpec> = {}) => ({ members: [member('a', A, a), member('b', B)], ...extra });
    await apply(loadBalancerDocument([httpListener(pool({}, { admin_state_up: false }))]));
    const memberOff = await runClients(lab, { url: HTTP, count: 20, concurrency: 4 });
    assert.deepEqual(memberOff.answers, { b: 20 });
    assert.equal((await status()).listeners[0]!.members[0]!.operating_status, 'DISABLED');

    await apply(loadBalancerDocument([httpListener(pool({ admin_state_up: false }))]));
    const poolOff = await runClients(lab, { url: HTTP, count: 4 });
    assert.deepEqual(poolOff.failures.map((f) => f.error.slice(0, 10)), Array(4).fill('status 503'));
    assert.equal((await status()).listeners[0]!.operating_status, 'ERROR');

    const nginxPid = (await nginx())?.pid;
    await apply(loadBalancerDocument([httpListener(pool(), { admin_state_up: false })]));
    assert.equal((await runClients(lab, { url: HTTP, count: 1, timeoutMs: 1000 })).failures.length, 1);
    await apply(loadBalancerDocument([httpListener(pool())], { admin_state_up: false }));
    assert.equal((await runClients(lab, { url: HTTP, count: 1, timeoutMs: 1000 })).failures.length, 1);
    assert.equal((await status()).operating_status, 'DISABLED');
    assert.equal((await nginx())?.pid, nginxPid, 'nginx is reloaded, never restarted');

    await apply(loadBalancerDocument([httpListener(pool())]));
    const back = await runClients(lab, { url: HTTP, count: 20, concurrency: 4 });
    assert.deepEqual(back.answers, { a: 10, b: 10 });
  });

  it('refuses, naming the field, two listeners on one port, an unreachable member and cookie persistence; nothing changes', async () => {
    const good = loadBalancerDocument([httpListener({ members: [member('a', A), member('b', B)] })]);
    await apply(good);
    const before = await hostState();
    const cases: [string, object][] = [
      ['/services/loadbalancer/listeners/1/protocol_port', loadBalancerDocument([httpListener({ members: [member('a', A)] }), { id: 'web2', protocol: 'TCP', protocol_port: 80, default_pool: null }])],
      ['/services/loadbalancer/listeners/0/default_pool/members/1/address', loadBalancerDocument([httpListener({ members: [member('a', A), member('far', '203.0.113.7')] })])],
      ['/services/loadbalancer/listeners/0/default_pool/session_persistence/type', loadBalancerDocument([httpListener({ session_persistence: { type: 'HTTP_COOKIE' }, members: [member('a', A)] })])],
    ];
    for (const [path, doc] of cases) {
      const answer = await put(doc);
      assert.equal(answer.status, 422, answer.body);
      assert.ok(answer.json<{ details: { path: string }[] }>().details.some((d) => d.path === path), `${path} not named: ${answer.body}`);
    }
    assert.deepEqual(await hostState(), before);
  });

  it('reload under load: 50 concurrent clients during 20 configuration changes (members added and removed) see no failed request', async () => {
    const sets = [[A, B], [A, B, C], [B, C], [B, C, D], [C, D], [A, C, D], [A, D], [A, B, D], [B], [A, B, C, D]];
    const names = new Map([[A, 'a'], [B, 'b'], [C, 'c'], [D, 'd']]);
    const docFor = (i: number) => loadBalancerDocument([httpListener({ members: sets[i % sets.length]!.map((address) => member(names.get(address)!, address)) })]);
    await apply(docFor(9));
    const load = startClients(lab, { url: HTTP, concurrency: 50, timeoutMs: 10_000 }, 'reload');
    // Let the clients get going before the first change.
    await waitFor('the clients to start', async () => (await readFile(join(agent.stateDir, 'nginx', 'requests-80.log')).catch(() => Buffer.alloc(0))).length > 200, 10_000);
    const durations: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await apply(docFor(i));
      durations.push(performance.now() - started);
    }
    const result = await load.finish();
    assert.deepEqual(result.failures.slice(0, 5), [], `${result.failures.length} of ${result.total} requests failed`);
    assert.ok(result.total > 500, `only ${result.total} requests were made`);
    durations.sort((x, y) => x - y);
    figures.reload_under_load_put_ms = `median ${Math.round(durations[10]!)}, max ${Math.round(durations[19]!)} (${result.total} requests, none failed)`;
  });

  it('the health monitor marks a stopped member down within delay * max_retries + 1 s, no request fails after, the status says why; back again, traffic returns', async () => {
    const monitor = { type: 'HTTP', delay: 1, timeout: 1, max_retries: 2, http_method: 'GET', url_path: '/healthz', expected_codes: '200' };
    await apply(loadBalancerDocument([httpListener({ healthmonitor: monitor, members: [member('a', A), member('b', B)] })]));
    await waitFor('both members ONLINE', async () => (await status()).listeners[0]!.members.every((m) => m.operating_status === 'ONLINE'));

    const stopped = performance.now();
    await members.get('b')!.stop();
    await waitFor('b to be marked down', async () => (await status()).listeners[0]!.members[1]!.operating_status !== 'ONLINE', 10_000);
    const markedDownMs = performance.now() - stopped;
    figures.member_marked_down_ms = String(Math.round(markedDownMs));
    assert.ok(markedDownMs <= (monitor.delay * monitor.max_retries + 1) * 1000, `marked down after ${Math.round(markedDownMs)} ms`);
    const b = (await status()).listeners[0]!.members[1]!;
    assert.equal(b.operating_status, 'OFFLINE');
    assert.match(b.reason, /2 consecutive HTTP probes failed: .*(ECONNREFUSED|refused)/i);
    assert.equal((await status()).listeners[0]!.operating_status, 'DEGRADED');
    await waitFor('nginx to hold b down', async () => /server 198\.51\.100\.22:8080 weight=1 down;/.test(await readFile(join(agent.stateDir, 'nginx', 'nginx.conf'), 'utf8')));
    const after = await runClients(lab, { url: HTTP, count: 100, concurrency: 10 });
    assert.deepEqual(after.failures, []);
    assert.deepEqual(after.answers, { a: 100 });
    const metrics = (await agent.request('GET', '/metrics')).body;
    assert.match(metrics, /^astara_lb_member_status\{listener="web",member="b",address="198\.51\.100\.22",port="8080",status="OFFLINE"\} 1$/m);
    assert.match(metrics, /^astara_lb_listener_connections\{listener="web",port="80"\} [1-9]\d*$/m);

    const restarted = performance.now();
    members.set('b', await Member.start(lab, 'b', 'http', B, 8080));
    await waitFor('b to be ONLINE again', async () => (await status()).listeners[0]!.members[1]!.operating_status === 'ONLINE', 10_000);
    figures.member_back_online_ms = String(Math.round(performance.now() - restarted));
    await waitFor('traffic to reach b again', async () => ((await runClients(lab, { url: HTTP, count: 10, concurrency: 2 })).answers.b ?? 0) > 0, 5000);
  });

  it('counts requests and connections per listener in /metrics', async () => {
    // A new listener: its request log and its firewall rule both start from zero.
    await apply(loadBalancerDocument([httpListener({ members: [member('a', A)] }, { id: 'counted', protocol_port: 81 })]));
    const metric = async (name: string) => Number(new RegExp(`^${name}\\{listener="counted",port="81"\\} (\\d+)$`, 'm').exec((await agent.request('GET', '/metrics')).body)?.[1]);
    assert.equal(await metric('astara_lb_listener_connections'), 0);
    await runClients(lab, { url: `http://${LB_LAB.vip}:81/`, count: 30, concurrency: 3 });
    // nginx writes the request log at least every second.
    await waitFor('30 requests counted', async () => (await metric('astara_lb_listener_requests')) === 30, 5000);
    assert.equal(await metric('astara_lb_listener_connections'), 30);
  });

  it('refuses a load balancer on an appliance whose services lack it (serve --services router), also the persisted one at start', async () => {
    await agent.stop();
    agent = await Agent.start(lab, { role: 'lb', listen: [LB_LAB.mgmtAddress], stateDir: agent.stateDir, extraArgs: ['--services', 'router'] });
    const answer = await put(loadBalancerDocument([httpListener({ members: [member('a', A)] })]));
    assert.equal(answer.status, 422, answer.body);
    assert.deepEqual(
      answer.json<{ details: { path: string }[] }>().details.map((d) => d.path),
      ['/services/loadbalancer'],
    );
    const { degraded } = (await agent.request('GET', '/v1/status')).json<{ degraded: { reason: string } | null }>();
    assert.match(degraded?.reason ?? '', /\/services\/loadbalancer: this appliance does not run the loadbalancer service \(its services: router, from --services\)/);
  });

  /** What a refused document must leave as it was: nginx's file and process, both firewalls, the applied document. */
  async function hostState() {
    // Without the comments and the built-in chains' counters, which traffic moves.
    const save = async (command: string) => (await lab.exec('lb', [command, '-t', 'filter'])).stdout.replace(/^#.*$/gm, '').replace(/ \[\d+:\d+\]$/gm, '');
    return {
      conf: await readFile(join(agent.stateDir, 'nginx', 'nginx.conf'), 'utf8'),
      nginx: (await nginx())?.pid,
      v4: await save('iptables-save'),
      v6: await save('ip6tables-save'),
      config: (await agent.request('GET', '/v1/system/config')).body,
      addresses: (await run(['ip', '-n', lab.ns('lb'), '-o', 'addr', 'show'])).stdout,
    };
  }
});
