// The registration: every subsystem that needs something from the firewall
// declares it through its `firewall()`, gathered here as the engine gathers it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { validateDocument } from '../../contract/index.js';
import { FakeRunner } from '../../test/support/fake-runner.js';
import type { FirewallRule } from '../engine/subsystem.js';
import { DaemonRegistry } from '../host/daemons.js';
import { InterfaceNames } from '../host/interfaces.js';
import { createSubsystems } from './index.js';

describe('createSubsystems', () => {
  it('gives the firewall, rendered last, what DHCP, routing, the metadata proxy, VPN and HA need', async () => {
    const runner = new FakeRunner();
    const subsystems = createSubsystems({
      stateDir: join(tmpdir(), 'astara-unused-state'),
      interfaces: new InterfaceNames(runner),
      daemons: new DaemonRegistry(),
      logger: pino({ level: 'silent' }),
    });
    const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/documents/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
    // The lab router (DHCP in both versions, a BGP neighbour) with a VPN service and an HA peer.
    const result = validateDocument({
      ...fixture('harness-router.json'),
      vpn: fixture('router-notes-8.1-vpn.json').vpn,
      ha_resource: true,
      ha_config: { peers: ['fdca:3ba5:a17a:acda::3'], priority: 50 },
    });
    assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
    const host = { realName: (generic: string) => generic.replace('ge', 'eth'), contributions: [] };

    const hooks: Record<string, string[]> = {};
    for (const subsystem of subsystems.filter((s) => !s.collectsFirewall)) {
      const rules = (subsystem.firewall?.(subsystem.render(result.model, host), result.model, host) ?? []) as FirewallRule[];
      if (rules.length > 0) hooks[subsystem.name] = [...new Set(rules.map((r) => `${r.family} ${r.hook}`))];
    }
    // The metadata proxy holds an upstream connection pool even before it listens.
    await subsystems.find((s) => s.name === 'metadata-proxy')?.stop?.();

    assert.deepEqual(subsystems.filter((s) => s.collectsFirewall).map((s) => s.name), ['firewall']);
    assert.deepEqual(hooks, {
      dhcp: ['4 tenant-input', '6 tenant-input'],
      routing: ['6 external-input'],
      'metadata-proxy': ['4 nat-prerouting', '4 tenant-input'],
      vpn: ['4 external-input', '4 nat-postrouting-exempt', '6 external-input', '6 nat-postrouting-exempt'],
      ha: ['6 management-input'],
    });
  });

  it("gives the firewall the load balancer's listener ports on the loadbalancer network", async () => {
    const subsystems = createSubsystems({
      stateDir: join(tmpdir(), 'astara-unused-state'),
      interfaces: new InterfaceNames(new FakeRunner()),
      daemons: new DaemonRegistry(),
      logger: pino({ level: 'silent' }),
    });
    const result = validateDocument(JSON.parse(readFileSync(new URL('../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8')));
    assert.ok(result.ok);
    const host = { realName: (generic: string) => generic.replace('ge', 'eth'), contributions: [] };
    const contributed = subsystems.flatMap((s) => (s.collectsFirewall ? [] : ((s.firewall?.(s.render(result.model, host), result.model, host) ?? []) as FirewallRule[]).map((r) => `${s.name} ${r.hook} ${r.rule}`)));
    for (const subsystem of subsystems) await subsystem.stop?.();
    assert.deepEqual(contributed, [
      'loadbalancer tenant-input -d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m comment --comment lb-listener-80 -j ACCEPT',
      'loadbalancer tenant-input -d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 5432 -m conntrack --ctstate NEW -m comment --comment lb-listener-5432 -j ACCEPT',
    ]);
  });
});
