import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { createHaSubsystem } from './index.js';

const HOST = { realName: (generic: string) => generic.replace('ge', 'eth'), contributions: [] };

function modelOf(doc: unknown): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

const LAB_DOC = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('the ha subsystem', () => {
  const ha = createHaSubsystem();

  it('asks the firewall for VRRP and conntrackd sync from each peer, on the management network, in the peer\'s IP version', () => {
    const model = modelOf({ ...LAB_DOC, ha_resource: true, ha_config: { peers: ['fdca:3ba5:a17a:acda::3', 'fdca:3ba5:a17a:acda::4'], priority: 50 } });
    assert.deepEqual(ha.firewall!(ha.render(model, HOST), model, HOST), [
      { family: 6, hook: 'management-input', rule: '-s fdca:3ba5:a17a:acda::3/128 -p vrrp -j ACCEPT' },
      { family: 6, hook: 'management-input', rule: '-s fdca:3ba5:a17a:acda::3/128 -p udp -m udp --dport 3780 -j ACCEPT' },
      { family: 6, hook: 'management-input', rule: '-s fdca:3ba5:a17a:acda::4/128 -p vrrp -j ACCEPT' },
      { family: 6, hook: 'management-input', rule: '-s fdca:3ba5:a17a:acda::4/128 -p udp -m udp --dport 3780 -j ACCEPT' },
    ]);
  });

  it('asks for nothing on a router without HA', () => {
    const model = modelOf(LAB_DOC);
    assert.deepEqual(ha.firewall!(ha.render(model, HOST), model, HOST), []);
  });

  it('changes nothing on the host when applied (keepalived and conntrackd come later)', async () => {
    const runner = new FakeRunner();
    const model = modelOf({ ...LAB_DOC, ha_resource: true, ha_config: { peers: ['fdca:3ba5:a17a:acda::3'], priority: 50 } });
    const outcome = await ha.apply(ha.render(model, HOST), { runner, logger: pino({ level: 'silent' }), memory: undefined, remember: () => Promise.resolve() });
    assert.deepEqual(outcome, { changed: false });
    assert.deepEqual(runner.calls, []);
  });
});
