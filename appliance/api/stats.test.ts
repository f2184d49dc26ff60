import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFloatingIpCounters } from './stats.js';

describe('parseFloatingIpCounters', () => {
  it('sums the in and out accounting rules of each floating IP and ignores other rules', () => {
    const save = [
      '*filter',
      ':astara-fip-acct - [0:0]',
      '[12:3400] -A astara-fip-acct -d 198.51.100.10/32 -m comment --comment "fip-in 203.0.113.10 198.51.100.10"',
      '[7:900] -A astara-fip-acct -s 198.51.100.10/32 -m comment --comment "fip-out 203.0.113.10 198.51.100.10"',
      '[1:60] -A astara-fip-acct -d 198.51.100.20/32 -m comment --comment "fip-in 203.0.113.20 198.51.100.20"',
      '[99:9999] -A FORWARD -j ACCEPT',
      'COMMIT',
    ].join('\n');
    assert.deepEqual(parseFloatingIpCounters(save), [
      { floating_ip: '203.0.113.10', fixed_ip: '198.51.100.10', bytes_in: 3400, packets_in: 12, bytes_out: 900, packets_out: 7 },
      { floating_ip: '203.0.113.20', fixed_ip: '198.51.100.20', bytes_in: 60, packets_in: 1, bytes_out: 0, packets_out: 0 },
    ]);
  });

  it('returns nothing for a ruleset without the chain', () => {
    assert.deepEqual(parseFloatingIpCounters('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'), []);
  });
});
