import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../contract/index.js';
import { ALL_SERVICES, imageServices, parseServices, servicesProblems } from './services.js';

const model = (name: string): ConfigModel => {
  const result = validateDocument(JSON.parse(readFileSync(new URL(`../../test/fixtures/documents/${name}`, import.meta.url), 'utf8')));
  assert.ok(result.ok);
  return result.model;
};

describe('the services of an appliance', () => {
  it('are read from the lines (or commas) of the file the image element writes; unknown names are set aside', () => {
    assert.deepEqual(parseServices('router\nloadbalancer\n'), { services: new Set(['router', 'loadbalancer']), unknown: [] });
    assert.deepEqual(parseServices('router, vpn\n\n'), { services: new Set(['router']), unknown: ['vpn'] });
  });

  it('are every service when the image has no services file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-services-'));
    try {
      assert.deepEqual(await imageServices(join(dir, 'services')), { ...ALL_SERVICES, unknown: [] });
      await writeFile(join(dir, 'services'), 'router\n');
      assert.deepEqual(await imageServices(join(dir, 'services')), { services: new Set(['router']), source: join(dir, 'services'), unknown: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse a load balancer on an appliance without the loadbalancer service, naming it; a router passes', () => {
    const routerOnly = { services: new Set(['router'] as const), source: '/etc/astara/services' };
    assert.deepEqual(servicesProblems(model('loadbalancer-notes-8.2.json'), routerOnly), [
      {
        path: '/services/loadbalancer',
        message: 'this appliance does not run the loadbalancer service (its services: router, from /etc/astara/services): build its image with DIB_ASTARA_ADVANCED_SERVICES including loadbalancer',
      },
    ]);
    assert.deepEqual(servicesProblems(model('harness-router.json'), routerOnly), []);
    assert.deepEqual(servicesProblems(model('loadbalancer-notes-8.2.json'), ALL_SERVICES), []);
  });
});
