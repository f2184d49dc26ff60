// The active health monitors' counting and scheduling: a scripted prober,
// node:test's mock timers and a clock moved with them make every probe's
// instant exact; the last tests use the real probes against loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { execa } from 'execa';
import { pino } from 'pino';
import { parseAddress } from '../../../contract/ip.js';
import type { HealthMonitorModel } from '../../../contract/model.js';
import { waitFor } from '../../../test/harness/exec.js';
import { countProbe, FRESH_COUNT, MemberMonitors, type HealthChange, type MemberCount, type MonitorTarget, type Prober, type ProbeResult } from './monitor.js';

const logger = pino({ level: 'silent' });

const TCP: HealthMonitorModel = { type: 'TCP', delay: 5, timeout: 3, maxRetries: 3, httpMethod: 'GET', urlPath: '/', expectedCodes: '200', enabled: true };

function target(key: string, monitor: Partial<HealthMonitorModel> = {}, address = '198.51.100.21', port = 8080): MonitorTarget {
  return { key, address: parseAddress(address)!, port, monitor: { ...TCP, ...monitor } };
}

const REFUSED: ProbeResult = { ok: false, reason: 'connect ECONNREFUSED 198.51.100.21:8080' };
const NO_ROUTE: ProbeResult = { ok: false, error: true, reason: 'connect ENETUNREACH 198.51.100.21:8080' };
const CONNECTED: ProbeResult = { ok: true, reason: 'connected to 198.51.100.21:8080' };

/** Count `results` from `count`; the reason of every probe (undefined where nothing changed). */
function countAll(results: readonly ProbeResult[], count: MemberCount = FRESH_COUNT, monitor = TCP): { count: MemberCount; changes: (string | undefined)[] } {
  const changes: (string | undefined)[] = [];
  for (const result of results) {
    const counted = countProbe(count, result, monitor);
    count = counted.count;
    changes.push(counted.change);
  }
  return { count, changes };
}

describe('countProbe', () => {
  it('marks a member OFFLINE at exactly max_retries failures in a row, saying why', () => {
    const { count, changes } = countAll([REFUSED, REFUSED, REFUSED, REFUSED]);
    assert.deepEqual(changes, [undefined, undefined, '3 consecutive TCP probes failed: connect ECONNREFUSED 198.51.100.21:8080', undefined]);
    assert.equal(count.status, 'OFFLINE');
  });

  it('marks it ONLINE again at exactly as many successes in a row', () => {
    const down = countAll([REFUSED, REFUSED, REFUSED]).count;
    const { count, changes } = countAll([CONNECTED, CONNECTED, CONNECTED, CONNECTED], down);
    assert.deepEqual(changes, [undefined, undefined, '3 consecutive TCP probes succeeded: connected to 198.51.100.21:8080', undefined]);
    assert.equal(count.status, 'ONLINE');
  });

  it('starts the count again after a result of the other kind', () => {
    assert.deepEqual(countAll([REFUSED, REFUSED, CONNECTED, REFUSED, REFUSED]).changes, [undefined, undefined, undefined, undefined, undefined]);
    const down = countAll([REFUSED, REFUSED, REFUSED]).count;
    const { count, changes } = countAll([CONNECTED, CONNECTED, REFUSED, CONNECTED, CONNECTED], down);
    assert.deepEqual(changes, [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(count.status, 'OFFLINE');
  });

  it('never reports a change while the status stays (all successes)', () => {
    const { count, changes } = countAll(Array.from({ length: 20 }, () => CONNECTED));
    assert.ok(changes.every((change) => change === undefined));
    assert.equal(count.status, 'ONLINE');
  });

  it('marks ERROR when the probes could not be made at all, and moves between ERROR and OFFLINE', () => {
    const unreachable = countAll([NO_ROUTE, NO_ROUTE, NO_ROUTE]);
    assert.deepEqual(unreachable.changes, [undefined, undefined, '3 consecutive TCP probes could not be made: connect ENETUNREACH 198.51.100.21:8080']);
    assert.equal(unreachable.count.status, 'ERROR');
    const refused = countAll([REFUSED, REFUSED, REFUSED], unreachable.count);
    assert.deepEqual(refused.changes, [undefined, undefined, '3 consecutive TCP probes failed: connect ECONNREFUSED 198.51.100.21:8080']);
    assert.equal(refused.count.status, 'OFFLINE');
    assert.equal(countAll([NO_ROUTE, NO_ROUTE, NO_ROUTE], refused.count).count.status, 'ERROR');
  });

  it('marks OFFLINE after max_retries probes that failed or could not be made in any mix', () => {
    const { count, changes } = countAll([NO_ROUTE, REFUSED, NO_ROUTE]);
    assert.deepEqual(changes, [undefined, undefined, '3 consecutive TCP probes failed or could not be made, the last: connect ENETUNREACH 198.51.100.21:8080']);
    assert.equal(count.status, 'OFFLINE');
  });

  it('says "probe" for a single one when max_retries is 1', () => {
    const monitor = { ...TCP, maxRetries: 1 };
    assert.deepEqual(countAll([REFUSED, CONNECTED], FRESH_COUNT, monitor).changes, [
      'TCP probe failed: connect ECONNREFUSED 198.51.100.21:8080',
      'TCP probe succeeded: connected to 198.51.100.21:8080',
    ]);
  });
});

interface ProbeCall {
  readonly key: string;
  readonly at: number;
  readonly signal: AbortSignal | undefined;
}

/** A prober whose answers the test decides; it records when each probe started. */
class ScriptedProber implements Prober {
  readonly calls: ProbeCall[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly answer: (target: MonitorTarget, call: number) => ProbeResult | Promise<ProbeResult>) {}

  async probe(target: MonitorTarget, _timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    this.calls.push({ key: target.key, at: clock, signal });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.answer(target, this.calls.length);
    } finally {
      this.inFlight--;
    }
  }

  at(key: string): number[] {
    return this.calls.filter((call) => call.key === key).map((call) => call.at);
  }
}

/** The monitors' clock, which `advance` moves with the mocked timers. */
const START = 1_700_000_000_000;
let clock = START;

/** Taken before the timers are mocked (Node 20 mocks setImmediate too). */
const realSetImmediate = setImmediate;

/** Let the probes whose timers fired finish (their results are promises). */
function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/**
 * Advance the mocked clock by `ms`, letting probes finish in between. In
 * steps of 100 ms: a mocked timer sees the clock at the end of the tick that
 * fires it, so every instant the tests expect is a multiple of the step.
 */
async function advance(ms: number): Promise<void> {
  await fireDue();
  for (let step = 0; step < ms; step += 100) {
    clock += Math.min(100, ms - step);
    mock.timers.tick(Math.min(100, ms - step));
    await settle();
    await fireDue();
  }
}

/** Run the timers due now (those armed for 0 ms) and let their probes finish. */
async function fireDue(): Promise<void> {
  mock.timers.tick(0);
  await settle();
}

describe('MemberMonitors', () => {
  let changes: HealthChange[];
  let monitors: MemberMonitors | undefined;

  function start(prober: Prober, onChange: (change: HealthChange) => void = (change) => changes.push(change)): MemberMonitors {
    monitors = new MemberMonitors({ logger, onChange, prober, now: () => clock });
    return monitors;
  }

  beforeEach(() => {
    changes = [];
    clock = START;
    mock.timers.enable();
  });
  afterEach(() => {
    monitors?.stop();
    monitors = undefined;
    mock.timers.reset();
  });

  it('probes every delay seconds and reports OFFLINE at the probe that makes max_retries failures', async () => {
    const prober = new ScriptedProber(() => REFUSED);
    const members = start(prober);
    members.update([target('pool/a')]);
    assert.deepEqual([...members.snapshot().values()], [{ key: 'pool/a', status: 'ONLINE', since: START, reason: 'monitoring started' }]);
    await advance(9999);
    assert.deepEqual(prober.at('pool/a'), [START, START + 5000]);
    assert.deepEqual(changes, []);
    await advance(1);
    const down = { key: 'pool/a', status: 'OFFLINE', since: START + 10_000, reason: '3 consecutive TCP probes failed: connect ECONNREFUSED 198.51.100.21:8080' };
    assert.deepEqual(changes, [down]);
    assert.deepEqual(members.snapshot().get('pool/a'), down);
    await advance(20_000);
    assert.equal(prober.at('pool/a').length, 7);
    assert.equal(changes.length, 1, 'no event while the member stays down');
  });

  it('reports ONLINE after max_retries successes of a member that came back', async () => {
    let healthy = false;
    const prober = new ScriptedProber(() => (healthy ? CONNECTED : REFUSED));
    const members = start(prober);
    members.update([target('pool/a')]);
    await advance(10_000);
    healthy = true;
    await advance(14_999);
    assert.equal(changes.length, 1);
    await advance(1);
    assert.deepEqual(changes[1], { key: 'pool/a', status: 'ONLINE', since: START + 25_000, reason: '3 consecutive TCP probes succeeded: connected to 198.51.100.21:8080' });
  });

  it('calls onChange never while every probe succeeds', async () => {
    const prober = new ScriptedProber(() => CONNECTED);
    start(prober).update([target('pool/a'), target('pool/b')]);
    await advance(60_000);
    assert.ok(prober.calls.length >= 24);
    assert.deepEqual(changes, []);
  });

  it('keeps the state and the timer of targets that did not change across updates', async () => {
    const prober = new ScriptedProber((member) => (member.key === 'pool/a' ? REFUSED : CONNECTED));
    const members = start(prober);
    members.update([target('pool/a')]);
    await advance(12_000);
    const down = members.snapshot().get('pool/a');
    assert.equal(down?.status, 'OFFLINE');
    members.update([target('pool/a'), target('pool/b')]);
    assert.deepEqual(members.snapshot().get('pool/a'), down);
    assert.deepEqual(members.snapshot().get('pool/b'), { key: 'pool/b', status: 'ONLINE', since: START + 12_000, reason: 'monitoring started' });
    await advance(4000);
    // pool/a kept its rhythm (0, 5, 10, 15 s); pool/b started at once.
    assert.deepEqual(prober.at('pool/a'), [START, START + 5000, START + 10_000, START + 15_000]);
    assert.deepEqual(prober.at('pool/b'), [START + 12_000]);
    assert.equal(changes.length, 1);
  });

  it('restarts the counting of a target whose monitor changed, keeping its status', async () => {
    const prober = new ScriptedProber(() => REFUSED);
    const members = start(prober);
    members.update([target('pool/a')]);
    await advance(8000);
    // Two failures counted; the new settings (HTTP, every 2 s) count from zero.
    members.update([target('pool/a', { type: 'HTTP', delay: 2 })]);
    await advance(3999);
    assert.equal(changes.length, 0);
    assert.equal(members.snapshot().get('pool/a')?.status, 'ONLINE');
    await advance(1);
    assert.deepEqual(
      changes.map((change) => [change.status, change.since, change.reason]),
      [['OFFLINE', START + 12_000, '3 consecutive HTTP probes failed: connect ECONNREFUSED 198.51.100.21:8080']],
    );
    // Down now: a change of port restarts the count and keeps OFFLINE.
    prober.calls.length = 0;
    members.update([target('pool/a', { type: 'HTTP', delay: 2 }, '198.51.100.21', 8081)]);
    assert.equal(members.snapshot().get('pool/a')?.status, 'OFFLINE');
    assert.equal(members.snapshot().get('pool/a')?.since, START + 12_000);
    await advance(1);
    assert.deepEqual(prober.at('pool/a'), [START + 12_000]);
  });

  it('stops probing a target that is gone, and ignores its probe in flight', async () => {
    let answerSlowly: ((result: ProbeResult) => void) | undefined;
    const prober = new ScriptedProber((member) => (member.key === 'pool/a' ? new Promise((resolve) => (answerSlowly = resolve)) : CONNECTED));
    const members = start(prober);
    members.update([target('pool/a', { maxRetries: 1 }), target('pool/b')]);
    await advance(1);
    assert.equal(prober.at('pool/a').length, 1);
    members.update([target('pool/b')]);
    assert.equal(prober.calls[0]?.signal?.aborted, true, 'the probe in flight is aborted');
    answerSlowly?.(REFUSED);
    await advance(60_000);
    assert.deepEqual([...members.snapshot().keys()], ['pool/b']);
    assert.equal(prober.at('pool/a').length, 1);
    assert.deepEqual(changes, []);
  });

  it('never overlaps the probes of one member: a slow probe delays the next, a quick one keeps the rhythm', async () => {
    const durations = [7000, 2000, 0];
    const prober = new ScriptedProber(
      (_member, call) => new Promise((resolve) => setTimeout(() => resolve(CONNECTED), durations[call - 1] ?? 0)),
    );
    start(prober).update([target('pool/a')]);
    await advance(20_000);
    // 0: 7 s long, so the next starts when it ends (7 s); that one takes 2 s
    // and the next starts 5 s after it started (12 s); then every 5 s.
    assert.deepEqual(prober.at('pool/a').slice(0, 4), [START, START + 7000, START + 12_000, START + 17_000]);
    assert.equal(prober.maxInFlight, 1);
  });

  it('spreads the first probes of members added together over their delay', async () => {
    const prober = new ScriptedProber(() => CONNECTED);
    start(prober).update(['a', 'b', 'c', 'd'].map((id) => target(`pool/${id}`, { delay: 4 })));
    await advance(3999);
    assert.deepEqual(
      prober.calls.map((call) => [call.key, call.at - START]),
      [
        ['pool/a', 0],
        ['pool/b', 1000],
        ['pool/c', 2000],
        ['pool/d', 3000],
      ],
    );
  });

  it('stop() cancels every timer and the probes in flight', async () => {
    const prober = new ScriptedProber((member) => (member.key === 'pool/a' ? new Promise<ProbeResult>(() => undefined) : CONNECTED));
    const members = start(prober);
    members.update([target('pool/a'), target('pool/b', { delay: 1 })]);
    await advance(1500);
    assert.deepEqual(prober.at('pool/b'), [START + 500, START + 1500]);
    members.stop();
    assert.equal(prober.calls[0]?.signal?.aborted, true);
    await advance(60_000);
    assert.equal(prober.calls.length, 3);
    assert.equal(members.snapshot().size, 0);
  });

  it('does not probe members whose monitor is disabled', async () => {
    const prober = new ScriptedProber(() => REFUSED);
    const members = start(prober);
    members.update([target('pool/a', { enabled: false })]);
    await advance(30_000);
    assert.equal(prober.calls.length, 0);
    assert.equal(members.snapshot().size, 0);
  });

  it('refuses two targets with one key', () => {
    const members = start(new ScriptedProber(() => CONNECTED));
    assert.throws(() => members.update([target('pool/a'), target('pool/a', {}, '198.51.100.22')]), /two monitored members share the key pool\/a/);
  });

  it('goes on probing when onChange throws', async () => {
    let healthy = false;
    const prober = new ScriptedProber(() => (healthy ? CONNECTED : REFUSED));
    const statuses: string[] = [];
    start(prober, (change) => {
      statuses.push(change.status);
      throw new Error('consumer failure');
    }).update([target('pool/a', { maxRetries: 1 })]);
    await advance(1);
    healthy = true;
    await advance(5000);
    assert.deepEqual(statuses, ['OFFLINE', 'ONLINE']);
  });

  it('counts a prober that throws as a probe that could not be made', async () => {
    const prober = new ScriptedProber(() => Promise.reject(new Error('probe machinery broken')));
    start(prober).update([target('pool/a', { maxRetries: 1 })]);
    await advance(1);
    assert.deepEqual(
      changes.map((change) => [change.status, change.reason]),
      [['ERROR', 'TCP probe could not be made: probe machinery broken']],
    );
  });
});

describe('MemberMonitors with the real probes', () => {
  let closedPort: number;
  beforeEach(async () => {
    // A port that was just free: nothing listens on it.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    closedPort = typeof address === 'object' && address ? address.port : 0;
    await new Promise((resolve) => server.close(resolve));
  });

  it('marks a thousand members on a closed loopback port OFFLINE, each through its own timer', async () => {
    const changes: HealthChange[] = [];
    const members = new MemberMonitors({ logger, onChange: (change) => changes.push(change) });
    try {
      members.update(Array.from({ length: 1000 }, (_, i) => target(`pool/${i}`, { delay: 1, maxRetries: 1 }, '127.0.0.1', closedPort)));
      await waitFor('a thousand members marked down', () => changes.length === 1000, 10_000);
      assert.ok(changes.every((change) => change.status === 'OFFLINE' && change.reason === `TCP probe failed: connect ECONNREFUSED 127.0.0.1:${closedPort}`));
      assert.ok([...members.snapshot().values()].every((health) => health.status === 'OFFLINE'));
    } finally {
      members.stop();
    }
  });

  it('never keeps the agent alive: a process with monitored members exits when its work is done', async () => {
    const script = [
      `const { MemberMonitors } = await import(${JSON.stringify(new URL('./monitor.ts', import.meta.url).href)});`,
      `const { parseAddress } = await import(${JSON.stringify(new URL('../../../contract/ip.ts', import.meta.url).href)});`,
      `const monitor = ${JSON.stringify({ ...TCP, delay: 3600 })};`,
      `const members = new MemberMonitors({ logger: { info() {}, warn() {}, error() {} }, onChange() {} });`,
      `members.update([{ key: 'pool/a', address: parseAddress('127.0.0.1'), port: ${closedPort}, monitor }]);`,
      `console.log(members.snapshot().size);`,
    ].join('\n');
    const child = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { reject: false, timeout: 30_000 });
    assert.equal(child.timedOut, false, 'the process did not exit: a timer keeps it alive');
    assert.equal(child.exitCode, 0, child.stderr);
    assert.equal(child.stdout.trim(), '1');
  });
});
