// The benchmarks' HTTP client, run inside a namespace (`ip netns exec NS node
// --import tsx bench/ns-client.ts`): a long-lived process that takes one JSON
// command per line on standard input and answers one JSON line on standard
// output, so that timings never include a process start.
//
//   {"id":1,"op":"request","method":"PUT","url":"...","bodyFile":"..."}
//     -> {"id":1,"status":200,"ms":12.3,"body":"..."}   (body cut at 64 KiB)
//   {"id":2,"op":"load","urls":["..."],"concurrency":50,"durationMs":10000,"warmupMs":1000,"maxRequests":500000,"localAddresses":["..."]}
//     -> {"id":2,"requests":N,"errors":N,"statuses":{"200":N},"rps":N,"p50":ms,"p90":ms,"p99":ms,"max":ms}
//   {"id":3,"op":"firstAnswer","url":"...","timeoutMs":30000}
//     -> {"id":3,"epochMs":N}   (polls every 2 ms until a 200)
//   {"id":4,"op":"ping"} -> {"id":4}   (the process is up)
//
// The load comes from `concurrency` clients, each with its own keep-alive
// connection (from its own local address when given), until the time or the
// request count runs out; requests answered during the warm-up are not
// counted. Closed loop (the default): each client sends its next request when
// the last one is answered, which measures the most the server can do.
// Open loop (`ratePerSecond`): each client sends on a fixed schedule, so the
// server sees that rate; a latency is counted from the time the request was
// due, so a late answer also delays (and counts against) the requests queued
// behind it (no coordinated omission).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Client, Pool } from 'undici';

interface Command {
  readonly id: number;
  readonly op: 'request' | 'load' | 'firstAnswer' | 'ping' | 'exit';
  readonly method?: string;
  readonly url?: string;
  readonly urls?: readonly string[];
  readonly bodyFile?: string;
  /** More request headers (a PUT with `cache-control: no-cache`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly concurrency?: number;
  readonly durationMs?: number;
  readonly warmupMs?: number;
  readonly maxRequests?: number;
  readonly localAddresses?: readonly string[];
  /** Open loop: the total rate to offer (requests/s), spread evenly over the clients; absent: closed loop. */
  readonly ratePerSecond?: number;
  readonly timeoutMs?: number;
}

const BODY_LIMIT = 64 * 1024;
const bodies = new Map<string, Buffer>();
const pools = new Map<string, Pool>();

function pool(origin: string): Pool {
  let p = pools.get(origin);
  if (!p) {
    p = new Pool(origin, { connections: 4, keepAliveTimeout: 60_000, headersTimeout: 600_000, bodyTimeout: 600_000 });
    pools.set(origin, p);
  }
  return p;
}

async function request(command: Command): Promise<object> {
  const url = new URL(command.url!);
  let body: Buffer | undefined;
  if (command.bodyFile) {
    body = bodies.get(command.bodyFile);
    if (!body) {
      body = readFileSync(command.bodyFile);
      bodies.set(command.bodyFile, body);
    }
  }
  const started = performance.now();
  const answer = await pool(url.origin).request({
    method: (command.method ?? 'GET') as 'GET',
    path: `${url.pathname}${url.search}`,
    body,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...command.headers },
  });
  const text = await answer.body.text();
  const ms = performance.now() - started;
  return { status: answer.statusCode, ms, body: text.length > BODY_LIMIT ? `${text.slice(0, BODY_LIMIT)}...` : text };
}

async function firstAnswer(command: Command): Promise<object> {
  const url = new URL(command.url!);
  const deadline = Date.now() + (command.timeoutMs ?? 30_000);
  for (;;) {
    const client = new Client(url.origin, { connect: { timeout: 1000 } });
    try {
      const answer = await client.request({ method: 'GET', path: url.pathname, headersTimeout: 2000, bodyTimeout: 2000 });
      await answer.body.text();
      if (answer.statusCode === 200) return { epochMs: performance.timeOrigin + performance.now() };
    } catch {
      // not listening yet
    } finally {
      await client.destroy();
    }
    if (Date.now() > deadline) throw new Error(`no answer from ${url.href} within ${command.timeoutMs ?? 30_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function load(command: Command): Promise<object> {
  const urls = command.urls!.map((u) => new URL(u));
  const concurrency = command.concurrency ?? 50;
  const durationMs = command.durationMs ?? 10_000;
  const warmupMs = command.warmupMs ?? 0;
  const maxRequests = command.maxRequests ?? 1_000_000;
  const latencies = new Float64Array(maxRequests);
  let counted = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  const clients = Array.from({ length: concurrency }, (_, i) => {
    const local = command.localAddresses?.[i % command.localAddresses.length];
    return new Client(urls[0]!.origin, {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      ...(local ? { localAddress: local } : {}),
    });
  });
  const begin = performance.now();
  const measureFrom = begin + warmupMs;
  const end = measureFrom + durationMs;
  let measuredStart = Number.NaN;
  let measuredEnd = measureFrom;
  const interval = command.ratePerSecond ? (concurrency / command.ratePerSecond) * 1000 : 0;
  const worker = async (client: Client, i: number) => {
    let n = i;
    let due = begin + (interval * i) / concurrency;
    while (counted < maxRequests) {
      const url = urls[n++ % urls.length]!;
      // Timers may fire a little early: wait until the request is really due.
      while (interval > 0 && performance.now() < due) await new Promise((resolve) => setTimeout(resolve, Math.max(1, due - performance.now())));
      const started = interval > 0 ? due : performance.now();
      due += interval;
      if (started >= end) return;
      let status = 0;
      try {
        const answer = await client.request({ method: 'GET', path: `${url.pathname}${url.search}` });
        await answer.body.dump({ limit: 16 * 1024 * 1024 });
        status = answer.statusCode;
      } catch {
        status = 0;
      }
      const finished = performance.now();
      if (started < measureFrom) continue;
      if (Number.isNaN(measuredStart)) measuredStart = started;
      if (finished > measuredEnd) measuredEnd = finished;
      if (status === 200) {
        if (counted < maxRequests) latencies[counted++] = finished - started;
      } else errors++;
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    }
  };
  await Promise.all(clients.map((client, i) => worker(client, i)));
  await Promise.all(clients.map((client) => client.destroy()));
  const window = Math.max(1, measuredEnd - (Number.isNaN(measuredStart) ? measureFrom : measuredStart));
  const sorted = latencies.subarray(0, counted).sort();
  const pick = (p: number) => (counted === 0 ? Number.NaN : sorted[Math.min(counted - 1, Math.max(0, Math.ceil((p / 100) * counted) - 1))]!);
  return {
    requests: counted,
    errors,
    statuses,
    windowMs: window,
    rps: (counted / window) * 1000,
    p50: pick(50),
    p90: pick(90),
    p99: pick(99),
    max: pick(100),
  };
}

const lines = createInterface({ input: process.stdin });
// One command at a time: a load must not share the machine with another.
let queue: Promise<void> = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    if (!line.trim()) return;
    const command = JSON.parse(line) as Command;
    if (command.op === 'exit') {
      await Promise.all([...pools.values()].map((p) => p.destroy()));
      process.exit(0);
    }
    let answer: object;
    try {
      const handlers = { request, load, firstAnswer, ping: () => Promise.resolve({}) };
      answer = await handlers[command.op](command);
    } catch (error) {
      answer = { error: error instanceof Error ? error.message : String(error) };
    }
    process.stdout.write(`${JSON.stringify({ id: command.id, ...answer })}\n`);
  });
});
lines.on('close', () => process.exit(0));
