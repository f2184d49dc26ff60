/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { listenerConnections, loadBalancerFirewall } from './firewall.js';
import { renderLoadBalancer } from './render.js';

const NOTES = readFileSync(new URL('../../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8');
const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function model(edit: (lb: any) => void = () => undefined): ConfigModel {
  const doc = JSON.parse(NOTES);
  edit(doc.services.loadbalancer);
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

const rules = (m: ConfigModel) => loadBalancerFirewall(renderLoadBalancer(m).plan, m, HOST);

describe('loadBalancerFirewall', () => {
  it("opens each enabled listener's port on the VIP, on the loadbalancer interface only, counted per listener", () => {
    assert.deepEqual(rules(model()), [
      { family: 4, hook: 'tenant-input', rule: '-d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m comment --comment lb-listener-80 -j ACCEPT' },
      { family: 4, hook: 'tenant-input', rule: '-d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 5432 -m conntrack --ctstate NEW -m comment --comment lb-listener-5432 -j ACCEPT' },
    ]);
  });

  it('opens nothing for a disabled listener, a disabled load balancer or a document without one', () => {
    assert.deepEqual(rules(model((lb) => (lb.listeners[0].admin_state_up = false))).map((r) => r.rule.split(' ')[9]), ['5432']);
    assert.deepEqual(rules(model((lb) => (lb.admin_state_up = false))), []);
    assert.deepEqual(loadBalancerFirewall(undefined, model(), HOST), []);
  });
});

describe('listenerConnections', () => {
  it("reads each listener rule's packet counter from iptables-save -c, quoted or not, and nothing else", () => {
    const save = [
      '*filter',
      ':INPUT DROP [0:0]',
      '[7:420] -A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '[12:720] -A astara-internal -d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m comment --comment lb-listener-80 -j ACCEPT',
      '[3:180] -A astara-internal -d 198.51.100.10/32 -i eth1 -p tcp -m tcp --dport 5432 -m conntrack --ctstate NEW -m comment --comment "lb-listener-5432" -j ACCEPT',
      '[9:540] -A astara-fip-acct -d 198.51.100.10/32 -i eth1 -m comment --comment "fip-in 203.0.113.10 198.51.100.10"',
      'COMMIT',
    ].join('\n');
    assert.deepEqual([...listenerConnections(save)], [
      [80, 12],
      [5432, 3],
    ]);
  });
});
