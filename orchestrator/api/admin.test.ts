import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import {
  BadCommandError,
  UnknownTargetError,
  type OrchestratorControl,
  type ResourceDetailView,
  type ResourceView,
  type WorkersView,
} from '../core/control.js';
import type { CommandBody } from '../core/events.js';
import { createAdminApp, parseCommandWords, UNKNOWN_ERROR } from './admin.js';
import { OrchestratorMetrics } from './metrics.js';

const RESOURCE: ResourceDetailView = {
  id: 'r1',
  driver: 'router',
  tenant_id: 't1',
  state: 'CalcAction',
  instance_state: 'configured',
  action: 'poll',
  queue_length: 0,
  boot_attempts: 0,
  ha: { requested: false, pair: false },
  appliances: [
    { name: 'ak-router-r1', id: 'i1', status: 'ACTIVE', health: 'answering', management_address: 'fdca:3ba5:a17a:acda::5', booted_at: '2024-05-01T10:00:00.000Z', ha: null, details: { namespace: 'ak-router-r1', agent_pid: 4242 } },
  ],
  last_push: { at: '2024-05-01T10:00:05.000Z', ok: true, duration_ms: 120, generation: 3, error: null },
  last_error: null,
  debug: { enabled: false, scope: null, reason: null },
  shard: 0,
  last_document: { hostname: 'ak-router-r1' },
  transitions: [{ at: '2024-05-01T10:00:04.000Z', from: 'CalcAction', to: 'ConfigureInstance', action: 'update', instance_state: 'up' }],
};

const WORKERS: WorkersView = {
  shards: [{ index: 0, queue_length: 2, runners_busy: 1, runners: [{ index: 0, status: 'updating r1' }], resources: 1, tenants: 1 }],
  global_debug: { enabled: false, scope: null, reason: null },
  tenants_in_debug: [],
  resources_in_debug: [],
};

function summary(detail: ResourceDetailView): ResourceView {
  const { last_document: _document, transitions: _transitions, ...view } = detail;
  return view;
}

/** Records every command; `failure` decides what a command throws. */
class FakeControl implements OrchestratorControl {
  readonly bodies: CommandBody[] = [];
  failure: ((body: CommandBody) => Error | undefined) | undefined;

  command(body: CommandBody): Promise<void> {
    this.bodies.push(body);
    const error = this.failure?.(body);
    return error ? Promise.reject(error) : Promise.resolve();
  }

  listResources(): ResourceView[] {
    return [summary(RESOURCE)];
  }

  getResource(id: string): ResourceDetailView | undefined {
    return id === RESOURCE.id ? RESOURCE : undefined;
  }

  workers(): WorkersView {
    return WORKERS;
  }
}

/** The JSON error every failing answer carries. */
function errorOf(res: request.Response): { error: string; details: { message: string }[] } {
  return res.body as { error: string; details: { message: string }[] };
}

function setup(lines: string[] = []) {
  const control = new FakeControl();
  const metrics = new OrchestratorMetrics({ resources: () => control.listResources(), workers: () => control.workers() });
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { control, metrics, app: createAdminApp({ control, metrics, logger }) };
}

describe('admin API command routes', () => {
  const cases: [string, CommandBody][] = [
    ['/poll', { command: 'poll' }],
    ['/poll/', { command: 'poll' }],
    ['/workers/debug', { command: 'workers-debug' }],
    ['/config/reload/', { command: 'config-reload' }],
    ['/global/debug/enable', { command: 'global-debug', enabled: 1 }],
    ['/global/debug/disable/--reason/maintenance%20window', { command: 'global-debug', enabled: 0, reason: 'maintenance window' }],
    ['/global/debug/ENABLE', { command: 'global-debug', enabled: 1 }],
    ['/resource/debug/ABC-1', { command: 'resource-debug', resource_id: 'abc-1', tenant_id: '*' }],
    ['/resource/debug/r1/--reason/some%20text', { command: 'resource-debug', resource_id: 'r1', tenant_id: '*', reason: 'some text' }],
    ['/resource/debug/r1/--reason=a%2Fb', { command: 'resource-debug', resource_id: 'r1', tenant_id: '*', reason: 'a/b' }],
    ['/resource/manage/r1', { command: 'resource-manage', resource_id: 'r1', tenant_id: '*' }],
    ['/resource/update/r1/', { command: 'resource-update', resource_id: 'r1', tenant_id: '*' }],
    ['/resource/rebuild/r1', { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*' }],
    ['/resource/rebuild/r1/--image_uuid/img-1', { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*', image_uuid: 'img-1' }],
    ['/resource/rebuild/r1/--image-uuid/img-2/--reason/new%20image', { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*', image_uuid: 'img-2', reason: 'new image' }],
    ['//resource//update//r1//', { command: 'resource-update', resource_id: 'r1', tenant_id: '*' }],
    ['/router/debug/R1/--reason/some%20text', { command: 'router-debug', router_id: 'r1', reason: 'some text' }],
    ['/router/manage/r1', { command: 'router-manage', router_id: 'r1' }],
    ['/router/update/r1', { command: 'router-update', router_id: 'r1' }],
    ['/router/rebuild/r1', { command: 'router-rebuild', router_id: 'r1' }],
    ['/router/rebuild/error', { command: 'router-rebuild', router_id: 'error', tenant_id: 'error' }],
    ['/router/update/*', { command: 'router-update', router_id: '*', tenant_id: '*' }],
    ['/tenant/debug/T1/--reason/noisy', { command: 'tenant-debug', tenant_id: 'T1', reason: 'noisy' }],
    ['/tenant/manage/t1', { command: 'tenant-manage', tenant_id: 't1' }],
  ];
  for (const [path, body] of cases) {
    it(`PUT ${path} sends ${JSON.stringify(body)} and answers 0`, async () => {
      const { app, control } = setup();
      const res = await request(app).put(path).expect(200);
      assert.equal(res.text, '0');
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.deepEqual(control.bodies, [body]);
    });
  }

  it('answers 404 for command names that do not exist, without sending anything', async () => {
    const { app, control } = setup();
    for (const path of ['/', '/frobnicate', '/resource/explode/r1', '/resource', '/list', '/Poll']) {
      const res = await request(app).put(path).expect(404);
      assert.equal(typeof errorOf(res).error, 'string', path);
      assert.ok(Array.isArray(errorOf(res).details), path);
    }
    assert.deepEqual(control.bodies, []);
  });

  it('answers 400 for bad arguments, without sending anything', async () => {
    const { app, control } = setup();
    const bad: [string, RegExp][] = [
      ['/resource/debug', /required: resource_id/],
      ['/resource/debug/', /required: resource_id/],
      ['/router/rebuild', /required: router_id/],
      ['/tenant/manage', /required: tenant_id/],
      ['/global/debug', /required: status/],
      ['/global/debug/maybe', /enable or disable/],
      ['/resource/debug/r1/--force', /unrecognized arguments: --force/],
      ['/resource/debug/r1/--reason', /--reason: expected one argument/],
      ['/resource/debug/r1/--reason/--image_uuid/x', /--reason: expected one argument/],
      ['/resource/update/r1/--image_uuid/x', /unrecognized arguments: --image_uuid/],
      ['/resource/debug/r1/r2', /unrecognized arguments: r2/],
      ['/poll/now', /unrecognized arguments: now/],
      ['/tenant/debug/t1/--reason=', /--reason: expected one argument/],
      ['/resource/debug/%E0%A4%A', /not valid URL encoding/],
    ];
    for (const [path, message] of bad) {
      const res = await request(app).put(path).expect(400);
      assert.equal(errorOf(res).error, 'bad arguments', path);
      assert.match(errorOf(res).details[0]!.message, message, path);
    }
    assert.deepEqual(control.bodies, []);
  });

  it('maps UnknownTargetError to 404, BadCommandError to 400 and anything else to the original 500', async () => {
    const { app, control } = setup();
    control.failure = () => new UnknownTargetError('no resource ghost');
    const unknown = await request(app).put('/resource/rebuild/ghost').expect(404);
    assert.deepEqual(unknown.body, { error: 'unknown target', details: [{ message: 'no resource ghost' }] });

    control.failure = () => new BadCommandError('cannot debug every resource');
    const bad = await request(app).put('/resource/debug/*').expect(400);
    assert.deepEqual(bad.body, { error: 'bad command', details: [{ message: 'cannot debug every resource' }] });

    control.failure = () => new Error('database is on fire');
    const broken = await request(app).put('/poll').expect(500);
    assert.deepEqual(broken.body, { error: UNKNOWN_ERROR, details: [] });
    assert.equal(UNKNOWN_ERROR, 'An unknown error has occurred. Please try your request again.');
    assert.equal(control.bodies.length, 3);
  });

  it('answers 405 with Allow: PUT for other methods on command routes', async () => {
    const { app, control } = setup();
    for (const path of ['/poll', '/resource/debug/r1', '/global/debug/enable']) {
      const res = await request(app).get(path).expect(405);
      assert.equal(res.headers.allow, 'PUT', path);
      assert.equal(errorOf(res).error, 'method not allowed');
    }
    const post = await request(app).post('/workers/debug').expect(405);
    assert.equal(post.headers.allow, 'PUT');
    assert.deepEqual(control.bodies, []);
  });

  it('refuses the interactive commands with 501', async () => {
    const { app, control } = setup();
    for (const path of ['/browse', '/ssh/r1', '/ssh']) {
      const res = await request(app).put(path).expect(501);
      assert.equal(errorOf(res).error, 'not implemented', path);
    }
    assert.deepEqual(control.bodies, []);
  });

  it('parses command words like the original command line', () => {
    assert.deepEqual(parseCommandWords(['resource', 'rebuild', 'R1', '--image_uuid', 'img']), {
      kind: 'command',
      body: { command: 'resource-rebuild', resource_id: 'r1', tenant_id: '*', image_uuid: 'img' },
    });
    assert.deepEqual(parseCommandWords(['ssh', 'r1', 'ls']), { kind: 'interactive', name: 'ssh' });
    assert.equal(parseCommandWords(['router']).kind, 'unknown');
  });
});

describe('admin API reads', () => {
  it('lists the resources with sorted keys', async () => {
    const { app } = setup();
    const res = await request(app).get('/v1/resources').expect(200);
    assert.deepEqual(res.body, { resources: [summary(RESOURCE)] });
    const keys = [...res.text.matchAll(/"(\w+)":/g)].map((m) => m[1]!);
    const top = keys.slice(1, 6);
    assert.deepEqual(top, ['action', 'appliances', 'booted_at', 'details', 'agent_pid']);
  });

  it('answers trailing slashes and HEAD', async () => {
    const { app } = setup();
    await request(app).get('/v1/resources/').expect(200);
    await request(app).head('/v1/workers').expect(200);
  });

  it('shows one resource, or 404 for an unknown one', async () => {
    const { app } = setup();
    const res = await request(app).get('/v1/resources/r1').expect(200);
    assert.deepEqual(res.body, { resource: RESOURCE });
    const upper = await request(app).get('/v1/resources/R1').expect(200);
    assert.equal((upper.body as { resource: ResourceView }).resource.id, 'r1');
    const missing = await request(app).get('/v1/resources/ghost').expect(404);
    assert.equal(errorOf(missing).error, 'no such resource');
    assert.match(errorOf(missing).details[0]!.message, /ghost/);
  });

  it('shows the workers', async () => {
    const { app } = setup();
    const res = await request(app).get('/v1/workers').expect(200);
    assert.deepEqual(res.body, { workers: WORKERS });
  });

  it('answers 405 with Allow: GET, HEAD for other methods on reads', async () => {
    const { app } = setup();
    for (const path of ['/v1/resources', '/v1/resources/r1', '/v1/workers', '/metrics']) {
      const res = await request(app).put(path).expect(405);
      assert.equal(res.headers.allow, 'GET, HEAD', path);
    }
    const del = await request(app).delete('/v1/resources/r1').expect(405);
    assert.equal(del.headers.allow, 'GET, HEAD');
  });

  it('answers 404 in JSON for unknown paths', async () => {
    const { app } = setup();
    for (const path of ['/v1/nothing', '/v1/resources/r1/extra', '/v2']) {
      const res = await request(app).get(path).expect(404);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.equal(errorOf(res).error, 'not found', path);
    }
  });

  it('serves the Prometheus metrics', async () => {
    const { app, metrics } = setup();
    metrics.push(true, 0.2);
    metrics.boot('router');
    const res = await request(app).get('/metrics').expect(200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'astara_orchestrator_resources_by_state{state="CalcAction"} 1',
      'astara_orchestrator_resources_by_instance_state{instance_state="configured"} 1',
      'astara_orchestrator_pushes_total{result="ok"} 1',
      'astara_orchestrator_boots_total{driver="router"} 1',
      'astara_orchestrator_queue_length{shard="0"} 2',
      'astara_orchestrator_process_resident_memory_bytes',
    ]) {
      assert.ok(res.text.includes(name), name);
    }
  });

  it('logs one JSON line per request', async () => {
    const lines: string[] = [];
    const { app } = setup(lines);
    await request(app).put('/resource/debug/r1/--reason/x').expect(200);
    await request(app).get('/v1/nothing').expect(404);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    assert.equal(requests.length, 2);
    assert.deepEqual(
      requests.map(({ method, url, status }) => ({ method, url, status })),
      [
        { method: 'PUT', url: '/resource/debug/r1/--reason/x', status: 200 },
        { method: 'GET', url: '/v1/nothing', status: 404 },
      ],
    );
    assert.ok(requests.every((r) => typeof r.ms === 'number'));
  });
});
