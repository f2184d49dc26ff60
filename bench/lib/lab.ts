// The benchmark lab: the harness topology sized for a workload, the real
// agent in it, and long-lived client processes inside namespaces.
//
//   mgmt   m0  fdca:3ba5:a17a:acda::1/64 ---- eth0 (management, API on ::2)
//   ext    ext0 192.0.2.1/24 2001:db8:e::1/64 ---- eth1 (external)
//   sw     s2, s3, ... (one peer per tenant network) ---- eth2, eth3, ...
//
// Every tenant network's peer lives in the one `sw` namespace; the metadata
// benchmark gives s2 the addresses of 100 guests.
import { createInterface } from 'node:readline';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { Agent, REPO } from '../../test/harness/agent.js';
import { run, waitFor } from '../../test/harness/exec.js';
import { startMetadataServer } from '../../test/harness/servers.js';
import { Topology, type LinkEnd } from '../../test/harness/topology.js';
import { EXT, MGMT, METADATA_PORT, routerMac } from '../workloads.js';

export const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
export const API_PORT = 5000;
export const AGENT_URL = `http://[${MGMT.address}]:${API_PORT}`;
export const UPSTREAM_URL = `http://[${MGMT.peer}]:${METADATA_PORT}`;

/** argv that runs a TypeScript file of bench/ with this Node and tsx. */
export function tsNode(script: string, ...args: string[]): string[] {
  return [process.execPath, '--import', TSX_LOADER, join(REPO, 'bench', script), ...args];
}

/** A topology for `tenants` tenant networks: the router has eth0..eth(tenants+1), MACs from `routerMac`. */
export function benchLab(tenants: number): Promise<Topology> {
  const links: [LinkEnd, LinkEnd][] = [
    [
      { ns: 'router', ifname: 'eth0', mac: routerMac(0), addresses: [`${MGMT.address}/64`] },
      { ns: 'mgmt', ifname: 'm0', addresses: [`${MGMT.peer}/64`] },
    ],
    [
      { ns: 'router', ifname: 'eth1', mac: routerMac(1) },
      { ns: 'ext', ifname: 'ext0', addresses: [`${EXT.v4}/24`, `${EXT.v6}/64`] },
    ],
  ];
  for (let n = 2; n < tenants + 2; n++) links.push([{ ns: 'router', ifname: `eth${n}`, mac: routerMac(n) }, { ns: 'sw', ifname: `s${n}` }]);
  return Topology.create({ namespaces: ['router', 'mgmt', 'ext', 'sw'], links });
}

/** Start the metadata stand-in (the upstream of the proxy) in mgmt. */
export function startUpstream(lab: Topology): Promise<void> {
  return startMetadataServer(lab, 'mgmt', MGMT.peer, METADATA_PORT);
}

/** Start the real agent in the router namespace, logging at the production default level. */
export function startAgent(lab: Topology, stateDir?: string): Promise<Agent> {
  return Agent.start(lab, {
    listen: [MGMT.address],
    port: API_PORT,
    ...(stateDir ? { stateDir } : {}),
    extraArgs: ['--log-level', 'info'],
  });
}

/** Resident set size of a process, in MiB, from /proc/PID/status. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

/**
 * Wait until no gratuitous-ARP process runs in the router namespace: the
 * agent sends them in the background after a PUT (about a second each, 8 at
 * a time), and they must not share the machine with the next measurement.
 */
export async function arpingsDone(lab: Topology, timeoutMs = 300_000): Promise<void> {
  await waitFor(
    'background gratuitous ARP to finish',
    async () => {
      for (const pid of await lab.pids('router')) {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
        if (comm.trim() === 'arping') return false;
      }
      return true;
    },
    timeoutMs,
  );
}

/** Add `count` guest addresses to s2 in sw (from `first`, a dotted quad) and route 169.254.169.254 through the router. */
export async function addGuests(lab: Topology, first: string, prefix: number, count: number, gateway: string): Promise<string[]> {
  const octets = first.split('.').map(Number);
  const base = (octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!;
  const addresses = Array.from({ length: count }, (_, i) => {
    const v = (base + i) >>> 0;
    return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
  });
  const lines = [...addresses.map((a) => `address add ${a}/${prefix} dev s2`), `route add 169.254.169.254/32 via ${gateway} dev s2`];
  await run(['ip', '-n', lab.ns('sw'), '-batch', '-'], { input: `${lines.join('\n')}\n` });
  return addresses;
}

export interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadOptions {
  readonly urls: readonly string[];
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxRequests: number;
  readonly localAddresses?: readonly string[];
  /** Open loop at this total rate (requests/s); absent: closed loop. */
  readonly ratePerSecond?: number;
}

/** A bench/ns-client.ts process inside a namespace: timed requests and loads, no process start in the timings. */
export class NsClient {
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ResultPromise) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const answer = JSON.parse(line) as Record<string, unknown> & { id: number };
      const waiter = this.#waiting.get(answer.id);
      this.#waiting.delete(answer.id);
      if (!waiter) return;
      if (typeof answer.error === 'string') waiter.reject(new Error(answer.error));
      else waiter.resolve(answer);
    });
    void child.then((result) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`ns-client exited ${result.exitCode}`));
      this.#waiting.clear();
    });
  }

  static start(lab: Topology, role: string): NsClient {
    const child = execa('ip', ['netns', 'exec', lab.ns(role), ...tsNode('ns-client.ts')], {
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: { file: join(lab.dir, `ns-client-${role}.log`), append: true },
      buffer: false,
      env: { LC_ALL: 'C' },
    });
    return new NsClient(child);
  }

  #send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  async request(method: string, url: string, bodyFile?: string, headers?: Readonly<Record<string, string>>): Promise<Answer> {
    return (await this.#send({ op: 'request', method, url, ...(bodyFile ? { bodyFile } : {}), ...(headers ? { headers } : {}) })) as unknown as Answer;
  }

  async load(options: LoadOptions): Promise<LoadResult> {
    return (await this.#send({ op: 'load', ...options })) as unknown as LoadResult;
  }

  /** Resolves once the process answers commands. */
  async ready(): Promise<void> {
    await this.#send({ op: 'ping' });
  }

  /** Epoch ms of the first 200 from `url` (polled every 2 ms). */
  async firstAnswer(url: string, timeoutMs = 60_000): Promise<number> {
    return (await this.#send({ op: 'firstAnswer', url, timeoutMs })).epochMs as number;
  }

  async close(): Promise<void> {
    this.child.stdin!.end(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
    await this.child;
  }
}

/** Write a document where the client can read it (the topology's directory). */
export async function writeDocument(lab: Topology, name: string, doc: unknown): Promise<string> {
  const path = join(lab.dir, `${name}.json`);
  await writeFile(path, JSON.stringify(doc));
  return path;
}

/** Run a bench/plan-runner.ts plan inside the router namespace, in the agent's sandbox; returns its result. */
export async function runPlan<T>(lab: Topology, plan: unknown, name: string, timeoutMs = 1_800_000): Promise<T> {
  const planFile = join(lab.dir, `${name}.plan.json`);
  const resultFile = join(lab.dir, `${name}.result.json`);
  await writeFile(planFile, JSON.stringify(plan));
  await run(
    [
      'ip', 'netns', 'exec', lab.ns('router'),
      'unshare', '--mount', '--uts', '--propagation', 'private', '--',
      'sh', join(REPO, 'test/harness/sandbox-init.sh'),
      ...tsNode('plan-runner.ts', planFile, resultFile),
    ],
    { timeoutMs },
  );
  return JSON.parse(await readFile(resultFile, 'utf8')) as T;
}
