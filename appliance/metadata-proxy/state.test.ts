import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument } from '../../contract/index.js';
import { metadataProxyState, parseMetadataProxyState, upstreamUrl } from './state.js';

type Doc = Record<string, unknown> & { networks: Record<string, unknown>[]; orchestrator: Record<string, unknown> };

function fixture(): Doc {
  const url = new URL('../../test/fixtures/documents/router-notes-8.1.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Doc;
}

function modelOf(doc: Doc) {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

describe('metadataProxyState', () => {
  it('gives one listener per tenant network with IPv4, on 9600+N at its first IPv4 address', () => {
    const doc = fixture();
    // An isolated network with IPv4 (second address first in the list is v6) and one with IPv6 only.
    doc.networks.push(
      {
        interface: { ifname: 'ge3', addresses: ['fd00:77::1/64', '203.0.113.1/25', '203.0.113.129/25'] },
        network_id: 'net-isolated',
        network_type: 'isolated',
        subnets: [],
        allocations: [
          { ip_addresses: { '203.0.113.5': true, 'fd00:77::5': false }, device_id: 'dev-5', hostname: 'h5', mac_address: 'fa:16:3e:00:00:05' },
        ],
      },
      {
        interface: { ifname: 'ge4', addresses: ['fd00:88::1/64'] },
        network_id: 'net-v6-only',
        network_type: 'internal',
        subnets: [],
        allocations: [],
      },
    );
    const state = metadataProxyState(modelOf(doc));
    assert.equal(state.upstream, 'http://[fdca:3ba5:a17a:acda:f816:3eff:fe2b:ced0]:9697');
    assert.deepEqual(state.listeners, [
      {
        networkId: 'a1ea2256-9f3c-4d8e-b7a6-3c5d7e9f1a03',
        ifname: 'ge2',
        address: '198.51.100.1',
        port: 9602,
        tenantId: 'c25992581e574b6485dbfdf39a3df46c',
        instances: {
          '198.51.100.3': 'c72a34fb-5a4d-4d2e-8f1c-9b8a7c6d5e04',
          'fd00:6c94::f816:3eff:fe1b:9376': 'c72a34fb-5a4d-4d2e-8f1c-9b8a7c6d5e04',
        },
        sources: ['198.51.100.0/24', 'fd00:6c94::/64'],
      },
      {
        networkId: 'net-isolated',
        ifname: 'ge3',
        address: '203.0.113.1',
        port: 9603,
        tenantId: 'c25992581e574b6485dbfdf39a3df46c',
        instances: { '203.0.113.5': 'dev-5', 'fd00:77::5': 'dev-5' },
        // No subnets: the prefixes of its interface addresses are its guests'.
        sources: ['fd00:77::/64', '203.0.113.0/25', '203.0.113.128/25'],
      },
    ]);
  });

  it('uses an IPv4 orchestrator address without brackets', () => {
    const doc = fixture();
    doc.orchestrator = { address: '192.0.2.9', metadata_port: 8775, host: 'o' };
    assert.equal(metadataProxyState(modelOf(doc)).upstream, 'http://192.0.2.9:8775');
    assert.equal(upstreamUrl('::1', 80), 'http://[::1]:80');
  });

  it('is a JSON round trip through parseMetadataProxyState', () => {
    const state = metadataProxyState(modelOf(fixture()));
    assert.deepEqual(parseMetadataProxyState(JSON.parse(JSON.stringify(state))), state);
  });
});

describe('parseMetadataProxyState', () => {
  const good = {
    upstream: 'http://[::1]:9697',
    listeners: [{ networkId: 'n', ifname: 'ge2', address: '127.0.0.2', port: 0, tenantId: 't', instances: { '127.0.0.010': 'd' }, sources: ['127.0.0.0/8'] }],
  };

  it('canonicalises addresses', () => {
    assert.throws(() => parseMetadataProxyState(good), /instances: 127\.0\.0\.010 is not an IP address/);
    const state = parseMetadataProxyState({
      ...good,
      listeners: [{ ...good.listeners[0], address: '::0001', instances: { 'FD00::0:5': 'd' }, sources: ['FD00::5/64', '127.0.0.9/8'] }],
    });
    assert.equal(state.listeners[0]!.address, '::1');
    assert.deepEqual(state.listeners[0]!.instances, { 'fd00::5': 'd' });
    assert.deepEqual(state.listeners[0]!.sources, ['fd00::/64', '127.0.0.0/8']);
  });

  it('names the bad field', () => {
    const l = { networkId: 'n', ifname: 'ge2', address: '127.0.0.2', port: 9602, tenantId: 't', instances: {}, sources: ['127.0.0.0/8'] };
    const cases: [unknown, RegExp][] = [
      [[], /\/: must be an object/],
      [{ listeners: [] }, /\/upstream: must be a string/],
      [{ upstream: 'ftp://x', listeners: [] }, /\/upstream: must be http/],
      [{ upstream: 'http://x:1/path', listeners: [] }, /\/upstream: must be http/],
      [{ upstream: 'http://x:1' }, /\/listeners: must be an array/],
      [{ upstream: 'http://x:1', listeners: [{ ...l, address: 'nope' }] }, /\/listeners\/0\/address/],
      [{ upstream: 'http://x:1', listeners: [{ ...l, port: 70000 }] }, /\/listeners\/0\/port/],
      [{ upstream: 'http://x:1', listeners: [{ ...l, tenantId: 5 }] }, /\/listeners\/0\/tenantId/],
      [{ upstream: 'http://x:1', listeners: [l, l] }, /\/listeners\/1: 127\.0\.0\.2 port 9602 is listed twice/],
      [{ upstream: 'http://x:1', listeners: [{ ...l, sources: undefined }] }, /\/listeners\/0\/sources: must be an array of prefixes/],
      [{ upstream: 'http://x:1', listeners: [{ ...l, sources: ['127.0.0.0/8', '127.0.0.1'] }] }, /\/listeners\/0\/sources\/1: must be a prefix/],
    ];
    for (const [value, message] of cases) assert.throws(() => parseMetadataProxyState(value), message);
  });
});
