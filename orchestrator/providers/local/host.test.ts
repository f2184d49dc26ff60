import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bridgeName, EMPTY_BRIDGE_RECORD, parseAddresses, parseBridgeRecord, parseBridges, planBridges, tapName, type BridgePlanInput, type ObservedBridge } from './host.js';

const MGMT = 'a1b2c3d4-0000-4000-8000-000000000001';
const EXT = 'e5f6a7b8-0000-4000-8000-000000000002';
const TEN = 'c9d0e1f2-0000-4000-8000-000000000003';
const ADDRESS = 'fdca:3ba5:a17a:acda::1/64';

const settled = (name: string, mtu = 1500): ObservedBridge => ({ name, mtu, up: true, stpState: 0, forwardDelay: 0, mcastSnooping: 0 });

function input(overrides: Partial<BridgePlanInput> = {}): BridgePlanInput {
  return {
    networks: [{ id: MGMT }, { id: EXT, mtu: 1450 }, { id: TEN }],
    management: { networkId: MGMT, address: ADDRESS },
    observed: [],
    addresses: new Map(),
    record: EMPTY_BRIDGE_RECORD,
    ...overrides,
  };
}

describe('bridge and tap names', () => {
  it('keep 11 characters of the id after the linuxbridge prefixes', () => {
    assert.equal(bridgeName(EXT), 'brqe5f6a7b8-00');
    assert.equal(tapName('0123456789abcdef'), 'tap0123456789a');
    assert.ok(bridgeName(EXT).length <= 15);
  });
});

describe('planBridges', () => {
  it('creates every missing bridge without STP, forward delay or snooping, and gives the management bridge its address', () => {
    const plan = planBridges(input());
    assert.deepEqual(plan.create, [bridgeName(MGMT), bridgeName(EXT), bridgeName(TEN)]);
    assert.deepEqual(plan.commands, [
      `link add name ${bridgeName(MGMT)} up type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
      `link add name ${bridgeName(EXT)} mtu 1450 up type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
      `link add name ${bridgeName(TEN)} up type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
      `addr add ${ADDRESS} dev ${bridgeName(MGMT)} nodad`,
    ]);
    assert.deepEqual(plan.record, { bridges: plan.create, managementAddress: { bridge: bridgeName(MGMT), address: ADDRESS } });
  });

  it('always includes the management network', () => {
    const plan = planBridges(input({ networks: [{ id: EXT }] }));
    assert.deepEqual(plan.create, [bridgeName(EXT), bridgeName(MGMT)]);
  });

  it('plans nothing when the bridges and the address are as wanted', () => {
    const first = planBridges(input());
    const plan = planBridges(
      input({
        observed: [settled(bridgeName(MGMT)), settled(bridgeName(EXT), 1450), settled(bridgeName(TEN))],
        addresses: new Map([[bridgeName(MGMT), [ADDRESS]]]),
        record: first.record,
      }),
    );
    assert.deepEqual(plan.commands, []);
    assert.deepEqual(plan.record, first.record);
  });

  it('corrects the MTU, STP (before the forward delay), snooping and the up flag of an existing bridge', () => {
    const plan = planBridges(
      input({
        networks: [{ id: MGMT }, { id: EXT, mtu: 1450 }],
        observed: [settled(bridgeName(MGMT)), { name: bridgeName(EXT), mtu: 1500, up: false, stpState: 1, forwardDelay: 1500, mcastSnooping: 1 }],
        addresses: new Map([[bridgeName(MGMT), [ADDRESS]]]),
      }),
    );
    assert.deepEqual(plan.commands, [
      `link set dev ${bridgeName(EXT)} mtu 1450`,
      `link set dev ${bridgeName(EXT)} type bridge stp_state 0`,
      `link set dev ${bridgeName(EXT)} type bridge forward_delay 0 mcast_snooping 0`,
      `link set dev ${bridgeName(EXT)} up`,
    ]);
  });

  it('deletes only recorded bridges of networks no longer listed, and forgets recorded bridges that are gone', () => {
    const foreign = bridgeName('f0f0f0f0-0000-4000-8000-000000000009');
    const vanished = bridgeName('0a0a0a0a-0000-4000-8000-000000000010');
    const plan = planBridges(
      input({
        networks: [{ id: MGMT }],
        observed: [settled(bridgeName(MGMT)), settled(bridgeName(TEN)), settled(foreign)],
        addresses: new Map([[bridgeName(MGMT), [ADDRESS]]]),
        record: { bridges: [bridgeName(MGMT), bridgeName(TEN), vanished], managementAddress: { bridge: bridgeName(MGMT), address: ADDRESS } },
      }),
    );
    assert.deepEqual(plan.remove, [bridgeName(TEN)]);
    assert.deepEqual(plan.commands, [`link del dev ${bridgeName(TEN)}`]);
    assert.deepEqual(plan.record.bridges, [bridgeName(MGMT)]);
  });

  it('moves the management address, deleting the one it added before', () => {
    const plan = planBridges(
      input({
        networks: [{ id: MGMT }],
        management: { networkId: MGMT, address: 'fdca:3ba5:a17a:acda::2/64' },
        observed: [settled(bridgeName(MGMT))],
        addresses: new Map([[bridgeName(MGMT), [ADDRESS]]]),
        record: { bridges: [bridgeName(MGMT)], managementAddress: { bridge: bridgeName(MGMT), address: ADDRESS } },
      }),
    );
    assert.deepEqual(plan.commands, [`addr add fdca:3ba5:a17a:acda::2/64 dev ${bridgeName(MGMT)} nodad`, `addr del ${ADDRESS} dev ${bridgeName(MGMT)}`]);
  });

  it('adds an IPv4 management address without the IPv6-only nodad flag', () => {
    const plan = planBridges(input({ networks: [], management: { networkId: MGMT, address: '192.0.2.1/24' } }));
    assert.equal(plan.commands.at(-1), `addr add 192.0.2.1/24 dev ${bridgeName(MGMT)}`);
  });

  it('refuses what it cannot build, naming it', () => {
    assert.throws(() => planBridges(input({ management: { networkId: MGMT, address: 'fdca::1' } })), /management address fdca::1 is not an address with a prefix length/);
    assert.throws(() => planBridges(input({ networks: [{ id: EXT, mtu: 20 }] })), new RegExp(`network ${EXT}: MTU 20`));
    assert.throws(
      () => planBridges(input({ networks: [{ id: 'same-prefix-1' }, { id: 'same-prefix-2' }] })),
      /networks same-prefix-1 and same-prefix-2 would share bridge brqsame-prefix$/,
    );
  });
});

describe('ip JSON readers', () => {
  it('read the bridge settings sync compares', () => {
    const [bridge] = parseBridges([
      { ifname: 'brqx', mtu: 1450, flags: ['BROADCAST', 'UP'], linkinfo: { info_data: { stp_state: 0, forward_delay: 0, mcast_snooping: 1 } } },
    ]);
    assert.deepEqual(bridge, { name: 'brqx', mtu: 1450, up: true, stpState: 0, forwardDelay: 0, mcastSnooping: 1 });
  });

  it('read addresses in canonical form', () => {
    assert.deepEqual(parseAddresses([{ addr_info: [{ local: 'FDCA:3ba5:a17a:acda:0::1', prefixlen: 64 }] }]), ['fdca:3ba5:a17a:acda::1/64']);
  });

  it('check the record, naming the file', () => {
    assert.deepEqual(parseBridgeRecord({ bridges: ['brqa'] }, 'f.json'), { bridges: ['brqa'], managementAddress: null });
    assert.throws(() => parseBridgeRecord({ bridges: 'brqa' }, 'f.json'), /f\.json: bridges is not a list of names/);
    assert.throws(() => parseBridgeRecord({ bridges: [], managementAddress: { bridge: 'brqa' } }, 'f.json'), /managementAddress needs a bridge and an address/);
  });
});
