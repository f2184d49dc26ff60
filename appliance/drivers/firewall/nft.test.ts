import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  counterName,
  deltaText,
  desiredElements,
  elementDelta,
  inverseDelta,
  liveTable,
  pairKey,
  parseCounterName,
  replaceText,
  tableDefinition,
  type FipPair,
  type FloatingIpTable,
} from './nft.js';

const V4: FipPair = { family: 4, floating: '203.0.113.10', fixed: '198.51.100.10' };
const V6: FipPair = { family: 6, floating: '2001:db8:e::10', fixed: 'fd00:a::10' };
const TABLE: FloatingIpTable = { managementIf: 'eth0', externalIf: 'eth1', tenantMark: '0x10000/0x10000', exemptMark: '0x20000/0x20000', pairs: [V4, V6] };

describe('the floating IPs’ nftables table', () => {
  it('renders maps, named counters and chains at their priorities', () => {
    assert.equal(
      tableDefinition(TABLE),
      [
        'table inet astara-fip {',
        '\tcounter fip-in-203.0.113.10-198.51.100.10 {',
        '\t}',
        '\tcounter fip-out-203.0.113.10-198.51.100.10 {',
        '\t}',
        '\tcounter fip-in-2001_db8_e__10-fd00_a__10 {',
        '\t}',
        '\tcounter fip-out-2001_db8_e__10-fd00_a__10 {',
        '\t}',
        '\tmap dnat4 {',
        '\t\ttype ipv4_addr : ipv4_addr',
        '\t\telements = { 203.0.113.10 : 198.51.100.10 }',
        '\t}',
        '\tmap snat4 {',
        '\t\ttype ipv4_addr : ipv4_addr',
        '\t\telements = { 198.51.100.10 : 203.0.113.10 }',
        '\t}',
        '\tmap acct_in4 {',
        '\t\ttype ipv4_addr : counter',
        '\t\telements = { 198.51.100.10 : "fip-in-203.0.113.10-198.51.100.10" }',
        '\t}',
        '\tmap acct_out4 {',
        '\t\ttype ipv4_addr : counter',
        '\t\telements = { 198.51.100.10 : "fip-out-203.0.113.10-198.51.100.10" }',
        '\t}',
        '\tmap dnat6 {',
        '\t\ttype ipv6_addr : ipv6_addr',
        '\t\telements = { 2001:db8:e::10 : fd00:a::10 }',
        '\t}',
        '\tmap snat6 {',
        '\t\ttype ipv6_addr : ipv6_addr',
        '\t\telements = { fd00:a::10 : 2001:db8:e::10 }',
        '\t}',
        '\tmap acct_in6 {',
        '\t\ttype ipv6_addr : counter',
        '\t\telements = { fd00:a::10 : "fip-in-2001_db8_e__10-fd00_a__10" }',
        '\t}',
        '\tmap acct_out6 {',
        '\t\ttype ipv6_addr : counter',
        '\t\telements = { fd00:a::10 : "fip-out-2001_db8_e__10-fd00_a__10" }',
        '\t}',
        '\tchain prerouting {',
        '\t\ttype nat hook prerouting priority dstnat + 1; policy accept;',
        '\t\tiifname != "eth0" dnat ip to ip daddr map @dnat4',
        '\t\tiifname != "eth0" dnat ip6 to ip6 daddr map @dnat6',
        '\t}',
        '\tchain output {',
        '\t\ttype nat hook output priority -99; policy accept;',
        '\t\tdnat ip to ip daddr map @dnat4',
        '\t\tdnat ip6 to ip6 daddr map @dnat6',
        '\t}',
        '\tchain postrouting {',
        '\t\ttype nat hook postrouting priority srcnat - 1; policy accept;',
        '\t\tmeta mark & 0x20000 == 0x20000 return',
        '\t\tmeta mark & 0x10000 != 0x10000 return',
        '\t\toifname "eth1" snat ip to ip saddr map @snat4',
        '\t\toifname "eth1" snat ip6 to ip6 saddr map @snat6',
        '\t\toifname != "eth1" ct status dnat snat ip to ip saddr map @snat4',
        '\t\toifname != "eth1" ct status dnat snat ip6 to ip6 saddr map @snat6',
        '\t}',
        '\tchain forward {',
        '\t\ttype filter hook forward priority filter; policy accept;',
        '\t\tiifname "eth1" counter name ip daddr map @acct_in4',
        '\t\toifname "eth1" counter name ip saddr map @acct_out4',
        '\t\tiifname "eth1" counter name ip6 daddr map @acct_in6',
        '\t\toifname "eth1" counter name ip6 saddr map @acct_out6',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('has a structure that floating IPs added or removed leave unchanged, and that the interfaces change', () => {
    const structure = tableDefinition(TABLE, false);
    assert.equal(tableDefinition({ ...TABLE, pairs: [] }, false), structure);
    assert.equal(tableDefinition({ ...TABLE, pairs: [] }), structure);
    assert.doesNotMatch(structure, /elements|counter fip/);
    assert.notEqual(tableDefinition({ ...TABLE, externalIf: 'eth3' }, false), structure);
  });

  it('without an external network: DNAT only, no SNAT or accounting rules', () => {
    const text = tableDefinition({ ...TABLE, externalIf: undefined, managementIf: undefined });
    assert.match(text, /^\t\tdnat ip to ip daddr map @dnat4$/m);
    assert.doesNotMatch(text, /snat ip|counter name/);
  });

  it('replaces the table whole: declared, deleted, defined, in one text', () => {
    assert.equal(replaceText('table inet astara-fip {\n}\n'), 'table inet astara-fip\ndelete table inet astara-fip\ntable inet astara-fip {\n}\n');
  });

  it('names counters after both addresses and reads them back', () => {
    assert.equal(counterName('out', V6), 'fip-out-2001_db8_e__10-fd00_a__10');
    assert.deepEqual(parseCounterName(counterName('out', V6)), { direction: 'out', floating: '2001:db8:e::10', fixed: 'fd00:a::10' });
    assert.deepEqual(parseCounterName(counterName('in', V4)), { direction: 'in', floating: '203.0.113.10', fixed: '198.51.100.10' });
    assert.equal(parseCounterName('fip-in-203.0.113.10'), undefined);
    assert.equal(parseCounterName('other'), undefined);
  });
});

describe('elementDelta and deltaText', () => {
  const moved: FipPair = { family: 4, floating: '203.0.113.10', fixed: '198.51.100.11' };

  it('finds the floating IPs added and removed; a moved one is both', () => {
    assert.deepEqual(elementDelta([pairKey(V4), pairKey(V6)], [V4, V6]), { added: [], removed: [] });
    assert.deepEqual(elementDelta([pairKey(V4)], [V6]), { added: [V6], removed: [V4] });
    assert.deepEqual(elementDelta([pairKey(V4)], [moved]), { added: [moved], removed: [V4] });
    assert.deepEqual(elementDelta([], []), { added: [], removed: [] });
  });

  it('deletes elements, then their counters, then adds counters, then elements: one transaction', () => {
    assert.equal(
      deltaText({ added: [moved], removed: [V4] }),
      [
        'delete element inet astara-fip dnat4 { 203.0.113.10 }',
        'delete element inet astara-fip snat4 { 198.51.100.10 }',
        'delete element inet astara-fip acct_in4 { 198.51.100.10 }',
        'delete element inet astara-fip acct_out4 { 198.51.100.10 }',
        'delete counter inet astara-fip fip-in-203.0.113.10-198.51.100.10',
        'delete counter inet astara-fip fip-out-203.0.113.10-198.51.100.10',
        'add counter inet astara-fip fip-in-203.0.113.10-198.51.100.11',
        'add counter inet astara-fip fip-out-203.0.113.10-198.51.100.11',
        'add element inet astara-fip dnat4 { 203.0.113.10 : 198.51.100.11 }',
        'add element inet astara-fip snat4 { 198.51.100.11 : 203.0.113.10 }',
        'add element inet astara-fip acct_in4 { 198.51.100.11 : "fip-in-203.0.113.10-198.51.100.11" }',
        'add element inet astara-fip acct_out4 { 198.51.100.11 : "fip-out-203.0.113.10-198.51.100.11" }',
        '',
      ].join('\n'),
    );
    assert.equal(deltaText({ added: [], removed: [] }), '');
  });

  it('undoes a delta with its inverse', () => {
    assert.deepEqual(inverseDelta({ added: [V6], removed: [V4] }), { added: [V4], removed: [V6] });
  });
});

describe('liveTable', () => {
  const listing = (handle: number, elem: string[][], packets: number) =>
    JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'astara-fip', handle } },
        { counter: { family: 'inet', name: counterName('in', V4), table: 'astara-fip', handle: handle + 1, packets, bytes: packets * 100 } },
        { map: { family: 'inet', name: 'dnat4', table: 'astara-fip', type: 'ipv4_addr', handle: handle + 2, map: 'ipv4_addr', elem } },
        { chain: { family: 'inet', table: 'astara-fip', name: 'output', handle: handle + 3, type: 'nat', hook: 'output', prio: -99, policy: 'accept' } },
      ],
    });

  it('splits the structure from the elements, without handles or counters’ values', () => {
    const live = liveTable(listing(1, [['203.0.113.11', '198.51.100.11'], ['203.0.113.10', '198.51.100.10']], 5));
    assert.deepEqual(live.elements, [`counter ${counterName('in', V4)}`, 'dnat4 203.0.113.10 198.51.100.10', 'dnat4 203.0.113.11 198.51.100.11']);
    assert.equal(liveTable(listing(9, [], 0)).structure, live.structure);
  });

  it('reads the elements of a table as desiredElements lists them', () => {
    assert.deepEqual(desiredElements([V4]), [
      `acct_in4 198.51.100.10 ${counterName('in', V4)}`,
      `acct_out4 198.51.100.10 ${counterName('out', V4)}`,
      `counter ${counterName('in', V4)}`,
      `counter ${counterName('out', V4)}`,
      'dnat4 203.0.113.10 198.51.100.10',
      'snat4 198.51.100.10 203.0.113.10',
    ]);
  });
});
