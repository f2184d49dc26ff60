// O2: the orchestrator at thousands of appliances (issue 16). A real
// orchestrator process (bench/o2-orchestrator.ts: the service with the local
// network provider and its resource file) manages N gateway-only routers whose
// appliances are simulated (bench/simulated-appliances.ts: one process
// answering the agent's v1 API on every management address, with
// configurable latency and failure), all in one throwaway namespace whose
// management prefix is routed to `lo`. Measured:
//
//   1. memory: the process started with no router, then with N;
//   2. start-up: process start to every router's first push;
//   3. a health sweep: the tick (the console's traffic sample reads every
//      appliance's /v1/system/stats at once) to every appliance's status read,
//      and the process's CPU over that period (/proc/PID/stat);
//   4. event to push: the resource file rewritten every 200 ms, R routers
//      a second each moving to another external address; from the watcher's
//      `resource file changed` log line (event intake) to the PUT reaching the
//      appliance, overall and per tenant;
//   5. the same with one appliance answering in 5 s and 10% answering 500.
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { waitFor } from '../test/harness/exec.js';
import { alive, signal, Topology } from '../test/harness/topology.js';
import { FLEET_MANAGEMENT_PREFIX, FLEET_ORCHESTRATOR_ADDRESS, fleetResourceFile, makeFleet, type Fleet } from './lib/fleet.js';
import { rssMiB, tsNode } from './lib/lab.js';
import type { Stall } from './lib/pauses.js';
import { median, percentile, round } from './lib/stats.js';
import { ms, ratio, type Row } from './lib/table.js';

export interface O2Mode {
  readonly routers: number;
  readonly tenants: number;
  /** health_check_period, s. */
  readonly periodS: number;
  /** Router updates per second. */
  readonly rate: number;
  readonly eventSeconds: number;
}

const SIMULATOR_PORT = 5000;
const CONTROL_PORT = 44301;
const API_PORT = 44252;
const WRITE_EVERY_MS = 200;
const CLOCK_TICKS = 100;
/** How far behind its period a sweep may end and still count: the poll scheduled last, and its answer. */
const SWEEP_SLACK_MS = 5000;

const now = (): number => performance.timeOrigin + performance.now();

interface Seen {
  readonly at: number;
  readonly resource: string;
}

interface Drained {
  readonly pushes: readonly Seen[];
  readonly statuses: readonly Seen[];
  readonly stats: readonly Seen[];
  /** The simulated appliances' own event loop held (bench/lib/pauses.ts). */
  readonly stalls: readonly Stall[];
}

/** The simulated appliances' process, driven by JSON lines (see its header). */
class Simulator {
  #next = 1;
  readonly #waiting = new Map<number, (value: Record<string, unknown>) => void>();

  private constructor(readonly child: ResultPromise) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const answer = JSON.parse(line) as Record<string, unknown> & { id: number };
      this.#waiting.get(answer.id)?.(answer);
      this.#waiting.delete(answer.id);
    });
  }

  static async start(lab: Topology): Promise<Simulator> {
    const child = execa('ip', ['netns', 'exec', lab.ns('orch'), ...tsNode('simulated-appliances.ts', '--port', String(SIMULATOR_PORT), '--control-port', String(CONTROL_PORT))], {
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: { file: join(lab.dir, 'simulator.log'), append: true },
      buffer: false,
      env: { LC_ALL: 'C' },
    });
    const simulator = new Simulator(child);
    await simulator.send({ op: 'ping' });
    return simulator;
  }

  send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, resolve);
      void this.child.then((result) => reject(new Error(`the simulated appliances exited ${result.exitCode}`)));
      this.child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  async counts(): Promise<{ registered: number; configured: number }> {
    return (await this.send({ op: 'counts' })) as unknown as { registered: number; configured: number };
  }

  async drain(): Promise<Drained> {
    return (await this.send({ op: 'drain' })) as unknown as Drained;
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    await this.child;
  }
}

/** user + system CPU seconds of a process. */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface CpuSample {
  readonly at: number;
  readonly seconds: number;
}

/** CPU seconds at `at`, interpolated between the samples around it. */
function cpuAt(samples: readonly CpuSample[], at: number): number {
  const after = samples.findIndex((s) => s.at >= at);
  if (after <= 0) return samples[Math.max(after, 0)]?.seconds ?? Number.NaN;
  const a = samples[after - 1]!;
  const b = samples[after]!;
  return a.seconds + ((b.seconds - a.seconds) * (at - a.at)) / (b.at - a.at);
}

/**
 * With O2_CPU_PROF=DIR in the environment, the orchestrator writes a V8 CPU profile into DIR when it stops;
 * O2_NODE_FLAGS (space-separated) are given to its node, to try V8's settings (e.g. --max-semi-space-size=64).
 */
function profiled(argv: readonly string[]): string[] {
  const dir = process.env.O2_CPU_PROF;
  const flags = (process.env.O2_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
  const [node, ...rest] = argv;
  return [node!, ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...flags, ...rest];
}

interface LogLine {
  readonly time: number;
  readonly msg?: string;
  readonly events?: readonly string[];
  /** 'gc pause' and 'stall' lines (bench/o2-orchestrator.ts). */
  readonly startedAt?: number;
  readonly pauseMs?: number;
  readonly kind?: string;
  readonly heldMs?: number;
  readonly cpuMs?: number;
}

/** A span of the run in which a process's event loop was held, or it collected garbage. */
interface Pause {
  readonly startedAt: number;
  readonly ms: number;
}

export interface Pauses {
  /** The 1-minute load average when the run started. */
  readonly loadAverage: number;
  /** Event loop held 50 ms or more. */
  readonly stalls: number;
  readonly longestStall: { readonly heldMs: number; readonly cpuMs: number } | undefined;
  readonly longestGc: { readonly pauseMs: number; readonly kind: string } | undefined;
  /** All collections' pauses of the main thread. */
  readonly gcMs: number;
  readonly markCompacts: number;
  /** Within the worst update's intake-to-push window: stalled, and collecting. */
  readonly worstStalledMs: number;
  readonly worstGcMs: number;
  /** The simulated appliances' process: stalls in the run, and within the worst update's window. */
  readonly simulatorStalls: number;
  readonly worstSimulatorStalledMs: number;
  /** The traffic sample of the health tick (every appliance's stats read, 8 at a time) and the worst update, ms from the run's start. */
  readonly trafficSample: { readonly fromMs: number; readonly toMs: number; readonly reads: number } | undefined;
  readonly worstAtMs: number;
}

function longest<T extends Pause>(pauses: readonly T[]): T | undefined {
  return pauses.reduce<T | undefined>((a, b) => (a && a.ms >= b.ms ? a : b), undefined);
}

const overlapMs = (pauses: readonly Pause[], from: number, to: number): number =>
  pauses.reduce((sum, p) => sum + Math.max(0, Math.min(to, p.startedAt + p.ms) - Math.max(from, p.startedAt)), 0);

class O2Lab {
  #child: ResultPromise | undefined;
  #pid: number | undefined;
  readonly #moved = new Set<number>();

  private constructor(
    readonly topology: Topology,
    readonly simulator: Simulator,
    readonly fleet: Fleet,
    readonly statePath: string,
    readonly mode: O2Mode,
  ) {}

  static async create(mode: O2Mode): Promise<O2Lab> {
    const topology = await Topology.create({ namespaces: ['orch'], links: [] });
    let statePath: string | undefined;
    try {
      // Every management address is local: the simulated appliances answer them all on one socket.
      await topology.ip('orch', ['-6', 'route', 'add', 'local', FLEET_MANAGEMENT_PREFIX, 'dev', 'lo']);
      // Short: the orchestrator checks that appliance socket paths would fit below it.
      statePath = await mkdtemp(`${tmpdir()}${sep}`);
      const simulator = await Simulator.start(topology);
      return new O2Lab(topology, simulator, makeFleet(mode.routers, mode.tenants), statePath, mode);
    } catch (error) {
      await topology.destroy();
      if (statePath) await rm(statePath, { recursive: true, force: true });
      throw error;
    }
  }

  get dir(): string {
    return this.topology.dir;
  }

  get pid(): number {
    if (this.#pid === undefined) throw new Error('the orchestrator is not running');
    return this.#pid;
  }

  get logFile(): string {
    return join(this.dir, 'orchestrator.log');
  }

  async writeResources(count: number): Promise<void> {
    const file = join(this.dir, 'resources.json');
    await writeFile(`${file}.new`, `${JSON.stringify(fleetResourceFile(this.fleet, count, this.#moved), null, 1)}\n`);
    await rename(`${file}.new`, file);
  }

  /** Move these routers to their other external address (written at the next writeResources). */
  move(indexes: readonly number[]): void {
    for (const index of indexes) {
      if (this.#moved.has(index)) this.#moved.delete(index);
      else this.#moved.add(index);
    }
  }

  async start(): Promise<{ startedAt: number; listeningAt: number }> {
    const ini = [
      '[DEFAULT]',
      `state_path = ${this.statePath}`,
      `host = bench-${this.topology.prefix}`,
      'api_listen = ::1',
      `api_port = ${API_PORT}`,
      `health_check_period = ${this.mode.periodS}`,
      `management_prefix = ${FLEET_MANAGEMENT_PREFIX}`,
      `provider_rules_path = ${join(this.dir, 'provider_rules.json')}`,
      '',
      '[local]',
      `resources = ${join(this.dir, 'resources.json')}`,
      `management_address = ${FLEET_ORCHESTRATOR_ADDRESS}`,
      '',
    ].join('\n');
    await writeFile(join(this.dir, 'orchestrator.ini'), ini);
    const lines = await this.#lines();
    const startedAt = now();
    const child = execa(
      'nsenter',
      [`--net=/run/netns/${this.topology.ns('orch')}`, '--', ...profiled(tsNode('o2-orchestrator.ts', '--config-file', join(this.dir, 'orchestrator.ini'), '--simulator-url', `http://[::1]:${CONTROL_PORT}`))],
      { reject: false, stdin: 'ignore', stdout: { file: this.logFile, append: true }, stderr: { file: this.logFile, append: true }, env: { LC_ALL: 'C' } },
    );
    this.#child = child;
    this.#pid = child.pid;
    let listeningAt = Number.NaN;
    await waitFor(
      'the orchestrator to listen',
      async () => {
        if (!alive(this.pid)) throw new Error(`the orchestrator exited:\n${(await readFile(this.logFile, 'utf8')).slice(-3000)}`);
        const line = (await this.logSince(lines)).find((l) => l.msg === 'listening');
        if (line) listeningAt = line.time;
        return line !== undefined;
      },
      120_000,
    );
    return { startedAt, listeningAt };
  }

  async stop(): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    await Promise.race([this.#child, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    if (alive(pid)) {
      signal(pid, 'SIGKILL');
      await this.#child;
    }
    this.#pid = undefined;
    this.#child = undefined;
  }

  async #lines(): Promise<number> {
    return (await readFile(this.logFile, 'utf8').catch(() => '')).split('\n').length - 1;
  }

  /** The orchestrator's JSON log lines from line `since` on. */
  async logSince(since: number): Promise<LogLine[]> {
    const lines = (await readFile(this.logFile, 'utf8').catch(() => '')).split('\n').slice(since);
    return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  }

  logLines(): Promise<number> {
    return this.#lines();
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await this.simulator.close().catch(() => undefined);
    await this.topology.destroy();
    await rm(this.statePath, { recursive: true, force: true });
  }
}

const labs = new Set<O2Lab>();

export async function destroyScaleLab(): Promise<void> {
  await Promise.allSettled([...labs].map((lab) => lab.destroy()));
}

/** Sample the orchestrator's CPU until `done` holds, every `everyMs`. */
async function sampleCpu(pid: number, until: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<CpuSample[]> {
  const samples: CpuSample[] = [{ at: now(), seconds: await cpuSeconds(pid) }];
  await waitFor(
    'the measurement window',
    async () => {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      samples.push({ at: now(), seconds: await cpuSeconds(pid) });
      return until();
    },
    timeoutMs,
  );
  return samples;
}

export interface LatencyRun {
  readonly updates: number;
  /** Event intake (the watcher's log line) to the PUT reaching the appliance, ms, sorted. */
  readonly fromIntake: readonly number[];
  /** The file renamed into place to the PUT, ms, sorted. */
  readonly fromWrite: readonly number[];
  /** p99 from intake per tenant, ms. */
  readonly tenantP99: readonly number[];
  /** Updates whose push never came within the wait. */
  readonly lost: number;
  /** Status reads the appliances answered per second, from the first write to the last push. */
  readonly statusPerSecond: number;
  readonly pauses: Pauses;
}

/** R routers a second, from `candidates` in order, for `seconds`; each router's first PUT after its write. */
async function eventRun(lab: O2Lab, candidates: readonly number[], seconds: number): Promise<LatencyRun> {
  const perWrite = Math.max(1, Math.round((lab.mode.rate * WRITE_EVERY_MS) / 1000));
  const writes = Math.floor((seconds * 1000) / WRITE_EVERY_MS);
  const written = new Map<string, number>();
  const logFrom = await lab.logLines();
  await lab.simulator.drain();
  const loadAverage = loadavg()[0]!;
  let next = 0;
  const started = now();
  for (let w = 0; w < writes; w++) {
    const due = started + w * WRITE_EVERY_MS;
    const wait = due - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const batch = candidates.slice(next, next + perWrite);
    next += perWrite;
    if (batch.length === 0) break;
    lab.move(batch);
    await lab.writeResources(lab.mode.routers);
    const at = now();
    for (const index of batch) written.set(lab.fleet.routers[index]!.id, at);
  }
  const pushes = new Map<string, number>();
  let statusReads = 0;
  const simulatorStalls: Pause[] = [];
  const statsReads: number[] = [];
  const collect = async (): Promise<boolean> => {
    const drained = await lab.simulator.drain();
    statusReads += drained.statuses.length;
    statsReads.push(...drained.stats.map((s) => s.at).filter((at) => at >= started));
    simulatorStalls.push(...drained.stalls.filter((s) => s.startedAt >= started).map((s) => ({ startedAt: s.startedAt, ms: s.heldMs })));
    for (const push of drained.pushes) {
      const writtenAt = written.get(push.resource);
      if (writtenAt !== undefined && push.at >= writtenAt && !pushes.has(push.resource)) pushes.set(push.resource, push.at);
    }
    return pushes.size === written.size;
  };
  await waitFor('every updated router pushed', collect, 60_000).catch(() => undefined);
  const statusPerSecond = (statusReads * 1000) / (now() - started);

  const intake = new Map<string, number>();
  const stalls: (Pause & { cpuMs: number })[] = [];
  const collections: (Pause & { kind: string })[] = [];
  for (const line of await lab.logSince(logFrom)) {
    if (line.msg === 'stall' && line.startedAt !== undefined && line.startedAt >= started) stalls.push({ startedAt: line.startedAt, ms: line.heldMs ?? 0, cpuMs: line.cpuMs ?? 0 });
    if (line.msg === 'gc pause' && line.startedAt !== undefined && line.startedAt >= started) collections.push({ startedAt: line.startedAt, ms: line.pauseMs ?? 0, kind: line.kind ?? '' });
    if (line.msg !== 'resource file changed') continue;
    for (const item of line.events ?? []) {
      const [crud, driver, id] = item.split(' ');
      if (crud === 'update' && driver === 'router' && id !== undefined && !intake.has(id)) intake.set(id, line.time);
    }
  }
  const tenantOf = new Map(lab.fleet.routers.map((r) => [r.id, r.tenantId]));
  const byTenant = new Map<string, number[]>();
  const fromIntake: number[] = [];
  const fromWrite: number[] = [];
  let worst = { from: 0, to: 0 };
  for (const [id, pushedAt] of pushes) {
    fromWrite.push(pushedAt - written.get(id)!);
    const intakeAt = intake.get(id);
    if (intakeAt === undefined) continue;
    fromIntake.push(pushedAt - intakeAt);
    if (pushedAt - intakeAt > worst.to - worst.from) worst = { from: intakeAt, to: pushedAt };
    const tenant = tenantOf.get(id)!;
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), pushedAt - intakeAt]);
  }
  const sort = (values: number[]) => values.sort((a, b) => a - b);
  const longestStall = longest(stalls);
  const longestGc = longest(collections);
  return {
    updates: written.size,
    fromIntake: sort(fromIntake),
    fromWrite: sort(fromWrite),
    tenantP99: [...byTenant.values()].map((values) => percentile(sort(values), 99)),
    lost: written.size - pushes.size,
    statusPerSecond,
    pauses: {
      loadAverage,
      stalls: stalls.length,
      longestStall: longestStall && { heldMs: longestStall.ms, cpuMs: longestStall.cpuMs },
      longestGc: longestGc && { pauseMs: longestGc.ms, kind: longestGc.kind },
      gcMs: collections.reduce((sum, p) => sum + p.ms, 0),
      markCompacts: collections.filter((p) => p.kind === 'mark-compact').length,
      worstStalledMs: overlapMs(stalls, worst.from, worst.to),
      worstGcMs: overlapMs(collections, worst.from, worst.to),
      simulatorStalls: simulatorStalls.length,
      worstSimulatorStalledMs: overlapMs(simulatorStalls, worst.from, worst.to),
      trafficSample: statsReads.length > 0 ? { fromMs: Math.min(...statsReads) - started, toMs: Math.max(...statsReads) - started, reads: statsReads.length } : undefined,
      worstAtMs: worst.from - started,
    },
  };
}

export interface O2Result {
  readonly mode: O2Mode;
  readonly rssEmptyMiB: number;
  readonly rssMiB: number;
  /** Process start to the admin API listening (options, resource file, bridges). */
  readonly loadMs: number;
  /** Process start to the last router's first push. */
  readonly startupMs: number;
  readonly sweep: {
    /** Appliances whose status was read in the sweep. */
    readonly polled: number;
    /** The tick to the last status read of the sweep. */
    readonly spanMs: number;
    /** Mean CPU over the period from the tick, in cores. */
    readonly cores: number;
    /** The busiest 1 s of it, in cores. */
    readonly peakCores: number;
  };
  readonly healthy: LatencyRun;
  readonly degraded: LatencyRun;
  readonly failing: number;
}

function shuffled<T>(values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function measureScale(mode: O2Mode, log: (message: string) => void): Promise<O2Result> {
  const lab = await O2Lab.create(mode);
  labs.add(lab);
  try {
    log('O2: orchestrator started with no router');
    await lab.writeResources(0);
    await lab.start();
    const rssEmptyMiB = await rssMiB(lab.pid);
    await lab.stop();

    log(`O2: ${mode.routers} routers in the file at start`);
    await lab.writeResources(mode.routers);
    const { startedAt, listeningAt } = await lab.start();
    await waitFor(`${mode.routers} routers pushed`, async () => (await lab.simulator.counts()).configured === mode.routers, 900_000);
    const firstPushes = (await lab.simulator.drain()).pushes;
    const startupMs = Math.max(...firstPushes.map((p) => p.at)) - startedAt;
    const rss = await rssMiB(lab.pid);
    log(`O2:   all pushed after ${ms(startupMs)}; RSS ${rss.toFixed(1)} MiB`);

    log(`O2: a health sweep (period ${mode.periodS} s)`);
    const periodMs = mode.periodS * 1000;
    const statuses: Seen[] = [];
    let tick: number | undefined;
    const samples = await sampleCpu(
      lab.pid,
      async () => {
        const drained = await lab.simulator.drain();
        statuses.push(...drained.statuses);
        tick ??= drained.stats.length > 0 ? Math.min(...drained.stats.map((s) => s.at)) : undefined;
        return tick !== undefined && now() > tick + periodMs + SWEEP_SLACK_MS;
      },
      3 * periodMs + 60_000,
    );
    const sweepStart = tick!;
    const firstStatus = new Map<string, number>();
    for (const s of statuses) if (s.at >= sweepStart && s.at <= sweepStart + periodMs + SWEEP_SLACK_MS && !firstStatus.has(s.resource)) firstStatus.set(s.resource, s.at);
    const cores = (cpuAt(samples, sweepStart + periodMs) - cpuAt(samples, sweepStart)) / mode.periodS;
    let peakCores = 0;
    for (let t = sweepStart; t + 1000 <= sweepStart + periodMs; t += 500) peakCores = Math.max(peakCores, cpuAt(samples, t + 1000) - cpuAt(samples, t));
    const sweep = { polled: firstStatus.size, spanMs: Math.max(...firstStatus.values()) - sweepStart, cores, peakCores };
    log(`O2:   ${sweep.polled}/${mode.routers} polled in ${ms(sweep.spanMs)}, ${cores.toFixed(3)} cores`);

    const order = shuffled(lab.fleet.routers.map((r) => r.index));
    const perRun = Math.min(Math.floor(mode.routers / 3), mode.rate * mode.eventSeconds);
    log(`O2: ${mode.rate} updates/s for ${mode.eventSeconds} s`);
    const healthy = await eventRun(lab, order.slice(0, perRun), mode.eventSeconds);
    log(`O2:   p99 ${ms(percentile(healthy.fromIntake, 99))} from intake`);

    // The slow and failing appliances are among the routers the next run does not update.
    const rest = order.slice(perRun);
    const failingCount = Math.max(1, Math.round(mode.routers / 10));
    const slow = lab.fleet.routers[rest[0]!]!.id;
    const failing = rest.slice(1, 1 + failingCount).map((i) => lab.fleet.routers[i]!.id);
    await lab.simulator.send({ op: 'behave', resources: [slow], latencyMs: 5000, fail: false });
    await lab.simulator.send({ op: 'behave', resources: failing, latencyMs: 0, fail: true });
    log(`O2: the same with 1 appliance answering in 5 s and ${failing.length} answering 500`);
    const degraded = await eventRun(lab, rest.slice(1 + failingCount, 1 + failingCount + perRun), mode.eventSeconds);
    log(`O2:   p99 ${ms(percentile(degraded.fromIntake, 99))} from intake`);
    return { mode, rssEmptyMiB, rssMiB: rss, loadMs: listeningAt - startedAt, startupMs, sweep, healthy, degraded, failing: failing.length };
  } finally {
    labs.delete(lab);
    await lab.destroy();
  }
}

/** What paused the orchestrator during an event run: its event loop held (with its CPU meanwhile) and its collections. */
function pauseRow(row: (figure: string, value: string, target: string, note: string, verdict: Row['verdict'], number: number, unit: string) => void, run: LatencyRun): void {
  const { pauses } = run;
  const stall = pauses.longestStall;
  const gc = pauses.longestGc;
  row(
    '    longest stall of the orchestrator in that run',
    stall ? ms(stall.heldMs) : 'none >= 50 ms',
    '',
    [
      stall ? `${pauses.stalls} stalls >= 50 ms, the longest with ${ms(stall.cpuMs)} of CPU` : '',
      gc ? `longest GC ${ms(gc.pauseMs)} (${gc.kind}), ${ms(pauses.gcMs)} in GC, ${pauses.markCompacts} mark-compacts` : 'no GC',
      `the worst update: ${ms(pauses.worstStalledMs)} stalled, ${ms(pauses.worstGcMs)} in GC`,
      `the simulated appliances: ${pauses.simulatorStalls} stalls, ${ms(pauses.worstSimulatorStalledMs)} in the worst update's`,
      pauses.trafficSample
        ? `the traffic sample's ${pauses.trafficSample.reads} reads from ${ms(pauses.trafficSample.fromMs)} to ${ms(pauses.trafficSample.toMs)} into the run, the worst update at ${ms(pauses.worstAtMs)}`
        : `no traffic sample in the run, the worst update at ${ms(pauses.worstAtMs)}`,
      `load average ${pauses.loadAverage.toFixed(2)}`,
    ]
      .filter((part) => part !== '')
      .join('; '),
    'info',
    stall?.heldMs ?? 0,
    'ms',
  );
}

export function scaleRows(result: O2Result): Row[] {
  const section = `O2: the orchestrator at ${result.mode.routers} simulated appliances`;
  const rows: Row[] = [];
  const { mode, sweep, healthy, degraded } = result;
  const n = mode.routers;
  const row = (figure: string, value: string, target: string, note: string, verdict: Row['verdict'], number: number, unit: string) =>
    rows.push({ section, figure, value, target, ratio: note, verdict, number: round(number, 3), unit });
  const check = (ok: boolean): Row['verdict'] => (ok ? 'ok' : 'MISSED');

  row('orchestrator RSS, no router', `${result.rssEmptyMiB.toFixed(1)} MiB`, '', '', 'info', result.rssEmptyMiB, 'MiB');
  const perResource = ((result.rssMiB - result.rssEmptyMiB) * 1024) / n;
  row(`orchestrator RSS, ${n} routers configured`, `${result.rssMiB.toFixed(1)} MiB`, '', `+${perResource.toFixed(1)} KiB per router`, 'info', result.rssMiB, 'MiB');
  row(`start-up: process start to all ${n} routers pushed`, ms(result.startupMs), '', `admin API after ${ms(result.loadMs)}`, 'info', result.startupMs, 'ms');

  row(
    `health sweep of ${n} appliances: tick to last status read`,
    ms(sweep.spanMs),
    `<= ${mode.periodS} s`,
    `${sweep.polled}/${n} polled`,
    check(sweep.polled === n && sweep.spanMs <= mode.periodS * 1000),
    sweep.spanMs,
    'ms',
  );
  row('  orchestrator CPU over that period', `${sweep.cores.toFixed(3)} cores`, '< 0.5 core', `busiest second ${sweep.peakCores.toFixed(2)} cores`, check(sweep.cores < 0.5), sweep.cores, 'cores');

  const p = (run: LatencyRun, q: number) => percentile(run.fromIntake, q);
  const lost = (run: LatencyRun) => (run.lost > 0 ? `; ${run.lost} never pushed` : '');
  const healthyP99 = p(healthy, 99);
  row(
    `event to push, ${mode.rate} updates/s: p99 from intake`,
    ms(healthyP99),
    '<= 500 ms',
    `p50 ${ms(p(healthy, 50))}; from the file write p99 ${ms(percentile(healthy.fromWrite, 99))}; ${healthy.updates} updates${lost(healthy)}`,
    check(healthyP99 <= 500 && healthy.lost === 0),
    healthyP99,
    'ms',
  );
  const tenantMedian = median(healthy.tenantP99);
  const worst = Math.max(...healthy.tenantP99);
  row(
    `  fairness: worst tenant's p99 / median tenant's (${healthy.tenantP99.length} tenants)`,
    ratio(worst / tenantMedian),
    '<= 2x',
    `${ms(worst)} / ${ms(tenantMedian)}`,
    check(worst / tenantMedian <= 2),
    worst / tenantMedian,
    'x',
  );
  pauseRow(row, healthy);
  const degradedP99 = p(degraded, 99);
  row(
    `  with 1 appliance at 5 s and ${result.failing} failing: p99`,
    ms(degradedP99),
    "the others' p99 unmoved",
    `${ratio(degradedP99 / healthyP99)} the healthy run's; p50 ${ms(p(degraded, 50))}; status reads ${Math.round(degraded.statusPerSecond)}/s (healthy run ${Math.round(healthy.statusPerSecond)}/s)${lost(degraded)}`,
    check(degradedP99 <= Math.max(1.5 * healthyP99, healthyP99 + 50) && degraded.lost === 0),
    degradedP99,
    'ms',
  );
  pauseRow(row, degraded);
  return rows;
}
