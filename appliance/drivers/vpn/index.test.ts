import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { FakeRunner } from '../../../test/support/fake-runner.js';
import { createVpnSubsystem } from './index.js';

const HOST = { realName: (generic: string) => generic.replace('ge', 'eth'), contributions: [] };

function fixture(name: string): ConfigModel {
  const result = validateDocument(JSON.parse(readFileSync(new URL(`../../../test/fixtures/documents/${name}`, import.meta.url), 'utf8')));
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

describe('the vpn subsystem', () => {
  const vpn = createVpnSubsystem();

  it('asks the firewall for IKE, NAT-T, ESP and AH on the external interface and a NAT exemption, in both families', () => {
    const model = fixture('router-notes-8.1-vpn.json');
    const rules = vpn.firewall!(vpn.render(model, HOST), model, HOST);
    for (const family of [4, 6] as const) {
      assert.deepEqual(
        rules.filter((r) => r.family === family).map((r) => `${r.hook} ${r.rule}`),
        [
          'external-input -p udp -m udp --dport 500 -j ACCEPT',
          'external-input -p udp -m udp --dport 4500 -j ACCEPT',
          'external-input -p esp -j ACCEPT',
          'external-input -p ah -j ACCEPT',
          'nat-postrouting-exempt -m policy --dir out --pol ipsec -j RETURN',
        ],
      );
    }
  });

  it('asks for nothing without a VPN service', () => {
    const model = fixture('router-notes-8.1.json');
    assert.deepEqual(vpn.firewall!(vpn.render(model, HOST), model, HOST), []);
  });

  it('changes nothing on the host when applied (strongSwan comes later)', async () => {
    const runner = new FakeRunner();
    const model = fixture('router-notes-8.1-vpn.json');
    const outcome = await vpn.apply(vpn.render(model, HOST), { runner, logger: pino({ level: 'silent' }), memory: undefined, remember: () => Promise.resolve() });
    assert.deepEqual(outcome, { changed: false });
    assert.deepEqual(runner.calls, []);
  });
});
