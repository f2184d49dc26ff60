// The benchmark suite (issue 5): `npm run bench` runs everything, prints one
// table and writes it as JSON; `npm run bench -- --quick` runs a small
// version (about a minute) that CI runs so the suite never rots, asserting
// nothing. Needs root (network namespaces), like the functional tests.
//
//   npm run bench -- [--quick] [--out FILE] [--only W1,W2,W3,O1,O2,L1,H1,V1,C1,U1]
//
// Every figure is measured in throwaway namespaces with the real kernel and
// daemons; docs/performance.md explains each one and the latest results.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { REPO } from '../test/harness/agent.js';
import { run } from '../test/harness/exec.js';
import type { Topology } from '../test/harness/topology.js';
import { floorPlan, originalPlan, renderWork, type LiveState } from './floor.js';
import {
  addGuests,
  AGENT_URL,
  arpingsDone,
  benchLab,
  NsClient,
  rssMiB,
  runPlan,
  startAgent,
  startUpstream,
  UPSTREAM_URL,
  writeDocument,
  type LoadResult,
} from './lib/lab.js';
import { linearFit, median, round } from './lib/stats.js';
import { clusterRows, destroyClusterLab, measureCluster } from './cluster.js';
import { consoleRows, measureConsole } from './console.js';
import { destroyHaLab, haRows, measureHa } from './ha.js';
import { destroyLoadBalancerLab, loadBalancerRows, measureLoadBalancer } from './loadbalancer.js';
import { destroyOrchestratorLabs, measureOrchestrator, orchestratorRows } from './orchestrator.js';
import { destroyScaleLab, measureScale, scaleRows } from './orchestrator-scale.js';
import { destroyVpnLab, measureVpn, vpnRows } from './vpn.js';
import { measureValidation } from './validation.js';
import { ms, num, ratio, render, type Row, type Verdict } from './lib/table.js';
import type { PlanResult } from './plan-runner.js';
import { w1, w2, withOneAllocationChanged, withOneMoreFloatingIp, W1_TENANTS, guestV4, type Workload } from './workloads.js';
import type { Agent } from '../test/harness/agent.js';
import type { LiveLink } from '../appliance/drivers/interfaces/plan.js';
import type { LiveRoute } from '../appliance/host/routes.js';

// --- options ------------------------------------------------------------------

interface Options {
  readonly quick: boolean;
  readonly out: string;
  readonly only: ReadonlySet<string> | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let out: string | undefined;
  let only: Set<string> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = argv[++i];
    else if (arg === '--only') only = new Set(argv[++i]!.split(',').map((s) => s.trim().toUpperCase()));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench -- [--quick] [--out FILE] [--only W1,W2,W3,O1,O2,L1,H1,V1,C1,U1]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { quick, out: resolve(out ?? join(REPO, 'build/bench', quick ? 'results-quick.json' : 'results.json')), only };
}

const options = parseOptions(process.argv.slice(2));

/** What each mode runs. The quick mode shrinks W2 to 10% and every duration, O1 to one run and 10 routers, O2 to 300 simulated appliances polled every 5 s and 3 s of 20 updates/s, L1 to 2 s loads and 2 s monitor probes, H1 to 3 failovers, V1 to 2 s transfers and one tunnel, C1 to 6 routers and one edit, U1 to one page load and 2 s per console count. */
const MODE = options.quick
  ? { reps: 1, w3Reps: 1, w2Fraction: 0.1, w3Fractions: [0.04], reapplies: 5, repushes: 20, deltas: 1, loadMs: 2000, pacedMs: 2000, metadataRounds: 1, warmupMs: 300, originalBudgetMs: 5000, apiOnW2: false, u1: { resources: 500, loads: 1, seconds: 2, clientCounts: [0, 1, 10] }, o1: { reps: 1, routers: 10 }, o2: { routers: 300, tenants: 10, periodS: 5, rate: 20, eventSeconds: 3 }, l1: { loadMs: 2000, warmupMs: 300, changes: 3, monitorDelayS: 2 }, h1: { failovers: 3, connections: 5 }, v1: { seconds: 2, establishments: 1 }, c1: { routers: 6, edits: 1 } }
  : { reps: 3, w3Reps: 2, w2Fraction: 1, w3Fractions: [0.1, 0.25, 0.5], reapplies: 5, repushes: 100, deltas: 3, loadMs: 10_000, pacedMs: 5000, metadataRounds: 5, warmupMs: 1000, originalBudgetMs: 120_000, apiOnW2: true, u1: { resources: 500, loads: 5, seconds: 10, clientCounts: [0, 1, 10, 30] }, o1: { reps: 3, routers: 50 }, o2: { routers: 5000, tenants: 50, periodS: 60, rate: 50, eventSeconds: 30 }, l1: { loadMs: 10_000, warmupMs: 1000, changes: 9, monitorDelayS: 5 }, h1: { failovers: 10, connections: 10 }, v1: { seconds: 5, establishments: 3 }, c1: { routers: 30, edits: 3 } };

// --- clean-up -----------------------------------------------------------------

const labs = new Set<Topology>();
/** Set by the first SIGINT/SIGTERM: no new lab is made after it. */
let interrupted: NodeJS.Signals | undefined;

async function withLab<T>(tenants: number, fn: (lab: Topology) => Promise<T>): Promise<T> {
  if (interrupted) throw new Error(`interrupted (${interrupted})`);
  const lab = await benchLab(tenants);
  labs.add(lab);
  try {
    return await fn(lab);
  } finally {
    labs.delete(lab);
    await lab.destroy();
  }
}

// `on`, not `once`, and later signals ignored: with no listener of ours left, execa's exit hook
// (signal-exit) would raise the signal again and end the process in the middle of the teardown.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    console.error(`\n${signal}: removing the benchmark namespaces`);
    const teardown = Promise.allSettled([...[...labs].map((lab) => lab.destroy()), destroyOrchestratorLabs(), destroyScaleLab(), destroyLoadBalancerLab(), destroyHaLab(), destroyVpnLab(), destroyClusterLab()]);
    // The step under way fails once its lab goes, and its own finally blocks clean up what it was making:
    // wait for the suite (`running`, below; signals are only handled once it runs) to end, a minute at most.
    const settled = Promise.race([running, new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
    void Promise.allSettled([teardown, settled]).finally(() => process.exit(130));
  });
}

function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

// --- the agent ----------------------------------------------------------------

interface StepReport {
  readonly subsystem: string;
  readonly changed: boolean;
  readonly commands: number;
  readonly duration_ms: number;
  /** Unchanged and skipped: the host was verified to hold it. */
  readonly skipped?: true;
}

interface ApplyReport {
  readonly duration_ms: number;
  readonly steps: readonly StepReport[];
  /** Answered as a verified re-push, without applying. */
  readonly reused?: boolean;
}

interface Put {
  /** PUT to 200, measured by the client in mgmt. */
  readonly ms: number;
  readonly report: ApplyReport;
}

function commandsOf(report: ApplyReport): number {
  return report.steps.reduce((sum, s) => sum + s.commands, 0);
}

interface Context {
  readonly lab: Topology;
  readonly client: NsClient;
  agent: Agent;
  readonly files: { readonly base: string; readonly floating: readonly string[]; readonly allocation: readonly string[] };
}

/**
 * Wait (up to 60 s) until the agent has fingerprinted the host after its
 * apply, as it has long done when an orchestrator's periodic re-push comes:
 * a re-push before that is applied in full.
 */
async function liveStateVerified(client: NsClient): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const status = await client.request('GET', `${AGENT_URL}/v1/status/`);
    if ((JSON.parse(status.body) as { live_state?: { condition: string } }).live_state?.condition === 'verified') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  log('the agent did not verify its live state within 60 s: the re-applies are applied in full');
}

async function put(client: NsClient, file: string, headers?: Readonly<Record<string, string>>): Promise<Put> {
  const answer = await client.request('PUT', `${AGENT_URL}/v1/system/config`, file, headers);
  if (answer.status !== 200) throw new Error(`PUT answered ${answer.status}: ${answer.body.slice(0, 800)}`);
  const report = await client.request('GET', `${AGENT_URL}/v1/system/apply`);
  return { ms: answer.ms, report: (JSON.parse(report.body) as { report: ApplyReport }).report };
}

interface AgentRun {
  readonly startMs: number;
  readonly rssIdle: number;
  readonly first: Put;
  readonly rssAfterFirst: number;
  readonly reapply: readonly Put[];
  /** RSS after each re-apply, MiB. */
  readonly rssTrace: readonly number[];
  readonly rssAfterReapply: number;
  /** The same document with `Cache-Control: no-cache`: validated, rendered and compared with the host in full. */
  readonly reapplyFull: readonly Put[];
  readonly deltaFloating: readonly Put[];
  /** The document without that floating IP again, right after each `deltaFloating`. */
  readonly deltaFloatingRemoved: readonly Put[];
  readonly deltaAllocation: readonly Put[];
}

interface AgentRunOptions {
  readonly reapplies: number;
  readonly deltas: number;
  readonly extras?: (context: Context) => Promise<void>;
}

/** A fresh lab and agent: start, first apply, re-applies, deltas, then `extras`. */
async function measureAgent(workload: Workload, runOptions: AgentRunOptions): Promise<AgentRun> {
  return withLab(workload.tenants, async (lab) => {
    await startUpstream(lab);
    const client = NsClient.start(lab, 'mgmt');
    try {
      await client.ready();
      // Each delta is a document the agent has not seen (a new floating IP, another allocation), as in real life.
      const files = {
        base: await writeDocument(lab, 'base', workload.doc),
        floating: await Promise.all(Array.from({ length: runOptions.deltas }, (_, i) => writeDocument(lab, `floating-${i}`, withOneMoreFloatingIp(workload, i)))),
        allocation: await Promise.all(Array.from({ length: runOptions.deltas }, (_, i) => writeDocument(lab, `allocation-${i}`, withOneAllocationChanged(workload.doc, i)))),
      };
      const firstAnswer = client.firstAnswer(`${AGENT_URL}/v1/base/`);
      const started = performance.timeOrigin + performance.now();
      const agent = await startAgent(lab);
      const context: Context = { lab, client, agent, files };
      try {
        const startMs = (await firstAnswer) - started;
        const rssIdle = await rssMiB(agent.pid);
        const first = await put(client, files.base);
        await arpingsDone(lab);
        const rssAfterFirst = await rssMiB(agent.pid);
        await liveStateVerified(client);
        const reapply: Put[] = [];
        const rssTrace: number[] = [];
        for (let i = 0; i < runOptions.reapplies; i++) {
          reapply.push(await put(client, files.base));
          rssTrace.push(await rssMiB(agent.pid));
        }
        const rssAfterReapply = rssTrace.at(-1) ?? rssAfterFirst;
        const reapplyFull: Put[] = [];
        for (let i = 0; i < MODE.reapplies; i++) reapplyFull.push(await put(client, files.base, { 'cache-control': 'no-cache' }));
        const deltaFloating: Put[] = [];
        const deltaFloatingRemoved: Put[] = [];
        const deltaAllocation: Put[] = [];
        // Each delta once the host is verified to hold the apply before it (the fingerprint the agent
        // takes right after an apply), as an orchestrator's deltas, seconds apart, find it.
        for (let i = 0; i < runOptions.deltas; i++) {
          await liveStateVerified(client);
          deltaFloating.push(await put(client, files.floating[i]!));
          await arpingsDone(lab);
          deltaFloatingRemoved.push(await put(client, files.base));
          await liveStateVerified(client);
          deltaAllocation.push(await put(client, files.allocation[i]!));
          await put(client, files.base);
        }
        await runOptions.extras?.(context);
        return { startMs, rssIdle, first, rssAfterFirst, reapply, rssTrace, rssAfterReapply, reapplyFull, deltaFloating, deltaFloatingRemoved, deltaAllocation };
      } finally {
        await context.agent.stop();
      }
    } finally {
      await client.close();
    }
  });
}

// --- the floor and the original cost model --------------------------------------

let checksumFill: boolean | undefined;

/** Does the kernel have the CHECKSUM target (the agent renders its rules only then)? Asked once, in a throwaway namespace. */
async function kernelHasChecksum(): Promise<boolean> {
  if (checksumFill === undefined) {
    const probe = await run(['unshare', '-n', 'iptables-restore'], {
      input: '*mangle\n-A POSTROUTING -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill\nCOMMIT\n',
      allowFailure: true,
    });
    checksumFill = probe.exitCode === 0;
  }
  return checksumFill;
}

async function liveState(lab: Topology): Promise<LiveState> {
  const read = async (args: string[]) => JSON.parse((await lab.ip('router', ['-j', ...args])).stdout || '[]') as unknown[];
  const links = (await read(['addr', 'show'])) as LiveLink[];
  const routes = [
    ...((await read(['-4', 'route', 'show', 'table', 'main'])) as Omit<LiveRoute, 'family'>[]).map((r) => ({ ...r, family: 4 as const })),
    ...((await read(['-6', 'route', 'show', 'table', 'main'])) as Omit<LiveRoute, 'family'>[]).map((r) => ({ ...r, family: 6 as const })),
  ];
  return { links, routes };
}

async function measurePlan(workload: Workload, kind: 'floor' | 'original'): Promise<PlanResult> {
  return withLab(workload.tenants, async (lab) => {
    const dir = join(lab.dir, kind);
    const work = renderWork(workload.doc, await liveState(lab), dir, await kernelHasChecksum());
    const plan = kind === 'floor' ? floorPlan(work, dir) : originalPlan(work, dir, MODE.originalBudgetMs);
    return runPlan<PlanResult>(lab, plan, kind);
  });
}

/** Total of a plan's timed phases; phases cut short by their budget are extrapolated linearly. */
function planTotal(result: PlanResult): { ms: number; processes: number; extrapolated: boolean } {
  let total = 0;
  let processes = 0;
  let extrapolated = false;
  for (const phase of result.phases) {
    if (phase.untimed) continue;
    if (phase.ran < phase.steps && phase.ran > 0) {
      extrapolated = true;
      total += (phase.ms * phase.steps) / phase.ran;
      processes += Math.round((phase.processes * phase.steps) / phase.ran);
    } else {
      total += phase.ms;
      processes += phase.processes;
    }
  }
  return { ms: total, processes, extrapolated };
}

// --- API and metadata load --------------------------------------------------------

interface Loads {
  /** GET /v1/status/: as fast as 50 clients can go, and at the target rate. */
  status?: LoadResult;
  statusPaced?: LoadResult;
  rules?: LoadResult;
  /** Metadata through the proxy as fast as 100 guests can go; then, in alternating rounds, through the proxy and straight to the upstream at the target rate. */
  proxy?: LoadResult;
  /** 200 requests in flight at once (two per guest), closed loop. */
  proxyBurst?: LoadResult;
  proxyPaced?: LoadResult[];
  directPaced?: LoadResult[];
}

const API_RATE = 2000;
const METADATA_RATE = 1500;

async function apiLoad(context: Context, loads: Loads): Promise<void> {
  const load = (path: string, ratePerSecond?: number) =>
    context.client.load({
      urls: [`${AGENT_URL}${path}`],
      concurrency: 50,
      durationMs: MODE.loadMs,
      warmupMs: MODE.warmupMs,
      maxRequests: 2_000_000,
      ...(ratePerSecond ? { ratePerSecond } : {}),
    });
  log('  API load: GET /v1/status/, 50 clients, closed loop');
  loads.status = await load('/v1/status/');
  log(`  API load: GET /v1/status/, 50 clients, ${API_RATE} req/s`);
  loads.statusPaced = await load('/v1/status/', API_RATE);
  log('  API load: GET /v1/firewall/rules, 50 clients, closed loop');
  loads.rules = await load('/v1/firewall/rules');
}

/**
 * 100 guests on the first W1 network ask 169.254.169.254 (DNAT to the
 * proxy's listener), as fast as they can and at the target rate; then 100
 * clients in the router namespace ask the upstream directly at that rate.
 */
async function metadataLoad(context: Context, loads: Loads): Promise<void> {
  const spec = W1_TENANTS[0]!;
  const guests = await addGuests(context.lab, guestV4(spec, 0), spec.v4.prefix, 100, guestV4(spec, -1));
  const path = '/latest/meta-data/instance-id';
  const guestClient = NsClient.start(context.lab, 'sw');
  const routerClient = NsClient.start(context.lab, 'router');
  try {
    await Promise.all([guestClient.ready(), routerClient.ready()]);
    const common = { concurrency: 100, durationMs: MODE.loadMs, warmupMs: MODE.warmupMs, maxRequests: 2_000_000 };
    const proxied = { ...common, urls: [`http://169.254.169.254${path}`], localAddresses: guests };
    log('  metadata load: 100 guests through 169.254.169.254, closed loop');
    loads.proxy = await guestClient.load(proxied);
    log('  metadata load: 200 requests in flight at once, two per guest');
    loads.proxyBurst = await guestClient.load({ ...proxied, concurrency: 200, durationMs: MODE.pacedMs });
    // p99 differences of a few ms are within what a shared 2-core machine does on its own: alternate and take medians.
    loads.proxyPaced = [];
    loads.directPaced = [];
    for (let round = 0; round < MODE.metadataRounds; round++) {
      log(`  metadata load, round ${round + 1}/${MODE.metadataRounds}: through 169.254.169.254, then straight to the upstream, ${METADATA_RATE} req/s`);
      loads.proxyPaced.push(await guestClient.load({ ...proxied, durationMs: MODE.pacedMs, ratePerSecond: METADATA_RATE }));
      loads.directPaced.push(await routerClient.load({ ...common, durationMs: MODE.pacedMs, urls: [`${UPSTREAM_URL}${path}`], ratePerSecond: METADATA_RATE }));
    }
  } finally {
    await Promise.all([guestClient.close(), routerClient.close()]);
  }
}

// --- the figures ----------------------------------------------------------------

interface WorkloadResult {
  readonly workload: Workload;
  readonly agent: readonly AgentRun[];
  readonly floor: readonly PlanResult[];
  readonly original?: PlanResult;
}

const rows: Row[] = [];
const raw: Record<string, unknown> = {};

function row(section: string, figure: string, value: string, target: string, ratioText: string, verdict: Verdict, numberValue?: number, unit?: string): void {
  rows.push({ section, figure, value, target, ratio: ratioText, verdict, ...(numberValue === undefined ? {} : { number: round(numberValue, 2), unit }) });
}

function check(ok: boolean): Verdict {
  return ok ? 'ok' : 'MISSED';
}

const SUBSYSTEMS = ['hostname', 'sysctl', 'interfaces', 'routes', 'firewall', 'dhcp', 'routing', 'metadata-proxy', 'arp', 'persist'];

/** Median over runs of each subsystem's duration, and of what the PUT spent outside the steps. */
function breakdown(puts: readonly Put[]): { parts: [string, number][]; commands: number } {
  const parts: [string, number][] = [];
  parts.push(['HTTP, validation', median(puts.map((p) => p.ms - p.report.duration_ms))]);
  parts.push(['render, checks', median(puts.map((p) => p.report.duration_ms - p.report.steps.reduce((s, x) => s + x.duration_ms, 0)))]);
  for (const name of SUBSYSTEMS) {
    const values = puts.map((p) => p.report.steps.find((s) => s.subsystem === name)?.duration_ms ?? 0);
    parts.push([name, median(values)]);
  }
  return { parts, commands: median(puts.map((p) => commandsOf(p.report))) };
}

function phaseBreakdown(results: readonly PlanResult[]): string {
  const names = results[0]?.phases.filter((p) => !p.untimed).map((p) => p.name) ?? [];
  return names.map((name) => `${name} ${ms(median(results.map((r) => r.phases.find((p) => p.name === name)?.ms ?? 0)))}`).join(', ');
}

function workloadRows(result: WorkloadResult, targets: { firstMs?: number; floorRatio?: number; reapplyMs: number; deltaMs: number }): { firstMs: number; floorMs: number } {
  const { workload, agent } = result;
  const section = `${workload.name}: ${num(workload.counts.networks)} tenant networks, ${num(workload.counts.allocations)} allocations, ${num(workload.counts.floatingIps)} floating IPs`;
  const firstMs = median(agent.map((a) => a.first.ms));
  const floorMs = median(result.floor.map((f) => planTotal(f).ms));
  const headline = firstMs / floorMs;
  const reps = `median of ${agent.length}`;
  const firstTarget = targets.floorRatio !== undefined ? `<= ${targets.floorRatio}x floor` : `< ${ms(targets.firstMs!)}`;
  const firstOk = targets.floorRatio !== undefined ? headline <= targets.floorRatio : firstMs < targets.firstMs!;
  row(section, `first apply, PUT to 200 (${reps})`, ms(firstMs), firstTarget, targets.floorRatio !== undefined ? ratio(headline) : ratio(firstMs / targets.firstMs!), check(firstOk), firstMs, 'ms');
  const parts = breakdown(agent.map((a) => a.first));
  row(section, '  split', parts.parts.filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${ms(v)}`).join(', '), '', `${num(parts.commands)} commands`, 'info');
  row(section, `floor: the same work with the tools (${reps})`, ms(floorMs), '', phaseBreakdown(result.floor), 'info', floorMs, 'ms');
  row(section, '**agent / floor** (headline)', ratio(headline), targets.floorRatio !== undefined ? `<= ${targets.floorRatio}x` : '', '', targets.floorRatio !== undefined ? check(headline <= targets.floorRatio) : 'info', headline, 'ratio');
  if (targets.floorRatio === undefined) row(section, '  (first apply target)', ms(firstMs), `< ${ms(targets.firstMs!)}`, ratio(firstMs / targets.firstMs!), check(firstMs < targets.firstMs!));
  if (result.original) {
    const original = planTotal(result.original);
    row(
      section,
      `original cost model (one process per change)${original.extrapolated ? ', EXTRAPOLATED from a timed sample' : ''}`,
      ms(original.ms),
      '',
      `${num(original.processes)} processes; ${ratio(original.ms / firstMs)} the agent`,
      'info',
      original.ms,
      'ms',
    );
  }
  const reapplies = agent.flatMap((a) => a.reapply);
  const reapplyMs = median(reapplies.map((p) => p.ms));
  const reapplyCommands = Math.max(...reapplies.map((p) => commandsOf(p.report)));
  const reused = reapplies.filter((p) => p.report.reused === true).length;
  row(section, `re-apply of the same document (median of ${reapplies.length})`, ms(reapplyMs), `<= ${ms(targets.reapplyMs)}`, ratio(reapplyMs / targets.reapplyMs), check(reapplyMs <= targets.reapplyMs), reapplyMs, 'ms');
  const split = breakdown(reapplies);
  row(section, '  split', split.parts.filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${ms(v)}`).join(', '), '', `${num(reused)} of ${num(reapplies.length)} answered as verified re-pushes`, 'info');
  row(section, '  commands run by a re-apply (most seen)', num(reapplyCommands), '0', '', check(reapplyCommands === 0), reapplyCommands, 'commands');
  const full = agent.flatMap((a) => a.reapplyFull);
  const fullMs = median(full.map((p) => p.ms));
  const fullSplit = breakdown(full);
  row(section, `re-apply in full, Cache-Control: no-cache (median of ${full.length})`, ms(fullMs), '', fullSplit.parts.filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${ms(v)}`).join(', '), 'info', fullMs, 'ms');
  for (const [label, puts] of [
    ['delta: one floating IP added', agent.flatMap((a) => a.deltaFloating)],
    ['delta: one allocation changed', agent.flatMap((a) => a.deltaAllocation)],
  ] as const) {
    const value = median(puts.map((p) => p.ms));
    const parts = breakdown(puts);
    row(section, `${label} (median of ${puts.length})`, ms(value), `< ${ms(targets.deltaMs)}`, ratio(value / targets.deltaMs), check(value < targets.deltaMs), value, 'ms');
    const skipped = [...new Set(puts.flatMap((p) => p.report.steps.filter((s) => s.skipped).map((s) => s.subsystem)))];
    const skippedText = `; ${puts.filter((p) => p.report.steps.some((s) => s.skipped)).length} of ${puts.length} skipped ${skipped.join(', ') || 'nothing'}`;
    row(section, '  split', parts.parts.filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${ms(v)}`).join(', '), '', `${num(parts.commands)} commands${skippedText}`, 'info');
  }
  return { firstMs, floorMs };
}

function loadRow(section: string, label: string, load: LoadResult, target = '', ok?: boolean, ratioText = ''): void {
  const value = `${num(load.rps)} req/s, p50 ${ms(load.p50)}, p99 ${ms(load.p99)}`;
  const errors = load.errors > 0 ? ` ${num(load.errors)} errors ${JSON.stringify(load.statuses)}` : '';
  const verdict: Verdict = ok === undefined ? 'info' : check(ok && load.errors === 0);
  row(section, label, value, target, `${ratioText}${errors}`, verdict, load.rps, 'req/s');
}

// --- main -----------------------------------------------------------------------------

function machine(): Record<string, string | number> {
  const version = (argv: string[]) => {
    try {
      return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
    } catch (error) {
      return ((error as { stderr?: string }).stderr ?? '').split('\n')[0]!.trim();
    }
  };
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    iptables: version(['iptables', '--version']),
    dnsmasq: version(['dnsmasq', '--version']),
    // BIRD prints its version on standard error.
    bird: spawnSync('bird', ['--version'], { encoding: 'utf8' }).stderr.trim(),
    load_average_at_start: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

async function measureWorkload(workload: Workload, reps: number, agentOptions: (rep: number) => AgentRunOptions, original: boolean): Promise<WorkloadResult> {
  const agent: AgentRun[] = [];
  const floor: PlanResult[] = [];
  // Agent and floor alternate, so that whatever else the machine does falls on both.
  for (let rep = 0; rep < reps; rep++) {
    log(`${workload.name}: agent, run ${rep + 1}/${reps}`);
    agent.push(await measureAgent(workload, agentOptions(rep)));
    log(`${workload.name}: floor, run ${rep + 1}/${reps}`);
    floor.push(await measurePlan(workload, 'floor'));
  }
  let originalResult: PlanResult | undefined;
  if (original) {
    log(`${workload.name}: the original cost model`);
    originalResult = await measurePlan(workload, 'original');
  }
  return { workload, agent, floor, ...(originalResult ? { original: originalResult } : {}) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks need root (network namespaces), like the functional tests');
  const began = performance.now();
  const info = machine();
  log(`${options.quick ? 'quick' : 'full'} run on ${info.cpus} cores, kernel ${info.kernel}, Node ${info.node}; load ${info.load_average_at_start}`);
  await run(['npm', 'run', 'build', '--silent'], { timeoutMs: 300_000 });
  const wants = (name: string) => options.only === undefined || options.only.has(name);

  const loads: Loads = {};
  const loadsW2: Loads = {};
  const memory: { idle?: number; afterW1?: number; afterW2?: number; startEmpty?: number; startW2?: number } = {};
  const firsts: { name: string; elements: number; ms: number; floorMs: number }[] = [];

  let w1Result: WorkloadResult | undefined;
  if (wants('W1')) {
    const workload = w1();
    const result = await measureWorkload(
      workload,
      MODE.reps,
      (rep) => ({
        reapplies: MODE.reapplies,
        deltas: MODE.deltas,
        ...(rep === 0
          ? {
              extras: async (context: Context) => {
                await apiLoad(context, loads);
                await metadataLoad(context, loads);
              },
            }
          : {}),
      }),
      true,
    );
    raw.W1 = result;
    w1Result = result;
    const { firstMs, floorMs } = workloadRows(result, { floorRatio: 1.5, reapplyMs: 10, deltaMs: 100 });
    firsts.push({ name: 'W1', elements: elements(workload), ms: firstMs, floorMs });
    memory.idle = median(result.agent.map((a) => a.rssIdle));
    memory.afterW1 = median(result.agent.map((a) => a.rssAfterFirst));
    memory.startEmpty = median(result.agent.map((a) => a.startMs));
  }

  const w2Workload = w2(MODE.w2Fraction, options.quick ? `W2 (quick: ${MODE.w2Fraction * 100}%)` : 'W2');
  let w2Result: WorkloadResult | undefined;
  if (wants('W2')) {
    const workload = w2Workload;
    const result = await measureWorkload(
      workload,
      MODE.reps,
      (rep) => ({
        reapplies: rep === 0 ? MODE.repushes : MODE.reapplies,
        deltas: MODE.deltas,
        ...(rep === 0
          ? {
              extras: async (context: Context) => {
                if (MODE.apiOnW2) await apiLoad(context, loadsW2);
                // Start to first answer with W2 persisted: the agent re-applies it before it answers.
                await context.agent.stop();
                const firstAnswer = context.client.firstAnswer(`${AGENT_URL}/v1/base/`, 120_000);
                const started = performance.timeOrigin + performance.now();
                context.agent = await startAgent(context.lab, context.agent.stateDir);
                memory.startW2 = (await firstAnswer) - started;
              },
            }
          : {}),
      }),
      true,
    );
    w2Result = result;
    raw.W2 = result;
    const { firstMs, floorMs } = workloadRows(result, { firstMs: 3000, reapplyMs: 30, deltaMs: 100 });
    firsts.push({ name: workload.name, elements: elements(workload), ms: firstMs, floorMs });
    memory.afterW2 = median(result.agent.map((a) => a.rssAfterFirst));
    log(`${workload.name}: validation of the document`);
    const validation = await measureValidation(workload.doc, options.quick ? 5 : 20);
    raw.validation = validation;
    const validateMs = median(validation.validateMs);
    row(
      `${workload.name}: validation`,
      `validate the ${workload.name} document, ${num(Math.round(validation.bytes / 1000))} KB, in the agent's Node (median of ${validation.validateMs.length})`,
      ms(validateMs),
      '<= 40 ms',
      `${ratio(validateMs / 40)}; JSON.parse ${ms(median(validation.parseMs))}`,
      check(validateMs <= 40),
      validateMs,
      'ms',
    );
  }

  if (w1Result && w2Result) floatingIpDeltaRows(w1Result, w2Result);

  const growth: { name: string; elements: number; ms: number; floorMs: number; reapplyMs: number }[] = [];
  if (wants('W3')) {
    for (const fraction of MODE.w3Fractions) {
      const workload = w2(fraction);
      const result = await measureWorkload(workload, MODE.w3Reps, () => ({ reapplies: MODE.reapplies, deltas: 0 }), false);
      raw[workload.name] = result;
      growth.push({
        name: workload.name,
        elements: elements(workload),
        ms: median(result.agent.map((a) => a.first.ms)),
        floorMs: median(result.floor.map((f) => planTotal(f).ms)),
        reapplyMs: median(result.agent.flatMap((a) => a.reapply.map((p) => p.ms))),
      });
    }
    if (w2Result) {
      growth.push({
        name: w2Result.workload.name,
        elements: elements(w2Result.workload),
        ms: median(w2Result.agent.map((a) => a.first.ms)),
        floorMs: median(w2Result.floor.map((f) => planTotal(f).ms)),
        reapplyMs: median(w2Result.agent.flatMap((a) => a.reapply.map((p) => p.ms))),
      });
    }
    growthRows(growth);
  }

  for (const [state, l] of [['W1', loads], [w2Workload.name, loadsW2]] as const) {
    const api = `API: 50 concurrent keep-alive clients in mgmt, ${MODE.loadMs / 1000} s each, ${state} applied`;
    if (l.status) loadRow(api, 'GET /v1/status/, as fast as they go', l.status, `> ${num(API_RATE)} req/s`, l.status.rps > API_RATE, ratio(l.status.rps / API_RATE));
    if (l.statusPaced) loadRow(api, `GET /v1/status/ at ${num(API_RATE)} req/s`, l.statusPaced, 'p99 < 20 ms', l.statusPaced.p99 < 20, ratio(l.statusPaced.p99 / 20));
    if (l.rules) loadRow(api, 'GET /v1/firewall/rules, as fast as they go', l.rules);
  }
  if (loads.proxy && loads.proxyPaced && loads.directPaced) {
    const section = `Metadata proxy: 100 concurrent guests, W1 applied`;
    loadRow(section, `through 169.254.169.254, as fast as they go (${MODE.loadMs / 1000} s)`, loads.proxy, `> ${num(METADATA_RATE)} req/s`, loads.proxy.rps > METADATA_RATE, ratio(loads.proxy.rps / METADATA_RATE));
    if (loads.proxyBurst) {
      const burst = loads.proxyBurst;
      const refused = Object.entries(burst.statuses).filter(([status]) => status !== '200').map(([status, n]) => `${num(n)} x ${status === '0' ? 'no answer' : status}`);
      row(section, `200 requests in flight at once, two per guest (${MODE.pacedMs / 1000} s)`, `${num(burst.requests)} answered 200, ${num(burst.errors)} errors${refused.length ? ` (${refused.join(', ')})` : ''}; ${num(burst.rps)} req/s, p99 ${ms(burst.p99)}`, '0 errors', '', check(burst.errors === 0), burst.errors, 'errors');
    }
    const rounds = `median of ${loads.proxyPaced.length} x ${MODE.pacedMs / 1000} s`;
    const proxyP99 = median(loads.proxyPaced.map((l) => l.p99));
    const directP99 = median(loads.directPaced.map((l) => l.p99));
    const pacedValue = (list: readonly LoadResult[]) =>
      `${num(median(list.map((l) => l.rps)))} req/s, p50 ${ms(median(list.map((l) => l.p50)))}, p99 ${ms(median(list.map((l) => l.p99)))}`;
    const errors = [...loads.proxyPaced, ...loads.directPaced].reduce((sum, l) => sum + l.errors, 0);
    row(section, `through 169.254.169.254 at ${num(METADATA_RATE)} req/s (${rounds})`, pacedValue(loads.proxyPaced), '', errors > 0 ? `${num(errors)} errors` : '', 'info', proxyP99, 'ms p99');
    row(section, `the upstream directly, from the router, at ${num(METADATA_RATE)} req/s (${rounds})`, pacedValue(loads.directPaced), '', '', 'info', directP99, 'ms p99');
    const added = proxyP99 - directP99;
    row(section, `p99 added by the proxy at ${num(METADATA_RATE)} req/s`, ms(added), '< 5 ms', ratio(added / 5), check(added < 5 && errors === 0), added, 'ms');
  }
  const mem = 'Agent memory and start-up';
  if (memory.idle !== undefined) row(mem, 'RSS idle (started, nothing applied)', `${memory.idle.toFixed(1)} MiB`, '<= 64 MiB', ratio(memory.idle / 64), check(memory.idle <= 64), memory.idle, 'MiB');
  if (memory.afterW1 !== undefined) row(mem, 'RSS after W1', `${memory.afterW1.toFixed(1)} MiB`, '', '', 'info', memory.afterW1, 'MiB');
  if (memory.afterW2 !== undefined) row(mem, `RSS after ${w2Workload.name}`, `${memory.afterW2.toFixed(1)} MiB`, '< 80 MiB', ratio(memory.afterW2 / 80), check(memory.afterW2 < 80), memory.afterW2, 'MiB');
  const trace = w2Result?.agent[0]?.rssTrace ?? [];
  if (trace.length >= 4) {
    // Stable: no growth over the second half of the re-pushes (the first ones let V8 size its heap).
    const half = trace[Math.floor(trace.length / 2) - 1]!;
    const last = trace.at(-1)!;
    const points = [0.25, 0.5, 0.75, 1].map((f) => `${Math.round(f * trace.length)}: ${trace[Math.round(f * trace.length) - 1]!.toFixed(0)}`);
    row(
      mem,
      `RSS across ${trace.length} re-pushes of ${w2Workload.name} (after push n, MiB)`,
      points.join(', '),
      'stable: < 5% growth over the second half',
      `${last - half >= 0 ? '+' : ''}${(last - half).toFixed(1)} MiB; max ${Math.max(...trace).toFixed(0)}`,
      check(last - half < 0.05 * half),
      last,
      'MiB',
    );
  }
  if (memory.startEmpty !== undefined) row(mem, 'start to first answer (empty state)', ms(memory.startEmpty), '', '', 'info', memory.startEmpty, 'ms');
  if (memory.startW2 !== undefined) row(mem, `start to first answer (${w2Workload.name} persisted, re-applied first)`, ms(memory.startW2), '', '', 'info', memory.startW2, 'ms');

  if (wants('O1')) {
    const result = await measureOrchestrator(MODE.o1, log);
    raw.O1 = result;
    rows.push(...orchestratorRows(result));
  }

  if (wants('O2')) {
    const result = await measureScale(MODE.o2, log);
    raw.O2 = result;
    rows.push(...scaleRows(result));
  }

  if (wants('L1')) {
    const result = await measureLoadBalancer(MODE.l1, log);
    raw.L1 = result;
    rows.push(...loadBalancerRows(result));
  }

  if (wants('V1')) {
    const result = await measureVpn(MODE.v1, log);
    raw.V1 = result;
    rows.push(...vpnRows(result));
  }

  if (wants('H1')) {
    const result = await measureHa(MODE.h1, log);
    raw.H1 = result;
    rows.push(...haRows(result));
  }

  if (wants('C1')) {
    const result = await measureCluster(MODE.c1, log);
    raw.C1 = result;
    rows.push(...clusterRows(result));
  }

  if (wants('U1')) {
    const result = await measureConsole(MODE.u1, log);
    raw.U1 = result;
    rows.push(...consoleRows(result));
  }

  const wallS = (performance.now() - began) / 1000;
  const table = render(rows);
  console.log(table);
  console.log(`\n${options.quick ? 'quick' : 'full'} run: ${wallS.toFixed(0)} s wall; ${info.cpus} cores (${String(info.cpu_model)}), kernel ${String(info.kernel)}, Node ${String(info.node)}`);
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(
    options.out,
    `${JSON.stringify({ quick: options.quick, finished_at: new Date().toISOString(), wall_s: round(wallS, 1), machine: info, rows, firsts, growth, loads, loadsW2, memory, raw }, null, 1)}\n`,
  );
  console.log(`written to ${options.out}`);
}

/**
 * Issue 16: one floating IP added or removed costs the firewall the same at
 * any size (an element transaction on the floating IPs' nftables table): the
 * firewall step's median at W2 against W1's.
 */
function floatingIpDeltaRows(w1Result: WorkloadResult, w2Result: WorkloadResult): void {
  const section = 'Issue 16: floating-IP deltas, the firewall step';
  const firewallMs = (result: WorkloadResult, pick: (a: AgentRun) => readonly Put[]) =>
    median(result.agent.flatMap((a) => pick(a).map((p) => p.report.steps.find((s) => s.subsystem === 'firewall')?.duration_ms ?? 0)));
  for (const [label, pick] of [
    ['one floating IP added', (a: AgentRun) => a.deltaFloating],
    ['one floating IP removed', (a: AgentRun) => a.deltaFloatingRemoved],
  ] as const) {
    const small = firewallMs(w1Result, pick);
    const large = firewallMs(w2Result, pick);
    const ratioValue = large / Math.max(small, 0.1);
    row(section, `${label}: ${w2Result.workload.name} / W1`, `${ms(large)} / ${ms(small)}`, '<= 2x', ratio(ratioValue), check(ratioValue <= 2), ratioValue, 'ratio');
  }
}

function elements(workload: Workload): number {
  return workload.counts.networks + workload.counts.allocations + workload.counts.floatingIps;
}

/** W3: first-apply time per size, cost per element, and the exponent of a power-law fit (1 is linear). */
function growthRows(points: readonly { name: string; elements: number; ms: number; floorMs: number; reapplyMs: number }[]): void {
  const section = 'W3: growth, the W2 shape at a fraction of its size';
  for (const p of points) {
    row(section, `${p.name}: first apply (${num(p.elements)} elements)`, ms(p.ms), '', `floor ${ms(p.floorMs)}, ${ratio(p.ms / p.floorMs)}; ${(p.ms / p.elements).toFixed(2)} ms/element`, 'info', p.ms, 'ms');
    row(section, `${p.name}: re-apply`, ms(p.reapplyMs), '< 30 ms', ratio(p.reapplyMs / 30), check(p.reapplyMs < 30), p.reapplyMs, 'ms');
  }
  if (points.length < 2) return;
  const fit = linearFit(points.map((p) => Math.log(p.elements)), points.map((p) => Math.log(p.ms)));
  const first = points[0]!;
  const last = points[points.length - 1]!;
  // The cost of the elements added between the smallest and the largest size, per element, against the average cost at the smallest size.
  const marginal = (last.ms - first.ms) / (last.elements - first.elements);
  row(section, 'growth exponent (fit of time ~ elements^k)', fit.slope.toFixed(2), '<= 1 (linear)', '', check(fit.slope <= 1.1), fit.slope, 'exponent');
  row(section, 'marginal cost per element, smallest to largest', `${marginal.toFixed(2)} ms`, `<= ${(first.ms / first.elements).toFixed(2)} ms (average at ${first.name})`, ratio(marginal / (first.ms / first.elements)), 'info', marginal, 'ms');
}

const running = main();
try {
  await running;
} catch (error) {
  // After a signal the failure is the interruption's: the handler finishes the teardown and exits.
  if (!interrupted) throw error;
}
