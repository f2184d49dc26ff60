import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VrrpState, type VrrpStatus } from './vrrp.js';

describe('VrrpState', () => {
  it('tells its listeners of each change of state or peer, counting the state changes, and of leaving HA', () => {
    const vrrp = new VrrpState();
    const seen: (VrrpStatus | undefined)[] = [];
    vrrp.onChange((status) => seen.push(status));
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    vrrp.set(undefined, undefined, at(0));
    assert.deepEqual(seen, [], 'not an HA member, and still not one');
    vrrp.set('INIT', 'fdca::3', at(1));
    vrrp.set('BACKUP', 'fdca::3', at(2));
    vrrp.set('BACKUP', 'fdca::3', at(3));
    assert.equal(vrrp.master, false);
    vrrp.set('MASTER', 'fdca::3', at(4));
    assert.equal(vrrp.master, true);
    vrrp.set('MASTER', 'fdca::4', at(5));
    vrrp.set(undefined, 'fdca::4', at(6));
    assert.deepEqual(seen, [
      { state: 'INIT', since: at(1).toISOString(), peer: 'fdca::3', transitions: 0 },
      { state: 'BACKUP', since: at(2).toISOString(), peer: 'fdca::3', transitions: 1 },
      { state: 'MASTER', since: at(4).toISOString(), peer: 'fdca::3', transitions: 2 },
      { state: 'MASTER', since: at(4).toISOString(), peer: 'fdca::4', transitions: 2 },
      undefined,
    ]);
    assert.equal(vrrp.status, undefined);
    assert.equal(vrrp.master, false);
  });
});
