// A document turning HA on, then off, on one real agent (the standard router
// lab; its peer never answers, so it becomes master on its own): the shared
// addresses and the routes through them move from the interfaces and routes
// subsystems to keepalived and back, and the single router ends exactly as
// it began, serving its guests.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { DhcpClient } from '../harness/dhclient.js';
import { waitFor } from '../harness/exec.js';
import { seenAs, startEchoServer } from '../harness/servers.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Status {
  ha: { state: string; peer: string } | null;
  daemons: { name: string; running: boolean }[];
}
interface Report {
  ok: boolean;
  steps: { subsystem: string; changed: boolean; commands: number }[];
}

const PEER = 'fdca:3ba5:a17a:acda::3';

describe('a document turning HA on and off', () => {
  let lab: Topology;
  let agent: Agent;
  let single: Record<string, unknown>;
  let pair: Record<string, unknown>;
  /** The single router's addresses, routes and sysctls, as the first document left them. */
  let before1: Awaited<ReturnType<typeof hostState>>;

  const put = async (body: object) => {
    const answer = await agent.request('PUT', '/v1/system/config', { body });
    assert.equal(answer.status, 200, answer.body);
  };
  const status = async () => (await agent.request('GET', '/v1/status/')).json<Status>();
  const running = async (name: string) => (await status()).daemons.some((d) => d.name === name && d.running);

  /** Global addresses of the data interfaces, the main routing tables (who added a route aside), the bind sysctls. */
  const hostState = async () => {
    const json = async <T>(argv: string[]) => JSON.parse((await lab.exec('router', argv)).stdout) as T;
    const links = await json<{ ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(['ip', '-j', 'addr', 'show']);
    const routes = async (family: string) =>
      (await json<{ dst: string; gateway?: string; dev: string }[]>(['ip', '-j', family, 'route', 'show', 'table', 'main'])).map((r) => `${r.dst} ${r.gateway ?? ''} ${r.dev}`).sort();
    const sysctl = async (name: string) => (await lab.exec('router', ['sysctl', '-n', name])).stdout.trim();
    return {
      addresses: links.flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort(),
      routes4: await routes('-4'),
      routes6: (await routes('-6')).filter((r) => !r.startsWith('fe80::') && !r.startsWith('multicast')),
      nonlocalBind: [await sysctl('net.ipv4.ip_nonlocal_bind'), await sysctl('net.ipv6.ip_nonlocal_bind')],
    };
  };

  before(async () => {
    lab = await routerLab();
    await startEchoServer(lab, 'ext', LAB.ext.v4);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    single = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Record<string, unknown>;
    pair = { ...single, ha_resource: true, ha_config: { peers: [PEER], priority: 100 } };
    await put(single);
    before1 = await hostState();
    assert.equal((await new DhcpClient(lab, 'tb').lease()).lease?.address, '198.51.100.74');
    assert.equal(await seenAs(lab, 'tb', `http://${LAB.ext.v4}:8080/`), '203.0.113.11');
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('hands the shared addresses and routes to keepalived, which holds them all as master', async () => {
    assert.deepEqual(before1.nonlocalBind, ['0', '0']);
    await put(pair);
    await waitFor('the member to be master on its own', async () => (await status()).ha?.state === 'MASTER', 20_000);
    assert.equal((await status()).ha?.peer, PEER);
    assert.ok((await running('keepalived')) && (await running('conntrackd')));
    await waitFor('keepalived to hold what the single router had', async () => {
      const now = await hostState();
      return JSON.stringify([now.addresses, now.routes4, now.routes6]) === JSON.stringify([before1.addresses, before1.routes4, before1.routes6]);
    });
    assert.deepEqual((await hostState()).nonlocalBind, ['1', '1']);
    const routes = (await lab.exec('router', ['ip', 'route', 'show', 'default'])).stdout;
    assert.match(routes, /proto keepalived/, 'the default route is keepalived\'s');
    assert.equal(await seenAs(lab, 'tb', `http://${LAB.ext.v4}:8080/`), '203.0.113.11');
  });

  it('runs no command when the HA document is pushed again, the interfaces leaving keepalived\'s addresses alone', async () => {
    await put(pair);
    const { steps, ok } = (await agent.request('GET', '/v1/system/apply')).json<{ report: Report }>().report;
    assert.ok(ok);
    assert.deepEqual(steps.filter((s) => s.subsystem !== 'persist' && (s.commands > 0 || s.changed)), []);
  });

  it('gives everything back to the single router when HA is turned off', async () => {
    await put(single);
    assert.equal((await status()).ha, null);
    assert.ok(!(await running('keepalived')) && !(await running('conntrackd')));
    assert.deepEqual(await hostState(), before1);
    const routes = (await lab.exec('router', ['ip', 'route', 'show', 'default'])).stdout;
    assert.doesNotMatch(routes, /keepalived/);
    assert.equal(await seenAs(lab, 'tb', `http://${LAB.ext.v4}:8080/`), '203.0.113.11');
  });
});
