import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { createAdminApp } from '../api/admin.js';
import { OrchestratorMetrics } from '../api/metrics.js';
import type { OrchestratorControl, ResourceDetailView, ResourceView, WorkersView } from '../core/control.js';
import { ApplianceProbe, type ApplianceReader } from './appliances.js';
import { loadConsoleAssets, type ConsoleAssets } from './assets.js';
import { LiveFeed } from './live.js';
import { consoleRouter } from './routes.js';
import { TrafficHistory } from './traffic.js';

const WORKERS: WorkersView = {
  shards: [{ index: 0, queue_length: 0, runners_busy: 0, runners: [], resources: 1, tenants: 1 }],
  global_debug: { enabled: false, scope: null, reason: null },
  tenants_in_debug: [],
  resources_in_debug: [],
};

function resource(id: string, state = 'CalcAction'): ResourceDetailView {
  return {
    id,
    driver: 'router',
    tenant_id: 't1',
    state,
    instance_state: 'configured',
    action: 'poll',
    queue_length: 0,
    boot_attempts: 0,
    ha: { requested: false, pair: false },
    appliances: [{ name: `ak-router-${id}`, id: `i-${id}`, status: 'ACTIVE', health: 'answering', management_address: 'fdca::5', booted_at: '2024-05-01T10:00:00.000Z', ha: null, details: {} }],
    last_push: null,
    last_error: null,
    debug: { enabled: false, scope: null, reason: null },
    shard: 0,
    last_document: {},
    transitions: [],
  };
}

class MutableControl implements OrchestratorControl {
  resources = new Map<string, ResourceDetailView>([['r1', resource('r1')]]);
  command(): Promise<void> {
    return Promise.resolve();
  }
  listResources(): ResourceView[] {
    return [...this.resources.values()].map(({ last_document: _d, transitions: _t, ...view }) => view);
  }
  getResource(id: string): ResourceDetailView | undefined {
    return this.resources.get(id);
  }
  workers(): WorkersView {
    return WORKERS;
  }
}

/** An agent's answers by path. */
class FakeReader implements ApplianceReader {
  readonly asked: string[] = [];
  constructor(private readonly answers: Readonly<Record<string, { status: number; body: unknown }>>) {}
  read(address: string, port: number, path: string) {
    this.asked.push(`${address}:${port}${path}`);
    const answer = this.answers[path];
    return answer ? Promise.resolve(answer) : Promise.reject(new Error(`GET ${path}: no answer within 1000 ms`));
  }
}

function setup(options: { assets?: ConsoleAssets; reader?: ApplianceReader; adminToken?: string; maxClients?: number } = {}) {
  const control = new MutableControl();
  const history = new TrafficHistory();
  const reader = options.reader ?? new FakeReader({});
  const probe = new ApplianceProbe({ reader: () => reader, portOf: () => 5000, history, log: pino({ level: 'silent' }) });
  const feed = new LiveFeed(control, { tickMs: 20, maxClients: options.maxClients ?? 4 });
  const consoleRoutes = consoleRouter({ control, feed, probe, history, assets: options.assets });
  const app = createAdminApp({ control, metrics: new OrchestratorMetrics(), logger: pino({ level: 'silent' }), console: consoleRoutes, ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }) });
  return { control, history, probe, feed, app };
}

describe('console files', () => {
  let dir = '';
  let assets: ConsoleAssets | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-console-'));
    const script = 'console.log("the console");'.repeat(20);
    await writeFile(join(dir, 'index.html'), '<!doctype html><script src="app-ABCDEFGH.js"></script>');
    await writeFile(join(dir, 'app-ABCDEFGH.js'), script);
    await writeFile(join(dir, 'app-ABCDEFGH.js.gz'), gzipSync(script));
    assets = await loadConsoleAssets(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page uncached and the hashed bundles immutable, gzip when accepted, without a token', async () => {
    const { app } = setup({ ...(assets ? { assets } : {}), adminToken: 't' });
    const page = await request(app).get('/ui/').expect(200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const bundle = await request(app).get('/ui/app-ABCDEFGH.js').set('Accept-Encoding', 'gzip').expect(200);
    assert.equal(bundle.headers['content-encoding'], 'gzip');
    assert.equal(bundle.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(bundle.headers['content-type']), /^text\/javascript/);
    assert.match(bundle.text, /the console/);
    const plain = await request(app).get('/ui/app-ABCDEFGH.js').set('Accept-Encoding', 'identity').expect(200);
    assert.equal(plain.headers['content-encoding'], undefined);
    await request(app).get('/ui').expect(301).expect('Location', '/ui/');
    await request(app).get('/ui/nothing.js').expect(404);
    await request(app).get('/ui/..%2Fpackage.json').expect(404);
  });

  it('answers 503 when the package was not built', async () => {
    const { app } = setup();
    const res = await request(app).get('/ui/').expect(503);
    assert.equal((res.body as { error: string }).error, 'console not built');
  });
});

describe('appliance reads', () => {
  it('shows what each appliance says of itself, with its load balancer and VPN status when it has them', async () => {
    const reader = new FakeReader({
      '/v1/status': { status: 200, body: { generation: 3, daemons: { bird: 'running' } } },
      '/v1/loadbalancer/status': { status: 404, body: { error: 'no load balancer is configured' } },
      '/v1/vpn/status': { status: 200, body: { vpn: { connections: [] } } },
    });
    const { app } = setup({ reader });
    const res = await request(app).get('/v1/resources/r1/appliance').expect(200);
    assert.deepEqual(res.body, {
      appliances: [{ error: null, loadbalancer: null, management_address: 'fdca::5', name: 'ak-router-r1', status: { daemons: { bird: 'running' }, generation: 3 }, vpn: { connections: [] } }],
    });
    assert.ok(reader.asked.includes('fdca::5:5000/v1/status'));
    await request(app).get('/v1/resources/ghost/appliance').expect(404);
  });

  it('says why an appliance that does not answer shows nothing', async () => {
    const { app } = setup({ reader: new FakeReader({}) });
    const res = await request(app).get('/v1/resources/r1/appliance').expect(200);
    const [appliance] = (res.body as { appliances: { status: unknown; error: string }[] }).appliances;
    assert.equal(appliance?.status, null);
    assert.match(appliance?.error ?? '', /no answer/);
  });

  it('samples the traffic counters and serves rates', async () => {
    let rx = 0;
    const reader: ApplianceReader = {
      read: () => {
        rx += 4000;
        return Promise.resolve({ status: 200, body: { interfaces: { ge1: { rx_bytes: rx, tx_bytes: 0 } }, floating_ips: [] } });
      },
    };
    const { app, probe, control } = setup({ reader });
    await probe.sample(control.listResources());
    await new Promise((resolve) => setTimeout(resolve, 20));
    await probe.sample(control.listResources());
    const res = await request(app).get('/v1/resources/r1/traffic').expect(200);
    const traffic = (res.body as { traffic: { at: number[]; interfaces: Record<string, { in: number[] }> } }).traffic;
    assert.equal(traffic.at.length, 1);
    assert.ok((traffic.interfaces.ge1?.in[0] ?? 0) > 0, JSON.stringify(traffic));
  });
});

/** Reads server-sent events from a real connection until `done` says enough. */
function readEvents(server: Server, path: string, done: (events: { event: string; data: unknown }[]) => boolean): Promise<{ event: string; data: unknown }[]> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        reject(new Error(`HTTP ${res.statusCode}`));
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) as unknown });
        }
        if (done(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', (error) => {
      if (!done(events)) reject(error);
    });
    req.end();
  });
}

describe('live feed', () => {
  let server: Server;
  let parts: ReturnType<typeof setup>;
  before(async () => {
    parts = setup({ maxClients: 1 });
    server = createServer(parts.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    parts.feed.close();
    server.close();
    server.closeAllConnections();
  });

  it('sends a snapshot, then each change and removal, and refuses clients beyond its bound', async () => {
    const { control, feed } = parts;
    const reading = readEvents(server, '/v1/events', (events) => events.some((e) => e.event === 'removed'));
    for (let i = 0; i < 100 && feed.clients === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await request(server).head('/v1/events').expect(200).expect('Content-Type', /^text\/event-stream/);
    const refused = await request(server).get('/v1/events').expect(503);
    assert.equal((refused.body as { error: string }).error, 'too many consoles');
    control.resources.set('r1', resource('r1', 'CheckBoot'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    control.resources.delete('r1');
    const events = await reading;
    const snapshot = events[0]?.data as { resources: ResourceView[]; workers: WorkersView };
    assert.equal(events[0]?.event, 'snapshot');
    assert.deepEqual(snapshot.resources.map((r) => [r.id, r.state]), [['r1', 'CalcAction']]);
    assert.deepEqual(snapshot.workers, WORKERS);
    const changes = events.slice(1).filter((e) => e.event === 'resource').map((e) => (e.data as ResourceView).state);
    assert.deepEqual(changes, ['CheckBoot']);
    assert.deepEqual(events.at(-1), { event: 'removed', data: { id: 'r1' } });
    for (let i = 0; i < 100 && feed.clients > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(feed.clients, 0);
  });

  it('disconnects a client that leaves more than its bound unread', () => {
    const control = new MutableControl();
    const feed = new LiveFeed(control, { maxBufferedBytes: 10 });
    const written: string[] = [];
    let destroyed = false;
    const fake = {
      writableLength: 0,
      status() {
        return this;
      },
      set() {
        return this;
      },
      flushHeaders() {},
      on() {
        return this;
      },
      write(chunk: string) {
        written.push(chunk);
        this.writableLength += chunk.length;
        return false;
      },
      destroy() {
        destroyed = true;
      },
    };
    assert.equal(feed.attach({ on: () => undefined } as never, fake as never), true);
    assert.equal(destroyed, true);
    assert.equal(feed.clients, 0);
    feed.close();
  });
});
