import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { dhcpFirewall } from './firewall.js';

type Doc = Record<string, unknown> & { networks: { network_type: string; subnets: { dhcp_enabled: boolean }[] }[] };

const LAB_DOC = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Doc;
const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

function modelOf(doc: Doc): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

describe('dhcpFirewall', () => {
  it('accepts DHCPv4 and DHCPv6 requests on each tenant interface dnsmasq serves', () => {
    assert.deepEqual(dhcpFirewall(modelOf(LAB_DOC), HOST), [
      { family: 4, hook: 'tenant-input', rule: '-i eth2 -p udp -m udp --dport 67 -j ACCEPT' },
      { family: 6, hook: 'tenant-input', rule: '-i eth2 -p udp -m udp --dport 547 -j ACCEPT' },
      { family: 4, hook: 'tenant-input', rule: '-i eth3 -p udp -m udp --dport 67 -j ACCEPT' },
      { family: 6, hook: 'tenant-input', rule: '-i eth3 -p udp -m udp --dport 547 -j ACCEPT' },
    ]);
  });

  it('opens nothing for an IP version without DHCP, nor on networks that are not tenant networks', () => {
    const doc = structuredClone(LAB_DOC);
    doc.networks[2]!.subnets[1]!.dhcp_enabled = false; // tenant A's IPv6 subnet
    for (const subnet of doc.networks[3]!.subnets) subnet.dhcp_enabled = false; // all of tenant B
    doc.networks[0]!.subnets[0]!.dhcp_enabled = true; // the management subnet: never served
    assert.deepEqual(dhcpFirewall(modelOf(doc), HOST), [{ family: 4, hook: 'tenant-input', rule: '-i eth2 -p udp -m udp --dport 67 -j ACCEPT' }]);
  });
});
