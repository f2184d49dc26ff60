// O2's simulated appliances (bench only, never in a functional test): one
// process answering the agent's v1 API for thousands of appliances at once,
// run inside the benchmark's namespace where the whole management prefix is
// routed to `lo` (`ip route add local <prefix> dev lo`), so every management
// address the orchestrator computes is a real local address and one listener
// on [::]:<port> answers all of them; the address a connection came to says
// which appliance it is talking to.
//
//   ip netns exec NS node --import tsx bench/simulated-appliances.ts --port 5000 --control-port 44301
//
// The bench's compute provider (bench/lib/simulated-compute.ts, inside the
// orchestrator) registers an appliance when it "boots" one:
//   POST   http://[::1]:<control-port>/appliances {"address","resource","macs"}
//   DELETE http://[::1]:<control-port>/appliances/<address>
// The bench drives the process with one JSON command per line on standard
// input and reads one JSON line per answer on standard output:
//   {"id":1,"op":"behave","resources":[...],"latencyMs":5000,"fail":false}
//   {"id":2,"op":"counts"} -> {"id":2,"registered":N,"configured":N}
//   {"id":3,"op":"drain"}  -> {"id":3,"pushes":[...],"statuses":[...],"stats":[...],"stalls":[...]} (and forgets them;
//                             stalls: this process's event loop held 50 ms or more, bench/lib/pauses.ts)
//   {"id":4,"op":"ping"}   -> {"id":4}
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { watchStalls, type Stall } from './lib/pauses.js';

interface Appliance {
  readonly resource: string;
  macs: readonly string[];
  generation: number;
  document: unknown;
}

interface Behaviour {
  readonly latencyMs: number;
  readonly fail: boolean;
}

/** Something an appliance was asked, with the epoch ms its request arrived. */
interface Seen {
  readonly at: number;
  readonly resource: string;
}

function flag(name: string): number {
  const index = process.argv.indexOf(name);
  const value = Number(process.argv[index + 1]);
  if (index < 0 || !Number.isInteger(value)) throw new Error(`${name} <port> is required`);
  return value;
}

const appliances = new Map<string, Appliance>();
/** By resource: a replacement appliance of a failing one fails too. */
const behaviours = new Map<string, Behaviour>();
const configured = new Set<string>();
let pushes: Seen[] = [];
let statuses: Seen[] = [];
let stats: Seen[] = [];
let stalls: Stall[] = [];
watchStalls((stall) => stalls.push(stall));

const now = (): number => performance.timeOrigin + performance.now();

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The agent's answers, as far as the orchestrator reads them. */
async function answer(appliance: Appliance, req: IncomingMessage, res: ServerResponse, at: number): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && (path === '/v1/status/' || path === '/v1/status')) {
    statuses.push({ at, resource: appliance.resource });
    send(res, 200, { generation: appliance.generation, degraded: null });
  } else if (req.method === 'GET' && path === '/v1/system/interfaces') {
    send(res, 200, { interfaces: appliance.macs.map((lladdr, i) => ({ ifname: `ge${i}`, lladdr, mtu: 1500, state: 'up', addresses: [] })) });
  } else if (req.method === 'GET' && path === '/v1/system/config') {
    send(res, 200, { configuration: appliance.document ?? {} });
  } else if (req.method === 'PUT' && path === '/v1/system/config') {
    pushes.push({ at, resource: appliance.resource });
    appliance.document = JSON.parse(await readBody(req)) as unknown;
    appliance.generation++;
    configured.add(appliance.resource);
    send(res, 200, { generation: appliance.generation });
  } else if (req.method === 'GET' && path === '/v1/system/stats') {
    stats.push({ at, resource: appliance.resource });
    send(res, 200, { interfaces: {} });
  } else {
    send(res, 404, { error: 'not found' });
  }
}

const agents = createServer((req, res) => {
  const at = now();
  const address = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  const appliance = appliances.get(address);
  if (!appliance) {
    // No appliance booted on this address: as if nothing answered.
    req.socket.destroy();
    return;
  }
  const behaviour = behaviours.get(appliance.resource);
  const reply = (): void => {
    if (behaviour?.fail) {
      req.resume();
      send(res, 500, { error: 'simulated failure' });
      return;
    }
    answer(appliance, req, res, at).catch((error: unknown) => send(res, 400, { error: String(error) }));
  };
  if (behaviour && behaviour.latencyMs > 0) setTimeout(reply, behaviour.latencyMs);
  else reply();
});
agents.keepAliveTimeout = 30_000;

const control = createServer((req, res) => {
  void (async () => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url === '/appliances') {
      const body = JSON.parse(await readBody(req)) as { address: string; resource: string; macs: string[] };
      const existing = appliances.get(body.address);
      if (existing && existing.resource === body.resource) existing.macs = body.macs;
      else appliances.set(body.address, { resource: body.resource, macs: body.macs, generation: 0, document: undefined });
      send(res, 204, {});
    } else if (req.method === 'DELETE' && url.startsWith('/appliances/')) {
      appliances.delete(decodeURIComponent(url.slice('/appliances/'.length)));
      send(res, 204, {});
    } else {
      send(res, 404, { error: 'not found' });
    }
  })().catch((error: unknown) => send(res, 400, { error: String(error) }));
});

interface Command {
  readonly id: number;
  readonly op: 'behave' | 'counts' | 'drain' | 'ping' | 'exit';
  readonly resources?: readonly string[];
  readonly latencyMs?: number;
  readonly fail?: boolean;
}

function run(command: Command): Record<string, unknown> {
  switch (command.op) {
    case 'behave':
      for (const resource of command.resources ?? []) behaviours.set(resource, { latencyMs: command.latencyMs ?? 0, fail: command.fail ?? false });
      return {};
    case 'counts':
      return { registered: appliances.size, configured: configured.size };
    case 'drain': {
      const drained = { pushes, statuses, stats, stalls };
      pushes = [];
      statuses = [];
      stats = [];
      stalls = [];
      return drained;
    }
    case 'ping':
      return {};
    case 'exit':
      agents.close();
      control.close();
      agents.closeAllConnections();
      control.closeAllConnections();
      return {};
  }
}

agents.listen({ host: '::', port: flag('--port') }, () => {
  control.listen({ host: '::1', port: flag('--control-port') }, () => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const command = JSON.parse(line) as Command;
      process.stdout.write(`${JSON.stringify({ id: command.id, ...run(command) })}\n`);
    });
    lines.on('close', () => run({ id: 0, op: 'exit' }));
  });
});
