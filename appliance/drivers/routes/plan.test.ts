import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchStep } from '../../host/ip-batch.js';
import type { LiveRoute } from '../../host/routes.js';
import { planRoutes } from './plan.js';
import type { RouteDesired, RoutesDesired } from './render.js';

/** The batch lines, and the lines that undo all of them in the order they run. */
const batch = (plan: { steps: readonly BatchStep[] }) => plan.steps.map((s) => s.line);
const undo = (plan: { steps: readonly BatchStep[] }) => plan.steps.map((s) => s.undo).reverse();

const defaultV4: RouteDesired = { family: 4, destination: 'default', via: '192.0.2.1', device: 'eth1' };
const defaultV6: RouteDesired = { family: 6, destination: 'default', via: '2001:db8:e::1', device: 'eth1' };
const staticRoute: RouteDesired = { family: 4, destination: '198.51.100.192/26', via: '198.51.100.10' };
const hostRoute: RouteDesired = { family: 6, destination: '2001:db8:f::5/128', via: 'fd00:b::10' };
const desired = (...routes: RouteDesired[]): RoutesDesired => ({ routes, skipped: [] });

const kernel: LiveRoute[] = [
  { family: 4, dst: '192.0.2.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2' },
  { family: 6, dst: '2001:db8:e::/64', dev: 'eth1', protocol: 'kernel', metric: 256 },
];
const live = {
  defaultV4: { family: 4, dst: 'default', gateway: '192.0.2.1', dev: 'eth1' },
  defaultV6: { family: 6, dst: 'default', gateway: '2001:db8:e::1', dev: 'eth1', metric: 1024 },
  staticRoute: { family: 4, dst: '198.51.100.192/26', gateway: '198.51.100.10', dev: 'eth2' },
  hostRoute: { family: 6, dst: '2001:db8:f::5', gateway: 'fd00:b::10', dev: 'eth3', metric: 1024 },
  byHand: { family: 4, dst: '203.0.113.128/25', gateway: '192.0.2.1', dev: 'eth1', protocol: 'static' },
} satisfies Record<string, LiveRoute>;

describe('planRoutes', () => {
  it('adds missing routes with replace and remembers them', () => {
    const plan = planRoutes(desired(defaultV4, defaultV6, staticRoute, hostRoute), kernel, []);
    assert.deepEqual(batch(plan), [
      'route replace 0.0.0.0/0 via 192.0.2.1 dev eth1 metric 0',
      'route replace ::/0 via 2001:db8:e::1 dev eth1 metric 1024',
      'route replace 198.51.100.192/26 via 198.51.100.10 metric 0',
      'route replace 2001:db8:f::5/128 via fd00:b::10 metric 1024',
    ]);
    assert.deepEqual(undo(plan), [
      'route del 2001:db8:f::5/128 via fd00:b::10 metric 1024',
      'route del 198.51.100.192/26 via 198.51.100.10 metric 0',
      'route del ::/0 via 2001:db8:e::1 dev eth1 metric 1024',
      'route del 0.0.0.0/0 via 192.0.2.1 dev eth1 metric 0',
    ]);
    assert.deepEqual(plan.memory, [defaultV4, defaultV6, staticRoute, hostRoute]);
  });

  it('changes nothing when every route is there (host routes shown without /32 or /128)', () => {
    const plan = planRoutes(desired(defaultV4, defaultV6, staticRoute, hostRoute), [...kernel, ...Object.values(live)], [defaultV4, defaultV6, staticRoute, hostRoute]);
    assert.deepEqual(plan, { steps: [], memory: [defaultV4, defaultV6, staticRoute, hostRoute] });
  });

  it('removes a route it added that is no longer configured, and leaves routes added by hand', () => {
    const plan = planRoutes(desired(defaultV4), [...kernel, live.defaultV4, live.staticRoute, live.byHand], [defaultV4, staticRoute]);
    assert.deepEqual(batch(plan), ['route del 198.51.100.192/26 via 198.51.100.10 metric 0']);
    assert.deepEqual(undo(plan), ['route replace 198.51.100.192/26 via 198.51.100.10 dev eth2 metric 0']);
    assert.deepEqual(plan.memory, [defaultV4]);
  });

  it('does not take ownership of a configured route that was already there', () => {
    const plan = planRoutes(desired(defaultV4, staticRoute), [...kernel, live.defaultV4, live.staticRoute], [defaultV4]);
    assert.deepEqual(batch(plan), []);
    assert.deepEqual(plan.memory, [defaultV4]);
    const later = planRoutes(desired(defaultV4), [...kernel, live.defaultV4, live.staticRoute], plan.memory);
    assert.deepEqual(batch(later), []);
  });

  it('replaces a route in the same slot and restores it on undo', () => {
    const other = { family: 4, dst: 'default', gateway: '192.0.2.254', dev: 'eth1', protocol: 'static' } satisfies LiveRoute;
    const plan = planRoutes(desired(defaultV4), [...kernel, other], []);
    assert.deepEqual(batch(plan), ['route replace 0.0.0.0/0 via 192.0.2.1 dev eth1 metric 0']);
    assert.deepEqual(undo(plan), ['route replace 0.0.0.0/0 via 192.0.2.254 dev eth1 proto static metric 0']);
  });

  it('moves a changed next hop: delete of the old route first, then the new one', () => {
    const moved = { ...staticRoute, via: '198.51.100.11' };
    const plan = planRoutes(desired(moved), [...kernel, live.staticRoute], [staticRoute]);
    assert.deepEqual(batch(plan), ['route del 198.51.100.192/26 via 198.51.100.10 metric 0', 'route replace 198.51.100.192/26 via 198.51.100.11 metric 0']);
    assert.deepEqual(undo(plan), [
      'route replace 198.51.100.192/26 via 198.51.100.10 dev eth2 metric 0',
      'route replace 198.51.100.192/26 via 198.51.100.10 dev eth2 metric 0',
    ]);
    assert.deepEqual(plan.memory, [moved]);
  });

  it('does not count a route with another metric as the configured one', () => {
    const plan = planRoutes(desired(defaultV4), [...kernel, { ...live.defaultV4, metric: 100 }], [defaultV4]);
    assert.deepEqual(batch(plan), ['route replace 0.0.0.0/0 via 192.0.2.1 dev eth1 metric 0']);
  });
});
