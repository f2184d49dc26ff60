import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { Agent, request } from 'undici';
import { ApplianceClient, ApplianceRequestError, applianceUrl, ConfigPushError, ConfigRejectedError, haStatusOf } from './appliance.js';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A fake agent on loopback: answers with `handler`, records every request. */
async function fakeAgent(handler: Handler, host = '127.0.0.1'): Promise<{ port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  const port = await listen(server, host);
  return { port, received, close: () => stop(server) };
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const json = (status: number, body: unknown): Handler => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, '127.0.0.1');
  await stop(server);
  return port;
}

const client = (overrides: Partial<ConstructorParameters<typeof ApplianceClient>[0]> = {}) =>
  new ApplianceClient({ aliveTimeoutMs: 1000, configTimeoutMs: 2000, readTimeoutMs: 1000, ...overrides });

describe('applianceUrl', () => {
  it('brackets IPv6 literals and picks the scheme', () => {
    assert.equal(applianceUrl('fdca::2', 5000, '/v1/status/', false), 'http://[fdca::2]:5000/v1/status/');
    assert.equal(applianceUrl('fdca:3ba5:a17a:acda::5', 5000, '/v1/system/config', true), 'https://[fdca:3ba5:a17a:acda::5]:5000/v1/system/config');
    assert.equal(applianceUrl('192.0.2.7', 5000, '/v1/status/', false), 'http://192.0.2.7:5000/v1/status/');
  });
});

describe('ApplianceClient.status', () => {
  it('reads the generation from GET /v1/status/, over IPv6 too', async () => {
    const agent = await fakeAgent(json(200, { generation: 7, version: 'x' }), '::1');
    const c = client();
    try {
      assert.deepEqual(await c.status('::1', agent.port), { generation: 7 });
      assert.equal(agent.received[0]?.method, 'GET');
      assert.equal(agent.received[0]?.url, '/v1/status/');
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('an agent that says it is degraded holds no generation: it is to be configured again', async () => {
    const agent = await fakeAgent(json(200, { generation: 7, degraded: { reason: 'dnsmasq failed', since: 'x', attempts: 2 } }));
    const c = client();
    try {
      assert.deepEqual(await c.status('127.0.0.1', agent.port), { generation: undefined });
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it("reads an HA member's VRRP state; only plain words reach the operator", async () => {
    const ha = { state: 'MASTER', since: '2024-05-01T10:00:00.123Z', peer: 'fdca:3ba5:a17a:acda::11' };
    const agent = await fakeAgent(json(200, { generation: 3, ha }));
    const c = client();
    try {
      assert.deepEqual(await c.status('127.0.0.1', agent.port), { generation: 3, ha });
    } finally {
      await c.close();
      await agent.close();
    }
    assert.deepEqual(haStatusOf({ state: 'BACKUP' }), { state: 'BACKUP', since: null, peer: null });
    assert.deepEqual(haStatusOf({ state: 'FAULT', since: 1714557600, peer: { address: 'x' } }), { state: 'FAULT', since: null, peer: null });
    assert.deepEqual(haStatusOf({ state: 'BACKUP', since: 'now\u001b[2J', peer: 'a b' }), { state: 'BACKUP', since: null, peer: null });
    for (const value of [null, 'MASTER', [], {}, { state: '' }, { state: 'MASTER\n' }, { state: 'x'.repeat(65) }, { state: 7 }]) {
      assert.equal(haStatusOf(value), undefined, JSON.stringify(value));
    }
  });

  it('answers with an unknown generation when the agent gives none', async () => {
    const agent = await fakeAgent(json(200, { version: 'old' }));
    const c = client();
    try {
      assert.deepEqual(await c.status('127.0.0.1', agent.port), { generation: undefined });
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('is undefined for a refused connection, a 500 and a body that is not JSON', async () => {
    const failing = await fakeAgent(json(500, { error: 'internal error' }));
    const text = await fakeAgent((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Astara appliance API service is active\n'));
    const c = client();
    try {
      assert.equal(await c.status('127.0.0.1', await closedPort()), undefined);
      assert.equal(await c.status('127.0.0.1', failing.port), undefined);
      assert.equal(failing.received.length, 1);
      assert.equal(await c.status('127.0.0.1', text.port), undefined);
      assert.equal(text.received.length, 1);
    } finally {
      await c.close();
      await failing.close();
      await text.close();
    }
  });

  it('is undefined once alive_timeout has passed without an answer', async () => {
    const silent = await fakeAgent(() => undefined);
    const c = client({ aliveTimeoutMs: 200 });
    try {
      const started = performance.now();
      assert.equal(await c.status('127.0.0.1', silent.port), undefined);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 900, `gave up after ${elapsed} ms`);
    } finally {
      await c.close();
      await silent.close();
    }
  });
});

describe('ApplianceClient reads', () => {
  it('lists the interfaces and reads the configuration held', async () => {
    const agent = await fakeAgent((req, res) => {
      if (req.url === '/v1/system/interfaces') {
        json(200, { interfaces: [{ ifname: 'ge0', lladdr: 'fa:16:3e:4d:bf:12', mtu: 1450, addresses: [] }] })(req, res);
      } else {
        json(200, { configuration: { tenant_id: 't1', hostname: 'ak-t1' } })(req, res);
      }
    });
    const c = client();
    try {
      assert.deepEqual(await c.interfaces('127.0.0.1', agent.port), [{ ifname: 'ge0', lladdr: 'fa:16:3e:4d:bf:12', mtu: 1450, addresses: [] }]);
      assert.deepEqual(await c.config('127.0.0.1', agent.port), { tenant_id: 't1', hostname: 'ak-t1' });
      assert.deepEqual(
        agent.received.map((r) => `${r.method} ${r.url}`),
        ['GET /v1/system/interfaces', 'GET /v1/system/config'],
      );
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('throws with the status and the start of the body when a read fails', async () => {
    const failing = await fakeAgent(json(503, { error: 'busy' }));
    const malformed = await fakeAgent(json(200, { interfaces: [{ name: 'eth0' }] }));
    const c = client();
    try {
      await assert.rejects(c.interfaces('127.0.0.1', failing.port), (error: unknown) => {
        assert.ok(error instanceof ApplianceRequestError);
        assert.equal(error.status, 503);
        assert.equal(error.bodyExcerpt, '{"error":"busy"}');
        return true;
      });
      await assert.rejects(c.interfaces('127.0.0.1', malformed.port), /not a list of interfaces/);
      await assert.rejects(c.config('127.0.0.1', await closedPort()), (error: unknown) => error instanceof ApplianceRequestError && error.status === undefined);
    } finally {
      await c.close();
      await failing.close();
      await malformed.close();
    }
  });
});

describe('ApplianceClient.pushConfig', () => {
  const document = { tenant_id: 't1', hostname: 'ak-t1', networks: [] };

  it('PUTs the document as JSON and returns the new generation', async () => {
    const agent = await fakeAgent(json(200, { configuration: document, generation: 4, warnings: [] }));
    const c = client();
    try {
      assert.deepEqual(await c.pushConfig('127.0.0.1', agent.port, document), { generation: 4 });
      assert.equal(agent.received[0]?.method, 'PUT');
      assert.equal(agent.received[0]?.url, '/v1/system/config');
      assert.equal(agent.received[0]?.contentType, 'application/json');
      assert.deepEqual(JSON.parse(agent.received[0]?.body ?? ''), document);
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('turns a 422 into ConfigRejectedError with the agent message and details', async () => {
    const details = [
      { path: '/networks/0/interface/ifname', message: 'ge9 is not an interface of this appliance' },
      { path: '/floating_ips/0/fixed_ip', message: 'must be an IPv4 or IPv6 address' },
    ];
    const agent = await fakeAgent(json(422, { error: 'invalid configuration', details }));
    const c = client();
    try {
      await assert.rejects(c.pushConfig('127.0.0.1', agent.port, document), (error: unknown) => {
        assert.ok(error instanceof ConfigRejectedError);
        assert.equal(error.reason, 'invalid configuration');
        assert.deepEqual(error.details, details);
        assert.match(error.message, /invalid configuration; \/networks\/0\/interface\/ifname: ge9 is not an interface/);
        return true;
      });
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('turns a 500, a refused connection and a timeout into ConfigPushError', async () => {
    const failing = await fakeAgent(json(500, { error: 'apply failed and was rolled back', details: [] }));
    const silent = await fakeAgent(() => undefined);
    const c = client({ configTimeoutMs: 300 });
    try {
      await assert.rejects(c.pushConfig('127.0.0.1', failing.port, document), (error: unknown) => {
        assert.ok(error instanceof ConfigPushError);
        assert.equal(error.status, 500);
        assert.match(error.bodyExcerpt ?? '', /apply failed and was rolled back/);
        return true;
      });
      await assert.rejects(c.pushConfig('127.0.0.1', await closedPort(), document), (error: unknown) => {
        assert.ok(error instanceof ConfigPushError);
        assert.equal(error.status, undefined);
        assert.match(error.message, /ECONNREFUSED/);
        return true;
      });
      const started = performance.now();
      await assert.rejects(c.pushConfig('127.0.0.1', silent.port, document), (error: unknown) => {
        assert.ok(error instanceof ConfigPushError);
        assert.match(error.message, /no answer within 300 ms/);
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 1500, `gave up after ${elapsed} ms`);
    } finally {
      await c.close();
      await failing.close();
      await silent.close();
    }
  });
});

describe('ApplianceClient over mutual TLS', () => {
  let dir = '';
  const pem: Record<string, string> = {};

  async function openssl(args: string[]): Promise<void> {
    await execa('openssl', args, { cwd: dir });
  }

  /** A CA, and a certificate it signs for each `names` entry (key `<name>.key`, cert `<name>.pem`). */
  async function authority(ca: string, names: string[]): Promise<void> {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`]);
    for (const name of names) {
      await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}.invalid`]);
      await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', '2', '-days', '1', '-out', `${name}.pem`]);
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-tls-'));
    await authority('ca', ['appliance', 'orchestrator']);
    await authority('rogue-ca', ['rogue']);
    for (const name of ['ca', 'appliance', 'orchestrator', 'rogue-ca', 'rogue']) {
      pem[name] = await readFile(join(dir, `${name}.pem`), 'utf8');
      pem[`${name}.key`] = await readFile(join(dir, `${name}.key`), 'utf8');
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An agent whose certificate names `appliance.invalid`, not the address it is reached at, and that requires client certificates from `ca`. */
  async function tlsAgent(): Promise<{ port: number; served: () => number; close: () => Promise<void> }> {
    let served = 0;
    const server = createHttpsServer(
      { key: pem['appliance.key'], cert: pem.appliance, ca: pem.ca, requestCert: true, rejectUnauthorized: true },
      (_req, res) => {
        served++;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ generation: 2 }));
      },
    );
    const port = await listen(server, '127.0.0.1');
    return { port, served: () => served, close: () => stop(server) };
  }

  it('verifies the chain but not the name, and presents its client certificate', async () => {
    const agent = await tlsAgent();
    const c = client({ tls: { ca: pem.ca ?? '', cert: pem.orchestrator ?? '', key: pem['orchestrator.key'] ?? '' } });
    try {
      assert.deepEqual(await c.status('127.0.0.1', agent.port), { generation: 2 });
      assert.equal(agent.served(), 1);
    } finally {
      await c.close();
      await agent.close();
    }
  });

  it('is refused without a client certificate, or with one from another CA', async () => {
    const agent = await tlsAgent();
    const rogue = client({ tls: { ca: pem.ca ?? '', cert: pem.rogue ?? '', key: pem['rogue.key'] ?? '' } });
    const anonymous = new Agent({ connect: { ca: pem.ca, checkServerIdentity: () => undefined } });
    try {
      assert.equal(await rogue.status('127.0.0.1', agent.port), undefined);
      await assert.rejects(rogue.pushConfig('127.0.0.1', agent.port, {}), ConfigPushError);
      await assert.rejects(async () => {
        const response = await request(`https://127.0.0.1:${agent.port}/v1/status/`, { dispatcher: anonymous });
        await response.body.text();
      });
      assert.equal(agent.served(), 0);
    } finally {
      await rogue.close();
      await anonymous.close();
      await agent.close();
    }
  });

  it('refuses an appliance whose certificate another CA issued', async () => {
    const agent = await tlsAgent();
    const c = client({ tls: { ca: pem['rogue-ca'] ?? '', cert: pem.orchestrator ?? '', key: pem['orchestrator.key'] ?? '' } });
    try {
      assert.equal(await c.status('127.0.0.1', agent.port), undefined);
      await assert.rejects(c.pushConfig('127.0.0.1', agent.port, {}), /certificate/);
      assert.equal(agent.served(), 0);
    } finally {
      await c.close();
      await agent.close();
    }
  });
});
