import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { routingFirewall } from './firewall.js';
import { planRouting } from './render.js';

type Doc = Record<string, unknown> & { networks: { network_type: string; subnets: { id: string; gateway_ip: string }[] }[] };

const LAB_DOC = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Doc;
const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

function modelOf(doc: Doc): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

describe('routingFirewall', () => {
  it('accepts BGP from the configured neighbour only, on the interface it is on', () => {
    const model = modelOf(LAB_DOC);
    assert.deepEqual(routingFirewall(planRouting(model, HOST), model, HOST), [
      { family: 6, hook: 'external-input', rule: '-s 2001:db8:e::1/128 -i eth1 -p tcp -m tcp --dport 179 -j ACCEPT' },
    ]);
  });

  it('opens nothing when BGP is not configured', () => {
    const doc = structuredClone(LAB_DOC);
    for (const subnet of doc.networks[1]!.subnets) if (subnet.id === 'ext-v6') subnet.gateway_ip = '';
    const model = modelOf(doc);
    assert.deepEqual(planRouting(model, HOST).bgp, []);
    assert.deepEqual(routingFirewall(planRouting(model, HOST), model, HOST), []);
  });

  it('uses the hook of the network a neighbour is on, and skips one on no network', () => {
    const model = modelOf(LAB_DOC);
    const session = { name: 'x', localAddress: '198.51.100.1', localAs: 64512, neighborAs: 64513 };
    const plan = { bgp: [{ ...session, neighbor: '198.51.100.20' }, { ...session, neighbor: '192.0.2.200' }, { ...session, neighbor: '2001:db8:ff::1' }] };
    assert.deepEqual(routingFirewall(plan, model, HOST), [
      { family: 4, hook: 'tenant-input', rule: '-s 198.51.100.20/32 -i eth2 -p tcp -m tcp --dport 179 -j ACCEPT' },
      { family: 4, hook: 'external-input', rule: '-s 192.0.2.200/32 -i eth1 -p tcp -m tcp --dport 179 -j ACCEPT' },
    ]);
  });
});
