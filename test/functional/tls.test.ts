// Mutual TLS on the API (spec section 7): with the operator's CA and a
// certificate, only clients holding a certificate signed by that CA get in.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../harness/agent.js';
import { issue } from '../harness/certificates.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

describe('mutual TLS on the API', () => {
  let lab: Topology;
  let agent: Agent;
  let dir: string;
  const file = (name: string) => join(dir, name);

  before(async () => {
    lab = await routerLab();
    dir = lab.dir;
    await issue(dir, 'ca', undefined, 'astara test CA');
    await issue(dir, 'server', 'ca', 'appliance', `IP:${LAB.mgmtAddress}`);
    await issue(dir, 'client', 'ca', 'orchestrator');
    await issue(dir, 'rogue-ca', undefined, 'someone else');
    await issue(dir, 'rogue', 'rogue-ca', 'intruder');
    agent = await Agent.start(lab, {
      listen: [LAB.mgmtAddress],
      extraArgs: ['--tls-cert', file('server.crt'), '--tls-key', file('server.key'), '--tls-client-ca', file('ca.crt')],
      tlsCurlArgs: ['--cacert', file('ca.crt'), '--cert', file('client.crt'), '--key', file('client.key')],
    });
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('answers a client whose certificate the CA signed', async () => {
    const answer = await agent.request('GET', '/v1/system/interfaces');
    assert.equal(answer.status, 200);
    assert.equal(answer.json<{ interfaces: unknown[] }>().interfaces.length, 4);
  });

  it('refuses a client without a certificate, or with one from another CA, and plain HTTP', async () => {
    const url = `https://[${LAB.mgmtAddress}]:5000/v1/base/`;
    const curl = (args: string[]) => lab.exec('mgmt', ['curl', '-sS', '-g', '--max-time', '5', '--cacert', file('ca.crt'), ...args, url], { allowFailure: true });
    const anonymous = await curl([]);
    assert.notEqual(anonymous.exitCode, 0, 'no client certificate');
    const rogue = await curl(['--cert', file('rogue.crt'), '--key', file('rogue.key')]);
    assert.notEqual(rogue.exitCode, 0, 'a certificate from another CA');
    const plain = await lab.exec('mgmt', ['curl', '-sS', '-g', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://[${LAB.mgmtAddress}]:5000/v1/base/`], { allowFailure: true });
    assert.notEqual(plain.stdout, '200', 'plain HTTP');
    const good = await curl(['--cert', file('client.crt'), '--key', file('client.key')]);
    assert.equal(good.exitCode, 0, good.stderr);
  });
});
