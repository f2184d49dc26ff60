/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument } from '../../../contract/index.js';
import type { HealthChange } from './monitor.js';
import { planLoadBalancer, type LoadBalancerPlan } from './render.js';
import { assess, StatusBook } from './status.js';

const NOTES = readFileSync(new URL('../../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8');
const HTTP_POOL = 'e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06';
const M21 = `${HTTP_POOL}/0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08`;
const M22 = `${HTTP_POOL}/1b3d5f7a-9c1e-4a3b-9d7f-1c3e5a7b9d09`;
const M31 = 'f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12/1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plan(edit: (lb: any) => void = () => undefined): LoadBalancerPlan {
  const doc = JSON.parse(NOTES);
  edit(doc.services.loadbalancer);
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return planLoadBalancer(result.model.loadBalancer!);
}

function health(...changes: [string, HealthChange['status'], number?][]): Map<string, HealthChange> {
  return new Map(changes.map(([key, status, since]) => [key, { key, status, since: since ?? 1000, reason: status === 'ONLINE' ? 'monitoring started' : '3 consecutive HTTP probes failed: 500' }]));
}

const statuses = (a: ReturnType<typeof assess>) => [a.status, a.listeners.map((l) => [l.status, l.members.map((m) => m.status)])];

describe('assess', () => {
  it('all healthy: ONLINE, a disabled member DISABLED, monitored members as their monitor says', () => {
    const a = assess(plan(), health([M21, 'ONLINE'], [M22, 'ONLINE'], [M31, 'ONLINE']));
    assert.deepEqual(statuses(a), [
      'ONLINE',
      [
        ['ONLINE', ['ONLINE', 'ONLINE', 'DISABLED']],
        ['ONLINE', ['ONLINE']],
      ],
    ]);
    assert.equal(a.listeners[0]!.members[2]!.reason, 'admin_state_up is false');
    assert.equal(a.listeners[0]!.reason, '2 members take new connections');
  });

  it('a member held down: OFFLINE with the monitor\'s reason and time, its listener and the load balancer DEGRADED', () => {
    const a = assess(plan(), health([M21, 'ONLINE'], [M22, 'OFFLINE', 5000], [M31, 'ONLINE']));
    assert.deepEqual(statuses(a), [
      'DEGRADED',
      [
        ['DEGRADED', ['ONLINE', 'OFFLINE', 'DISABLED']],
        ['ONLINE', ['ONLINE']],
      ],
    ]);
    assert.deepEqual(a.listeners[0]!.members[1], { status: 'OFFLINE', reason: '3 consecutive HTTP probes failed: 500', since: 5000 });
    assert.equal(a.listeners[0]!.reason, '1 of 2 members held down by the health monitor');
  });

  it('every member down: the listener is ERROR and says what nginx does; every listener ERROR: the load balancer too', () => {
    const a = assess(plan(), health([M21, 'ERROR'], [M22, 'OFFLINE'], [M31, 'OFFLINE']));
    assert.deepEqual(statuses(a), [
      'ERROR',
      [
        ['ERROR', ['ERROR', 'OFFLINE', 'DISABLED']],
        ['ERROR', ['OFFLINE']],
      ],
    ]);
    assert.equal(a.listeners[0]!.reason, 'no member takes new connections (3 members, 2 held down by the health monitor): nginx answers 503');
    assert.equal(a.listeners[1]!.reason, 'no member takes new connections (1 members, 1 held down by the health monitor): nginx closes new connections');
  });

  it('DRAINING for weight 0 unless its monitor holds it down; NO_MONITOR without an enabled monitor', () => {
    const drained = plan((lb) => {
      lb.listeners[0].default_pool.members[0].weight = 0;
      lb.listeners[1].default_pool.healthmonitor = null;
    });
    assert.deepEqual(statuses(assess(drained, health([M21, 'ONLINE'], [M22, 'ONLINE']))), [
      'ONLINE',
      [
        ['ONLINE', ['DRAINING', 'ONLINE', 'DISABLED']],
        ['ONLINE', ['NO_MONITOR']],
      ],
    ]);
    assert.equal(assess(drained, health([M21, 'OFFLINE'], [M22, 'ONLINE'])).listeners[0]!.members[0]!.status, 'OFFLINE');
    assert.equal(assess(drained, health()).listeners[1]!.members[0]!.reason, 'no health monitor: nginx notices failures on requests only');
  });

  it('DISABLED down the tree from a disabled load balancer, listener or pool', () => {
    assert.deepEqual(statuses(assess(plan((lb) => (lb.admin_state_up = false)), health())), [
      'DISABLED',
      [
        ['DISABLED', ['DISABLED', 'DISABLED', 'DISABLED']],
        ['DISABLED', ['DISABLED']],
      ],
    ]);
    const listenerOff = assess(plan((lb) => (lb.listeners[1].admin_state_up = false)), health([M21, 'ONLINE'], [M22, 'ONLINE']));
    assert.deepEqual(statuses(listenerOff), [
      'ONLINE',
      [
        ['ONLINE', ['ONLINE', 'ONLINE', 'DISABLED']],
        ['DISABLED', ['DISABLED']],
      ],
    ]);
    const poolOff = assess(plan((lb) => (lb.listeners[0].default_pool.admin_state_up = false)), health([M31, 'ONLINE']));
    assert.deepEqual(statuses(poolOff), [
      'DEGRADED',
      [
        ['ERROR', ['DISABLED', 'DISABLED', 'DISABLED']],
        ['ONLINE', ['ONLINE']],
      ],
    ]);
    assert.equal(poolOff.listeners[0]!.members[0]!.reason, "its pool's admin_state_up is false");
    assert.deepEqual(statuses(assess(plan((lb) => lb.listeners.forEach((l: { admin_state_up: boolean }) => (l.admin_state_up = false))), health())).slice(0, 1), ['OFFLINE']);
  });
});

describe('StatusBook', () => {
  it('keeps the instant of each last change: from the monitor for health, from the observation otherwise', () => {
    const book = new StatusBook();
    assert.equal(book.document, undefined);
    book.observe(plan(), health([M21, 'ONLINE', 100], [M22, 'ONLINE', 100], [M31, 'ONLINE', 100]), 2000);
    const first = book.document!;
    assert.deepEqual([first.operating_status, first.since], ['ONLINE', new Date(2000).toISOString()]);
    assert.equal(first.listeners[0]!.members[0]!.since, new Date(100).toISOString());
    assert.deepEqual(
      Object.keys(first.listeners[0]!.members[0]!),
      ['id', 'address', 'protocol_port', 'weight', 'operating_status', 'since', 'reason'],
    );

    book.observe(plan(), health([M21, 'ONLINE', 100], [M22, 'OFFLINE', 7000], [M31, 'ONLINE', 100]), 7500);
    const second = book.document!;
    assert.deepEqual([second.operating_status, second.since], ['DEGRADED', new Date(7500).toISOString()]);
    assert.deepEqual([second.listeners[0]!.operating_status, second.listeners[0]!.since], ['DEGRADED', new Date(7500).toISOString()]);
    assert.deepEqual([second.listeners[1]!.operating_status, second.listeners[1]!.since], ['ONLINE', new Date(2000).toISOString()], 'unchanged: since kept');
    assert.equal(second.listeners[0]!.members[1]!.since, new Date(7000).toISOString());
    assert.equal(second.listeners[0]!.members[2]!.since, new Date(2000).toISOString());

    book.observe(undefined, new Map(), 9000);
    assert.equal(book.document, undefined);
  });
});
