// U1: the operator console against 500 resources, measured with Debian's
// headless Chromium (playwright-core):
//
//   - the page's size: bytes transferred for the page, its script and its
//     stylesheet (gzip, as the orchestrator serves them), and the live feed's
//     first snapshot of 500 resources;
//   - time to first render: navigation start to the 500 rows in the table;
//   - the orchestrator's added cost per open console: CPU and memory of the
//     process serving the admin API with 0, 1, 10 and 30 consoles following
//     the live feed while 50 resources a second change state.
//
// Booting 500 real appliances would measure the appliances, not the console:
// the admin API is fed by the real dispatcher, live feed and console routes,
// in this process, with 500 resources whose state machines are stand-ins (no
// compute provider, nothing booted). The live-feed clients are curl
// processes, so their own work is not counted in this process's CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { createAdminApp } from '../orchestrator/api/admin.js';
import { OrchestratorMetrics } from '../orchestrator/api/metrics.js';
import { ApplianceProbe } from '../orchestrator/console/appliances.js';
import { loadConsoleAssets } from '../orchestrator/console/assets.js';
import { LiveFeed } from '../orchestrator/console/live.js';
import { consoleRouter } from '../orchestrator/console/routes.js';
import { TrafficHistory } from '../orchestrator/console/traffic.js';
import { DebugStore } from '../orchestrator/core/debug-store.js';
import { Dispatcher, type ManagedResource } from '../orchestrator/core/dispatcher.js';
import { event, POLL } from '../orchestrator/core/events.js';
import { REPO } from '../test/harness/agent.js';
import { run } from '../test/harness/exec.js';
import { median, round } from './lib/stats.js';
import { ms, num, type Row } from './lib/table.js';

export interface U1Mode {
  readonly resources: number;
  /** Page loads timed. */
  readonly loads: number;
  /** Seconds each client count is measured. */
  readonly seconds: number;
  readonly clientCounts: readonly number[];
}

export interface U1Result {
  readonly resources: number;
  readonly pageBytes: number;
  readonly assets: readonly { readonly name: string; readonly bytes: number }[];
  readonly snapshotBytes: number;
  readonly firstRenderMs: readonly number[];
  readonly cost: readonly Cost[];
}

const CHURN_PER_SECOND = 50;
const INSTANCE_STATES = ['configured', 'up', 'booting', 'configured', 'degraded'];

/** A resource the dispatcher manages, whose state machine never runs and whose appliance state the churn sets. */
function standIn(index: number): { managed: ManagedResource; instance: { state: string } } {
  const instance = {
    state: 'configured',
    attempts: 0,
    instances: [],
    haRequested: false,
    pair: false,
    applianceViews: [
      {
        name: `ak-router-${index}`,
        id: `instance-${index}`,
        status: 'ACTIVE',
        health: 'answering',
        management_address: `fdca:3ba5:a17a:acda::${(index + 16).toString(16)}`,
        booted_at: new Date().toISOString(),
        ha: null,
        details: {},
      },
    ],
    lastPush: { at: new Date().toISOString(), ok: true, duration_ms: 300, generation: 1, error: null },
    lastError: undefined,
    lastDocument: undefined,
  };
  const machine = {
    stateName: 'CalcAction',
    action: 'poll',
    queue: [],
    deleted: false,
    sendMessage: () => false,
    update: () => Promise.resolve(),
    hasMoreWork: () => false,
    hasError: () => false,
    takeRetryDelay: () => 0,
  };
  return { managed: { machine, instance } as unknown as ManagedResource, instance };
}

interface Bench {
  readonly server: Server;
  readonly url: string;
  readonly instances: { state: string }[];
  readonly feed: LiveFeed;
}

async function startBench(count: number): Promise<Bench> {
  const instances: { state: string }[] = [];
  const dispatcher = new Dispatcher({
    shards: 16,
    runnersPerShard: 4,
    debug: await DebugStore.open(undefined),
    log: pino({ level: 'silent' }),
    create: () => {
      const { managed, instance } = standIn(instances.length);
      instances.push(instance);
      return managed;
    },
    resourceForTenant: () => Promise.resolve(undefined),
    findResource: () => Promise.resolve(undefined),
    onConfigReload: () => Promise.resolve(),
  });
  for (let i = 0; i < count; i++) {
    const tenantId = `${(i % 50).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    await dispatcher.handleMessage(tenantId, event({ driver: 'router', id: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-00000000beef`, tenantId }, POLL));
  }
  const dir = join(REPO, 'dist', 'console');
  if (!existsSync(join(dir, 'index.html'))) await run([process.execPath, join(REPO, 'scripts', 'build-console.mjs')]);
  const history = new TrafficHistory();
  const feed = new LiveFeed({ listResources: () => dispatcher.listResources().map((r) => ({ ...r, name: `router-${r.id.slice(0, 8)}` })), workers: () => dispatcher.workers() });
  const probe = new ApplianceProbe({ reader: () => ({ read: () => Promise.reject(new Error('no appliances in this bench')) }), portOf: () => 5000, history, log: pino({ level: 'silent' }) });
  const app = createAdminApp({
    control: dispatcher,
    metrics: new OrchestratorMetrics(),
    logger: pino({ level: 'silent' }),
    console: consoleRouter({ control: dispatcher, feed, probe, history, assets: await loadConsoleAssets(dir) }),
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, instances, feed };
}

/** 50 resources a second change appliance state, in steps of a tenth of a second. */
function churn(instances: { state: string }[]): () => void {
  let step = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < CHURN_PER_SECOND / 10; i++) {
      const instance = instances[(step * 7 + i * 13) % instances.length]!;
      instance.state = INSTANCE_STATES[(INSTANCE_STATES.indexOf(instance.state) + 1) % INSTANCE_STATES.length]!;
    }
    step++;
  }, 100);
  return () => clearInterval(timer);
}

async function measurePage(bench: Bench, mode: U1Mode, log: (message: string) => void): Promise<Pick<U1Result, 'pageBytes' | 'assets' | 'firstRenderMs'>> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const firstRenderMs: number[] = [];
    let assets: { name: string; bytes: number }[] = [];
    for (let i = 0; i < mode.loads; i++) {
      // A fresh context each time: nothing cached.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${bench.url}/ui/`);
      await page.waitForFunction(`document.querySelectorAll('table.resources tbody tr[data-id]').length === ${bench.instances.length}`, undefined, { timeout: 60_000 });
      firstRenderMs.push(await page.evaluate<number>('performance.now()'));
      assets = await page.evaluate<{ name: string; bytes: number }[]>(
        `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].filter((e) => !e.name.includes('/v1/')).map((e) => ({ name: new URL(e.name).pathname, bytes: e.transferSize }))`,
      );
      log(`U1: first render ${firstRenderMs.at(-1)!.toFixed(0)} ms`);
      await context.close();
    }
    return { pageBytes: assets.reduce((sum, a) => sum + a.bytes, 0), assets, firstRenderMs };
  } finally {
    await browser.close();
  }
}

/** Bytes of the live feed's first event with every resource, as a client receives it. */
async function snapshotBytes(bench: Bench): Promise<number> {
  const { stdout } = await run(['curl', '-sN', '--max-time', '2', `${bench.url}/v1/events`], { allowFailure: true });
  const end = stdout.indexOf('\n\n', stdout.indexOf('event: snapshot'));
  return Buffer.byteLength(stdout.slice(0, end + 2));
}

function followers(url: string, count: number): { processes: ChildProcess[]; bytes: () => number } {
  let received = 0;
  const processes = Array.from({ length: count }, () => {
    const child = spawn('curl', ['-sN', `${url}/v1/events`], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (chunk: Buffer) => (received += chunk.length));
    return child;
  });
  return { processes, bytes: () => received };
}

interface Cost {
  readonly clients: number;
  readonly cpuPercent: number;
  readonly rssMiB: number;
  /** The live heap after a full collection: what the clients hold, without the garbage that makes RSS swing. */
  readonly heapMiB: number;
  readonly bytesPerClientPerSecond: number;
}

/** A full garbage collection, for memory figures that do not depend on when the last one ran. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** This process's CPU and memory over `seconds` with `clients` consoles following the live feed. */
async function withFollowers(bench: Bench, clients: number, seconds: number): Promise<Cost> {
  const { processes, bytes } = followers(bench.url, clients);
  try {
    const deadline = Date.now() + 10_000;
    while (bench.feed.clients < clients && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // The snapshots are sent; what is measured from here is the steady state.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const received = bytes();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const used = process.cpuUsage(cpu);
    const elapsed = (performance.now() - started) / 1000;
    collectGarbage();
    return {
      heapMiB: process.memoryUsage().heapUsed / 1024 / 1024,
      clients,
      cpuPercent: ((used.user + used.system) / 1000 / (elapsed * 1000)) * 100,
      rssMiB: process.memoryUsage().rss / 1024 / 1024,
      bytesPerClientPerSecond: clients === 0 ? 0 : (bytes() - received) / clients / elapsed,
    };
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(processes.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))));
    const deadline = Date.now() + 10_000;
    while (bench.feed.clients > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measureCost(bench: Bench, mode: U1Mode, log: (message: string) => void): Promise<Cost[]> {
  // Not counted: the feed's code gets compiled and the page loads' garbage collected before anything is measured.
  await withFollowers(bench, 1, mode.seconds);
  const cost: Cost[] = [];
  for (const clients of mode.clientCounts) {
    cost.push(await withFollowers(bench, clients, mode.seconds));
    log(`U1: ${clients} consoles: ${cost.at(-1)!.cpuPercent.toFixed(1)}% CPU, ${cost.at(-1)!.rssMiB.toFixed(0)} MiB`);
  }
  return cost;
}

export async function measureConsole(mode: U1Mode, log: (message: string) => void): Promise<U1Result> {
  const bench = await startBench(mode.resources);
  const stopChurn = churn(bench.instances);
  try {
    const page = await measurePage(bench, mode, log);
    const snapshot = await snapshotBytes(bench);
    const cost = await measureCost(bench, mode, log);
    return { resources: mode.resources, ...page, snapshotBytes: snapshot, cost };
  } finally {
    stopChurn();
    bench.feed.close();
    bench.server.closeAllConnections();
    await new Promise((resolve) => bench.server.close(resolve));
  }
}

const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;

export function consoleRows(result: U1Result): Row[] {
  const section = `U1: the console against ${num(result.resources)} resources (stand-in state machines, ${CHURN_PER_SECOND} changes/s)`;
  const rows: Row[] = [];
  const row = (figure: string, value: string, target: string, note: string, numberValue: number, unit: string) =>
    rows.push({ section, figure, value, target, ratio: note, verdict: 'info', number: round(numberValue, 2), unit });
  row('page transferred (page, script, stylesheet; gzip)', `${num(result.pageBytes / 1024, 1)} KiB`, '', result.assets.map((a) => `${a.name.split('/').pop() || 'page'} ${num(a.bytes)} B`).join(', '), result.pageBytes, 'bytes');
  row(`live feed's first snapshot (${num(result.resources)} resources)`, `${num(result.snapshotBytes / 1024, 1)} KiB`, '', 'uncompressed event stream', result.snapshotBytes, 'bytes');
  const firstRender = median(result.firstRenderMs);
  row(`time to first render, navigation to ${num(result.resources)} rows (median of ${result.firstRenderMs.length})`, ms(firstRender), '', '', firstRender, 'ms');
  const base = result.cost.find((c) => c.clients === 0);
  for (const c of result.cost) {
    const perClient =
      base && c.clients > 0
        ? `${signed((c.cpuPercent - base.cpuPercent) / c.clients)}% of a core, ${signed(((c.heapMiB - base.heapMiB) * 1024) / c.clients)} KiB heap per console; ${num(c.bytesPerClientPerSecond / 1024, 1)} KiB/s each`
        : 'baseline: the churn, no console';
    row(`orchestrator with ${c.clients} open consoles`, `${c.cpuPercent.toFixed(1)}% of a core, heap ${c.heapMiB.toFixed(1)} MiB, RSS ${c.rssMiB.toFixed(0)} MiB`, '', perClient, c.cpuPercent, '% CPU');
  }
  return rows;
}
