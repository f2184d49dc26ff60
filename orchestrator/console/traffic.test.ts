import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countersOfStats, ratesOf, TrafficHistory, type TrafficSample } from './traffic.js';

const sample = (at: number, ge0: number, appliance = 'i1', fip?: number): TrafficSample => ({
  at,
  appliance,
  interfaces: { ge0: { in: ge0, out: ge0 * 2 } },
  floatingIps: fip === undefined ? {} : { '203.0.113.5': { in: fip, out: 0 } },
});

describe('traffic rates', () => {
  it('gives bytes per second between consecutive samples, per interface and floating IP', () => {
    const series = ratesOf([sample(0, 0, 'i1', 0), sample(10_000, 10_000, 'i1', 500), sample(20_000, 30_000, 'i1', 500)]);
    assert.deepEqual(series.at, [10, 20]);
    assert.deepEqual(series.interfaces.ge0, { in: [1000, 2000], out: [2000, 4000] });
    assert.deepEqual(series.floating_ips['203.0.113.5'], { in: [50, 0], out: [0, 0] });
  });

  it('leaves a gap where the appliance changed or a counter went back', () => {
    const series = ratesOf([sample(0, 5000), sample(1000, 6000, 'i2'), sample(2000, 100, 'i2'), sample(3000, 600, 'i2')]);
    assert.deepEqual(series.interfaces.ge0?.in, [null, null, 500]);
  });

  it('keeps an hour at most, and at most its bound of samples, per resource', () => {
    const history = new TrafficHistory(60_000, 5);
    for (let i = 0; i < 20; i++) history.record('r1', sample(i * 1000, i));
    assert.equal(history.sampleCount, 5);
    history.record('r1', sample(200_000, 1));
    assert.equal(history.sampleCount, 1);
    history.record('r2', sample(200_000, 1));
    history.retain(new Set(['r2']));
    assert.equal(history.sampleCount, 1);
    assert.deepEqual(history.series('r1').at, []);
  });
});

describe('countersOfStats', () => {
  it('reads the agent\'s interface and floating IP counters and drops what is malformed', () => {
    const counters = countersOfStats({
      interfaces: { ge0: { rx_bytes: 10, tx_bytes: 20 }, ge1: { rx_bytes: -1, tx_bytes: 3 }, '<b>x</b>': { rx_bytes: 1, tx_bytes: 1 } },
      floating_ips: [{ floating_ip: '203.0.113.5', bytes_in: 7, bytes_out: 8 }, { floating_ip: '<img>', bytes_in: 1, bytes_out: 1 }],
    });
    assert.deepEqual(counters, { interfaces: { ge0: { in: 10, out: 20 } }, floatingIps: { '203.0.113.5': { in: 7, out: 8 } } });
    assert.deepEqual(countersOfStats('nonsense'), { interfaces: {}, floatingIps: {} });
  });
});
