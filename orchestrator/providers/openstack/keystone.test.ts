import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  endpointInterfaceOf,
  errorDetail,
  findEndpoint,
  identityUrl,
  parseTokenResponse,
  passwordAuthBody,
  renewalTime,
  type CatalogService,
  type KeystoneOptions,
} from './keystone.js';

const OPTIONS: KeystoneOptions = {
  authUrl: 'http://192.0.2.10:5000',
  username: 'astara',
  password: 'secret',
  projectName: 'service',
  userDomainName: 'Default',
  projectDomainName: 'Users',
  region: undefined,
  endpointType: 'public',
};

const CATALOG: CatalogService[] = [
  {
    type: 'network',
    name: 'neutron',
    endpoints: [
      { interface: 'public', region_id: 'RegionOne', url: 'http://192.0.2.20:9696/' },
      { interface: 'internal', region_id: 'RegionOne', url: 'http://198.51.100.20:9696' },
      { interface: 'public', region_id: 'RegionTwo', url: 'http://203.0.113.20:9696' },
    ],
  },
  { type: 'compute', endpoints: [{ interface: 'public', region: 'RegionTwo', url: 'http://203.0.113.30:8774/v2.1' }] },
];

describe('keystone', () => {
  it('accepts oslo\'s and Keystone v3\'s names of the endpoint interfaces, nothing else', () => {
    assert.equal(endpointInterfaceOf('publicURL'), 'public');
    assert.equal(endpointInterfaceOf('internalURL'), 'internal');
    assert.equal(endpointInterfaceOf('admin'), 'admin');
    assert.equal(endpointInterfaceOf('private'), undefined);
  });

  it('talks to the v3 API whether auth_url names the server or the API', () => {
    assert.equal(identityUrl('http://192.0.2.10:5000'), 'http://192.0.2.10:5000/v3');
    assert.equal(identityUrl('http://192.0.2.10:5000/v3/'), 'http://192.0.2.10:5000/v3');
    assert.equal(identityUrl('https://keystone.example/identity/'), 'https://keystone.example/identity/v3');
  });

  it('scopes the password authentication to the project, each name in its own domain', () => {
    assert.deepEqual(passwordAuthBody(OPTIONS), {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'astara', domain: { name: 'Default' }, password: 'secret' } } },
        scope: { project: { name: 'service', domain: { name: 'Users' } } },
      },
    });
  });

  it('counts a token\'s lifetime from its arrival on this machine\'s clock', () => {
    const token = parseTokenResponse(
      'gAAAA-token',
      { token: { issued_at: '2026-11-30T16:00:00.000000Z', expires_at: '2026-11-30T16:00:30.000000Z', catalog: CATALOG } },
      1_000_000,
    );
    assert.equal(token.value, 'gAAAA-token');
    assert.equal(token.issuedAt, 1_000_000);
    assert.equal(token.expiresAt, 1_030_000);
    assert.equal(token.catalog.length, 2);
  });

  it('refuses an answer without the token header or times', () => {
    assert.throws(() => parseTokenResponse(undefined, { token: {} }, 0), /X-Subject-Token/);
    assert.throws(() => parseTokenResponse('t', { token: { issued_at: 'soon' } }, 0), /issued_at or expires_at/);
    assert.throws(() => parseTokenResponse('t', { error: {} }, 0), /without a token object/);
  });

  it('renews a quarter of the lifetime ahead, at most two minutes ahead', () => {
    assert.equal(renewalTime({ issuedAt: 0, expiresAt: 30_000 }), 22_500);
    assert.equal(renewalTime({ issuedAt: 0, expiresAt: 3_600_000 }), 3_480_000);
  });

  it('finds the endpoint of the interface and region asked for', () => {
    assert.equal(findEndpoint(CATALOG, 'network', 'public', 'RegionOne'), 'http://192.0.2.20:9696');
    assert.equal(findEndpoint(CATALOG, 'network', 'internal', undefined), 'http://198.51.100.20:9696');
    assert.equal(findEndpoint(CATALOG, 'network', 'public', 'RegionTwo'), 'http://203.0.113.20:9696');
    assert.equal(findEndpoint(CATALOG, 'compute', 'public', 'RegionTwo'), 'http://203.0.113.30:8774/v2.1');
    assert.throws(() => findEndpoint(CATALOG, 'network', 'admin', undefined), /no admin endpoint of network/);
    assert.throws(() => findEndpoint(CATALOG, 'compute', 'public', 'RegionOne'), /no public endpoint of compute in region RegionOne/);
    assert.throws(() => findEndpoint(CATALOG, 'image', 'public', undefined), /no image service/);
  });

  it('reads the message of the services\' error bodies', () => {
    assert.equal(errorDetail({ NeutronError: { type: 'HTTPBadRequest', message: 'Cannot update read-only attribute status' } }), 'Cannot update read-only attribute status');
    assert.equal(errorDetail({ error: { code: 401, message: 'The request you have made requires authentication.' } }), 'The request you have made requires authentication.');
    assert.equal(errorDetail('Bad Gateway'), 'Bad Gateway');
    assert.equal(errorDetail(undefined), '');
  });
});
