import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import type { OrchestratorControl, WorkersView } from '../core/control.js';
import type { CommandBody } from '../core/events.js';
import { bearerMatches, readAdminToken } from './access.js';
import { createAdminApp } from './admin.js';
import { OrchestratorMetrics } from './metrics.js';

const TOKEN = 'c0ns0le-t0ken';

const WORKERS: WorkersView = {
  shards: [],
  global_debug: { enabled: false, scope: null, reason: null },
  tenants_in_debug: [],
  resources_in_debug: [],
};

class RecordingControl implements OrchestratorControl {
  readonly bodies: CommandBody[] = [];
  command(body: CommandBody): Promise<void> {
    this.bodies.push(body);
    return Promise.resolve();
  }
  listResources() {
    return [];
  }
  getResource() {
    return undefined;
  }
  workers(): WorkersView {
    return WORKERS;
  }
}

function setup(adminToken?: string) {
  const control = new RecordingControl();
  const metrics = new OrchestratorMetrics({ resources: () => [], workers: () => WORKERS });
  const logger = pino({ level: 'silent' });
  return { control, app: createAdminApp({ control, metrics, logger, ...(adminToken === undefined ? {} : { adminToken }) }) };
}

describe('admin API access with admin_token_file', () => {
  it('refuses commands without the token or with a wrong one, and runs nothing', async () => {
    const { app, control } = setup(TOKEN);
    for (const header of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer']) {
      const req = request(app).put('/resource/rebuild/r1');
      const res = await (header === undefined ? req : req.set('Authorization', header)).expect(401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="astara"');
      assert.equal((res.body as { error: string }).error, 'unauthorized');
    }
    assert.deepEqual(control.bodies, []);
  });

  it('runs commands that carry the token', async () => {
    const { app, control } = setup(TOKEN);
    await request(app).put('/resource/rebuild/r1').set('Authorization', `Bearer ${TOKEN}`).expect(200, '0');
    await request(app).put('/poll').set('Authorization', `bearer  ${TOKEN}`).expect(200);
    assert.deepEqual(
      control.bodies.map((b) => b.command),
      ['resource-rebuild', 'poll'],
    );
  });

  it('wants the token for reads and metrics too, but not for the console files', async () => {
    const { app } = setup(TOKEN);
    for (const path of ['/v1/resources', '/v1/resources/r1', '/v1/workers', '/metrics', '/v1/events']) await request(app).get(path).expect(401);
    await request(app).get('/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    // Whatever the console answers (a page, or 503 when it is not built), it is not a 401.
    const page = await request(app).get('/ui/');
    assert.notEqual(page.status, 401);
    await request(app).post('/ui/').expect(401);
  });

  it('asks nothing when no token is configured', async () => {
    const { app, control } = setup();
    await request(app).get('/v1/workers').expect(200);
    await request(app).put('/poll').expect(200);
    assert.equal(control.bodies.length, 1);
  });
});

describe('bearerMatches', () => {
  it('accepts exactly the token', () => {
    assert.equal(bearerMatches(`Bearer ${TOKEN}`, TOKEN), true);
    assert.equal(bearerMatches(`Bearer ${TOKEN.slice(1)}`, TOKEN), false);
    assert.equal(bearerMatches(undefined, TOKEN), false);
    assert.equal(bearerMatches(`Bearer ${TOKEN} extra`, TOKEN), false);
  });
});

describe('readAdminToken', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-token-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the first line, trimmed', async () => {
    await writeFile(join(dir, 'token'), `  ${TOKEN}  \nignored\n`);
    assert.equal(await readAdminToken(join(dir, 'token')), TOKEN);
  });

  it('refuses an empty file or a token with spaces, naming the option', async () => {
    await writeFile(join(dir, 'empty'), '\n');
    await assert.rejects(readAdminToken(join(dir, 'empty')), /\[DEFAULT\] admin_token_file .*empty/);
    await writeFile(join(dir, 'spaced'), 'two words\n');
    await assert.rejects(readAdminToken(join(dir, 'spaced')), /\[DEFAULT\] admin_token_file .*printable ASCII/);
  });
});
