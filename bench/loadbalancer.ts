// L1: the load balancer (nginx driven by the agent) on real traffic, in the
// functional tests' load-balancer lab (test/harness/loadbalancer.ts): the
// agent in its namespace, member servers and clients in theirs.
//
//   - requests per second through the VIP against straight to the one member
//     behind it, with the same client and concurrency, in the same run;
//   - the time from the PUT that replaces a pool's member to the first answer
//     from the new member (the agent's apply, nginx's reload, a new worker);
//   - the first apply of a load balancer with 100 listeners of 10 members;
//   - the agent's resident memory with those 1000 members under TCP health
//     monitors, once every member has been probed at least twice.
//
// Loads and timed requests come from long-lived clients in the namespaces
// (bench/ns-client.ts), so no process start falls inside a timing.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, REPO } from '../test/harness/agent.js';
import { spawnInNs, waitFor } from '../test/harness/exec.js';
import { LB_LAB, loadBalancerDocument, loadBalancerLab, Member, type ListenerSpec } from '../test/harness/loadbalancer.js';
import { alive, signal, type Topology } from '../test/harness/topology.js';
import { NsClient, rssMiB, type LoadResult } from './lib/lab.js';
import { median, round } from './lib/stats.js';
import { ms, num, ratio, type Row } from './lib/table.js';

export interface L1Mode {
  readonly loadMs: number;
  readonly warmupMs: number;
  /** Member changes timed (alternating between two members). */
  readonly changes: number;
  /** Seconds between probes of the monitored members. */
  readonly monitorDelayS: number;
}

export interface L1Result {
  readonly viaVip: LoadResult;
  readonly direct: LoadResult;
  readonly memberChangeMs: readonly number[];
  readonly memberChangePutMs: readonly number[];
  /** Requests of the member-change loop that failed on a keep-alive connection the reload closed (asked again). */
  readonly closedByReload: number;
  readonly bigApply: { readonly putMs: number; readonly applyMs: number; readonly listeners: number; readonly members: number };
  readonly memory: { readonly beforeMiB: number; readonly monitoredMiB: number; readonly members: number; readonly online: number };
}

const AGENT_URL = `http://[${LB_LAB.mgmtAddress}]:5000`;
const CONCURRENCY = 50;
const BIG_LISTENERS = 100;
const BIG_MEMBERS = 10;
const FIRST_MEMBER_PORT = 20_000;

let current: Topology | undefined;

/** Remove the lab of a run under way (the suite's signal handler). */
export async function destroyLoadBalancerLab(): Promise<void> {
  await current?.destroy();
}

const httpListener = (members: readonly { id: string; address: string; port: number }[], id = 'web', port = 80, monitor?: Record<string, unknown>): ListenerSpec => ({
  id,
  protocol: 'HTTP',
  protocol_port: port,
  default_pool: {
    id: `${id}-pool`,
    lb_algorithm: 'ROUND_ROBIN',
    healthmonitor: monitor ?? null,
    members: members.map((m) => ({ id: m.id, address: m.address, protocol_port: m.port })),
  },
});

/** 100 listeners of 10 members each, every member its own port of the first member address. */
function bigDocument(monitorDelayS: number | undefined): Record<string, unknown> {
  const monitor = monitorDelayS === undefined ? undefined : { type: 'TCP', delay: monitorDelayS, timeout: 1, max_retries: 3, admin_state_up: true };
  const listeners = Array.from({ length: BIG_LISTENERS }, (_, i) =>
    httpListener(
      Array.from({ length: BIG_MEMBERS }, (_, j) => ({ id: `m${i}-${j}`, address: LB_LAB.members[0], port: FIRST_MEMBER_PORT + i * BIG_MEMBERS + j })),
      `l${i}`,
      10_000 + i,
      monitor,
    ),
  );
  return loadBalancerDocument(listeners);
}

export async function measureLoadBalancer(mode: L1Mode, log: (message: string) => void): Promise<L1Result> {
  const lab = await loadBalancerLab();
  current = lab;
  let agent: Agent | undefined;
  const clients: NsClient[] = [];
  try {
    const [a, b] = LB_LAB.members;
    await Member.start(lab, 'a', 'http', a, 8080);
    await Member.start(lab, 'b', 'http', b, 8080);
    const many = spawnInNs(lab.ns('members'), [process.execPath, join(REPO, 'bench/lib/many-members.mjs'), a, String(FIRST_MEMBER_PORT), String(BIG_LISTENERS * BIG_MEMBERS)], join(lab.dir, 'many-members.log'));
    agent = await Agent.start(lab, { role: 'lb', listen: [LB_LAB.mgmtAddress], extraArgs: ['--log-level', 'info'] });
    const mgmt = NsClient.start(lab, 'mgmt');
    const client = NsClient.start(lab, 'clients');
    clients.push(mgmt, client);
    await Promise.all([mgmt.ready(), client.ready()]);

    const put = async (name: string, doc: unknown) => {
      const file = join(lab.dir, `${name}.json`);
      await writeFile(file, JSON.stringify(doc));
      const answer = await mgmt.request('PUT', `${AGENT_URL}/v1/system/config`, file);
      if (answer.status !== 200) throw new Error(`PUT ${name}: ${answer.status} ${answer.body.slice(0, 500)}`);
      return answer;
    };
    const only = (name: 'a' | 'b') => loadBalancerDocument([httpListener([{ id: name, address: name === 'a' ? a : b, port: 8080 }])]);

    log('L1: requests through the VIP and straight to the member');
    await put('only-a', only('a'));
    const load = (url: string) => client.load({ urls: [url], concurrency: CONCURRENCY, durationMs: mode.loadMs, warmupMs: mode.warmupMs, maxRequests: 5_000_000 });
    const viaVip = await load(`http://${LB_LAB.vip}/`);
    const direct = await load(`http://${a}:8080/`);

    log('L1: PUT to a replaced member answering');
    const memberChangeMs: number[] = [];
    const memberChangePutMs: number[] = [];
    let closedByReload = 0;
    for (let i = 0; i < mode.changes; i++) {
      const next = i % 2 === 0 ? 'b' : 'a';
      const file = join(lab.dir, `only-${next}.json`);
      await writeFile(file, JSON.stringify(only(next)));
      const started = performance.now();
      // Settled at once so that a failure below never leaves it unhandled.
      const putting = mgmt.request('PUT', `${AGENT_URL}/v1/system/config`, file).then(
        (answer) => answer,
        (error: unknown) => error as Error,
      );
      for (;;) {
        // An idle keep-alive connection the old nginx worker closes at the reload fails one
        // request, as HTTP allows; a client asks again, and so does this loop.
        const answer = await client.request('GET', `http://${LB_LAB.vip}/`).catch(() => {
          closedByReload++;
          return undefined;
        });
        if (answer?.status === 200 && answer.body.trim() === next) break;
        if (performance.now() - started > 30_000) throw new Error(`member ${next} never answered through the VIP`);
      }
      memberChangeMs.push(performance.now() - started);
      const answered = await putting;
      if (answered instanceof Error) throw answered;
      if (answered.status !== 200) throw new Error(`PUT only-${next}: ${answered.status} ${answered.body.slice(0, 500)}`);
      memberChangePutMs.push(answered.ms);
    }

    log(`L1: ${BIG_LISTENERS} listeners of ${BIG_MEMBERS} members: first apply`);
    await waitFor('the many members to listen', async () => {
      if (!alive(many.pid!)) throw new Error('many-members.mjs exited');
      return (await readFile(join(lab.dir, 'many-members.log'), 'utf8').catch(() => '')).includes('listening');
    });
    // From nothing: the first apply of the large load balancer is what a new appliance pays.
    await put('empty', loadBalancerDocument([]));
    const big = await put('big', bigDocument(undefined));
    const report = (await mgmt.request('GET', `${AGENT_URL}/v1/system/apply`)).body;
    const applyMs = (JSON.parse(report) as { report: { duration_ms: number } }).report.duration_ms;

    log(`L1: ${BIG_LISTENERS * BIG_MEMBERS} monitored members (TCP every ${mode.monitorDelayS} s)`);
    const beforeMiB = await rssMiB(agent.pid);
    await put('big-monitored', bigDocument(mode.monitorDelayS));
    const monitoredSince = performance.now();
    // Two full rounds of probes, and every member still ONLINE.
    let online = 0;
    await waitFor('two rounds of probes', async () => {
      // Through the harness (curl): the answer is larger than the bench client keeps, and no timing depends on it.
      const status = (await agent!.request('GET', '/v1/loadbalancer/status')).json<{ loadbalancer: { listeners: { members: { operating_status: string }[] }[] } }>();
      online = status.loadbalancer.listeners.flatMap((l) => l.members).filter((m) => m.operating_status === 'ONLINE').length;
      return performance.now() - monitoredSince > 2 * mode.monitorDelayS * 1000 + 500;
    }, 4 * mode.monitorDelayS * 1000 + 30_000);
    const monitoredMiB = await rssMiB(agent.pid);
    signal(many.pid!, 'SIGTERM');
    return {
      viaVip,
      direct,
      memberChangeMs,
      memberChangePutMs,
      closedByReload,
      bigApply: { putMs: big.ms, applyMs, listeners: BIG_LISTENERS, members: BIG_LISTENERS * BIG_MEMBERS },
      memory: { beforeMiB, monitoredMiB, members: BIG_LISTENERS * BIG_MEMBERS, online },
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await agent?.stop();
    await lab.destroy();
    current = undefined;
  }
}

export function loadBalancerRows(result: L1Result): Row[] {
  const section = 'L1: the load balancer (nginx driven by the agent), real traffic';
  const rows: Row[] = [];
  const row = (figure: string, value: string, note: string, number?: number, unit?: string) =>
    rows.push({ section, figure, value, target: '', ratio: note, verdict: 'info', ...(number === undefined ? {} : { number: round(number, 2), unit }) });
  const { viaVip, direct } = result;
  const load = (r: LoadResult) => `${num(r.rps)} req/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}${r.errors > 0 ? `, ${num(r.errors)} errors` : ''}`;
  row(`HTTP through the VIP to one member, ${CONCURRENCY} clients`, load(viaVip), '', viaVip.rps, 'req/s');
  row(`HTTP straight to that member, ${CONCURRENCY} clients`, load(direct), '', direct.rps, 'req/s');
  row('  through the VIP / straight', ratio(viaVip.rps / direct.rps), 'same client, same run', viaVip.rps / direct.rps, 'ratio');
  const change = median(result.memberChangeMs);
  row(
    `PUT replacing the member to the new member answering (median of ${result.memberChangeMs.length})`,
    ms(change),
    `PUT to 200 ${ms(median(result.memberChangePutMs))}; ${num(result.closedByReload)} idle keep-alive connections closed by a reload, asked again`,
    change,
    'ms',
  );
  const { bigApply, memory } = result;
  row(`first apply, ${bigApply.listeners} listeners of ${bigApply.members / bigApply.listeners} members`, ms(bigApply.putMs), `the agent's apply ${ms(bigApply.applyMs)}`, bigApply.putMs, 'ms');
  row(
    `agent RSS with ${num(memory.members)} monitored members`,
    `${memory.monitoredMiB.toFixed(1)} MiB`,
    `${memory.beforeMiB.toFixed(1)} MiB with the same members unmonitored (RSS moves with the garbage collector); ${num(memory.online)} of them ONLINE`,
    memory.monitoredMiB,
    'MiB',
  );
  return rows;
}
