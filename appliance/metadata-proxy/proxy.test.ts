// Loopback tests: guests are 127.0.0.x source addresses (every 127/8 address is
// local on Linux), listeners bind 127.0.0.x or ::1 on a free port.
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { MetadataProxy, type MetadataProxyOptions } from './proxy.js';
import type { MetadataListenerState, MetadataProxyState } from './state.js';

const logger = pino({ level: 'silent' });

interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

interface Upstream {
  readonly url: string;
  readonly seen: Seen[];
  /** Requests to /gate wait for this. */
  release(): void;
  arrived(path: string, count: number): Promise<void>;
  close(): Promise<void>;
}

function identity(headers: IncomingHttpHeaders) {
  return {
    forwardedFor: headers['x-forwarded-for'],
    instance: headers['x-instance-id'],
    tenant: headers['x-tenant-id'],
    network: headers['x-quantum-network-id'],
  };
}

async function fakeUpstream(t: TestContext, host = '127.0.0.1', name = 'up'): Promise<Upstream> {
  const seen: Seen[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    const url = new URL(req.url ?? '/', 'http://upstream');
    const echo = () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ name, url: req.url, ...identity(req.headers) }));
    switch (url.pathname) {
      case '/latest/meta-data/instance-id':
        res.writeHead(200, { 'Content-Type': 'text/x-instance' }).end(req.headers['x-instance-id']);
        break;
      case '/missing':
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('upstream says not found');
        break;
      case '/fail':
        res.writeHead(503, { 'Content-Type': 'text/plain' }).end('upstream secret error detail');
        break;
      case '/forbidden':
        res.writeHead(403).end('no');
        break;
      case '/big':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('x'.repeat(2048));
        break;
      case '/gate':
        void gate.then(echo);
        break;
      case '/hang':
        break;
      default:
        echo();
    }
  });
  await listen(server, host);
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    release();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  t.after(close);
  return {
    url: host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`,
    seen,
    release: () => release(),
    async arrived(path, count) {
      while (seen.filter((s) => s.url.startsWith(path)).length < count) await sleep(5);
    },
    close,
  };
}

function listen(server: Server, host: string, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve());
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listenerState(overrides: Partial<MetadataListenerState> = {}): MetadataListenerState {
  return {
    networkId: 'net-a',
    ifname: 'ge2',
    address: '127.0.0.2',
    port: 0,
    tenantId: 'tenant-1',
    instances: { '127.0.0.10': 'dev-10', '127.0.0.11': 'dev-11' },
    sources: ['127.0.0.0/8'],
    ...overrides,
  };
}

function newProxy(t: TestContext, options: Partial<MetadataProxyOptions> = {}): MetadataProxy {
  const proxy = new MetadataProxy({ logger, ...options });
  t.after(() => proxy.close());
  return proxy;
}

function portOf(proxy: MetadataProxy, networkId: string): number {
  const listener = proxy.listeners().find((l) => l.networkId === networkId);
  assert.ok(listener, `no listener for ${networkId}`);
  return listener.port;
}

interface GuestOptions {
  readonly host?: string;
  readonly localAddress?: string;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly agent?: Agent | false;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function guest(port: number, path: string, options: GuestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.2',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress ?? '127.0.0.10',
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function start(t: TestContext, options: Partial<MetadataProxyOptions> = {}, listeners = [listenerState()]) {
  const upstream = await fakeUpstream(t);
  const proxy = newProxy(t, options);
  const result = await proxy.update({ upstream: upstream.url, listeners });
  assert.deepEqual(result.failed, []);
  return { upstream, proxy, port: portOf(proxy, listeners[0]!.networkId) };
}

describe('MetadataProxy forwarding', { timeout: 30_000 }, () => {
  it('forwards path and query with the identity headers it sets itself', async (t) => {
    const { upstream, port } = await start(t);
    const answer = await guest(port, '/latest/meta-data/instance-id?x=1&y=%2F', {
      headers: {
        'X-Instance-ID': 'forged-1',
        'x-instance-id': 'forged-2',
        'X-FORWARDED-FOR': ['192.0.2.99', '192.0.2.98'],
        'x-tenant-id': 'other-tenant',
        'X-Quantum-Network-Id': 'other-net',
        Accept: 'text/plain',
        Cookie: 'not-forwarded=1',
      },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'dev-10');
    assert.equal(answer.headers['content-type'], 'text/x-instance');
    assert.equal(upstream.seen.length, 1);
    const { url, headers, rawHeaders } = upstream.seen[0]!;
    assert.equal(url, '/latest/meta-data/instance-id?x=1&y=%2F');
    assert.deepEqual(identity(headers), { forwardedFor: '127.0.0.10', instance: 'dev-10', tenant: 'tenant-1', network: 'net-a' });
    for (const name of ['x-instance-id', 'x-forwarded-for', 'x-tenant-id', 'x-quantum-network-id']) {
      assert.equal(rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length, 1, `one ${name}`);
    }
    assert.equal(headers.accept, 'text/plain');
    assert.equal(headers.cookie, undefined);
  });

  it('sends an empty X-Instance-ID for an unknown guest address', async (t) => {
    const { upstream, port } = await start(t);
    const answer = await guest(port, '/echo', { localAddress: '127.0.0.99', headers: { 'X-Instance-ID': 'dev-10' } });
    assert.equal(answer.status, 200);
    assert.deepEqual(identity(upstream.seen[0]!.headers), { forwardedFor: '127.0.0.99', instance: '', tenant: 'tenant-1', network: 'net-a' });
  });

  it('forwards only the path of an absolute-form request target', async (t) => {
    const { upstream, port } = await start(t);
    const answer = await guest(port, 'http://evil.example:1234/openstack/latest?q=2');
    assert.equal(answer.status, 200);
    assert.equal(upstream.seen[0]!.url, '/openstack/latest?q=2');
  });

  it('maps 404 to 404 and other upstream statuses to 500, without upstream bodies', async (t) => {
    const { port } = await start(t);
    const missing = await guest(port, '/missing');
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body, /upstream/);
    for (const path of ['/fail', '/forbidden']) {
      const answer = await guest(port, path);
      assert.equal(answer.status, 500, path);
      assert.equal(answer.body, 'Internal Server Error\n');
    }
  });

  it('answers 500 when the upstream is unreachable, times out or sends too much', async (t) => {
    const spare = createServer();
    await listen(spare, '127.0.0.1');
    const deadPort = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));

    const { proxy, upstream, port } = await start(t, { upstreamTimeoutMs: 300, maxBodyBytes: 1024 });
    const started = Date.now();
    assert.equal((await guest(port, '/hang')).status, 500);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 3000, `timed out after ${elapsed} ms`);
    assert.equal((await guest(port, '/big')).status, 500);

    await proxy.update({ upstream: `http://127.0.0.1:${deadPort}`, listeners: [listenerState()] });
    assert.equal((await guest(port, '/echo')).status, 500);
    assert.equal(upstream.seen.filter((s) => s.url === '/echo').length, 0);
  });

  it('refuses other methods with 405', async (t) => {
    const { upstream, port } = await start(t);
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      const answer = await guest(port, '/latest', { method });
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, 'GET');
    }
    assert.equal(upstream.seen.length, 0);
  });

  it('refuses oversized request headers with 431', async (t) => {
    const { upstream, port } = await start(t, { maxHeaderSize: 4096 });
    const answer = await guest(port, '/latest', { headers: { 'X-Big': 'a'.repeat(5000) } });
    assert.equal(answer.status, 431);
    assert.equal((await guest(port, '/latest', { headers: { 'X-Small': 'a'.repeat(1000) } })).status, 200);
    assert.equal(upstream.seen.length, 1);
  });

  it('answers 429 beyond the concurrent requests of one source address', async (t) => {
    const { upstream, port } = await start(t, { maxPerSource: 2 });
    const held = [guest(port, '/gate'), guest(port, '/gate')];
    await upstream.arrived('/gate', 2);
    const refused = await guest(port, '/gate');
    assert.equal(refused.status, 429);
    const other = guest(port, '/gate', { localAddress: '127.0.0.11' });
    await upstream.arrived('/gate', 3);
    upstream.release();
    const answers = await Promise.all([...held, other]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.equal((JSON.parse(answers[2]!.body) as { instance: string }).instance, 'dev-11');
    // The slots are given back.
    assert.equal((await guest(port, '/echo')).status, 200);
  });

  it('works over IPv6 with a bracketed upstream', async (t) => {
    const upstream = await fakeUpstream(t, '::1');
    assert.match(upstream.url, /^http:\/\/\[::1\]:\d+$/);
    const proxy = newProxy(t);
    await proxy.update({ upstream: upstream.url, listeners: [listenerState({ address: '::1', instances: { '::1': 'dev-v6' }, sources: ['::1/128'] })] });
    const answer = await guest(portOf(proxy, 'net-a'), '/echo', { host: '::1', localAddress: '::1' });
    assert.equal(answer.status, 200);
    assert.deepEqual(identity(upstream.seen[0]!.headers), { forwardedFor: '::1', instance: 'dev-v6', tenant: 'tenant-1', network: 'net-a' });
  });
});

describe('MetadataProxy sources', { timeout: 30_000 }, () => {
  it('refuses a connection from outside its network\'s prefixes before reading a byte of it', async (t) => {
    const { upstream, port } = await start(t, {}, [listenerState({ sources: ['127.0.0.8/29', 'fd00:a::/64'] })]);
    assert.equal((await guest(port, '/echo', { localAddress: '127.0.0.15' })).status, 200);
    await assert.rejects(guest(port, '/echo', { localAddress: '127.0.0.16' }), { code: 'ECONNRESET' });
    await assert.rejects(guest(port, '/echo', { localAddress: '127.0.0.1' }), { code: 'ECONNRESET' });
    assert.deepEqual(
      upstream.seen.map((s) => s.headers['x-forwarded-for']),
      ['127.0.0.15'],
    );
  });

  it('applies new prefixes to a kept listener', async (t) => {
    const { upstream, proxy, port } = await start(t, {}, [listenerState({ sources: ['127.0.0.10/32'] })]);
    assert.equal((await guest(port, '/echo', { localAddress: '127.0.0.10' })).status, 200);
    const result = await proxy.update({ upstream: upstream.url, listeners: [listenerState({ sources: ['127.0.0.20/32'] })] });
    assert.deepEqual(result, { changed: true, opened: [], closed: [], failed: [] });
    assert.equal(portOf(proxy, 'net-a'), port, 'the listener is kept');
    await assert.rejects(guest(port, '/echo', { localAddress: '127.0.0.10' }), { code: 'ECONNRESET' });
    assert.equal((await guest(port, '/echo', { localAddress: '127.0.0.20' })).status, 200);
  });
});

describe('MetadataProxy.update', { timeout: 30_000 }, () => {
  it('switches map and upstream at once while an in-flight request completes with its own', async (t) => {
    const { upstream, proxy, port } = await start(t);
    const slow = guest(port, '/gate');
    await upstream.arrived('/gate', 1);

    const second = await fakeUpstream(t, '127.0.0.1', 'second');
    const moved: MetadataProxyState = {
      upstream: second.url,
      listeners: [listenerState({ tenantId: 'tenant-2', instances: { '127.0.0.10': 'dev-new' } })],
    };
    const result = await proxy.update(moved);
    assert.deepEqual(result, { changed: true, opened: [], closed: [], failed: [] });
    assert.equal(portOf(proxy, 'net-a'), port, 'the listener is kept');

    const fresh = await guest(port, '/echo');
    assert.equal(fresh.status, 200);
    assert.deepEqual(JSON.parse(fresh.body), { name: 'second', url: '/echo', forwardedFor: '127.0.0.10', instance: 'dev-new', tenant: 'tenant-2', network: 'net-a' });

    upstream.release();
    const old = await slow;
    assert.equal(old.status, 200);
    assert.deepEqual(JSON.parse(old.body), { name: 'up', url: '/gate', forwardedFor: '127.0.0.10', instance: 'dev-10', tenant: 'tenant-1', network: 'net-a' });

    assert.deepEqual(await proxy.update(moved), { changed: false, opened: [], closed: [], failed: [] });
  });

  it('closes a removed network\'s listener without waiting for its in-flight request, which still completes', async (t) => {
    const b = listenerState({ networkId: 'net-b', ifname: 'ge3', address: '127.0.0.3', instances: { '127.0.0.10': 'dev-b' } });
    const { upstream, proxy, port } = await start(t, {}, [listenerState(), b]);
    const portB = portOf(proxy, 'net-b');
    const keepAlive = new Agent({ keepAlive: true });
    t.after(() => keepAlive.destroy());
    const slow = guest(portB, '/gate', { host: '127.0.0.3', agent: keepAlive });
    await upstream.arrived('/gate', 1);

    const result = await proxy.update({ upstream: upstream.url, listeners: [listenerState()] });
    assert.deepEqual(result.closed, ['127.0.0.3|0']);
    assert.deepEqual(proxy.listeners().map((l) => l.networkId), ['net-a']);
    await assert.rejects(guest(portB, '/echo', { host: '127.0.0.3' }), { code: 'ECONNREFUSED' });
    assert.equal((await guest(port, '/echo')).status, 200);

    upstream.release();
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { instance: string }).instance, 'dev-b');
    assert.equal(answer.headers.connection, 'close');
  });

  it('reports a listener that cannot bind and retries it on the next update', async (t) => {
    const upstream = await fakeUpstream(t);
    const proxy = newProxy(t);
    const unbindable = listenerState({ networkId: 'net-x', address: '192.0.2.77' });
    const result = await proxy.update({ upstream: upstream.url, listeners: [listenerState(), unbindable] });
    assert.deepEqual(result.opened, ['127.0.0.2|0']);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0]!.listener, '192.0.2.77|0');
    assert.match(result.failed[0]!.error, /EADDRNOTAVAIL/);
    assert.deepEqual(proxy.listeners().map((l) => l.networkId), ['net-a']);
    const again = await proxy.update({ upstream: upstream.url, listeners: [listenerState(), unbindable] });
    assert.equal(again.failed.length, 1);
  });

  it('close() waits for in-flight requests', async (t) => {
    const upstream = await fakeUpstream(t);
    const proxy = new MetadataProxy({ logger });
    await proxy.update({ upstream: upstream.url, listeners: [listenerState()] });
    const slow = guest(portOf(proxy, 'net-a'), '/gate');
    await upstream.arrived('/gate', 1);
    let closed = false;
    const closing = proxy.close().then(() => (closed = true));
    await sleep(50);
    assert.equal(closed, false);
    upstream.release();
    assert.equal((await slow).status, 200);
    await closing;
    await assert.rejects(proxy.update({ upstream: upstream.url, listeners: [] }), /closed/);
  });
});
