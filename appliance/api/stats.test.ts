import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeRunner } from '../../test/support/fake-runner.js';
import { counterName, type FipPair } from '../drivers/firewall/nft.js';
import { InterfaceNames } from '../host/interfaces.js';
import { parseFloatingIpCounters, StatsCollector } from './stats.js';

const pairOf = (floating: string, fixed: string): FipPair => ({ family: floating.includes(':') ? 6 : 4, floating, fixed });

/** The counters of one floating IP as `nft -j list counters` prints them, named as the firewall names them. */
function counted(floating: string, fixed: string, [packetsIn, bytesIn]: [number, number], [packetsOut, bytesOut]: [number, number]): object[] {
  const pair = pairOf(floating, fixed);
  const counter = (name: string, packets: number, bytes: number) => ({ counter: { family: 'inet', name, table: 'astara-fip', handle: 7, packets, bytes } });
  return [counter(counterName('in', pair), packetsIn, bytesIn), counter(counterName('out', pair), packetsOut, bytesOut)];
}

const listing = (...counters: object[][]) => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, ...counters.flat()] });

describe('parseFloatingIpCounters', () => {
  it('sums the in and out counters of each floating IP and ignores other counters', () => {
    const json = listing(
      counted('203.0.113.10', '198.51.100.10', [12, 3400], [7, 900]),
      counted('203.0.113.20', '198.51.100.20', [1, 60], [0, 0]),
      [{ counter: { family: 'inet', name: 'operator-own', table: 'astara-fip', handle: 9, packets: 99, bytes: 9999 } }],
    );
    assert.deepEqual(parseFloatingIpCounters(json), [
      { floating_ip: '203.0.113.10', fixed_ip: '198.51.100.10', bytes_in: 3400, packets_in: 12, bytes_out: 900, packets_out: 7 },
      { floating_ip: '203.0.113.20', fixed_ip: '198.51.100.20', bytes_in: 60, packets_in: 1, bytes_out: 0, packets_out: 0 },
    ]);
  });

  it('returns nothing for a table without counters', () => {
    assert.deepEqual(parseFloatingIpCounters(listing()), []);
  });

  it('reads IPv6 addresses back from the counter names', () => {
    assert.deepEqual(parseFloatingIpCounters(listing(counted('2001:db8:e::10', 'fd00:a::10', [5, 520], [4, 416]))), [
      { floating_ip: '2001:db8:e::10', fixed_ip: 'fd00:a::10', bytes_in: 520, packets_in: 5, bytes_out: 416, packets_out: 4 },
    ]);
  });
});

describe('StatsCollector', () => {
  const links = JSON.stringify([{ ifname: 'eth1', link_type: 'ether', address: '02:00:00:00:01:01', stats64: { rx: { bytes: 1, packets: 1, errors: 0, dropped: 0 }, tx: { bytes: 2, packets: 2, errors: 0, dropped: 0 } } }]);

  it('reports the IPv4 and IPv6 floating IP counters from one listing of the table’s counters', async () => {
    const runner = new FakeRunner()
      .on('ip', { stdout: links })
      .on('nft', { stdout: listing(counted('203.0.113.10', '198.51.100.10', [3, 180], [2, 120]), counted('2001:db8:e::10', 'fd00:a::10', [5, 520], [4, 416])) });
    const stats = await new StatsCollector(runner, new InterfaceNames(runner)).collect();
    assert.deepEqual(
      stats.floating_ips.map((f) => [f.floating_ip, f.bytes_in, f.bytes_out]),
      [
        ['2001:db8:e::10', 520, 416],
        ['203.0.113.10', 180, 120],
      ],
    );
    assert.deepEqual(
      runner.calls.filter((c) => c.argv[0] === 'nft').map((c) => c.argv.join(' ')),
      ['nft -j list counters table inet astara-fip'],
    );
    assert.ok(runner.calls.every((c) => !c.mutating));
  });

  it('reports no floating IPs while the table does not exist', async () => {
    const runner = new FakeRunner()
      .on('ip', { stdout: links })
      .on('nft', { stdout: '', stderr: 'Error: No such file or directory', exitCode: 1 });
    const stats = await new StatsCollector(runner, new InterfaceNames(runner)).collect();
    assert.deepEqual(stats.floating_ips, []);
  });
});
