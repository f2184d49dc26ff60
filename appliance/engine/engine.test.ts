// The apply engine with fake subsystems and a fake host: order, the checks
// before anything is touched, rollback, memory under stable keys, the
// write-ahead record of ownership, firewall contributions, and failures that
// must never leave the command runner recording.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument, type ConfigModel } from '../../contract/index.js';
import { FakeRunner } from '../../test/support/fake-runner.js';
import { ApplyEngine, ApplyFailedError, CheckFailedError } from './engine.js';
import type { AnySubsystem, FirewallRenderHost, FirewallRule, Subsystem } from './subsystem.js';

const DOCUMENT = { tenant_id: 't1', hostname: 'router-1' };
const model = (): ConfigModel => {
  const result = validateDocument(DOCUMENT);
  assert.ok(result.ok);
  return result.model;
};
const host = { realName: (generic: string) => generic.replace('ge', 'eth') };

/** A subsystem that logs what the engine asks of it into `journal`, and can be told to fail. */
function fake(name: string, journal: string[], behaviour: Partial<{ failRender: boolean; failCheck: Error; failApply: boolean; failUndo: boolean; commands: number; memoryKey: string }> = {}): Subsystem<string, { owned: string[] }> {
  return {
    name,
    ...(behaviour.memoryKey ? { memory: { key: behaviour.memoryKey, parse: (v: unknown) => (typeof v === 'object' && v !== null && Array.isArray((v as { owned?: unknown }).owned) ? (v as { owned: string[] }) : undefined) } } : {}),
    render() {
      journal.push(`render ${name}`);
      if (behaviour.failRender) throw new Error(`${name} cannot render`);
      return `${name}-desired`;
    },
    check() {
      journal.push(`check ${name}`);
      return behaviour.failCheck ? Promise.reject(behaviour.failCheck) : Promise.resolve();
    },
    async apply(desired, context) {
      journal.push(`apply ${name} ${desired} memory=${JSON.stringify(context.memory ?? null)}`);
      for (let i = 0; i < (behaviour.commands ?? 0); i++) await context.runner.change(['ip', 'link', 'set', name]);
      if (behaviour.failApply) throw new Error(`${name} failed`);
      return {
        changed: true,
        undo: () => {
          journal.push(`undo ${name}`);
          return behaviour.failUndo ? Promise.reject(new Error(`${name} undo failed`)) : Promise.resolve();
        },
        memory: { owned: [`${name}-thing`] },
      };
    },
  };
}

describe('ApplyEngine', () => {
  let dir: string;
  let runner: FakeRunner;
  const logger = pino({ level: 'silent' });
  const engine = (subsystems: AnySubsystem[]) => new ApplyEngine(dir, subsystems, runner, logger, host);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astara-engine-'));
    runner = new FakeRunner();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders and checks every subsystem before applying them in order, and reports each step', async () => {
    const journal: string[] = [];
    const report = await engine([fake('a', journal, { commands: 2 }), fake('b', journal)]).apply(DOCUMENT, model());
    assert.deepEqual(journal, ['render a', 'render b', 'check a', 'check b', 'apply a a-desired memory=null', 'apply b b-desired memory=null']);
    assert.equal(report.ok, true);
    assert.equal(report.generation, 1);
    assert.deepEqual(
      report.steps.map((s) => [s.subsystem, s.commands]),
      [
        ['a', 2],
        ['b', 0],
        ['persist', 0],
      ],
    );
  });

  it('a check refusal is a 422: nothing is applied and the runner stops recording', async () => {
    const journal: string[] = [];
    const e = engine([fake('a', journal), fake('b', journal, { failCheck: new Error('dnsmasq refused it') })]);
    await assert.rejects(e.apply(DOCUMENT, model()), (error: unknown) => error instanceof CheckFailedError && error.subsystem === 'b' && /refused/.test(error.message));
    assert.ok(!journal.some((j) => j.startsWith('apply')));
    assert.equal(e.lastReport?.failed_step, 'b:check');
    await runner.idle();
  });

  it('a check that cannot run because of the host (a full disk) is a host failure, not the document’s', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const e = engine([fake('a', [], { failCheck: full })]);
    await assert.rejects(e.apply(DOCUMENT, model()), (error: unknown) => error instanceof ApplyFailedError && /no space left/.test(error.message));
    assert.equal(e.lastReport?.ok, false);
  });

  it('a failure rolls back every subsystem already applied, newest first', async () => {
    const journal: string[] = [];
    const e = engine([fake('a', journal), fake('b', journal), fake('c', journal, { failApply: true })]);
    await assert.rejects(e.apply(DOCUMENT, model()), ApplyFailedError);
    assert.deepEqual(journal.slice(-2), ['undo b', 'undo a']);
    assert.equal(e.lastReport?.failed_step, 'c');
    assert.equal(e.lastReport?.rolled_back, true);
    assert.equal(e.current, undefined, 'nothing was persisted');
  });

  it('says when the rollback itself failed', async () => {
    const e = engine([fake('a', [], { failUndo: true }), fake('b', [], { failApply: true })]);
    await assert.rejects(e.apply(DOCUMENT, model()), ApplyFailedError);
    assert.equal(e.lastReport?.rolled_back, false);
  });

  it('a render that throws is a clean failure naming the subsystem, and the runner stops recording', async () => {
    const journal: string[] = [];
    const e = engine([fake('a', journal), fake('b', journal, { failRender: true })]);
    await assert.rejects(e.apply(DOCUMENT, model()), (error: unknown) => error instanceof ApplyFailedError && /b cannot render/.test(error.message));
    assert.equal(e.lastReport?.failed_step, 'b:render');
    assert.ok(!journal.some((j) => j.startsWith('apply')));
    await runner.idle();
  });

  it('keeps memory under the subsystem’s key, whatever its name, and persists it compactly', async () => {
    const journal: string[] = [];
    await engine([fake('routes', journal, { memoryKey: 'owned-routes' })]).apply(DOCUMENT, model());
    const persisted = await readFile(join(dir, 'applied.json'), 'utf8');
    assert.equal(persisted.split('\n').length, 2, 'one line');
    assert.deepEqual((JSON.parse(persisted) as { subsystems: unknown }).subsystems, { 'owned-routes': { owned: ['routes-thing'] } });
    // Renamed subsystem, same key: the memory is found.
    const renamed = engine([fake('static-routes', journal, { memoryKey: 'owned-routes' })]);
    await renamed.loadPersisted();
    await renamed.apply(DOCUMENT, model());
    assert.equal(journal.at(-1), 'apply static-routes static-routes-desired memory={"owned":["routes-thing"]}');
  });

  it('memory that does not parse counts as none', async () => {
    await writeFile(join(dir, 'applied.json'), JSON.stringify({ generation: 3, applied_at: 'x', document: DOCUMENT, subsystems: { owned: 'garbage' } }));
    const journal: string[] = [];
    const e = engine([fake('a', journal, { memoryKey: 'owned' })]);
    await e.loadPersisted();
    const report = await e.apply(DOCUMENT, model());
    assert.equal(journal.at(-1), 'apply a a-desired memory=null');
    assert.equal(report.generation, 4);
  });

  it('writes ownership ahead of the change, and a restart after an interrupted apply finds it', async () => {
    let seenOnDisk: unknown;
    const ownership = join(dir, 'ownership.json');
    const writer: Subsystem<string, string[]> = {
      name: 'routes',
      memory: { key: 'routes', parse: (v) => (Array.isArray(v) ? (v as string[]) : undefined) },
      render: () => 'desired',
      async apply(_desired, context) {
        await context.remember([...(context.memory ?? []), 'route-new']);
        seenOnDisk = JSON.parse(await readFile(ownership, 'utf8'));
        throw new Error('killed here');
      },
    };
    await assert.rejects(engine([writer]).apply(DOCUMENT, model()), ApplyFailedError);
    assert.deepEqual(seenOnDisk, { routes: ['route-new'] }, 'on disk before the change');
    // The next agent (a restart) starts from the write-ahead record.
    let memoryAtRestart: unknown;
    const reader: Subsystem<string, string[]> = {
      name: 'routes',
      memory: { key: 'routes', parse: (v) => (Array.isArray(v) ? (v as string[]) : undefined) },
      render: () => 'desired',
      apply(_desired, context) {
        memoryAtRestart = context.memory;
        return Promise.resolve({ changed: false, memory: [] });
      },
    };
    const next = engine([reader]);
    await next.loadPersisted();
    await next.apply(DOCUMENT, model());
    assert.deepEqual(memoryAtRestart, ['route-new']);
  });

  it('drops the write-ahead record once the apply is persisted', async () => {
    const writer: Subsystem<string, string[]> = {
      name: 'routes',
      memory: { key: 'routes', parse: (v) => (Array.isArray(v) ? (v as string[]) : undefined) },
      render: () => 'desired',
      async apply(_desired, context) {
        await context.remember(['r1']);
        return { changed: true, memory: ['r1'] };
      },
    };
    await engine([writer]).apply(DOCUMENT, model());
    await assert.rejects(readFile(join(dir, 'ownership.json'), 'utf8'), /ENOENT/);
    assert.deepEqual((JSON.parse(await readFile(join(dir, 'applied.json'), 'utf8')) as { subsystems: unknown }).subsystems, { routes: ['r1'] });
  });

  it('renders the firewall last, with every other subsystem’s contribution', async () => {
    let contributions: FirewallRenderHost['contributions'] | undefined;
    const rule: FirewallRule = { family: 4, hook: 'tenant-input', rule: '-p tcp -m tcp --dport 9602 -j ACCEPT' };
    const contributor: Subsystem<string> = { name: 'metadata', render: () => 'm', firewall: () => [rule], apply: () => Promise.resolve({ changed: false }) };
    const firewall: Subsystem<string> = {
      name: 'firewall',
      collectsFirewall: true,
      render: (_model, renderHost) => {
        contributions = renderHost.contributions;
        return 'f';
      },
      apply: () => Promise.resolve({ changed: false }),
    };
    await engine([firewall, contributor]).apply(DOCUMENT, model());
    assert.deepEqual(contributions, [{ subsystem: 'metadata', rules: [rule] }]);
  });

  it('refuses two subsystems with one memory key', () => {
    assert.throws(() => engine([fake('a', [], { memoryKey: 'k' }), fake('b', [], { memoryKey: 'k' })]), /share a memory key/);
  });

  describe('deltas: what did not change is skipped while the host is verified', () => {
    /** A subsystem rendering `inputs[name]`, logging its checks and applies. */
    const follows = (name: string, inputs: Record<string, string>, journal: string[], outcome: { unsettling?: boolean } = {}): Subsystem<string> => ({
      name,
      render: () => inputs[name] ?? '',
      check: (desired) => {
        journal.push(`check ${name} ${desired}`);
        return Promise.resolve();
      },
      async apply(desired, context) {
        await context.runner.read(['ip', '-j', 'addr', 'show', name]);
        journal.push(`apply ${name} ${desired}`);
        return { changed: true, ...outcome };
      },
    });
    const skipped = (report: { steps: readonly { subsystem: string; skipped?: true; changed: boolean; commands: number }[] }) =>
      report.steps.filter((s) => s.skipped).map((s) => [s.subsystem, s.changed, s.commands]);

    it('checks and applies only the subsystems whose desired state changed, and reports the others skipped', async () => {
      const inputs = { a: 'a1', b: 'b1', c: 'c1' };
      const journal: string[] = [];
      const e = engine(['a', 'b', 'c'].map((n) => follows(n, inputs, journal)));
      const verifiedGenerations: number[] = [];
      e.trustLiveState((generation) => {
        verifiedGenerations.push(generation);
        return true;
      });
      await e.apply(DOCUMENT, model());
      journal.length = 0;
      inputs.b = 'b2';
      const report = await e.apply(DOCUMENT, model());
      assert.deepEqual(journal, ['check b b2', 'apply b b2']);
      assert.deepEqual(skipped(report), [
        ['a', false, 0],
        ['c', false, 0],
      ]);
      assert.deepEqual(verifiedGenerations, [1], 'asked about the generation the host was verified to hold');
      assert.deepEqual(
        runner.calls.filter((c) => c.argv[0] === 'ip').map((c) => c.argv.at(-1)),
        ['a', 'b', 'c', 'b'],
        'no read for a skipped subsystem',
      );
    });

    it('compares structure, not identity: an equal desired state rendered anew is unchanged', async () => {
      const journal: string[] = [];
      const structured: Subsystem<{ hosts: string[] }> = {
        name: 'dhcp',
        render: () => ({ hosts: ['02:a0:00:00:00:01,198.51.100.5'] }),
        apply: (desired) => {
          journal.push(`apply ${desired.hosts.join()}`);
          return Promise.resolve({ changed: true });
        },
      };
      const e = engine([structured]);
      e.trustLiveState(() => true);
      await e.apply(DOCUMENT, model());
      const report = await e.apply(DOCUMENT, model());
      assert.equal(journal.length, 1);
      assert.deepEqual(skipped(report), [['dhcp', false, 0]]);
    });

    it('applies everything in full without a verified live state, when asked to, and after a failed apply', async () => {
      const inputs = { a: 'a1', b: 'b1' };
      const journal: string[] = [];
      let verified = false;
      let failB = false;
      const b = follows('b', inputs, journal);
      const flakyB: Subsystem<string> = { ...b, apply: (desired, context) => (failB ? Promise.reject(new Error('b failed')) : b.apply(desired, context)) };
      const e = engine([follows('a', inputs, journal), flakyB]);
      e.trustLiveState(() => verified);
      await e.apply(DOCUMENT, model());
      const applies = () => journal.filter((j) => j.startsWith('apply')).length;

      let before = applies();
      assert.equal(skipped(await e.apply(DOCUMENT, model())).length, 0, 'unverified: nothing skipped');
      assert.equal(applies() - before, 2);

      verified = true;
      before = applies();
      assert.equal(skipped(await e.apply(DOCUMENT, model(), { full: true })).length, 0, 'full: nothing skipped');
      assert.equal(applies() - before, 2);

      inputs.b = 'b2';
      failB = true;
      await assert.rejects(e.apply(DOCUMENT, model()), ApplyFailedError);
      failB = false;
      inputs.b = 'b1';
      before = applies();
      assert.equal(skipped(await e.apply(DOCUMENT, model())).length, 0, 'after a failure: nothing skipped');
      assert.equal(applies() - before, 2);
      assert.deepEqual(skipped(await e.apply(DOCUMENT, model())), [
        ['a', false, 0],
        ['b', false, 0],
      ]);
    });

    it('applies the firewall when another subsystem’s contribution changed, though its own inputs did not', async () => {
      const journal: string[] = [];
      let port = 9602;
      const contributor: Subsystem<string> = {
        name: 'metadata',
        render: () => 'm',
        firewall: () => [{ family: 4, hook: 'tenant-input', rule: `-p tcp -m tcp --dport ${port} -j ACCEPT` }],
        apply: () => Promise.resolve({ changed: false }),
      };
      const firewall: Subsystem<readonly string[]> = {
        name: 'firewall',
        collectsFirewall: true,
        render: (_model, renderHost) => renderHost.contributions.flatMap((c) => c.rules.map((r) => r.rule)),
        apply: (desired) => {
          journal.push(`apply firewall ${desired.join()}`);
          return Promise.resolve({ changed: true });
        },
      };
      const e = engine([firewall, contributor]);
      e.trustLiveState(() => true);
      await e.apply(DOCUMENT, model());
      port = 9697;
      const report = await e.apply(DOCUMENT, model());
      assert.deepEqual(journal, ['apply firewall -p tcp -m tcp --dport 9602 -j ACCEPT', 'apply firewall -p tcp -m tcp --dport 9697 -j ACCEPT']);
      assert.deepEqual(skipped(report), [['metadata', false, 0]]);
    });

    it('gives a changed subsystem the desired state the host is verified to hold, and nothing when not verified', async () => {
      const inputs = { a: 'a1' };
      const previous: (string | undefined)[] = [];
      let verified = true;
      const a: Subsystem<string> = {
        name: 'a',
        render: () => inputs.a,
        apply: (_desired, _context, last) => {
          previous.push(last);
          return Promise.resolve({ changed: true });
        },
      };
      const e = engine([a]);
      e.trustLiveState(() => verified);
      await e.apply(DOCUMENT, model());
      inputs.a = 'a2';
      await e.apply(DOCUMENT, model());
      inputs.a = 'a3';
      verified = false;
      await e.apply(DOCUMENT, model());
      assert.deepEqual(previous, [undefined, 'a1', undefined]);
    });

    it('after a step that unsettles the host (an address removed), every later step is applied', async () => {
      const inputs = { interfaces: 'i1', routes: 'r1', dhcp: 'd1', hostname: 'h1' };
      const journal: string[] = [];
      const e = engine([follows('hostname', inputs, journal), follows('interfaces', inputs, journal, { unsettling: true }), follows('routes', inputs, journal), follows('dhcp', inputs, journal)]);
      e.trustLiveState(() => true);
      await e.apply(DOCUMENT, model());
      journal.length = 0;
      inputs.interfaces = 'i2';
      const report = await e.apply(DOCUMENT, model());
      assert.deepEqual(journal, ['check interfaces i2', 'apply interfaces i2', 'apply routes r1', 'apply dhcp d1']);
      assert.deepEqual(skipped(report), [['hostname', false, 0]]);
    });
  });

  describe('restore at start-up', () => {
    it('keeps the persisted document and its generation, and the next push takes the next generation', async () => {
      const e = engine([fake('a', [])]);
      await e.restore(DOCUMENT, model(), 7, '2026-01-01T00:00:00.000Z');
      assert.equal(e.current?.generation, 7);
      assert.equal(e.degraded, undefined);
      assert.equal((await e.apply(DOCUMENT, model())).generation, 8);
    });

    it('a failure keeps what applied (no rollback), stays the desired state, says degraded, and is retried until it holds', async () => {
      const journal: string[] = [];
      let failures = 1;
      const flaky: Subsystem<string> = {
        name: 'b',
        render: () => 'b-desired',
        apply() {
          journal.push('apply b');
          if (failures-- > 0) return Promise.reject(new Error('b not ready'));
          return Promise.resolve({ changed: true });
        },
      };
      const e = engine([fake('a', journal), flaky]);
      await e.restore(DOCUMENT, model(), 3, '2026-01-01T00:00:00.000Z');
      assert.equal(e.degraded?.reason, 'b: b not ready');
      assert.equal(e.current?.generation, 3, 'the document is not forgotten');
      assert.ok(!journal.includes('undo a'), 'what applied stays');
      assert.equal(e.lastReport?.rolled_back, false);
      await waitUntil(() => e.degraded === undefined);
      assert.equal(e.current?.generation, 3);
      assert.equal(e.lastReport?.ok, true);
      await e.shutdown();
    });

    it('a newer document stops the retries of the persisted one', async () => {
      let restoring = true;
      const blocker: Subsystem<string> = {
        name: 'b',
        render: () => 'b',
        apply: () => (restoring ? Promise.reject(new Error('not yet')) : Promise.resolve({ changed: true })),
      };
      const e = engine([blocker]);
      await e.restore(DOCUMENT, model(), 3, '2026-01-01T00:00:00.000Z');
      assert.ok(e.degraded);
      restoring = false;
      const report = await e.apply(DOCUMENT, model());
      assert.equal(report.generation, 4);
      assert.equal(e.degraded, undefined);
      await e.shutdown();
    });
  });
});

/** Poll a condition (the restore retries on its own clock). */
async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
