// The v1 API of a real agent running in a network namespace: where it
// listens, what it reports about the live interfaces, how it accepts,
// rejects and persists documents.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_API_PORT, MAX_DOCUMENT_BYTES } from '../../contract/index.js';
import { Agent, REPO } from '../harness/agent.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface BadDocument {
  readonly name: string;
  readonly document: unknown;
  readonly status: number;
  readonly path: string;
}
interface ErrorBody {
  error: string;
  details: { path?: string; message: string }[];
}

const fixture = async <T>(name: string) => JSON.parse(await readFile(join(REPO, 'test/fixtures', name), 'utf8')) as T;

describe('v1 API of an agent in a namespace', () => {
  let lab: Topology;
  let agent: Agent;
  let good: Record<string, unknown>;

  before(async () => {
    lab = await routerLab();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    good = await fixture<Record<string, unknown>>('documents/harness-router.json');
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('answers on the management address and nowhere else', async () => {
    const base = await agent.request('GET', '/v1/base/');
    assert.equal(base.status, 200);
    assert.match(base.contentType, /^text\/plain/);
    assert.match(base.body, /active/);
    // The router's other interfaces get addresses only from a document; give
    // eth1 one by hand and check that nothing listens there.
    await lab.ip('router', ['addr', 'add', '192.0.2.2/24', 'dev', 'eth1']);
    const fromExt = await lab.exec('ext', ['curl', '-sS', '--max-time', '3', `http://192.0.2.2:${DEFAULT_API_PORT}/v1/base/`], { allowFailure: true });
    assert.equal(fromExt.exitCode, 7, `curl from the external side must be refused, got: ${fromExt.stderr}`);
    await lab.ip('router', ['addr', 'del', '192.0.2.2/24', 'dev', 'eth1']);
  });

  it('lists eth0..eth3 as ge0..ge3 with their real MACs', async () => {
    for (const path of ['/v1/system/interfaces', '/v1/system/interfaces/']) {
      const answer = await agent.request('GET', path);
      assert.equal(answer.status, 200);
      assert.match(answer.contentType, /^application\/json/);
      const { interfaces } = answer.json<{ interfaces: { ifname: string; lladdr: string; addresses: string[]; state: string; mtu: number }[] }>();
      assert.deepEqual(interfaces.map((i) => i.ifname), ['ge0', 'ge1', 'ge2', 'ge3']);
      assert.deepEqual(interfaces.map((i) => i.lladdr), [...LAB.routerMacs]);
      assert.ok(interfaces[0]!.addresses.includes(`${LAB.mgmtAddress}/64`));
      assert.equal(interfaces[0]!.state, 'up');
      assert.equal(interfaces[0]!.mtu, 1500);
    }
    const one = await agent.request('GET', '/v1/system/interface/ge2/');
    assert.equal(one.status, 200);
    assert.equal(one.json<{ interface: { lladdr: string } }>().interface.lladdr, LAB.routerMacs[2]);
    const missing = await agent.request('GET', '/v1/system/interface/ge9');
    assert.equal(missing.status, 404);
    assert.match(missing.json<ErrorBody>().details[0]!.message, /ge9/);
  });

  it('answers JSON errors for unknown routes, wrong methods, media types and malformed JSON', async () => {
    const unknown = await agent.request('GET', '/v1/nothing');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json<ErrorBody>().error, 'not found');
    const wrongMethod = await agent.request('DELETE', '/v1/system/config/');
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.json<ErrorBody>().details[0]!.message, /GET/);
    const notJson = await agent.request('PUT', '/v1/system/config', { body: 'hostname=x', contentType: 'text/plain' });
    assert.equal(notJson.status, 415);
    const malformed = await agent.request('PUT', '/v1/system/config', { body: '{"tenant_id": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json<ErrorBody>().error, 'malformed JSON');
  });

  it('accepts a valid document and returns it as accepted, with and without the trailing slash', async () => {
    const put = await agent.request('PUT', '/v1/system/config/', { body: good });
    assert.equal(put.status, 200, put.body);
    assert.deepEqual(put.json<{ configuration: unknown }>().configuration, good);
    for (const path of ['/v1/system/config', '/v1/system/config/']) {
      const get = await agent.request('GET', path);
      assert.equal(get.status, 200);
      assert.deepEqual(get.json<{ configuration: unknown }>().configuration, good);
    }
    // Keys are sorted in every JSON answer.
    const raw = (await agent.request('GET', '/v1/system/config')).body;
    assert.ok(raw.indexOf('"configuration"') < 2);
    const status = await agent.request('GET', '/v1/status/');
    assert.equal(status.status, 200);
    const body = status.json<{ v4: boolean; v6: boolean; generation: number }>();
    assert.equal(typeof body.v4, 'boolean');
    assert.equal(typeof body.v6, 'boolean');
    assert.ok(body.generation >= 1);
  });

  it('rejects every document of the bad corpus naming the field, and keeps the persisted one', async () => {
    await agent.request('PUT', '/v1/system/config', { body: good });
    const persistedPath = join(agent.stateDir, 'applied.json');
    const before = await readFile(persistedPath, 'utf8');
    const beforeMtime = (await stat(persistedPath)).mtimeMs;
    const corpus = await fixture<BadDocument[]>('bad-documents.json');
    assert.ok(corpus.length >= 30, `the corpus has ${corpus.length} documents`);
    const failures: string[] = [];
    for (const entry of corpus) {
      const answer = await agent.request('PUT', '/v1/system/config', { body: JSON.stringify(entry.document) });
      if (answer.status !== entry.status) {
        failures.push(`${entry.name}: status ${answer.status}, expected ${entry.status}: ${answer.body}`);
        continue;
      }
      const details = answer.json<ErrorBody>().details;
      if (!details.some((d) => d.path === entry.path && d.message.length > 0)) {
        failures.push(`${entry.name}: no error at ${entry.path}: ${answer.body}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(await readFile(persistedPath, 'utf8'), before);
    assert.equal((await stat(persistedPath)).mtimeMs, beforeMtime);
    const get = await agent.request('GET', '/v1/system/config');
    assert.deepEqual(get.json<{ configuration: unknown }>().configuration, good);
  });

  it('refuses a document nested thousands of levels deep (422 naming the limit) and keeps answering for the applied one', async () => {
    await agent.request('PUT', '/v1/system/config', { body: good });
    const persistedPath = join(agent.stateDir, 'applied.json');
    const before = await readFile(persistedPath, 'utf8');
    // The attack: an unknown key holding lists nested 3,500 deep.
    const deep = `${JSON.stringify(good).slice(0, -1)},"deep":${'['.repeat(3500)}${']'.repeat(3500)}}`;
    const answer = await agent.request('PUT', '/v1/system/config', { body: deep });
    assert.equal(answer.status, 422, answer.body);
    const [detail] = answer.json<ErrorBody>().details;
    assert.match(detail!.path ?? '', /^\/deep(\/0)+$/);
    assert.match(detail!.message, /nests deeper than \d+ levels of objects and lists \(a document may nest 32\)/);
    assert.equal(await readFile(persistedPath, 'utf8'), before);
    const get = await agent.request('GET', '/v1/system/config');
    assert.equal(get.status, 200);
    assert.deepEqual(get.json<{ configuration: unknown }>().configuration, good);
  });

  it('answers 413 naming the limit for a body beyond it', async () => {
    const tooLarge = `${JSON.stringify(good).slice(0, -1)},"padding":"${'x'.repeat(MAX_DOCUMENT_BYTES)}"}`;
    const answer = await agent.request('PUT', '/v1/system/config', { body: tooLarge });
    assert.equal(answer.status, 413, answer.body);
    assert.deepEqual(answer.json<ErrorBody>().details, [{ message: `the limit is ${MAX_DOCUMENT_BYTES / 1048576} MiB (${MAX_DOCUMENT_BYTES} bytes)` }]);
    assert.deepEqual((await agent.request('GET', '/v1/system/config')).json<{ configuration: unknown }>().configuration, good);
  });

  it('keeps a key named __proto__ as sent, in the answer, in GET and in the persisted state, with a warning', async () => {
    const text = `${JSON.stringify(good).slice(0, -1)},"__proto__":{"polluted":true},"toString":1}`;
    const put = await agent.request('PUT', '/v1/system/config', { body: text });
    assert.equal(put.status, 200, put.body);
    const sent = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(put.json<{ warnings: { path: string }[] }>().warnings.map((w) => w.path).sort(), ['/__proto__', '/toString']);
    const got = (await agent.request('GET', '/v1/system/config')).json<{ configuration: Record<string, unknown> }>().configuration;
    const persisted = (JSON.parse(await readFile(join(agent.stateDir, 'applied.json'), 'utf8')) as { document: Record<string, unknown> }).document;
    for (const document of [put.json<{ configuration: Record<string, unknown> }>().configuration, got, persisted]) {
      assert.ok(Object.hasOwn(document, '__proto__'));
      assert.deepEqual(document, sent);
    }
  });

  it('refuses a document that would remove the address the API listens on', async () => {
    const document = structuredClone(good) as { networks: { network_type: string; interface: { addresses: string[] } }[] };
    const management = document.networks.find((n) => n.network_type === 'management')!;
    management.interface.addresses = ['fdca:3ba5:a17a:acda::99/64'];
    const answer = await agent.request('PUT', '/v1/system/config', { body: document });
    assert.equal(answer.status, 422);
    assert.match(answer.json<ErrorBody>().details[0]!.message, /listens/);
  });

  it('stops cleanly on SIGTERM and re-applies the persisted document after a restart', async () => {
    await agent.request('PUT', '/v1/system/config', { body: good });
    const generation = (await agent.request('GET', '/v1/status')).json<{ generation: number }>().generation;
    assert.equal(await agent.stop(), 0);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
    const get = await agent.request('GET', '/v1/system/config');
    assert.deepEqual(get.json<{ configuration: unknown }>().configuration, good);
    const status = (await agent.request('GET', '/v1/status')).json<{ generation: number; last_apply: { ok: boolean } }>();
    assert.equal(status.generation, generation);
    assert.equal(status.last_apply.ok, true);
  });
});
