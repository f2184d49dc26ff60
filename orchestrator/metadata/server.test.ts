import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import type { MetadataAnswer, MetadataBackend, MetadataRequest } from '../providers/types.js';
import { createMetadataServer, peerAddress } from './server.js';

const INSTANCE = 'c72a34fb-5a4d-4d2e-8f1c-9b8a7c6d5e04';
const NETWORK = 'a1ea2256-9f3c-4d8e-b7a6-3c5d7e9f1a03';

/** The headers an appliance's metadata proxy sets. */
const PROXY_HEADERS = {
  'X-Forwarded-For': '198.51.100.3',
  'X-Instance-ID': INSTANCE,
  'X-Tenant-ID': 'c25992581e574b6485dbfdf39a3df46c',
  'X-Quantum-Network-ID': NETWORK,
};

class RecordingBackend implements MetadataBackend {
  readonly requests: MetadataRequest[] = [];
  constructor(private readonly reply: (request: MetadataRequest) => Promise<MetadataAnswer>) {}
  answer(request: MetadataRequest): Promise<MetadataAnswer> {
    this.requests.push(request);
    return this.reply(request);
  }
}

async function serve(backend: MetadataBackend, host: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createMetadataServer({ backend, logger: pino({ level: 'silent' }) });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function get(url: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET') {
  const response = await request(url, { method, headers });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

const answering = (answer: MetadataAnswer) => new RecordingBackend(() => Promise.resolve(answer));

describe('createMetadataServer', () => {
  it('builds the request from the proxy headers and the peer address, and relays the answer', async () => {
    const backend = answering({ status: 200, contentType: 'application/json', body: '{"uuid":"x"}' });
    const server = await serve(backend, '127.0.0.1');
    try {
      const response = await get(`${server.url}/openstack/latest/meta_data.json?x=1`, PROXY_HEADERS);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-type'], 'application/json');
      assert.equal(response.body, '{"uuid":"x"}');
      assert.deepEqual(backend.requests, [
        {
          path: '/openstack/latest/meta_data.json?x=1',
          instanceId: INSTANCE,
          forwardedFor: '198.51.100.3',
          tenantId: 'c25992581e574b6485dbfdf39a3df46c',
          networkId: NETWORK,
          sourceAddress: '127.0.0.1',
        },
      ]);
    } finally {
      await server.close();
    }
  });

  it('takes the IPv6 peer address as the source, and passes the backend status on', async () => {
    const backend = answering({ status: 404, contentType: 'text/plain; charset=utf-8', body: 'Not Found' });
    const server = await serve(backend, '::1');
    try {
      const response = await get(`${server.url}/latest/meta-data/instance-id`, { 'X-Instance-ID': INSTANCE, 'X-Forwarded-For': '2001:db8::3' });
      assert.equal(response.status, 404);
      assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(backend.requests[0]?.sourceAddress, '::1');
      assert.equal(backend.requests[0]?.forwardedFor, '2001:db8::3');
      assert.equal(backend.requests[0]?.tenantId, undefined);
      assert.equal(backend.requests[0]?.networkId, undefined);
    } finally {
      await server.close();
    }
  });

  it('answers 404 without asking the backend when X-Instance-ID is missing or empty', async () => {
    const backend = answering({ status: 200, contentType: 'text/plain', body: 'x' });
    const server = await serve(backend, '127.0.0.1');
    try {
      const { 'X-Instance-ID': _omitted, ...withoutInstance } = PROXY_HEADERS;
      assert.equal((await get(`${server.url}/latest/meta-data/`, withoutInstance)).status, 404);
      // The proxy sends an empty X-Instance-ID for an address it has no device for.
      assert.equal((await get(`${server.url}/latest/meta-data/`, { ...PROXY_HEADERS, 'X-Instance-ID': '' })).status, 404);
      assert.equal(backend.requests.length, 0);
    } finally {
      await server.close();
    }
  });

  it('answers GET only', async () => {
    const backend = answering({ status: 200, contentType: 'text/plain', body: 'x' });
    const server = await serve(backend, '127.0.0.1');
    try {
      const response = await get(`${server.url}/latest/meta-data/`, PROXY_HEADERS, 'POST');
      assert.equal(response.status, 405);
      assert.equal(response.headers.allow, 'GET');
      assert.equal(backend.requests.length, 0);
    } finally {
      await server.close();
    }
  });

  it('answers 500 when the backend fails', async () => {
    const backend = new RecordingBackend(() => Promise.reject(new Error('resource file gone')));
    const server = await serve(backend, '127.0.0.1');
    try {
      const response = await get(`${server.url}/latest/meta-data/`, PROXY_HEADERS);
      assert.equal(response.status, 500);
      assert.equal(response.body, 'Internal Server Error');
    } finally {
      await server.close();
    }
  });
});

describe('peerAddress', () => {
  it('folds IPv4-mapped IPv6 addresses to IPv4 and keeps the rest', () => {
    assert.equal(peerAddress('::ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(peerAddress('::FFFF:198.51.100.7'), '198.51.100.7');
    assert.equal(peerAddress('fdca:3ba5:a17a:acda::10'), 'fdca:3ba5:a17a:acda::10');
    assert.equal(peerAddress('::ffff:c633:6407'), '::ffff:c633:6407');
    assert.equal(peerAddress(undefined), '');
  });
});
