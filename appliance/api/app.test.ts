// The v1 API in-process (supertest against createApp): a real ApplyEngine
// with fake subsystems, the shared fake command runner for everything the
// agent would run, and the harness router's four interfaces. Every route and
// status code, the bounds of a request body, and the warnings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { MAX_BODY_DEPTH, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MAX_PROBLEMS_LISTED } from '../../contract/index.js';
import { FakeRunner } from '../../test/support/fake-runner.js';
import { ApplyEngine, CheckFailedError, type Subsystem } from '../engine/engine.js';
import { RepushGuard } from '../engine/repush.js';
import { DaemonRegistry } from '../host/daemons.js';
import { InterfaceNames, type IpLink } from '../host/interfaces.js';
import type { VrrpStatus } from '../host/vrrp.js';
import { BODIES_AT_ONCE, BODIES_WAITING, createApp } from './app.js';
import type { LoadBalancerStatus } from '../drivers/loadbalancer/status.js';
import { AgentMetrics, type HaView, type LoadBalancerView } from './metrics.js';
import { ALL_SERVICES, type EnabledServices } from './services.js';
import { GatewayProbe } from './status.js';
import { StatsCollector } from './stats.js';

type Doc = Record<string, unknown> & { networks: { interface: { addresses: string[] } }[]; orchestrator: Record<string, unknown> };
interface ErrorBody {
  error: string;
  details: { path?: string; message: string }[];
}
interface BadEntry {
  readonly name: string;
  readonly document: unknown;
  readonly path: string;
}

const fixtures = new URL('../../test/fixtures/', import.meta.url);
const GOOD_TEXT = readFileSync(new URL('documents/harness-router.json', fixtures), 'utf8');
const good = (): Doc => JSON.parse(GOOD_TEXT) as Doc;
/** The notes' load balancer on the harness host: ge1 carries the VIP, ge0 the API's address. */
const loadBalancerDocument = (): Doc => {
  const doc = JSON.parse(readFileSync(new URL('documents/loadbalancer-notes-8.2.json', fixtures), 'utf8')) as Doc;
  doc.networks[1]!.interface.addresses = [`${LISTEN}/64`];
  return doc;
};
const CORPUS = JSON.parse(readFileSync(new URL('bad-documents.json', fixtures), 'utf8')) as BadEntry[];
const LISTEN = 'fdca:3ba5:a17a:acda::2';

/** The harness router: eth0..eth3, MACs 02:00:00:00:01:00..03, the API address on eth0. */
function links(): IpLink[] {
  const ether = (i: number): IpLink => ({
    ifindex: i + 2,
    ifname: `eth${i}`,
    flags: ['BROADCAST', 'UP'],
    mtu: 1500,
    link_type: 'ether',
    address: `02:00:00:00:01:0${i}`,
    addr_info: i === 0 ? [{ family: 'inet6', local: LISTEN, prefixlen: 64 }] : [],
  });
  return [{ ifindex: 1, ifname: 'lo', flags: ['UP'], mtu: 65536, link_type: 'loopback', addr_info: [] }, ...[0, 1, 2, 3].map(ether)];
}

const stats64 = { rx: { bytes: 10, packets: 1, errors: 0, dropped: 0 }, tx: { bytes: 20, packets: 2, errors: 0, dropped: 0 } };

/** What the fake subsystems are told to do by a test. */
interface Behaviour {
  refuse?: string;
  failApply?: string;
}

function subsystems(behaviour: Behaviour): Subsystem<string>[] {
  return [
    {
      name: 'hostname',
      render: (model) => model.hostname,
      check: (desired) => (behaviour.refuse === undefined ? Promise.resolve() : Promise.reject(new CheckFailedError('hostname', `${behaviour.refuse} (${desired})`))),
      async apply(desired, context) {
        await context.runner.change(['hostname', desired]);
        return { changed: true };
      },
    },
    {
      name: 'dhcp',
      render: (model) => String(model.networks.length),
      apply: (_desired) => (behaviour.failApply === undefined ? Promise.resolve({ changed: false }) : Promise.reject(new Error(behaviour.failApply))),
    },
  ];
}

class Harness {
  readonly lines: Record<string, unknown>[] = [];
  readonly behaviour: Behaviour = {};
  readonly runner = new FakeRunner();
  readonly engine: ApplyEngine;
  readonly repush: RepushGuard;
  readonly app: ReturnType<typeof createApp>;
  /** What the live state's fingerprint reads as; a test changes it to make the host drift. */
  fingerprint = 'as applied';

  constructor(
    readonly stateDir: string,
    listenAddresses: readonly string[] = [LISTEN],
    options: { readonly services?: EnabledServices; readonly loadBalancer?: LoadBalancerView; readonly ha?: HaView; readonly verifyPeriodMs?: number } = {},
  ) {
    const logger = pino({ level: 'info' }, { write: (line: string) => void this.lines.push(JSON.parse(line) as Record<string, unknown>) });
    this.runner
      .on(/^ip -j -d addr show$/, { stdout: JSON.stringify(links()) })
      .on(/^ip -j -d link show$/, { stdout: JSON.stringify(links().map(({ addr_info: _addresses, ...link }) => link)) })
      .on(/^ip -j addr show to /, { stdout: '[]' })
      // The only address `ip addr show to` finds on the harness router: the API's, on eth0.
      .on(new RegExp(`^ip -j addr show to ${LISTEN}$`), { stdout: JSON.stringify(links().filter((link) => link.addr_info.length > 0)) })
      .on(/^ip -j -s -d addr show$/, { stdout: JSON.stringify(links().map((l) => ({ ...l, stats64 }))) })
      .on('iptables-save', { stdout: '# iptables-save of the fake host\n' })
      .on('ip6tables-save', { stdout: '# ip6tables-save of the fake host\n' })
      .on('ping', { exitCode: 0 });
    const interfaces = new InterfaceNames(this.runner);
    const daemons = new DaemonRegistry();
    const stats = new StatsCollector(this.runner, interfaces);
    this.engine = new ApplyEngine(stateDir, subsystems(this.behaviour), this.runner, logger, { realName: (generic) => generic.replace('ge', 'eth') });
    const metrics = new AgentMetrics(stats, daemons, () => this.engine.current?.generation ?? 0, options.loadBalancer, options.ha);
    this.engine.onReport((report) => metrics.applied(report));
    this.repush = new RepushGuard(this.engine, () => Promise.resolve({ state: this.fingerprint }), logger, options.verifyPeriodMs ?? 0);
    this.app = createApp({
      engine: this.engine,
      repush: this.repush,
      interfaces,
      runner: this.runner,
      probe: new GatewayProbe(this.runner),
      daemons,
      stats,
      metrics,
      logger,
      listenAddresses,
      services: options.services ?? ALL_SERVICES,
      ...(options.loadBalancer ? { loadBalancer: options.loadBalancer } : {}),
      ...(options.ha ? { ha: options.ha } : {}),
      version: '0.0.0-test',
      startedAt: Date.now(),
    });
  }

  /** Strings and bytes are sent as they are; anything else as JSON. */
  put(body: string | Buffer | object, contentType = 'application/json'): request.Test {
    return request(this.app)
      .put('/v1/system/config')
      .set('Content-Type', contentType)
      .serialize((raw: unknown) => raw as string)
      .send(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  }

  persisted(): Promise<string> {
    return readFile(join(this.stateDir, 'applied.json'), 'utf8');
  }
}

function details(body: unknown): ErrorBody['details'] {
  return (body as ErrorBody).details;
}

describe('the v1 API in-process', () => {
  let dir: string;
  let h: Harness;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-api-'));
    h = new Harness(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('routes', () => {
    it('GET and HEAD /v1/base, with and without the trailing slash', async () => {
      for (const path of ['/v1/base', '/v1/base/']) {
        const answer = await request(h.app).get(path).expect(200);
        assert.match(answer.type, /^text\/plain/);
        assert.match(answer.text, /active/);
      }
      await request(h.app).head('/v1/base').expect(200);
    });

    it('GET /v1/system/interfaces lists ge0..ge3 with their MACs; /v1/system/interface/ge2 and an unknown one', async () => {
      const all = await request(h.app).get('/v1/system/interfaces/').expect(200);
      const listed = (all.body as { interfaces: { ifname: string; lladdr: string; addresses: string[] }[] }).interfaces;
      assert.deepEqual(listed.map((i) => [i.ifname, i.lladdr]), [0, 1, 2, 3].map((i) => [`ge${i}`, `02:00:00:00:01:0${i}`]));
      assert.deepEqual(listed[0]!.addresses, [`${LISTEN}/64`]);
      const one = await request(h.app).get('/v1/system/interface/ge2').expect(200);
      assert.equal((one.body as { interface: { lladdr: string } }).interface.lladdr, '02:00:00:00:01:02');
      const missing = await request(h.app).get('/v1/system/interface/ge9').expect(404);
      assert.deepEqual(details(missing.body), [{ path: 'ifname', message: 'ge9 is not an interface of this appliance' }]);
    });

    it('PUT then GET /v1/system/config: the document as accepted, keys sorted, generation counted', async () => {
      assert.deepEqual((await request(h.app).get('/v1/system/config').expect(200)).body, { configuration: {} });
      const put = await h.put(GOOD_TEXT).expect(200);
      assert.deepEqual(put.body, { configuration: good(), generation: 1, warnings: [] });
      const get = await request(h.app).get('/v1/system/config/').expect(200);
      assert.deepEqual(get.body, { configuration: good() });
      const text = get.text;
      assert.ok(text.indexOf('"asn"') < text.indexOf('"default_v4_gateway"') && text.indexOf('"default_v4_gateway"') < text.indexOf('"hostname"'), 'keys are sorted');
      assert.deepEqual(h.runner.changes(), ['hostname ak-harness-router']);
      const wrapped = await h.put({ configuration: good() }).expect(200);
      assert.equal((wrapped.body as { generation: number }).generation, 2, 'the {"configuration": ...} wrapper is accepted');
    });

    it('GET /v1/system/apply: 404 before the first apply, then its report', async () => {
      const none = await request(h.app).get('/v1/system/apply').expect(404);
      assert.equal((none.body as ErrorBody).error, 'nothing has been applied yet');
      await h.put(GOOD_TEXT).expect(200);
      const report = (await request(h.app).get('/v1/system/apply/').expect(200)).body as { report: { ok: boolean; generation: number; steps: { subsystem: string; commands: number }[] } };
      assert.equal(report.report.ok, true);
      assert.equal(report.report.generation, 1);
      assert.deepEqual(report.report.steps.map((s) => [s.subsystem, s.commands]), [['hostname', 1], ['dhcp', 0], ['persist', 0]]);
    });

    it('GET /v1/status: reachability of the gateways, generation, last apply, daemons', async () => {
      const before = (await request(h.app).get('/v1/status').expect(200)).body as Record<string, unknown>;
      assert.equal(before.generation, 0);
      assert.equal(before.last_apply, null);
      await h.put(GOOD_TEXT).expect(200);
      const after = (await request(h.app).get('/v1/status/').expect(200)).body as Record<string, unknown>;
      assert.deepEqual([after.v4, after.v6, after.generation, after.version, after.daemons], [true, true, 1, '0.0.0-test', []]);
      const last = after.last_apply as { ok: boolean; generation: number; failed_step: string | null };
      assert.deepEqual([last.ok, last.generation, last.failed_step], [true, 1, null]);
      const pinged = h.runner.calls.filter((c) => c.argv[0] === 'ping').map((c) => c.argv.at(-1));
      assert.deepEqual(pinged.sort(), ['192.0.2.1', '2001:db8:e::1']);
      assert.equal(after.degraded, null);
    });

    it('a re-push of the same bytes, once the host is verified, answers as the apply did with no command and the same generation', async () => {
      const verified = new Harness(dir, [LISTEN], { verifyPeriodMs: 60_000 });
      const first = await verified.put(GOOD_TEXT).expect(200);
      assert.equal((await verified.repush.verify()).condition, 'verified');
      const calls = verified.runner.calls.length;
      const again = await verified.put(GOOD_TEXT).expect(200);
      assert.equal(again.text, first.text, 'the same answer, byte for byte');
      assert.equal(verified.runner.calls.length, calls, 'not one command, not even a read');
      const { report } = (await request(verified.app).get('/v1/system/apply').expect(200)).body as { report: { generation: number; reused: boolean; steps: { commands: number; changed: boolean }[] } };
      assert.equal(report.generation, 1);
      assert.equal(report.reused, true);
      assert.ok(report.steps.length > 0 && report.steps.every((s) => s.commands === 0 && !s.changed));
      const status = (await request(verified.app).get('/v1/status').expect(200)).body as { generation: number; live_state: { condition: string } };
      assert.deepEqual([status.generation, status.live_state.condition], [1, 'verified']);
    });

    it('a re-push is applied in full when the host drifted, when asked with no-cache, when the bytes differ, or before any verification', async () => {
      const verified = new Harness(dir, [LISTEN], { verifyPeriodMs: 60_000 });
      const generationOf = async (answer: Promise<request.Response>) => ((await answer).body as { generation: number }).generation;
      assert.equal(await generationOf(verified.put(GOOD_TEXT).expect(200)), 1);
      await verified.repush.verify();
      assert.equal(await generationOf(verified.put(GOOD_TEXT).set('Cache-Control', 'no-cache').expect(200)), 2, 'no-cache applies in full');
      await verified.repush.verify();
      assert.equal(await generationOf(verified.put(GOOD_TEXT).expect(200)), 2, 'verified again: reused');
      verified.fingerprint = 'a rule was deleted by hand';
      assert.equal((await verified.repush.verify()).condition, 'drifted');
      const changes = verified.runner.changes().length;
      assert.equal(await generationOf(verified.put(GOOD_TEXT).expect(200)), 3, 'drifted: applied in full');
      assert.equal(verified.runner.changes().length, changes + 1, 'the apply ran its command');
      await verified.repush.verify();
      assert.equal(verified.repush.state.condition, 'verified', 'the repaired host is the new baseline');
      assert.equal(await generationOf(verified.put(`${GOOD_TEXT} `).expect(200)), 4, 'other bytes: applied in full');
      const never = new Harness(dir, [LISTEN], { verifyPeriodMs: 0 });
      await never.put(GOOD_TEXT).expect(200);
      await never.repush.verify();
      assert.equal(await generationOf(never.put(GOOD_TEXT).expect(200)), 6, 'with verification off every re-push is applied');
    });

    it('GET /v1/status says degraded while the persisted document is not on the host', async () => {
      h.engine.markDegraded('the persisted configuration no longer validates on this host');
      const status = (await request(h.app).get('/v1/status').expect(200)).body as { degraded: { reason: string } | null };
      assert.match(status.degraded?.reason ?? '', /no longer validates/);
    });

    it('GET /v1/system/stats, /metrics and /v1/firewall/rules', async () => {
      await h.put(GOOD_TEXT).expect(200);
      const stats = (await request(h.app).get('/v1/system/stats').expect(200)).body as { interfaces: Record<string, { rx_bytes: number; tx_packets: number }> };
      assert.deepEqual(Object.keys(stats.interfaces), ['ge0', 'ge1', 'ge2', 'ge3']);
      assert.equal(stats.interfaces.ge2!.rx_bytes, 10);
      const metrics = await request(h.app).get('/metrics').expect(200);
      assert.match(metrics.text, /^astara_config_generation 1$/m);
      assert.match(metrics.text, /^astara_applies_total\{result="ok"\} 1$/m);
      const rules = await request(h.app).get('/v1/firewall/rules').expect(200);
      assert.match(rules.type, /^text\/plain/);
      assert.equal(rules.text, '# iptables-save of the fake host\n# ip6tables-save of the fake host\n');
    });

    it('GET /v1/loadbalancer/status: 404 without a load balancer, else every status; /metrics has the same and the traffic', async () => {
      await request(h.app).get('/v1/loadbalancer/status').expect(404);
      let status: LoadBalancerStatus | undefined;
      const lb = new Harness(dir, [LISTEN], { loadBalancer: { status: () => status, traffic: () => Promise.resolve([{ listener_id: 'web', protocol_port: 80, connections: 12, requests: 40 }]) } });
      const none = await request(lb.app).get('/v1/loadbalancer/status/').expect(404);
      assert.deepEqual(none.body, { error: 'no load balancer is configured', details: [{ path: '/services/loadbalancer', message: 'the applied configuration has no load balancer' }] });
      const since = '2026-01-02T03:04:05.000Z';
      status = {
        id: 'lb',
        name: 'web-lb',
        vip_address: '198.51.100.10',
        operating_status: 'DEGRADED',
        since,
        reason: '1 of 1 listeners are degraded or failing',
        listeners: [
          {
            id: 'web',
            name: 'http',
            protocol: 'HTTP',
            protocol_port: 80,
            pool_id: 'pool',
            operating_status: 'DEGRADED',
            since,
            reason: '1 of 2 members held down by the health monitor',
            members: [
              { id: 'm1', address: '198.51.100.21', protocol_port: 8080, weight: 1, operating_status: 'ONLINE', since, reason: 'monitoring started' },
              { id: 'm2', address: '198.51.100.22', protocol_port: 8080, weight: 1, operating_status: 'OFFLINE', since, reason: '3 consecutive TCP probes failed' },
            ],
          },
        ],
      };
      assert.deepEqual((await request(lb.app).get('/v1/loadbalancer/status').expect(200)).body, { loadbalancer: status });
      const metrics = (await request(lb.app).get('/metrics').expect(200)).text;
      assert.match(metrics, /^astara_lb_status\{status="DEGRADED"\} 1$/m);
      assert.match(metrics, /^astara_lb_listener_status\{listener="web",port="80",status="DEGRADED"\} 1$/m);
      assert.match(metrics, /^astara_lb_member_status\{listener="web",member="m2",address="198.51.100.22",port="8080",status="OFFLINE"\} 1$/m);
      assert.match(metrics, /^astara_lb_member_status_since_seconds\{listener="web",member="m2",address="198.51.100.22",port="8080"\} 1767323045$/m);
      assert.match(metrics, /^astara_lb_listener_connections\{listener="web",port="80"\} 12$/m);
      assert.match(metrics, /^astara_lb_listener_requests\{listener="web",port="80"\} 40$/m);
      status = undefined;
      assert.doesNotMatch((await request(lb.app).get('/metrics').expect(200)).text, /^astara_lb_/m);
    });

    it("GET /v1/status and /metrics: an HA pair member's VRRP state, none on a single router", async () => {
      assert.equal(((await request(h.app).get('/v1/status').expect(200)).body as { ha: unknown }).ha, null);
      let status: VrrpStatus | undefined = { state: 'MASTER', since: '2026-01-02T03:04:05.000Z', peer: 'fdca:3ba5:a17a:acda::3', transitions: 2 };
      const pair = new Harness(dir, [LISTEN], { ha: { status: () => status } });
      const body = (await request(pair.app).get('/v1/status/').expect(200)).body as { ha: unknown };
      assert.deepEqual(body.ha, { state: 'MASTER', since: '2026-01-02T03:04:05.000Z', peer: 'fdca:3ba5:a17a:acda::3' });
      const metrics = (await request(pair.app).get('/metrics').expect(200)).text;
      assert.match(metrics, /^astara_appliance_ha_state\{state="MASTER",peer="fdca:3ba5:a17a:acda::3"\} 1$/m);
      for (const other of ['INIT', 'BACKUP', 'FAULT', 'STOP']) assert.match(metrics, new RegExp(`^astara_appliance_ha_state\\{state="${other}",peer="fdca:3ba5:a17a:acda::3"\\} 0$`, 'm'));
      assert.match(metrics, /^astara_appliance_ha_state_since_seconds\{peer="fdca:3ba5:a17a:acda::3"\} 1767323045$/m);
      assert.match(metrics, /^astara_appliance_ha_transitions\{peer="fdca:3ba5:a17a:acda::3"\} 2$/m);
      status = undefined;
      assert.equal(((await request(pair.app).get('/v1/status').expect(200)).body as { ha: unknown }).ha, null);
      assert.doesNotMatch((await request(pair.app).get('/metrics').expect(200)).text, /^astara_appliance_ha_/m);
    });

    it('404 as JSON for an unknown route, 405 with Allow for a wrong method', async () => {
      const unknown = await request(h.app).get('/v1/nothing').expect(404);
      assert.deepEqual(unknown.body, { error: 'not found', details: [{ message: 'no route GET /v1/nothing' }] });
      const config = await request(h.app).delete('/v1/system/config/').expect(405);
      assert.equal(config.headers.allow, 'GET, HEAD, PUT');
      assert.match(details(config.body)[0]!.message, /DELETE is not allowed on \/v1\/system\/config; use GET, HEAD, PUT/);
      const status = await request(h.app).post('/v1/status').expect(405);
      assert.equal(status.headers.allow, 'GET, HEAD');
    });
  });

  describe('refusals', () => {
    it('415 for a body that is not JSON, or JSON in another charset', async () => {
      const plain = await h.put('hostname=x', 'text/plain').expect(415);
      assert.match(details(plain.body)[0]!.message, /Content-Type must be application\/json, not text\/plain/);
      const latin = await h.put(GOOD_TEXT, 'application/json; charset=latin1').expect(415);
      assert.match(details(latin.body)[0]!.message, /UTF-8, not latin1/);
      await h.put(GOOD_TEXT, 'application/json; charset=utf-8').expect(200);
    });

    it('400 for malformed JSON, an empty body and bytes that are not UTF-8', async () => {
      assert.equal(((await h.put('{"tenant_id": ').expect(400)).body as ErrorBody).error, 'malformed JSON');
      assert.deepEqual(details((await h.put('').expect(400)).body), [{ path: '', message: 'the body is empty' }]);
      const latin1 = Buffer.from('{"tenant_id": "caf\xe9"}', 'latin1');
      assert.deepEqual(details((await h.put(latin1).expect(400)).body), [{ path: '', message: 'the body is not valid UTF-8' }]);
      assert.equal(h.engine.applyCount, 0);
    });

    it('422 lists every problem with its path, warnings included', async () => {
      const doc = good();
      doc.hostname = 'bad host';
      doc.asn = 0;
      doc.orchestrator.metadata_port = 70000;
      doc.address_book = {};
      const schema = await h.put(doc).expect(422);
      assert.equal((schema.body as ErrorBody).error, 'invalid configuration');
      assert.deepEqual(details(schema.body).map((d) => d.path), ['/asn', '/hostname', '/orchestrator/metadata_port']);
      const crossField = good();
      crossField.default_v4_gateway = '198.51.100.200';
      crossField.orchestrator.address = '198.51.100.20';
      crossField.address_book = {};
      const answer = await h.put(crossField).expect(422);
      assert.deepEqual(details(answer.body).map((d) => d.path), ['/default_v4_gateway', '/orchestrator/address', '/address_book']);
      assert.equal(details(answer.body)[2]!.message, 'warning: unknown key, ignored');
      assert.equal(h.engine.applyCount, 0);
    });

    it('422 naming the field for every document of the bad corpus, and the applied document stays', async () => {
      await h.put(GOOD_TEXT).expect(200);
      const persisted = await h.persisted();
      const failures: string[] = [];
      for (const entry of CORPUS) {
        const answer = await h.put(JSON.stringify(entry.document));
        if (answer.status !== 422) failures.push(`${entry.name}: status ${answer.status}: ${answer.text}`);
        else if (!details(answer.body).some((d) => d.path === entry.path && d.message.length > 0)) failures.push(`${entry.name}: no error at ${entry.path}: ${answer.text}`);
      }
      assert.deepEqual(failures, []);
      assert.equal(h.engine.applyCount, 1);
      assert.equal(await h.persisted(), persisted);
      assert.deepEqual((await request(h.app).get('/v1/system/config').expect(200)).body, { configuration: good() });
    });

    it('422 from a daemon that refuses its configuration, naming the subsystem; nothing applied', async () => {
      h.behaviour.refuse = 'the checker said no';
      const answer = await h.put(GOOD_TEXT).expect(422);
      assert.deepEqual(answer.body, { error: 'a daemon refused its configuration', details: [{ path: 'hostname', message: 'the checker said no (ak-harness-router)' }] });
      assert.deepEqual(h.runner.changes(), []);
    });

    it('500 naming the failed step when an apply fails; the previous document stays', async () => {
      await h.put(GOOD_TEXT).expect(200);
      h.behaviour.failApply = 'dnsmasq did not start';
      const doc = good();
      doc.hostname = 'ak-other';
      const answer = await h.put(doc).expect(500);
      assert.deepEqual(answer.body, { error: 'apply failed and was rolled back', details: [{ path: 'dhcp', message: 'dnsmasq did not start' }] });
      assert.deepEqual((await request(h.app).get('/v1/system/config').expect(200)).body, { configuration: good() });
    });

    it('422 naming /services/loadbalancer for a load balancer on an appliance without the service; a router passes', async () => {
      const routerOnly = new Harness(dir, [LISTEN], { services: { services: new Set(['router']), source: '/etc/astara/services' } });
      const answer = await routerOnly.put(loadBalancerDocument()).expect(422);
      assert.deepEqual(answer.body, {
        error: 'the configuration needs a service this appliance does not run',
        details: [
          {
            path: '/services/loadbalancer',
            message: 'this appliance does not run the loadbalancer service (its services: router, from /etc/astara/services): build its image with DIB_ASTARA_ADVANCED_SERVICES including loadbalancer',
          },
        ],
      });
      assert.equal(routerOnly.engine.applyCount, 0);
      await routerOnly.put(GOOD_TEXT).expect(200);
      await h.put(loadBalancerDocument()).expect(200);
    });

    it('422 when the metadata upstream would be the address the API listens on', async () => {
      const other = new Harness(dir, [LISTEN, '192.0.2.200']);
      const doc = good();
      doc.orchestrator.address = '192.0.2.200';
      const answer = await other.put(doc).expect(422);
      assert.equal((answer.body as ErrorBody).error, 'the configuration would lock the agent out');
      assert.deepEqual(details(answer.body).map((d) => d.path), ['/orchestrator/address']);
    });

    it('422 when the document would remove the API address from the interface that holds it; a PUT reads the links and that holder, never every address', async () => {
      const doc = good();
      doc.networks[0]!.interface.addresses = ['fdca:3ba5:a17a:acda::99/64'];
      const answer = await h.put(doc).expect(422);
      assert.equal((answer.body as ErrorBody).error, 'the configuration would lock the agent out');
      assert.deepEqual(details(answer.body), [{ path: '/networks/0/interface/addresses', message: `would remove ${LISTEN}, the address the agent's API listens on` }]);
      await h.put(GOOD_TEXT).expect(200);
      const reads = h.runner.calls.filter((c) => !c.mutating).map((c) => c.argv.join(' '));
      assert.deepEqual([...new Set(reads.filter((r) => r.startsWith('ip ')))], ['ip -j -d link show', `ip -j addr show to ${LISTEN}`]);
    });
  });

  describe('bounds of a body', () => {
    it(`413 beyond ${MAX_DOCUMENT_BYTES} bytes, naming the limit; a body just under it is read`, async () => {
      const padding = (bytes: number) => {
        const doc = good();
        doc.padding = '';
        const room = bytes - JSON.stringify(doc).length;
        doc.padding = 'x'.repeat(room);
        const text = JSON.stringify(doc);
        assert.equal(Buffer.byteLength(text), bytes);
        return text;
      };
      const over = await h.put(padding(MAX_DOCUMENT_BYTES + 1)).expect(413);
      assert.deepEqual(over.body, { error: 'document too large', details: [{ message: `the limit is ${MAX_DOCUMENT_BYTES / 1048576} MiB (${MAX_DOCUMENT_BYTES} bytes)` }] });
      assert.equal(h.engine.applyCount, 0);
      const under = await h.put(padding(MAX_DOCUMENT_BYTES)).expect(200);
      assert.deepEqual((under.body as { warnings: unknown }).warnings, [{ path: '/padding', message: 'unknown key, ignored' }]);
    });

    it('a document nested thousands of levels deep is refused (422 naming the limit), never applied, persisted or answered 500', async () => {
      await h.put(GOOD_TEXT).expect(200);
      const persisted = await h.persisted();
      // The body: an unknown key holding lists 3,500 deep (refused on its bytes, before parsing) ...
      const deep = `${GOOD_TEXT.trimEnd().slice(0, -1)}, "deep": ${'['.repeat(3500)}${']'.repeat(3500)}}`;
      const unparsed = await h.put(deep).expect(422);
      assert.deepEqual(details(unparsed.body), [{ path: `/deep${'/0'.repeat(MAX_BODY_DEPTH - 1)}`, message: `nests deeper than ${MAX_BODY_DEPTH} levels of objects and lists (a document may nest ${MAX_DOCUMENT_DEPTH})` }]);
      // ... and one just past the document's own limit (parsed, then refused with the exact path).
      // The document is level 1, "deep" level 2: lists from level 3 to 33.
      const justPast = `${GOOD_TEXT.trimEnd().slice(0, -1)}, "deep": {"a/b": ${'['.repeat(MAX_DOCUMENT_DEPTH - 1)}${']'.repeat(MAX_DOCUMENT_DEPTH - 1)}}}`;
      const parsed = await h.put(justPast).expect(422);
      assert.deepEqual(details(parsed.body), [{ path: `/deep/a~1b${'/0'.repeat(MAX_DOCUMENT_DEPTH - 2)}`, message: `nests deeper than ${MAX_DOCUMENT_DEPTH} levels of objects and lists (the limit of a document)` }]);
      assert.equal(h.engine.applyCount, 1);
      assert.equal(await h.persisted(), persisted);
      assert.deepEqual((await request(h.app).get('/v1/system/config').expect(200)).body, { configuration: good() });
      // The deepest a document may be is accepted, wrapped or not.
      const deepest = JSON.parse(GOOD_TEXT) as Doc;
      let nested: unknown = [];
      for (let level = 2; level < MAX_DOCUMENT_DEPTH; level++) nested = [nested];
      deepest.deep = nested;
      await h.put(deepest).expect(200);
      await h.put({ configuration: deepest }).expect(200);
    });

    it(`lists at most ${MAX_PROBLEMS_LISTED} problems, and says how many more there are`, async () => {
      const doc = good();
      doc.static_routes = Array.from({ length: 300 }, () => ({ destination: '198.51.100.192/26', next_hop: '198.51.100.200' }));
      const answer = await h.put(doc).expect(422);
      const listed = details(answer.body);
      assert.equal(listed.length, MAX_PROBLEMS_LISTED + 1);
      assert.deepEqual(listed.at(-1), { path: '', message: `and ${300 - MAX_PROBLEMS_LISTED} more like these, not listed` });
    });

    describe('bodies at once', () => {
      let server: Server;
      let port: number;
      /** Requests whose headers the server has read. */
      let seen: number;
      beforeEach(async () => {
        seen = 0;
        server = h.app.listen(0, '127.0.0.1');
        server.on('request', () => seen++);
        await new Promise((resolve) => server.once('listening', resolve));
        port = (server.address() as AddressInfo).port;
      });
      afterEach(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });

      /** A PUT whose headers are sent now and whose body (`GOOD_TEXT`) is sent when `finish` is called. */
      function slowPut(): { readonly answer: Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>; finish(): void; readonly request: ClientRequest } {
        const body = Buffer.from(GOOD_TEXT);
        const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/v1/system/config', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } });
        const answer = new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
          req.on('response', (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          });
          req.on('error', reject);
        });
        req.flushHeaders();
        req.write(body.subarray(0, 10));
        return { answer, finish: () => req.end(body.subarray(10)), request: req };
      }

      it(`reads ${BODIES_AT_ONCE} bodies at once, keeps ${BODIES_WAITING} more waiting unread, and answers 503 with Retry-After beyond`, async () => {
        const reading = Array.from({ length: BODIES_AT_ONCE }, slowPut);
        await waitFor(() => seen === BODIES_AT_ONCE, 'the first bodies to be read');
        const waiting = Array.from({ length: BODIES_WAITING }, slowPut);
        for (const w of waiting) w.finish();
        await waitFor(() => seen === BODIES_AT_ONCE + BODIES_WAITING, 'the waiting requests to arrive');
        const refused = slowPut();
        const answer = await within(refused.answer, 'the answer to one PUT too many');
        assert.equal(answer.status, 503);
        assert.equal(answer.headers['retry-after'], '1');
        assert.deepEqual((JSON.parse(answer.body) as ErrorBody).error, 'busy');
        refused.request.destroy();
        // Nothing was applied while the first two bodies were still arriving, whatever the others had sent.
        assert.equal(h.engine.applyCount, 0);
        for (const r of reading) r.finish();
        const answers = await within(Promise.all([...reading, ...waiting].map((p) => p.answer)), 'every admitted PUT to be answered');
        assert.deepEqual(answers.map((a) => a.status), Array.from({ length: BODIES_AT_ONCE + BODIES_WAITING }, () => 200));
        assert.equal(h.engine.applyCount, BODIES_AT_ONCE + BODIES_WAITING);
      });

      it('an aborted body is an info line, not an unhandled error, and frees its place', async () => {
        const aborted = Array.from({ length: BODIES_AT_ONCE }, slowPut);
        const gone = aborted.map((a) => a.answer.catch(() => undefined));
        // Both places are taken by bodies still arriving; their clients go away.
        await waitFor(() => seen === BODIES_AT_ONCE, 'both bodies to be read');
        for (const a of aborted) a.request.destroy();
        await Promise.all(gone);
        await waitFor(() => h.lines.filter((l) => l.msg === 'the client aborted its request body').length === BODIES_AT_ONCE, 'an info line per aborted body');
        assert.deepEqual(h.lines.filter((l) => l.msg === 'unhandled error'), []);
        assert.ok(h.lines.filter((l) => l.msg === 'the client aborted its request body').every((l) => l.level === 30));
        const next = slowPut();
        next.finish();
        assert.equal((await within(next.answer, 'a PUT after the aborted ones')).status, 200);
      });
    });
  });

  describe('keys named like Object.prototype members', () => {
    it('toString, constructor and __proto__ are unknown keys warned about, and __proto__ is kept as sent everywhere', async () => {
      const text = `${GOOD_TEXT.trimEnd().slice(0, -1)}, "toString": 1, "constructor": {"name": "x"}, "__proto__": {"polluted": true}}`;
      const put = await h.put(text).expect(200);
      const sent = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(
        (put.body as { warnings: { path: string }[] }).warnings.map((w) => w.path).sort(),
        ['/__proto__', '/constructor', '/toString'],
      );
      // JSON.parse keeps "__proto__" as an own key; every answer and the persisted state must too.
      const answered = (JSON.parse(put.text) as { configuration: Record<string, unknown> }).configuration;
      const got = (JSON.parse((await request(h.app).get('/v1/system/config').expect(200)).text) as { configuration: Record<string, unknown> }).configuration;
      const persisted = (JSON.parse(await h.persisted()) as { document: Record<string, unknown> }).document;
      for (const [what, document] of [['PUT answer', answered], ['GET', got], ['persisted', persisted]] as const) {
        assert.ok(Object.hasOwn(document, '__proto__'), `${what} keeps __proto__`);
        assert.deepEqual(Object.getOwnPropertyDescriptor(document, '__proto__')?.value, { polluted: true }, what);
        assert.deepEqual(document, sent, what);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
});

/** A hang is a failure: every wait of these tests ends within a few seconds. */
const DEADLINE_MS = 5000;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
