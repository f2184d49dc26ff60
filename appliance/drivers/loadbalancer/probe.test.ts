// The real probes against real loopback servers (TCP, HTTP, HTTPS with a
// self-signed certificate, CONNECT, ping), and, as root, inside a network
// namespace of their own for what loopback cannot show: a member that never
// answers and a member no route reaches.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parseAddress } from '../../../contract/ip.js';
import type { HealthMonitorModel } from '../../../contract/model.js';
import { issue } from '../../../test/harness/certificates.js';
import type { MonitorTarget } from './monitor.js';
import { authority, expects, parseExpectedCodes, pingArgv, systemProber } from './probe.js';

const MONITOR: HealthMonitorModel = { type: 'TCP', delay: 5, timeout: 3, maxRetries: 3, httpMethod: 'GET', urlPath: '/', expectedCodes: '200', enabled: true };

function target(address: string, port: number, monitor: Partial<HealthMonitorModel> = {}): MonitorTarget {
  return { key: 'pool/member', address: parseAddress(address)!, port, monitor: { ...MONITOR, ...monitor } };
}

async function listen<S extends Server>(server: S, host: string): Promise<S> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function close(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A port nothing listens on: one that was just free. */
async function closedPort(host: string): Promise<number> {
  const server = await listen(createHttpServer(), host);
  const port = portOf(server);
  await close(server);
  return port;
}

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly host: string | undefined;
}

/** A member's HTTP handler: /status/<code> answers that code; /slow never answers. */
function member(seen: Seen[]) {
  return (request: IncomingMessage, response: import('node:http').ServerResponse): void => {
    seen.push({ method: request.method, url: request.url, host: request.headers.host });
    if (request.url === '/slow') return;
    const code = /^\/status\/(\d{3})/.exec(request.url ?? '')?.[1];
    response.writeHead(code ? Number(code) : 404, { 'content-type': 'text/plain' });
    response.end('x'.repeat(100_000));
  };
}

describe('expected codes', () => {
  it('reads a code, a list and ranges', () => {
    assert.deepEqual(parseExpectedCodes('200'), [[200, 200]]);
    assert.deepEqual(parseExpectedCodes('200,202'), [
      [200, 200],
      [202, 202],
    ]);
    assert.deepEqual(parseExpectedCodes('200-204,301'), [
      [200, 204],
      [301, 301],
    ]);
    assert.equal(expects('200-204', 204), true);
    assert.equal(expects('200-204', 205), false);
    assert.equal(expects('200,202', 201), false);
  });
});

describe('the ping command', () => {
  it('sends one echo request, waits the timeout in whole seconds, numeric, -6 for IPv6', () => {
    assert.deepEqual(pingArgv(parseAddress('198.51.100.21')!, 3000), ['ping', '-c', '1', '-W', '3', '-n', '198.51.100.21']);
    assert.deepEqual(pingArgv(parseAddress('2001:db8::21')!, 1000), ['ping', '-c', '1', '-W', '1', '-n', '-6', '2001:db8::21']);
    assert.deepEqual(pingArgv(parseAddress('2001:db8::21')!, 200), ['ping', '-c', '1', '-W', '1', '-n', '-6', '2001:db8::21']);
  });

  it('writes the IPv6 authority in brackets', () => {
    assert.equal(authority(parseAddress('2001:db8::21')!, 80), '[2001:db8::21]:80');
    assert.equal(authority(parseAddress('198.51.100.21')!, 80), '198.51.100.21:80');
  });
});

describe('TCP probes', () => {
  it('succeed when the member accepts the connection, over IPv4 and IPv6', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const server = await listen(createHttpServer(), host);
      try {
        const result = await systemProber.probe(target(host, portOf(server)), 3000);
        assert.deepEqual(result, { ok: true, reason: `connected to ${authority(parseAddress(host)!, portOf(server))}` });
      } finally {
        await close(server);
      }
    }
  });

  it('fail, naming the error, when the member refuses it', async () => {
    const port = await closedPort('127.0.0.1');
    assert.deepEqual(await systemProber.probe(target('127.0.0.1', port), 3000), { ok: false, reason: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });
});

describe('HTTP probes', () => {
  const seen: Seen[] = [];
  let server: HttpServer;
  let port: number;
  before(async () => {
    server = await listen(createHttpServer(member(seen)), '127.0.0.1');
    port = portOf(server);
  });
  after(() => close(server));

  async function probe(monitor: Partial<HealthMonitorModel>, timeoutMs = 3000) {
    seen.length = 0;
    return systemProber.probe(target('127.0.0.1', port, { type: 'HTTP', ...monitor }), timeoutMs);
  }

  it('send the monitor method to its path with the member as Host, and accept an expected code', async () => {
    assert.deepEqual(await probe({ urlPath: '/status/200/healthz?deep=1' }), { ok: true, reason: 'HTTP GET /status/200/healthz?deep=1 answered 200' });
    assert.deepEqual(seen, [{ method: 'GET', url: '/status/200/healthz?deep=1', host: `127.0.0.1:${port}` }]);
    assert.deepEqual(await probe({ httpMethod: 'HEAD', urlPath: '/status/204', expectedCodes: '200-204' }), { ok: true, reason: 'HTTP HEAD /status/204 answered 204' });
    assert.deepEqual(seen, [{ method: 'HEAD', url: '/status/204', host: `127.0.0.1:${port}` }]);
    assert.deepEqual(await probe({ httpMethod: 'POST', urlPath: '/status/202', expectedCodes: '200,202' }), { ok: true, reason: 'HTTP POST /status/202 answered 202' });
    assert.deepEqual(seen, [{ method: 'POST', url: '/status/202', host: `127.0.0.1:${port}` }]);
  });

  it('fail on a code that is not expected, saying which was', async () => {
    assert.deepEqual(await probe({ urlPath: '/status/500', expectedCodes: '200-204' }), { ok: false, reason: 'HTTP GET /status/500 answered 500, expected 200-204' });
    assert.deepEqual(await probe({ urlPath: '/status/201', expectedCodes: '200,202' }), { ok: false, reason: 'HTTP GET /status/201 answered 201, expected 200,202' });
    assert.deepEqual(await probe({ urlPath: '/status/200', expectedCodes: '201-299' }), { ok: false, reason: 'HTTP GET /status/200 answered 200, expected 201-299' });
  });

  it('give up after the timeout', async () => {
    const started = performance.now();
    const result = await probe({ urlPath: '/slow' }, 300);
    const elapsed = performance.now() - started;
    assert.deepEqual(result, { ok: false, reason: 'HTTP GET /slow: timed out after 0.3 s' });
    assert.ok(elapsed >= 290 && elapsed < 2000, `took ${elapsed} ms`);
  });

  it('end at once when cancelled', async () => {
    const cancel = new AbortController();
    const started = performance.now();
    const probing = systemProber.probe(target('127.0.0.1', port, { type: 'HTTP', urlPath: '/slow' }), 10_000, cancel.signal);
    setTimeout(() => cancel.abort(), 50);
    const result = await probing;
    assert.equal(result.ok, false);
    assert.ok(performance.now() - started < 2000);
  });

  it('fail when the member refuses the connection', async () => {
    const closed = await closedPort('127.0.0.1');
    assert.deepEqual(await systemProber.probe(target('127.0.0.1', closed, { type: 'HTTP', urlPath: '/healthz' }), 3000), {
      ok: false,
      reason: `HTTP GET /healthz: connect ECONNREFUSED 127.0.0.1:${closed}`,
    });
  });

  it('name an IPv6 member in brackets in the Host header', async () => {
    const seen6: Seen[] = [];
    const server6 = await listen(createHttpServer(member(seen6)), '::1');
    try {
      const result = await systemProber.probe(target('::1', portOf(server6), { type: 'HTTP', urlPath: '/status/200' }), 3000);
      assert.equal(result.ok, true);
      assert.deepEqual(seen6, [{ method: 'GET', url: '/status/200', host: `[::1]:${portOf(server6)}` }]);
    } finally {
      await close(server6);
    }
  });

  it('send CONNECT to members that proxy, with the answered code checked', async () => {
    const proxy = createHttpServer();
    proxy.on('connect', (request: IncomingMessage, socket: import('node:stream').Duplex) => {
      socket.end(request.url === '/tunnel' ? 'HTTP/1.1 200 Connection Established\r\n\r\n' : 'HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    });
    await listen(proxy, '127.0.0.1');
    try {
      const connect = { type: 'HTTP' as const, httpMethod: 'CONNECT' };
      assert.deepEqual(await systemProber.probe(target('127.0.0.1', portOf(proxy), { ...connect, urlPath: '/tunnel' }), 3000), {
        ok: true,
        reason: 'HTTP CONNECT /tunnel answered 200',
      });
      assert.deepEqual(await systemProber.probe(target('127.0.0.1', portOf(proxy), { ...connect, urlPath: '/closed' }), 3000), {
        ok: false,
        reason: 'HTTP CONNECT /closed answered 403, expected 200',
      });
    } finally {
      await close(proxy);
    }
  });
});

describe('HTTPS probes', () => {
  const seen: Seen[] = [];
  let dir: string;
  let server: HttpServer;
  let port: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-probe-'));
    await issue(dir, 'member', undefined, 'member.example');
    const [key, cert] = await Promise.all([readFile(join(dir, 'member.key')), readFile(join(dir, 'member.crt'))]);
    server = await listen(createHttpsServer({ key, cert }, member(seen)), '127.0.0.1');
    port = portOf(server);
  });
  after(async () => {
    await close(server);
    await rm(dir, { recursive: true, force: true });
  });

  it('succeed against a member with a self-signed certificate, checking the code', async () => {
    assert.deepEqual(await systemProber.probe(target('127.0.0.1', port, { type: 'HTTPS', urlPath: '/status/200' }), 3000), {
      ok: true,
      reason: 'HTTPS GET /status/200 answered 200',
    });
    assert.deepEqual(seen.at(-1), { method: 'GET', url: '/status/200', host: `127.0.0.1:${port}` });
    assert.deepEqual(await systemProber.probe(target('127.0.0.1', port, { type: 'HTTPS', urlPath: '/status/503' }), 3000), {
      ok: false,
      reason: 'HTTPS GET /status/503 answered 503, expected 200',
    });
  });

  it('fail when the member does not speak the monitored protocol', async () => {
    const plain = await systemProber.probe(target('127.0.0.1', port, { type: 'HTTP', urlPath: '/status/200' }), 3000);
    assert.equal(plain.ok, false);
    assert.equal(plain.error, undefined);
    assert.match(plain.reason, /^HTTP GET \/status\/200: /);
  });
});

describe('PING probes', () => {
  it('succeed when the member answers, over IPv4 and IPv6', async () => {
    assert.deepEqual(await systemProber.probe(target('127.0.0.1', 0, { type: 'PING' }), 1000), { ok: true, reason: 'echo reply from 127.0.0.1' });
    assert.deepEqual(await systemProber.probe(target('::1', 0, { type: 'PING' }), 1000), { ok: true, reason: 'echo reply from ::1' });
  });

  it('could not be made when the ping command is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.deepEqual(await systemProber.probe(target('127.0.0.1', 0, { type: 'PING' }), 1000), { ok: false, error: true, reason: 'the ping command is not installed' });
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('probes in a network namespace of their own', { skip: process.getuid?.() !== 0 && 'needs root (unshare --net)' }, () => {
  // Inside: lo, and a veth pair whose far end has no address. 192.0.2.99 has
  // a static neighbour entry, so packets to it leave and vanish (a member
  // that never answers); nothing answers the ARP for 192.0.2.98 (a stopped
  // member on the member network); 203.0.113.0/24 has no route.
  const script = `
    const { execa } = await import('execa');
    const { parseAddress } = await import(${JSON.stringify(new URL('../../../contract/ip.ts', import.meta.url).href)});
    const { systemProber } = await import(${JSON.stringify(new URL('./probe.ts', import.meta.url).href)});
    for (const argv of [
      ['link', 'set', 'lo', 'up'],
      ['link', 'add', 'member0', 'type', 'veth', 'peer', 'name', 'member1'],
      ['link', 'set', 'member1', 'up'],
      ['link', 'set', 'member0', 'up'],
      ['addr', 'add', '192.0.2.1/24', 'dev', 'member0'],
      ['neigh', 'add', '192.0.2.99', 'lladdr', '02:00:00:00:00:99', 'dev', 'member0'],
    ]) {
      await execa('ip', argv);
    }
    const monitor = ${JSON.stringify(MONITOR)};
    const probe = (address, type, timeoutMs) => systemProber.probe({ key: 'pool/member', address: parseAddress(address), port: 80, monitor: { ...monitor, type } }, timeoutMs);
    const started = performance.now();
    const silentTcp = await probe('192.0.2.99', 'TCP', 300);
    const silentTcpMs = performance.now() - started;
    console.log(JSON.stringify({
      silentPing: await probe('192.0.2.99', 'PING', 1000),
      silentTcp, silentTcpMs,
      unansweredArp: await probe('192.0.2.98', 'TCP', 10_000),
      unroutedTcp: await probe('203.0.113.5', 'TCP', 1000),
      unroutedPing: await probe('203.0.113.5', 'PING', 1000),
    }));
  `;
  let results: Record<string, unknown>;
  before(async () => {
    const child = await execa('unshare', ['--net', '--', 'node', '--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
    results = JSON.parse(child.stdout) as Record<string, unknown>;
  });

  it('PING fails when no echo reply comes within the timeout', () => {
    assert.deepEqual(results.silentPing, { ok: false, reason: 'no echo reply from 192.0.2.99 within 1 s' });
  });

  it('TCP gives up after the timeout when the member never answers', () => {
    assert.deepEqual(results.silentTcp, { ok: false, reason: 'timed out after 0.3 s' });
    const ms = results.silentTcpMs as number;
    assert.ok(ms >= 290 && ms < 2000, `took ${ms} ms`);
  });

  it('a member whose address nothing answers for on its network fails (EHOSTUNREACH is the member, not the appliance)', () => {
    assert.deepEqual(results.unansweredArp, { ok: false, reason: 'connect EHOSTUNREACH 192.0.2.98:80' });
  });

  it('a member no route reaches is a probe that could not be made, for TCP and PING', () => {
    assert.deepEqual(results.unroutedTcp, { ok: false, error: true, reason: 'connect ENETUNREACH 203.0.113.5:80' });
    assert.deepEqual(results.unroutedPing, { ok: false, error: true, reason: 'ping: connect: Network is unreachable' });
  });
});
