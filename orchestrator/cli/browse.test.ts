import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceView } from '../core/control.js';
import {
  BrowseController,
  commandDone,
  DEBUG_REASON,
  dumpText,
  handleInput,
  handleKey,
  INITIAL_STATE,
  refreshed,
  refreshFailed,
  renderScreen,
  splitKeys,
  statusLine,
  type BrowseApi,
  type BrowseState,
} from './browse.js';

const NOW = Date.parse('2024-05-01T10:00:30.000Z');

function resource(id: string, instanceState = 'configured'): ResourceView {
  return {
    id,
    driver: 'router',
    tenant_id: `tenant-of-${id}`,
    state: 'CalcAction',
    instance_state: instanceState,
    action: 'poll',
    queue_length: 0,
    boot_attempts: 0,
    ha: { requested: false, pair: false },
    appliances: [{ name: `ak-router-${id}`, id: `i-${id}`, status: 'ACTIVE', health: 'answering', management_address: 'fdca::5', booted_at: '2024-05-01T10:00:00.000Z', ha: null, details: {} }],
    last_push: { at: '2024-05-01T10:00:20.000Z', ok: true, duration_ms: 10, generation: 1, error: null },
    last_error: null,
    debug: { enabled: false, scope: null, reason: null },
    shard: 0,
  };
}

const THREE = [resource('aaa'), resource('bbb', 'error'), resource('ccc', 'booting')];

function loaded(resources: readonly ResourceView[] = THREE, selected = 0): BrowseState {
  return { ...refreshed(INITIAL_STATE, resources, NOW), selected };
}

describe('browse key handling', () => {
  it('moves the selection with j/k and the arrows, within the list', () => {
    let state = loaded();
    state = handleKey(state, { input: 'j' }).state;
    assert.equal(state.selected, 1);
    state = handleKey(state, { input: '', downArrow: true }).state;
    assert.equal(state.selected, 2);
    state = handleKey(state, { input: 'j' }).state;
    assert.equal(state.selected, 2);
    state = handleKey(state, { input: '', upArrow: true }).state;
    assert.equal(state.selected, 1);
    state = handleKey(state, { input: 'k' }).state;
    state = handleKey(state, { input: 'k' }).state;
    assert.equal(state.selected, 0);
    assert.equal(handleKey(state, { input: 'G' }).state.selected, 2);
    assert.equal(handleKey(loaded(THREE, 2), { input: 'g' }).state.selected, 0);
    assert.equal(handleKey(loaded([]), { input: 'j' }).state.selected, 0);
  });

  it('sends rebuild, update, debug (with its reason) and manage for the selected resource', () => {
    const state = loaded(THREE, 1);
    const expected: [string, string[]][] = [
      ['r', ['resource', 'rebuild', 'bbb']],
      ['u', ['resource', 'update', 'bbb']],
      ['d', ['resource', 'debug', 'bbb', '--reason', DEBUG_REASON]],
      ['m', ['resource', 'manage', 'bbb']],
    ];
    for (const [input, words] of expected) {
      const { state: next, effect } = handleKey(state, { input });
      assert.equal(effect?.kind, 'command', input);
      assert.deepEqual(effect.kind === 'command' ? effect.words : undefined, words);
      assert.match(next.message ?? '', /bbb: sending$/);
    }
    assert.equal(DEBUG_REASON, 'astara-ctl browse');
  });

  it('sends nothing when there is nothing selected, and ignores other keys', () => {
    const empty = handleKey(loaded([]), { input: 'r' });
    assert.equal(empty.effect, undefined);
    assert.equal(empty.state.message, 'no resource selected');
    const state = loaded();
    assert.deepEqual(handleKey(state, { input: 'x' }), { state });
  });

  it('quits on q and Ctrl-C', () => {
    assert.deepEqual(handleKey(loaded(), { input: 'q' }).effect, { kind: 'quit' });
    assert.deepEqual(handleKey(loaded(), { input: 'c', ctrl: true }).effect, { kind: 'quit' });
    assert.equal(handleKey(loaded(), { input: 'c' }).effect, undefined);
  });

  it('takes keys that arrive together one by one, arrows included, and stops at a quit', () => {
    assert.deepEqual(splitKeys('jj\u001b[Br'), [{ input: 'j' }, { input: 'j' }, { input: '', downArrow: true }, { input: 'r' }]);
    // Ink drops the escape of a sequence at the start of the chunk.
    assert.deepEqual(splitKeys('[Ak'), [{ input: '', upArrow: true }, { input: 'k' }]);
    const { state, effects } = handleInput(loaded(), { input: 'j\u001b[Bkr' });
    assert.equal(state.selected, 1);
    assert.deepEqual(effects, [{ kind: 'command', label: 'rebuild bbb', words: ['resource', 'rebuild', 'bbb'] }]);
    const quitting = handleInput(loaded(), { input: 'jqr' });
    assert.deepEqual(quitting.effects, [{ kind: 'quit' }]);
    assert.equal(handleInput(loaded(), { input: '', downArrow: true }).state.selected, 1);
  });

  it('keeps the selected resource selected across refreshes', () => {
    const state = loaded(THREE, 1);
    const reordered = refreshed(state, [resource('000'), ...THREE], NOW + 2000);
    assert.equal(reordered.resources[reordered.selected]?.id, 'bbb');
    const gone = refreshed(loaded(THREE, 2), [resource('aaa')], NOW + 2000);
    assert.equal(gone.selected, 0);
  });

  it('keeps the table and says why when a refresh fails, until one works', () => {
    const failed = refreshFailed(loaded(), 'cannot reach the orchestrator at http://[::1]:44250: connect ECONNREFUSED', NOW + 2000);
    assert.equal(failed.resources.length, 3);
    assert.match(statusLine(failed), /refresh failed at 10:00:32 UTC: cannot reach the orchestrator/);
    assert.match(statusLine(refreshed(failed, THREE, NOW + 4000)), /refreshed at 10:00:34 UTC$/);
  });
});

describe('browse screen', () => {
  it('draws the table, marks the selection and fits the width', () => {
    const lines = renderScreen(commandDone(loaded(THREE, 1), 'rebuild bbb', undefined), 100, 40, NOW);
    const texts = lines.map((l) => l.text);
    assert.match(texts[0]!, /^astara-ctl browse: 3 resources$/);
    assert.match(texts[1]!, /^ {2}ID\s+TENANT\s+STATE\s+INSTANCE\s+ADDRESS\s+LAST PUSH\s+DEBUG$/);
    assert.match(texts[2]!, /^ {2}aaa\s+tenant-of-aaa\s+CalcAction\s+configured\s+fdca::5\s+ok 10s ago\s+-$/);
    assert.match(texts[3]!, /^> bbb\s/);
    assert.equal(lines[3]!.selected, true);
    assert.equal(lines[3]!.color, 'red');
    assert.equal(lines[4]!.color, 'yellow');
    assert.equal(texts[5], 'booting 1, configured 1, error 1 | refreshed at 10:00:30 UTC');
    assert.equal(texts[6], 'rebuild bbb: done');
    assert.match(texts[7]!, /q quit/);
    for (const width of [100, 60, 30]) {
      for (const line of renderScreen(loaded(), width, 40, NOW)) assert.ok(line.text.length <= width, `${width}: ${line.text}`);
    }
  });

  it('cuts long ids rather than dropping columns on a narrow terminal', () => {
    const long = resource('5f3c0e3e-3a3b-4d36-9e0b-4f1e2a6c0d11');
    const [, header, row] = renderScreen(loaded([long]), 80, 24, NOW).map((l) => l.text);
    assert.match(header!, /DEBUG$/);
    assert.match(row!, /^> 5f3c0e3e-[\w-]*…\s+tenant-[\w-]*…\s+CalcAction\s+configured\s+fdca::5\s+ok 10s ago\s+-$/);
    assert.ok(row!.length <= 80);
  });

  it('scrolls so the selection stays on a short screen', () => {
    const many = Array.from({ length: 50 }, (_, i) => resource(`r${String(i).padStart(2, '0')}`));
    const height = 12;
    const lines = renderScreen(loaded(many, 40), 100, height, NOW);
    assert.ok(lines.length < height);
    const selected = lines.filter((l) => l.selected);
    assert.equal(selected.length, 1);
    assert.match(selected[0]!.text, /^> r40\s/);
    assert.match(lines[0]!.text, /\(\d+-41 shown\)$/);
  });

  it('says it is loading before the first refresh, and when there is nothing', () => {
    assert.ok(renderScreen(INITIAL_STATE, 80, 24, NOW).some((l) => l.text === '  loading...'));
    assert.ok(renderScreen(loaded([]), 80, 24, NOW).some((l) => l.text === '  no resources'));
    const unanswered = refreshFailed(INITIAL_STATE, 'cannot reach the orchestrator', NOW);
    assert.ok(renderScreen(unanswered, 80, 24, NOW).some((l) => l.text === '  no answer from the orchestrator yet'));
    assert.equal(statusLine(INITIAL_STATE), 'waiting for the first refresh');
  });

  it('dumps the plain table', () => {
    const text = dumpText(THREE, NOW);
    assert.equal(text.split('\n').length, 5);
    assert.match(text, /^bbb\s+tenant-of-bbb\s+CalcAction\s+error\s/m);
  });
});

describe('BrowseController', () => {
  function fakeApi(): BrowseApi & { sent: (readonly string[])[]; fail: boolean; lists: number } {
    const api = {
      sent: [] as (readonly string[])[],
      fail: false,
      lists: 0,
      listResources(): Promise<readonly ResourceView[]> {
        api.lists++;
        return api.fail ? Promise.reject(new Error('cannot reach the orchestrator')) : Promise.resolve(THREE);
      },
      send(words: readonly string[]): Promise<void> {
        api.sent.push(words);
        return api.fail ? Promise.reject(new Error('unknown target: no resource aaa')) : Promise.resolve();
      },
    };
    return api;
  }

  function next(controller: BrowseController, predicate: (state: BrowseState) => boolean): Promise<BrowseState> {
    return new Promise((resolve) => {
      const unsubscribe = controller.subscribe((state) => {
        if (predicate(state)) {
          unsubscribe();
          resolve(state);
        }
      });
    });
  }

  it('refreshes, sends commands, reports their outcome and quits', async () => {
    const api = fakeApi();
    let quit = false;
    const controller = new BrowseController(api, 60_000, () => (quit = true));
    const first = next(controller, (s) => s.refreshedAt !== undefined);
    controller.start();
    assert.equal((await first).resources.length, 3);

    const done = next(controller, (s) => s.message === 'rebuild aaa: done');
    controller.key({ input: 'r' });
    await done;
    assert.deepEqual(api.sent, [['resource', 'rebuild', 'aaa']]);

    api.fail = true;
    const failed = next(controller, (s) => s.message?.startsWith('update aaa: failed') === true);
    controller.key({ input: 'u' });
    assert.equal((await failed).message, 'update aaa: failed: unknown target: no resource aaa');

    const refreshFailure = next(controller, (s) => s.refreshError !== undefined);
    await controller.refresh();
    assert.equal((await refreshFailure).resources.length, 3);

    controller.key({ input: 'q' });
    assert.equal(quit, true);
  });
});
