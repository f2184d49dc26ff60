// The OpenStack provider's Keystone session against a real Keystone (and
// Neutron behind it), whose tokens live TOKEN_LIFETIME_S seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeystoneSession, OpenStackApiError, type KeystoneOptions } from '../../orchestrator/providers/openstack/keystone.js';
import { waitFor } from '../harness/exec.js';
import { ADMIN, KEYSTONE_URL, NEUTRON_URL, ORCHESTRATOR, openStackRelease, openStackUp, rest, tokenOf, TOKEN_LIFETIME_S } from '../harness/openstack.js';

const OPTIONS: KeystoneOptions = {
  authUrl: KEYSTONE_URL,
  username: ORCHESTRATOR.username,
  password: ORCHESTRATOR.password,
  projectName: ORCHESTRATOR.projectName,
  userDomainName: 'Default',
  projectDomainName: 'Default',
  region: 'RegionOne',
  endpointType: 'public',
};

/** Whether Keystone still accepts `token` (validated with an admin token). */
async function keystoneAccepts(token: string): Promise<boolean> {
  const answer = await rest('GET', `${KEYSTONE_URL}/v3/auth/tokens`, await tokenOf(ADMIN), undefined, { 'x-subject-token': token });
  return answer.status === 200;
}

describe('OpenStack provider: Keystone', { timeout: 240_000 }, () => {
  before(openStackUp);
  after(openStackRelease);

  it('finds Neutron in the catalogue of the region and calls it with the token', async () => {
    const session = new KeystoneSession(OPTIONS);
    assert.equal(await session.endpoint('network'), NEUTRON_URL);
    const answer = await session.call('network', 'GET', '/v2.0/networks');
    assert.equal(answer.status, 200);
    assert.ok(Array.isArray((answer.body as { networks: unknown }).networks));
    await assert.rejects(new KeystoneSession({ ...OPTIONS, region: 'RegionTwo' }).endpoint('network'), /no public endpoint of network in region RegionTwo/);
  });

  it('keeps working across token expiry: renews before the token expires', async () => {
    const session = new KeystoneSession(OPTIONS);
    const first = await session.token();
    assert.ok(first.expiresAt - first.issuedAt <= TOKEN_LIFETIME_S * 1000, 'the test Keystone issues short-lived tokens');
    let renewedBeforeExpiry = false;
    let calls = 0;
    // Calls until well past the first token's expiry; each one must succeed.
    await waitFor(
      'the first token to expire',
      async () => {
        const answer = await session.call('network', 'GET', '/v2.0/routers');
        assert.equal(answer.status, 200);
        calls += 1;
        const current = await session.token();
        if (current.value !== first.value && Date.now() < first.expiresAt) renewedBeforeExpiry = true;
        return Date.now() > first.expiresAt + 2_000;
      },
      (TOKEN_LIFETIME_S + 30) * 1000,
    );
    assert.ok(calls > 10, `${calls} calls`);
    assert.ok(renewedBeforeExpiry, 'a new token was in use before the first one expired');
    assert.equal(await keystoneAccepts(first.value), false, 'Keystone no longer accepts the first token');
    assert.ok(session.tokensIssued >= 2);
  });

  it('gets a new token when a service refuses a revoked one', async () => {
    const session = new KeystoneSession(OPTIONS);
    const first = await session.token();
    const revoked = await rest('DELETE', `${KEYSTONE_URL}/v3/auth/tokens`, await tokenOf(ADMIN), undefined, { 'x-subject-token': first.value });
    assert.equal(revoked.status, 204);
    const answer = await session.call('network', 'GET', '/v2.0/networks');
    assert.equal(answer.status, 200);
    assert.notEqual((await session.token()).value, first.value);
  });

  it('names the user when the password is wrong', async () => {
    const session = new KeystoneSession({ ...OPTIONS, password: 'wrong' });
    await assert.rejects(session.call('network', 'GET', '/v2.0/networks'), (error: unknown) => {
      assert.ok(error instanceof OpenStackApiError);
      assert.equal(error.status, 401);
      assert.match(error.message, /password authentication of orchestrator failed/);
      return true;
    });
  });
});
