// The pieces the service wires per resource kind: the state path every
// enabled driver's appliances fit in, and one resource's state machine with
// its kind's driver, image and agent port.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { OrchestratorMetrics } from './api/metrics.js';
import type { ApplianceApi } from './core/instance-manager.js';
import { parseOptions } from './options.js';
import type { OrchestratorOptions } from './options-types.js';
import { LocalCompute } from './providers/local/compute.js';
import { LocalNetworkProvider } from './providers/local/network.js';
import { parseResourceFile } from './providers/local/resource-file.js';
import { buildResource, checkStatePath, StartupError } from './wiring.js';

describe('checkStatePath', () => {
  it('leaves room for the control sockets of the longest appliance name an enabled driver gives', () => {
    // `<state_path>/appliances/ak-router-<36>_1/state/bird/bird.ctl` (an HA member) is 80 bytes past the state path; ak-loadbalancer-<36> is 4 longer.
    assert.doesNotThrow(() => checkStatePath('/'.padEnd(27, 's'), ['router']));
    assert.throws(() => checkStatePath('/'.padEnd(28, 's'), ['router']), (error: unknown) => error instanceof StartupError && /is 1 bytes too long/.test(error.message));
    assert.doesNotThrow(() => checkStatePath('/'.padEnd(23, 's'), ['router', 'loadbalancer']));
    assert.throws(() => checkStatePath('/'.padEnd(24, 's'), ['router', 'loadbalancer']), /\[DEFAULT\] state_path \/s+ is 1 bytes too long: the appliances' control sockets under it would exceed 107 bytes/);
    assert.throws(() => checkStatePath('/'.padEnd(24, 's'), ['loadbalancer']), /is 1 bytes too long/);
  });
});

describe('buildResource', () => {
  const options = (drivers: string): OrchestratorOptions =>
    parseOptions(
      `[DEFAULT]\nenabled_drivers = ${drivers}\n[router]\nimage_uuid = router-image\n[loadbalancer]\nimage_uuid = lb-image\nmgt_service_port = 5001\n[local]\nresources = /r.json\n`,
    ).options;
  const parsed = parseResourceFile('{}', 'r.json', { managementNetworkId: 'mgmt-net', managementPrefix: 'fdca:3ba5:a17a:acda::/64' });
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.problems));
  const logger = pino({ level: 'silent' });
  const unreachable = () => Promise.reject(new Error('no appliance in this test'));
  const client: ApplianceApi = { status: unreachable, interfaces: unreachable, config: unreachable, pushConfig: unreachable };
  const deps = (drivers: string) => ({
    options: () => options(drivers),
    network: new LocalNetworkProvider(() => parsed.view),
    compute: new LocalCompute({ stateDir: '/nonexistent', logger }),
    client,
    metrics: new OrchestratorMetrics(),
    logger,
  });
  const hooks = { onDelete: () => undefined, onTransition: () => undefined };

  it('gives each enabled kind its own driver and image', () => {
    const lb = buildResource({ driver: 'loadbalancer', id: 'lb-1', tenantId: 't' }, deps('router,loadbalancer'), hooks);
    const router = buildResource({ driver: 'router', id: 'router-1', tenantId: 't' }, deps('router,loadbalancer'), hooks);
    assert.equal(lb?.instance.imageId, 'lb-image');
    assert.equal(router?.instance.imageId, 'router-image');
  });

  it('gives nothing to a kind that is not enabled, or that no driver handles', () => {
    assert.equal(buildResource({ driver: 'loadbalancer', id: 'lb-1', tenantId: 't' }, deps('router'), hooks), undefined);
    assert.equal(buildResource({ driver: 'router', id: 'router-1', tenantId: 't' }, deps('loadbalancer'), hooks), undefined);
    assert.equal(buildResource({ driver: 'vpn', id: 'vpn-1', tenantId: 't' }, deps('router,loadbalancer'), hooks), undefined);
  });
});
