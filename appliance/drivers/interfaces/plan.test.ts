import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchStep } from '../../host/ip-batch.js';
import { interfaceSysctls, linksLeftBy, planInterfaces, type LiveLink } from './plan.js';
import type { InterfacesDesired } from './render.js';

/** The batch lines, and the lines that undo all of them in the order they run. */
const batch = (plan: { steps: readonly BatchStep[] }) => plan.steps.map((s) => s.line);
const undo = (plan: { steps: readonly BatchStep[] }) => plan.steps.map((s) => s.undo).reverse();

const v4 = (local: string, prefixlen: number, broadcast?: string) => ({ family: 'inet', local, prefixlen, ...(broadcast ? { broadcast } : {}) });
const v6 = (local: string, prefixlen: number) => ({ family: 'inet6', local, prefixlen });
const link = (ifname: string, addr_info: LiveLink['addr_info'], up = true, mtu = 1500): LiveLink => ({
  ifname,
  flags: up ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST'],
  mtu,
  addr_info,
});

const desired: InterfacesDesired = {
  interfaces: [
    { generic: 'ge1', device: 'eth1', dad: true, mtu: undefined, addresses: ['192.0.2.2/24', '2001:db8:e::2/64', '203.0.113.10/24'] },
    { generic: 'ge2', device: 'eth2', dad: false, mtu: 1400, addresses: ['198.51.100.1/26', 'fd00:a::1/64'] },
  ],
};

describe('planInterfaces', () => {
  it('changes nothing when the live state matches, ignoring link-local and unconfigured interfaces', () => {
    const plan = planInterfaces(desired, [
      link('lo', [v4('127.0.0.1', 8), v6('::1', 128)]),
      link('eth0', [v6('fdca:3ba5:a17a:acda::2', 64)]),
      link('eth1', [v4('192.0.2.2', 24, '192.0.2.255'), v4('203.0.113.10', 24), v6('2001:db8:e:0:0:0:0:2', 64), v6('fe80::1', 64)]),
      link('eth2', [v4('198.51.100.1', 26), v6('fd00:a::1', 64), v6('fe80::2', 64)], true, 1400),
    ]);
    assert.deepEqual(plan, { steps: [], removedV4: [], deletesAddresses: false, changesLinks: false });
  });

  it('brings links up, sets MTUs, adds before it deletes, and undoes in mirror order', () => {
    const plan = planInterfaces(desired, [
      link('eth1', [v4('192.0.2.3', 24, '192.0.2.255'), v4('203.0.113.10', 24), v4('203.0.113.11', 24), v6('2001:db8:e::2', 64)]),
      link('eth2', [v6('fe80::2', 64)], false, 1500),
    ]);
    assert.deepEqual(batch(plan), [
      'link set dev eth2 mtu 1400',
      'link set dev eth2 up',
      'address add 192.0.2.2/24 brd + dev eth1',
      'address add 198.51.100.1/26 brd + dev eth2',
      'address add fd00:a::1/64 dev eth2 nodad',
      'address del 192.0.2.3/24 dev eth1',
      'address del 203.0.113.11/24 dev eth1',
    ]);
    assert.deepEqual(undo(plan), [
      'address add 203.0.113.11/24 dev eth1',
      'address add 192.0.2.3/24 brd 192.0.2.255 dev eth1',
      'address del fd00:a::1/64 dev eth2',
      'address del 198.51.100.1/26 dev eth2',
      'address del 192.0.2.2/24 dev eth1',
      'link set dev eth2 down',
      'link set dev eth2 mtu 1500',
    ]);
    assert.deepEqual(plan.removedV4, ['192.0.2.3', '203.0.113.11']);
    assert.equal(plan.deletesAddresses, true);
    assert.equal(plan.changesLinks, true);
  });

  it('deletes first an address whose prefix changes, and does not flush its connections', () => {
    const plan = planInterfaces(desired, [
      link('eth1', [v4('192.0.2.2', 25), v4('203.0.113.10', 24), v6('2001:db8:e::2', 48)]),
      link('eth2', [v4('198.51.100.1', 26), v6('fd00:a::1', 64)], true, 1400),
    ]);
    assert.deepEqual(batch(plan), [
      'address del 192.0.2.2/25 dev eth1',
      'address del 2001:db8:e::2/48 dev eth1',
      'address add 192.0.2.2/24 brd + dev eth1',
      'address add 2001:db8:e::2/64 dev eth1',
    ]);
    assert.deepEqual(undo(plan), [
      'address del 2001:db8:e::2/64 dev eth1',
      'address del 192.0.2.2/24 dev eth1',
      'address add 2001:db8:e::2/48 dev eth1 nodad',
      'address add 192.0.2.2/25 dev eth1',
    ]);
    assert.deepEqual(plan.removedV4, []);
  });

  it('keeps the connections of an address that moves to another configured interface', () => {
    const plan = planInterfaces(desired, [
      link('eth1', [v4('192.0.2.2', 24), v4('203.0.113.10', 24), v6('2001:db8:e::2', 64)]),
      link('eth2', [v4('198.51.100.1', 26), v4('203.0.113.10', 24), v6('fd00:a::1', 64)], true, 1400),
    ]);
    assert.deepEqual(batch(plan), ['address del 203.0.113.10/24 dev eth2']);
    assert.deepEqual(plan.removedV4, []);
  });

  it("leaves keepalived's addresses of an HA pair member as they are, present or not, and removes any other", () => {
    const pair: InterfacesDesired = {
      interfaces: [{ generic: 'ge2', device: 'eth2', dad: false, mtu: undefined, addresses: [], keepalived: ['198.51.100.1/26', 'fd00:a::1/64'] }],
    };
    // The master: keepalived holds them.
    assert.deepEqual(planInterfaces(pair, [link('eth2', [v4('198.51.100.1', 26), v6('fd00:a::1', 64), v6('fe80::200:5eff:fe00:22d', 64)])]), { steps: [], removedV4: [], deletesAddresses: false, changesLinks: false });
    // The backup: nothing to add.
    assert.deepEqual(planInterfaces(pair, [link('eth2', [])]).steps, []);
    // What the document no longer has goes, whoever put it there.
    const plan = planInterfaces(pair, [link('eth2', [v4('198.51.100.1', 26), v4('198.51.100.2', 26)])]);
    assert.deepEqual(batch(plan), ['address del 198.51.100.2/26 dev eth2']);
    assert.deepEqual(plan.removedV4, ['198.51.100.2']);
  });

  it('refuses a configured interface that does not exist', () => {
    assert.throws(() => planInterfaces(desired, [link('eth1', [])]), /ge2 \(eth2\) does not exist/);
  });
});

describe('interfaceSysctls', () => {
  it('turns DAD off except on the external interface, and keeps secondary addresses', () => {
    assert.deepEqual(interfaceSysctls(desired), {
      'net/ipv6/conf/eth1/accept_dad': '1',
      'net/ipv4/conf/eth1/promote_secondaries': '1',
      'net/ipv6/conf/eth2/accept_dad': '0',
      'net/ipv4/conf/eth2/promote_secondaries': '1',
    });
  });
});

describe('linksLeftBy: the links as the last apply left them, on a verified host', () => {
  const withAddresses = (d: InterfacesDesired, device: string, addresses: string[]): InterfacesDesired => ({
    interfaces: d.interfaces.map((i) => (i.device === device ? { ...i, addresses } : i)),
  });

  it('plans one added floating IP as one line, and a removed one as one line whose undo restores it as added', () => {
    const more = withAddresses(desired, 'eth1', [...desired.interfaces[0]!.addresses, '203.0.113.20/32']);
    const leftBy = linksLeftBy(desired, more);
    assert.ok(leftBy);
    const added = planInterfaces(more, leftBy);
    assert.deepEqual(batch(added), ['address add 203.0.113.20/32 dev eth1']);
    assert.equal(added.deletesAddresses, false);
    assert.equal(added.changesLinks, false);

    const fewer = withAddresses(desired, 'eth1', ['192.0.2.2/24', '2001:db8:e::2/64']);
    const removed = planInterfaces(fewer, linksLeftBy(desired, fewer)!);
    assert.deepEqual(batch(removed), ['address del 203.0.113.10/24 dev eth1']);
    assert.deepEqual(undo(removed), ['address add 203.0.113.10/24 brd 203.0.113.255 dev eth1']);
    assert.deepEqual(removed.removedV4, ['203.0.113.10']);
  });

  it('the same plan as from the host when the host holds what the last apply left', () => {
    const more = withAddresses(desired, 'eth2', ['198.51.100.1/26', '198.51.100.2/26', 'fd00:a::1/64']);
    const fromHost = planInterfaces(more, [
      link('eth1', [v4('192.0.2.2', 24, '192.0.2.255'), v6('2001:db8:e::2', 64), v4('203.0.113.10', 24, '203.0.113.255')]),
      link('eth2', [v4('198.51.100.1', 26, '198.51.100.63'), v6('fd00:a::1', 64)], true, 1400),
    ]);
    assert.deepEqual(planInterfaces(more, linksLeftBy(desired, more)!), fromHost);
  });

  it('is undefined, so that the host is read, when interfaces or their settings differ, or keepalived holds addresses', () => {
    const [ext, tenant] = desired.interfaces as [InterfacesDesired['interfaces'][number], InterfacesDesired['interfaces'][number]];
    assert.equal(linksLeftBy(desired, { interfaces: [ext] }), undefined);
    assert.equal(linksLeftBy(desired, { interfaces: [ext, { ...tenant, mtu: 1500 }] }), undefined);
    assert.equal(linksLeftBy(desired, { interfaces: [ext, { ...tenant, device: 'eth3' }] }), undefined);
    assert.equal(linksLeftBy(desired, { interfaces: [{ ...ext, dad: false }, tenant] }), undefined);
    const pair = { interfaces: [ext, { ...tenant, addresses: [], keepalived: ['198.51.100.1/26'] }] };
    assert.equal(linksLeftBy(pair, pair), undefined);
  });
});
