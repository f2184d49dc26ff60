import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { announcementsSettled, applyArp } from './driver.js';
import type { ArpDesired } from './render.js';

/** The shared fake host with a canned neighbour table; `changes` lists what changed it, with the input of a batch. */
function fakeRunner(neighbours: object[] = [], failArpingFor = new Set<string>()) {
  const runner = new FakeRunner()
    .on(/^ip -j neigh show$/, { stdout: JSON.stringify(neighbours) })
    .on((argv) => argv[0] === 'arping' && failArpingFor.has(argv.at(-1)!), { stderr: 'arping: bind: Cannot assign requested address', exitCode: 2 });
  const changes = () => runner.calls.filter((c) => c.mutating).map((c) => [...c.argv, ...(c.input ? [c.input.trim()] : [])].join(' '));
  return { runner, changes };
}

const logger = pino({ level: 'silent' });
const desired: ArpDesired = {
  external: 'eth1',
  floating: ['203.0.113.10', '203.0.113.11'],
  neighbours: [{ device: 'eth2', address: '198.51.100.10', mac: '02:00:00:00:02:0a' }],
};

describe('applyArp', () => {
  it('announces only floating IPs it has not announced on that device, and remembers them', async () => {
    const { runner, changes } = fakeRunner();
    const outcome = await applyArp(desired, runner, logger, { announced: ['eth1 203.0.113.10', 'eth1 203.0.113.99'] });
    await announcementsSettled();
    assert.deepEqual(changes(), ['arping -q -U -c 1 -I eth1 -s 203.0.113.11 203.0.113.11']);
    assert.deepEqual(outcome, { changed: true, memory: { announced: ['eth1 203.0.113.10', 'eth1 203.0.113.11'] } });

    const again = fakeRunner();
    const second = await applyArp(desired, again.runner, logger, outcome.memory);
    await announcementsSettled();
    assert.deepEqual(again.changes(), []);
    assert.deepEqual(second, { changed: false, memory: outcome.memory });
  });

  it('sends a failed announcement again on the next apply', async () => {
    const { runner } = fakeRunner([], new Set(['203.0.113.10']));
    const outcome = await applyArp(desired, runner, logger, undefined);
    await announcementsSettled();
    const again = fakeRunner();
    await applyArp(desired, again.runner, logger, outcome.memory);
    await announcementsSettled();
    assert.deepEqual(again.changes(), ['arping -q -U -c 1 -I eth1 -s 203.0.113.10 203.0.113.10']);
  });

  it('removes a neighbour entry that contradicts an allocation in one batch', async () => {
    const { runner, changes } = fakeRunner([
      { dst: '198.51.100.10', dev: 'eth2', lladdr: '02:00:00:00:99:99', state: ['STALE'] },
      { dst: '198.51.100.11', dev: 'eth2', lladdr: '02:00:00:00:99:99', state: ['STALE'] },
    ]);
    const outcome = await applyArp({ ...desired, floating: [] }, runner, logger, undefined);
    assert.deepEqual(changes(), ['ip -force -batch - neigh del 198.51.100.10 dev eth2']);
    assert.equal(outcome.changed, true);
  });

  it('sends announcements only once the apply has ended', async () => {
    const { runner } = fakeRunner();
    const started = () => runner.calls.filter((c) => c.mutating).map((c) => c.argv[0]);
    runner.setRecording(true);
    await applyArp({ ...desired, neighbours: [] }, runner, logger, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started(), [], 'nothing sent while the apply runs');
    runner.setRecording(false);
    await announcementsSettled();
    assert.deepEqual(started(), ['arping', 'arping']);
  });
});
