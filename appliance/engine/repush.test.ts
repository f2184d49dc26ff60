// When a re-push may be answered without applying, and when a fingerprint
// must not become the baseline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { LiveFingerprint } from '../host/live-state.js';
import type { ApplyReport } from './engine.js';
import { RepushGuard } from './repush.js';

class FakeEngine {
  current: { generation: number } | undefined;
  degraded: undefined;
  lastReport: Pick<ApplyReport, 'ok' | 'generation'> | undefined;
  idle = true;
  applyCount = 0;

  applied(generation: number): void {
    this.applyCount++;
    this.current = { generation };
    this.lastReport = { ok: true, generation };
  }
}

function guarded(read: () => Promise<LiveFingerprint>): { engine: FakeEngine; guard: RepushGuard } {
  const engine = new FakeEngine();
  const guard = new RepushGuard(engine as never, read, pino({ level: 'silent' }), 60_000);
  return { engine, guard };
}

describe('the re-push guard', () => {
  it('reuses only the same body, the same generation, a successful last apply and an idle engine', async () => {
    const { engine, guard } = guarded(() => Promise.resolve({ firewall: 'state' }));
    engine.applied(1);
    guard.applied('body-1', 1, 'answer-1');
    await guard.verify();
    assert.equal(guard.answerFor('body-1'), 'answer-1');
    assert.equal(guard.answerFor('body-2'), undefined);
    engine.idle = false;
    assert.equal(guard.answerFor('body-1'), undefined, 'an apply is queued: it must not be overtaken');
    engine.idle = true;
    engine.lastReport = { ok: false, generation: 2 };
    assert.equal(guard.answerFor('body-1'), undefined, 'a failed apply since');
  });

  it('throws away a fingerprint taken while an apply ran, and drifts on any other change until the next apply', async () => {
    let state = 'state';
    let applyDuringRead = false;
    const { engine, guard } = guarded(() => {
      if (applyDuringRead) engine.applyCount++;
      return Promise.resolve({ firewall: state });
    });
    engine.applied(1);
    applyDuringRead = true;
    guard.applied('body-1', 1, 'answer-1');
    assert.equal((await guard.verify()).condition, 'unverified', 'half of an apply is no baseline');
    applyDuringRead = false;
    assert.equal((await guard.verify()).condition, 'verified');
    state = 'drifted state';
    assert.equal((await guard.verify()).condition, 'drifted');
    state = 'state';
    assert.equal((await guard.verify()).condition, 'drifted', 'a drift is repaired only by an apply');
    assert.equal(guard.answerFor('body-1'), undefined);
    engine.applied(2);
    guard.applied('body-1', 2, 'answer-2');
    await guard.verify();
    assert.equal(guard.answerFor('body-1'), 'answer-2');
  });

  it('a fingerprint that cannot be read reuses nothing', async () => {
    const { engine, guard } = guarded(() => Promise.reject(new Error('ip: not found')));
    engine.applied(1);
    guard.applied('body-1', 1, 'answer-1');
    assert.equal((await guard.verify()).condition, 'unverified');
    assert.equal(guard.answerFor('body-1'), undefined);
  });
});
