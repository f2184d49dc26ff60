import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register } from 'prom-client';
import type { ApplianceView, ResourceView, WorkersView } from '../core/control.js';
import { OrchestratorMetrics } from './metrics.js';

function resource(id: string, state: string, instanceState: string): ResourceView {
  return {
    id,
    driver: 'router',
    tenant_id: 't1',
    state,
    instance_state: instanceState,
    action: 'poll',
    queue_length: 0,
    boot_attempts: 0,
    ha: { requested: false, pair: false },
    appliances: [],
    last_push: null,
    last_error: null,
    debug: { enabled: false, scope: null, reason: null },
    shard: 0,
  };
}

const WORKERS: WorkersView = {
  shards: [
    { index: 0, queue_length: 3, runners_busy: 1, runners: [], resources: 2, tenants: 1 },
    { index: 1, queue_length: 0, runners_busy: 0, runners: [], resources: 1, tenants: 1 },
  ],
  global_debug: { enabled: false, scope: null, reason: null },
  tenants_in_debug: [],
  resources_in_debug: [],
};

/** The value of one sample line, e.g. `name{label="x"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('OrchestratorMetrics', () => {
  it('counts what the core reports', async () => {
    const metrics = new OrchestratorMetrics();
    metrics.push(true, 0.02);
    metrics.push(true, 0.3);
    metrics.push(false, 12);
    metrics.poll(0.004, true);
    metrics.poll(5, false);
    metrics.boot('router');
    metrics.boot('router');
    metrics.boot('loadbalancer');
    metrics.error('router');
    metrics.transition('CalcAction', 'CreateInstance');
    metrics.transition('CalcAction', 'CreateInstance');
    const text = await metrics.text();
    assert.equal(sample(text, 'astara_orchestrator_pushes_total{result="ok"}'), 2);
    assert.equal(sample(text, 'astara_orchestrator_pushes_total{result="failed"}'), 1);
    assert.equal(sample(text, 'astara_orchestrator_push_duration_seconds_count'), 3);
    assert.equal(sample(text, 'astara_orchestrator_push_duration_seconds_bucket{le="0.5"}'), 2);
    assert.equal(sample(text, 'astara_orchestrator_poll_duration_seconds_count{alive="true"}'), 1);
    assert.equal(sample(text, 'astara_orchestrator_poll_duration_seconds_count{alive="false"}'), 1);
    assert.equal(sample(text, 'astara_orchestrator_boots_total{driver="router"}'), 2);
    assert.equal(sample(text, 'astara_orchestrator_boots_total{driver="loadbalancer"}'), 1);
    assert.equal(sample(text, 'astara_orchestrator_errors_total{driver="router"}'), 1);
    assert.equal(sample(text, 'astara_orchestrator_state_transitions_total{from="CalcAction",to="CreateInstance"}'), 2);
    assert.ok((sample(text, 'astara_orchestrator_process_resident_memory_bytes') ?? 0) > 0);
  });

  it('computes the gauges from the sources at scrape time, once they are set', async () => {
    const metrics = new OrchestratorMetrics();
    const before = await metrics.text();
    assert.equal(sample(before, 'astara_orchestrator_resources_by_instance_state{instance_state="error"}'), 0);
    assert.equal(sample(before, 'astara_orchestrator_queue_length{shard="0"}'), undefined);

    let resources = [resource('a', 'CalcAction', 'configured'), resource('b', 'CalcAction', 'error'), resource('c', 'CheckBoot', 'booting')];
    metrics.setSources({ resources: () => resources, workers: () => WORKERS });
    const first = await metrics.text();
    assert.equal(sample(first, 'astara_orchestrator_resources_by_state{state="CalcAction"}'), 2);
    assert.equal(sample(first, 'astara_orchestrator_resources_by_state{state="CheckBoot"}'), 1);
    assert.equal(sample(first, 'astara_orchestrator_resources_by_instance_state{instance_state="error"}'), 1);
    assert.equal(sample(first, 'astara_orchestrator_resources_by_instance_state{instance_state="down"}'), 0);
    assert.equal(sample(first, 'astara_orchestrator_queue_length{shard="0"}'), 3);
    assert.equal(sample(first, 'astara_orchestrator_runners_busy{shard="0"}'), 1);
    assert.equal(sample(first, 'astara_orchestrator_runners_busy{shard="1"}'), 0);

    // A state nobody is in any more disappears rather than keeping its last count.
    resources = [resource('a', 'CalcAction', 'configured')];
    const second = await metrics.text();
    assert.equal(sample(second, 'astara_orchestrator_resources_by_state{state="CheckBoot"}'), undefined);
    assert.equal(sample(second, 'astara_orchestrator_resources_by_instance_state{instance_state="error"}'), 0);
  });

  it('counts HA members by the VRRP state their agents report, and the pairs without exactly one master', async () => {
    const member = (name: string, state: string | undefined): ApplianceView => ({
      name,
      id: name,
      status: 'ACTIVE',
      health: 'answering',
      management_address: null,
      booted_at: '2026-11-30T16:00:00.000Z',
      ha: state === undefined ? null : { state, since: null, peer: null },
      details: {},
    });
    const pair = (id: string, states: [string, string]): ResourceView => ({
      ...resource(id, 'CalcAction', 'configured'),
      ha: { requested: true, pair: true },
      appliances: [member(`ak-router-${id}_0`, states[0]), member(`ak-router-${id}_1`, states[1])],
    });
    let resources = [pair('a', ['MASTER', 'BACKUP']), pair('b', ['MASTER', 'MASTER']), { ...resource('c', 'CalcAction', 'configured'), appliances: [member('ak-router-c', undefined)] }];
    const metrics = new OrchestratorMetrics({ resources: () => resources, workers: () => WORKERS });
    const split = await metrics.text();
    assert.equal(sample(split, 'astara_orchestrator_ha_members_by_vrrp_state{vrrp_state="MASTER"}'), 3);
    assert.equal(sample(split, 'astara_orchestrator_ha_members_by_vrrp_state{vrrp_state="BACKUP"}'), 1);
    assert.equal(sample(split, 'astara_orchestrator_ha_members_by_vrrp_state{vrrp_state="FAULT"}'), 0);
    assert.equal(sample(split, 'astara_orchestrator_ha_pairs_without_one_master'), 1);

    resources = [pair('a', ['FAULT', 'unknown']), pair('b', ['BACKUP', 'MASTER'])];
    const lost = await metrics.text();
    assert.equal(sample(lost, 'astara_orchestrator_ha_members_by_vrrp_state{vrrp_state="unknown"}'), 1);
    assert.equal(sample(lost, 'astara_orchestrator_ha_members_by_vrrp_state{vrrp_state="MASTER"}'), 1);
    assert.equal(sample(lost, 'astara_orchestrator_ha_pairs_without_one_master'), 1);
  });

  it('keeps its figures out of the global registry and apart from other instances', async () => {
    const one = new OrchestratorMetrics();
    const two = new OrchestratorMetrics();
    one.boot('router');
    assert.equal(sample(await two.text(), 'astara_orchestrator_boots_total{driver="router"}'), undefined);
    assert.ok(!(await register.metrics()).includes('astara_orchestrator_'));
    assert.match(one.contentType, /^text\/plain/);
  });
});
