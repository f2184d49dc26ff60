// Mutual TLS between the orchestrator and its appliances: with `[appliance_tls]`
// and `[local] agent_tls_*`, every agent serves HTTPS only, to clients with a
// certificate from the deployment's CA, and the orchestrator boots, checks and
// configures its routers over it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issue } from '../harness/certificates.js';
import { OrchestratorLab } from '../harness/orchestrator.js';
import { externalNetwork, resourceFile, routerSpec } from '../harness/resources.js';

const external = externalNetwork();
const router = routerSpec(1);

describe('the orchestrator and its appliances over mutual TLS', () => {
  let lab: OrchestratorLab;
  let dir: string;
  const file = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-tls-'));
    await issue(dir, 'ca', undefined, 'astara deployment CA');
    await issue(dir, 'appliance', 'ca', 'astara appliance', 'DNS:astara-appliance');
    await issue(dir, 'orchestrator', 'ca', 'astara orchestrator');
    lab = await OrchestratorLab.create({
      roles: [],
      resources: resourceFile(external, [router]),
      ini: {
        appliance_tls: { ca_file: file('ca.crt'), cert_file: file('orchestrator.crt'), key_file: file('orchestrator.key') },
        local: { agent_tls_cert: file('appliance.crt'), agent_tls_key: file('appliance.key'), agent_tls_client_ca: file('ca.crt') },
      },
    });
    await lab.start();
  });
  after(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('boots and configures the router over HTTPS', async () => {
    const view = await lab.waitConfigured(router.routerId);
    assert.equal(view.last_push?.ok, true);
  });

  it('the appliance refuses plain HTTP and clients without the CA’s certificate', async () => {
    const address = (await lab.resource(router.routerId))!.appliances[0]!.management_address!;
    const curl = (url: string, args: string[] = []) => lab.topology.exec('orch', ['curl', '-sS', '-g', '-k', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', ...args, url], { allowFailure: true });
    const plain = await curl(`http://[${address}]:5000/v1/base/`);
    assert.notEqual(plain.stdout, '200', 'plain HTTP');
    const anonymous = await curl(`https://[${address}]:5000/v1/base/`);
    assert.notEqual(anonymous.exitCode, 0, 'no client certificate');
    const orchestrator = await curl(`https://[${address}]:5000/v1/base/`, ['--cert', file('orchestrator.crt'), '--key', file('orchestrator.key')]);
    assert.equal(orchestrator.stdout, '200', orchestrator.stderr);
  });
});
