// C1: orchestrators as a cluster over a real three-member etcd cluster, with
// the local provider and real appliances (test/harness/cluster-lab.ts):
//
//   - a member SIGKILLed: time from its death to every one of its routers
//     being owned by a survivor (listed by its admin API), which is bounded by
//     the lease's time-to-live (4 s here) plus a heartbeat;
//   - events per second the cluster works through with three members, then,
//     in the same run, with one (the other two stopped, their routers adopted):
//     one edit of the resource file changes every router's document; the time
//     from the edit to every router's push done gives routers per second.
import type { ResourceView } from '../orchestrator/core/control.js';
import { ClusterLab, HEARTBEAT_S, LEASE_TTL_S } from '../test/harness/cluster-lab.js';
import { externalNetwork, resourceFile, routerSpec, type RouterSpec } from '../test/harness/resources.js';
import { median, round } from './lib/stats.js';
import { ms, num, type Row } from './lib/table.js';

export interface C1Mode {
  readonly routers: number;
  /** File edits timed with each member count. */
  readonly edits: number;
}

export interface C1Result {
  readonly routers: number;
  readonly failoverMs: number;
  readonly routersMoved: number;
  readonly eventsPerSecond: { readonly three: readonly number[]; readonly one: readonly number[] };
}

let current: ClusterLab | undefined;

/** For the suite's signal handler. */
export async function destroyClusterLab(): Promise<void> {
  await current?.destroy();
  current = undefined;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const configured = (r: ResourceView): boolean => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0;

async function views(lab: ClusterLab): Promise<ResourceView[]> {
  return (await Promise.all(lab.running().map(async (m) => (await lab.list(m)).resources as unknown as ResourceView[]))).flat();
}

async function allConfigured(lab: ClusterLab, count: number, timeoutMs: number): Promise<void> {
  await until(`${count} routers configured`, async () => {
    const all = await views(lab);
    return all.length === count && new Set(all.map((r) => r.id)).size === count && all.every(configured);
  }, timeoutMs);
}

/** Edit the external subnet's DNS (every router's document changes) and time until every router has pushed it. */
async function editThroughput(lab: ClusterLab, external: ReturnType<typeof externalNetwork>, routers: readonly RouterSpec[], dns: string): Promise<number> {
  const base = resourceFile(external, routers);
  const file = { ...base, subnets: base.subnets.map((s) => (s.id === external.subnetId ? { ...s, dns_nameservers: [dns] } : s)) };
  const started = Date.now();
  const t0 = performance.now();
  await lab.writeResources(file);
  await until('every router to push the edit', async () => {
    const all = await views(lab);
    return all.length === routers.length && all.every((r) => r.last_push !== null && r.last_push.ok && Date.parse(r.last_push.at) >= started && configured(r));
  }, 300_000);
  return routers.length / ((performance.now() - t0) / 1000);
}

export async function measureCluster(mode: C1Mode, log: (message: string) => void): Promise<C1Result> {
  const external = externalNetwork();
  const routers = Array.from({ length: mode.routers }, (_, i) => routerSpec(0, `192.0.2.${10 + i}`));
  const lab = await ClusterLab.create(resourceFile(external, []), 'info');
  current = lab;
  try {
    for (let i = 0; i < 3; i++) await lab.start(i);
    await until('every member to see the three', async () => (await Promise.all(lab.running().map(async (m) => (await lab.list(m)).cluster.members.length))).every((n) => n === 3), 30_000);
    await lab.writeResources(resourceFile(external, routers));
    await allConfigured(lab, routers.length, 600_000);
    log(`C1: ${routers.length} routers configured by 3 members`);

    const three: number[] = [];
    for (let e = 0; e < mode.edits; e++) three.push(await editThroughput(lab, external, routers, `192.0.2.${60 + e}`));

    const victim = 'member-1';
    const lost = (await lab.ownership()).get(victim) ?? [];
    await lab.kill(victim);
    const t0 = performance.now();
    await until('the dead member\'s routers owned again', async () => {
      const owned = new Set([...(await lab.ownership()).values()].flat());
      return lost.every((id) => owned.has(id));
    }, (LEASE_TTL_S + 10) * 1000);
    const failoverMs = performance.now() - t0;
    log(`C1: ${lost.length} routers owned again ${Math.round(failoverMs)} ms after their member's death`);

    await lab.stop('member-2');
    await allConfigured(lab, routers.length, 300_000);
    const one: number[] = [];
    for (let e = 0; e < mode.edits; e++) one.push(await editThroughput(lab, external, routers, `192.0.2.${80 + e}`));
    return { routers: routers.length, failoverMs, routersMoved: lost.length, eventsPerSecond: { three, one } };
  } finally {
    current = undefined;
    await lab.destroy();
  }
}

export function clusterRows(result: C1Result): Row[] {
  const section = 'C1: three orchestrators over etcd (local provider), real appliances';
  const row = (figure: string, value: string, note: string, number: number, unit: string): Row => ({ section, figure, value, target: '', ratio: note, verdict: 'info', number: round(number, 2), unit });
  const three = median([...result.eventsPerSecond.three]);
  const one = median([...result.eventsPerSecond.one]);
  return [
    row(
      'member SIGKILLed to all its routers owned again',
      ms(result.failoverMs),
      `${result.routersMoved} routers; lease ${LEASE_TTL_S} s, heartbeat ${HEARTBEAT_S} s`,
      result.failoverMs,
      'ms',
    ),
    row(`routers updated per second, 3 members (${result.routers} routers, one edit each)`, `${num(three, 1)}/s`, `median of ${result.eventsPerSecond.three.length}`, three, 'events/s'),
    row('  the same with 1 member (same run)', `${num(one, 1)}/s`, `3 members: ${(three / one).toFixed(2)}x`, one, 'events/s'),
  ];
}
