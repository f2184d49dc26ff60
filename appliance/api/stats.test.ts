import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/support/fake-runner.js';
import { parseAddress } from '../../contract/index.js';
import { accountingRules } from '../drivers/firewall/accounting.js';
import { InterfaceNames } from '../host/interfaces.js';
import { parseFloatingIpCounters, StatsCollector } from './stats.js';

/** The firewall's own accounting rules of a floating IP, as `*tables-save -c` prints them with counters. */
function counted(floating: string, fixed: string, [packetsIn, bytesIn]: [number, number], [packetsOut, bytesOut]: [number, number]): string[] {
  const [inbound, outbound] = accountingRules({ floating: parseAddress(floating)!, fixed: parseAddress(fixed)! }, 'eth1');
  return [`[${packetsIn}:${bytesIn}] ${inbound!}`, `[${packetsOut}:${bytesOut}] ${outbound!}`];
}

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

  it('reads back exactly the rules the firewall renders, IPv6 included', () => {
    const save = ['*filter', ...counted('203.0.113.10', '198.51.100.10', [3, 180], [2, 120]), ...counted('2001:db8:e::10', 'fd00:a::10', [5, 520], [4, 416]), 'COMMIT'].join('\n');
    assert.deepEqual(parseFloatingIpCounters(save), [
      { floating_ip: '2001:db8:e::10', fixed_ip: 'fd00:a::10', bytes_in: 520, packets_in: 5, bytes_out: 416, packets_out: 4 },
      { floating_ip: '203.0.113.10', fixed_ip: '198.51.100.10', bytes_in: 180, packets_in: 3, bytes_out: 120, packets_out: 2 },
    ]);
  });
});

describe('StatsCollector', () => {
  const links = JSON.stringify([{ ifname: 'eth1', link_type: 'ether', address: '02:00:00:00:01:01', stats64: { rx: { bytes: 1, packets: 1, errors: 0, dropped: 0 }, tx: { bytes: 2, packets: 2, errors: 0, dropped: 0 } } }]);

  it('reports the IPv4 and IPv6 floating IP counters, each from its own family', async () => {
    const runner = new FakeRunner()
      .on('ip', { stdout: links })
      .on('iptables-save', { stdout: ['*filter', ...counted('203.0.113.10', '198.51.100.10', [3, 180], [2, 120]), 'COMMIT', ''].join('\n') })
      .on('ip6tables-save', { stdout: ['*filter', ...counted('2001:db8:e::10', 'fd00:a::10', [5, 520], [4, 416]), 'COMMIT', ''].join('\n') });
    const stats = await new StatsCollector(runner, new InterfaceNames(runner)).collect();
    assert.deepEqual(
      stats.floating_ips.map((f) => [f.floating_ip, f.bytes_in, f.bytes_out]),
      [
        ['2001:db8:e::10', 520, 416],
        ['203.0.113.10', 180, 120],
      ],
    );
    assert.deepEqual(
      runner.calls.filter((c) => c.argv[0]!.endsWith('tables-save')).map((c) => c.argv.join(' ')).sort(),
      ['ip6tables-save -c -t filter', 'iptables-save -c -t filter'],
    );
    assert.ok(runner.calls.every((c) => !c.mutating));
  });

  it('still reports one family when the other cannot be read', async () => {
    const runner = new FakeRunner()
      .on('ip', { stdout: links })
      .on('iptables-save', { stdout: '', stderr: 'iptables-save: not found', exitCode: 127 })
      .on('ip6tables-save', { stdout: ['*filter', ...counted('2001:db8:e::10', 'fd00:a::10', [5, 520], [4, 416]), 'COMMIT', ''].join('\n') });
    const stats = await new StatsCollector(runner, new InterfaceNames(runner)).collect();
    assert.deepEqual(stats.floating_ips.map((f) => f.floating_ip), ['2001:db8:e::10']);
  });
});
