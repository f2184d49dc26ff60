// Address parsing: the strictness the contract relies on (no zone ids, no
// shorthand or octal-looking IPv4, no stray whitespace) and the prefix
// arithmetic of contains/overlaps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import {
  canonicalAddress,
  contains,
  isLinkLocal,
  isNetworkOrBroadcast,
  isSelfAddress,
  isUniqueLocal,
  lastAddress,
  networkAddress,
  overlaps,
  parseAddress,
  parseCidr,
  PrefixSet,
  prefixSortKey,
  type ParsedAddress,
  type ParsedCidr,
} from './ip.js';

function address(text: string): ParsedAddress {
  const parsed = parseAddress(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
}

function cidr(text: string): ParsedCidr {
  const parsed = parseCidr(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
}

describe('parseAddress', () => {
  test('accepts IPv4 and IPv6 and returns canonical text and family', () => {
    const cases: [string, 4 | 6, string][] = [
      ['198.51.100.1', 4, '198.51.100.1'],
      ['0.0.0.0', 4, '0.0.0.0'],
      ['255.255.255.255', 4, '255.255.255.255'],
      ['::', 6, '::'],
      ['::1', 6, '::1'],
      ['2001:DB8::1', 6, '2001:db8::1'],
      ['2001:db8:0:0:0:0:0:1', 6, '2001:db8::1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', 6, '2001:db8::1:0:0:1'],
      ['fdca:3ba5:a17a:acda::1', 6, 'fdca:3ba5:a17a:acda::1'],
    ];
    for (const [text, family, canonical] of cases) {
      const parsed = address(text);
      assert.equal(parsed.family, family, text);
      assert.equal(parsed.text, canonical, text);
    }
  });

  test('accepts an IPv4-mapped IPv6 address as IPv6', () => {
    assert.equal(address('::ffff:198.51.100.1').family, 6);
  });

  test('rejects shorthand, octal-looking, hex and out-of-range IPv4', () => {
    for (const text of ['198.51.100', '198.51', '3325256705', '198.051.100.1', '0x0a.0.0.1', '256.0.0.1', '198.51.100.1.5', '198.51.100.-1']) {
      assert.equal(parseAddress(text), undefined, text);
    }
  });

  test('rejects malformed IPv6, zone ids, prefixes and whitespace', () => {
    for (const text of ['1::2::3', '2001:db8::g', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '2001:db8::/64', ' 2001:db8::1', '2001:db8::1 ', '198.51.100.1 ', '198.51.100.1\n', '']) {
      assert.equal(parseAddress(text), undefined, JSON.stringify(text));
    }
  });

  test('rejects overlong input and non-strings', () => {
    assert.equal(parseAddress(`${'0:'.repeat(30)}1`), undefined);
    assert.equal(parseAddress(42 as unknown as string), undefined);
    assert.equal(parseAddress(null as unknown as string), undefined);
  });
});

describe('parseCidr', () => {
  test('returns the canonical address, prefix and network', () => {
    const cases: [string, string, string, number][] = [
      ['198.51.100.0/24', '198.51.100.0/24', '198.51.100.0/24', 24],
      ['198.51.100.7/26', '198.51.100.7/26', '198.51.100.0/26', 26],
      ['198.51.100.77/26', '198.51.100.77/26', '198.51.100.64/26', 26],
      ['192.0.2.1/32', '192.0.2.1/32', '192.0.2.1/32', 32],
      ['0.0.0.0/0', '0.0.0.0/0', '0.0.0.0/0', 0],
      ['203.0.113.255/0', '203.0.113.255/0', '0.0.0.0/0', 0],
      ['2001:DB8::1/64', '2001:db8::1/64', '2001:db8::/64', 64],
      ['2001:db8:ffff::1/33', '2001:db8:ffff::1/33', '2001:db8:8000::/33', 33],
      ['fd00:a::1/128', 'fd00:a::1/128', 'fd00:a::1/128', 128],
      ['::/0', '::/0', '::/0', 0],
    ];
    for (const [text, canonical, network, prefix] of cases) {
      const parsed = cidr(text);
      assert.equal(parsed.cidr, canonical, text);
      assert.equal(parsed.network, network, text);
      assert.equal(parsed.prefix, prefix, text);
    }
  });

  test('rejects prefixes out of range or malformed, missing parts and zone ids', () => {
    for (const text of [
      '198.51.100.0/33',
      '2001:db8::/129',
      '198.51.100.0/',
      '198.51.100.0',
      '/24',
      '198.51.100.0/24/1',
      '198.51.100.0/-1',
      '198.51.100.0/+8',
      '198.51.100.0/8.0',
      '198.51.100.0/ 24',
      '198.51.100.0/24 ',
      '198.51.100.0/1000',
      '198.51.100/24',
      'fe80::1%eth0/64',
      '2001:db8::g/64',
      '',
    ]) {
      assert.equal(parseCidr(text), undefined, JSON.stringify(text));
    }
    assert.equal(parseCidr(undefined as unknown as string), undefined);
  });

  test('a network has no host bits exactly when cidr equals network', () => {
    const network = cidr('198.51.100.64/26');
    assert.equal(network.cidr, network.network);
    const host = cidr('198.51.100.65/26');
    assert.notEqual(host.cidr, host.network);
  });
});

describe('networkAddress', () => {
  test('clears the host bits of either family', () => {
    assert.equal(networkAddress(address('198.51.100.200').addr, 25).toString(), '198.51.100.128');
    assert.equal(networkAddress(address('198.51.100.200').addr, 0).toString(), '0.0.0.0');
    assert.equal(networkAddress(address('198.51.100.200').addr, 32).toString(), '198.51.100.200');
    assert.equal(networkAddress(address('2001:db8:abcd:1234::1').addr, 48).toString(), '2001:db8:abcd::');
    assert.equal(networkAddress(address('2001:db8::ff').addr, 121).toString(), '2001:db8::80');
  });
});

describe('contains', () => {
  test('includes the network and broadcast ends and excludes the neighbours', () => {
    const net = cidr('198.51.100.64/26');
    assert.equal(contains(net, address('198.51.100.64')), true);
    assert.equal(contains(net, address('198.51.100.127')), true);
    assert.equal(contains(net, address('198.51.100.63')), false);
    assert.equal(contains(net, address('198.51.100.128')), false);
  });

  test('works from an interface address (host bits set) as well as a network', () => {
    assert.equal(contains(cidr('192.0.2.2/24'), address('192.0.2.254')), true);
    assert.equal(contains(cidr('2001:db8:e::2/64'), address('2001:db8:e::ffff')), true);
    assert.equal(contains(cidr('2001:db8:e::2/64'), address('2001:db8:f::1')), false);
  });

  test('/0, /32 and /128', () => {
    assert.equal(contains(cidr('0.0.0.0/0'), address('203.0.113.9')), true);
    assert.equal(contains(cidr('::/0'), address('2001:db8::1')), true);
    assert.equal(contains(cidr('192.0.2.1/32'), address('192.0.2.1')), true);
    assert.equal(contains(cidr('192.0.2.1/32'), address('192.0.2.2')), false);
    assert.equal(contains(cidr('fd00:a::1/128'), address('fd00:a::1')), true);
    assert.equal(contains(cidr('fd00:a::1/128'), address('fd00:a::2')), false);
  });

  test('never matches across families, not even ::/0 or a mapped address', () => {
    assert.equal(contains(cidr('::/0'), address('198.51.100.1')), false);
    assert.equal(contains(cidr('0.0.0.0/0'), address('::1')), false);
    assert.equal(contains(cidr('198.51.100.0/24'), address('::ffff:198.51.100.1')), false);
  });
});

describe('overlaps', () => {
  test('nested, identical and adjacent networks', () => {
    assert.equal(overlaps(cidr('198.51.100.0/24'), cidr('198.51.100.128/25')), true);
    assert.equal(overlaps(cidr('198.51.100.128/25'), cidr('198.51.100.0/24')), true);
    assert.equal(overlaps(cidr('198.51.100.0/26'), cidr('198.51.100.0/26')), true);
    assert.equal(overlaps(cidr('198.51.100.0/26'), cidr('198.51.100.64/26')), false);
    assert.equal(overlaps(cidr('198.51.100.0/25'), cidr('198.51.100.64/26')), true);
    assert.equal(overlaps(cidr('0.0.0.0/0'), cidr('203.0.113.0/24')), true);
  });

  test('IPv6, and host bits do not matter', () => {
    assert.equal(overlaps(cidr('fd00:a::/64'), cidr('fd00:b::/64')), false);
    assert.equal(overlaps(cidr('fd00::/16'), cidr('fd00:b::/64')), true);
    assert.equal(overlaps(cidr('2001:db8:e::2/64'), cidr('2001:db8:e::/64')), true);
    assert.equal(overlaps(cidr('198.51.100.1/26'), cidr('198.51.100.63/32')), true);
  });

  test('never across families', () => {
    assert.equal(overlaps(cidr('::/0'), cidr('0.0.0.0/0')), false);
    assert.equal(overlaps(cidr('0.0.0.0/0'), cidr('::/0')), false);
  });
});

describe('address classes', () => {
  test('isLinkLocal covers fe80::/10 and 169.254/16 only', () => {
    assert.equal(isLinkLocal(address('fe80::1')), true);
    assert.equal(isLinkLocal(address('febf::1')), true);
    assert.equal(isLinkLocal(address('fec0::1')), false);
    assert.equal(isLinkLocal(address('169.254.169.254')), true);
    assert.equal(isLinkLocal(address('198.51.100.1')), false);
    assert.equal(isLinkLocal(address('2001:db8::1')), false);
  });

  test('isUniqueLocal covers fc00::/7 only', () => {
    assert.equal(isUniqueLocal(address('fc00::1')), true);
    assert.equal(isUniqueLocal(address('fdca:3ba5:a17a:acda::1')), true);
    assert.equal(isUniqueLocal(address('fe00::1')), false);
    assert.equal(isUniqueLocal(address('2001:db8::1')), false);
    assert.equal(isUniqueLocal(address('198.51.100.1')), false);
  });

  test('canonicalAddress normalises addresses and leaves other text alone', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(canonicalAddress('198.51.100.1'), '198.51.100.1');
    assert.equal(canonicalAddress('not-an-address'), 'not-an-address');
    assert.equal(canonicalAddress('198.51.100.0/24'), '198.51.100.0/24');
  });
});

describe('host addresses and prefix sets', () => {
  test('lastAddress sets every host bit', () => {
    assert.equal(lastAddress(address('198.51.100.7').addr, 24).toString(), '198.51.100.255');
    assert.equal(lastAddress(address('203.0.113.130').addr, 25).toString(), '203.0.113.255');
    assert.equal(lastAddress(address('2001:db8:e::5').addr, 64).toString(), '2001:db8:e:0:ffff:ffff:ffff:ffff');
  });

  test('isNetworkOrBroadcast: the IPv4 network and broadcast addresses, the IPv6 subnet-router anycast address', () => {
    const v4 = cidr('203.0.113.0/24');
    assert.equal(isNetworkOrBroadcast(v4, address('203.0.113.0')), true);
    assert.equal(isNetworkOrBroadcast(v4, address('203.0.113.255')), true);
    assert.equal(isNetworkOrBroadcast(v4, address('203.0.113.1')), false);
    assert.equal(isNetworkOrBroadcast(v4, address('203.0.113.254')), false);
    assert.equal(isNetworkOrBroadcast(v4, address('198.51.100.0')), false, 'outside the network');
    const v6 = cidr('2001:db8:e::/64');
    assert.equal(isNetworkOrBroadcast(v6, address('2001:db8:e::')), true);
    assert.equal(isNetworkOrBroadcast(v6, address('2001:db8:e:0:ffff:ffff:ffff:ffff')), false, 'IPv6 has no broadcast');
    // RFC 3021 point-to-point links and single hosts have no such addresses.
    for (const text of ['192.0.2.4/31', '192.0.2.4/32', '2001:db8::/127', '2001:db8::/128']) {
      const c = cidr(text);
      assert.equal(isNetworkOrBroadcast(c, c), false, text);
    }
  });

  test('isSelfAddress: loopback and unspecified, also IPv4-mapped', () => {
    for (const text of ['127.0.0.1', '127.1.2.3', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1', '::ffff:0.0.0.0']) assert.equal(isSelfAddress(address(text)), true, text);
    for (const text of ['198.51.100.1', 'fdca:3ba5:a17a:acda::1', '::ffff:198.51.100.1', 'fe80::1']) assert.equal(isSelfAddress(address(text)), false, text);
  });

  test('prefixSortKey orders by family, first address, then the wider network first', () => {
    const texts = ['198.51.100.64/26', '2001:db8::/32', '198.51.100.0/26', '198.51.100.0/24', '192.0.2.0/24', '2001:db8::/48'];
    const sorted = [...texts].sort((a, b) => (prefixSortKey(cidr(a)) < prefixSortKey(cidr(b)) ? -1 : 1));
    assert.deepEqual(sorted, ['192.0.2.0/24', '198.51.100.0/24', '198.51.100.0/26', '198.51.100.64/26', '2001:db8::/32', '2001:db8::/48']);
    assert.equal(prefixSortKey(cidr('198.51.100.7/24')), prefixSortKey(cidr('198.51.100.0/24')), 'an interface address sorts as its network');
  });

  test('PrefixSet answers membership for nested, adjacent and disjoint networks of both families', () => {
    const set = new PrefixSet(['198.51.100.0/26', '198.51.100.0/28', '198.51.100.64/26', '203.0.113.8/29', '2001:db8:e::/64'].map(cidr));
    for (const text of ['198.51.100.0', '198.51.100.63', '198.51.100.64', '198.51.100.127', '203.0.113.8', '203.0.113.15', '2001:db8:e::', '2001:db8:e:0:ffff:ffff:ffff:ffff']) {
      assert.equal(set.has(address(text)), true, text);
    }
    for (const text of ['198.51.99.255', '198.51.100.128', '203.0.113.7', '203.0.113.16', '2001:db8:f::', '2001:db8:d:ffff:ffff:ffff:ffff:ffff', '::ffff:198.51.100.1']) {
      assert.equal(set.has(address(text)), false, text);
    }
    assert.equal(set.hasFamily(4), true);
    assert.equal(set.hasFamily(6), true);
    const empty = new PrefixSet([]);
    assert.equal(empty.hasFamily(4), false);
    assert.equal(empty.has(address('198.51.100.1')), false);
    assert.equal(new PrefixSet([cidr('0.0.0.0/0')]).has(address('255.255.255.255')), true);
    assert.equal(new PrefixSet([cidr('::/0')]).has(address('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')), true);
  });

  test('PrefixSet agrees with contains on every address of a small range', () => {
    const networks = ['198.51.100.0/30', '198.51.100.8/29', '198.51.100.12/30', '198.51.100.32/27', '198.51.100.33/32'].map(cidr);
    const set = new PrefixSet(networks);
    for (let i = 0; i < 256; i++) {
      const a = address(`198.51.100.${i}`);
      assert.equal(set.has(a), networks.some((n) => contains(n, a)), a.text);
    }
  });
});

describe('the fast path for plain IPv6 text', () => {
  /** What parseAddress answered before it had one: ipaddr.js's parser and RFC 5952 text. */
  const reference = (text: string): { text: string; bytes: number[] } | undefined => {
    try {
      const addr = ipaddr.IPv6.parse(text);
      return { text: addr.toString(), bytes: addr.toByteArray() };
    } catch {
      return undefined;
    }
  };
  const check = (text: string) => {
    const parsed = parseAddress(text);
    assert.deepEqual(parsed === undefined ? undefined : { text: parsed.text, bytes: parsed.addr.toByteArray() }, reference(text), text);
  };

  test('accepts and writes what ipaddr.js does, on every edge of the syntax', () => {
    for (const text of [
      '::', '::1', '1::', '1::2', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '0:0:0:0:0:0:0:0', '1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4',
      '0:0:1:0:0:1:0:0', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6::8', '1:0:3:4:5:6:7:8', 'fd00:a::10', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1:2:3:4::5:6:7:8', '1::2::3', '1:::2', ':::', ':', '::::', ':1', '1:', ':1::2', '1::2:',
      '00001::', '1:2:3:4:5:6:7:00000', '12345::', 'abcd::ef01', '0000::0000', '1:2:3:4:5:6:7:8:', ':1:2:3:4:5:6:7:8', '0::0', '::0:0', 'a:b:c:d:e:f:0:0',
    ]) {
      check(text);
    }
  });

  test('agrees with ipaddr.js on random plain texts', () => {
    let seed = 16;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = ['0', '0', '0', '1', 'a', 'f', ':', ':', ':'];
    for (let n = 0; n < 20_000; n++) {
      const length = 1 + Math.floor(random() * 24);
      check(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
    }
    for (let n = 0; n < 5_000; n++) {
      // Well-formed addresses with zero runs in random places, compressed at random.
      const parts = Array.from({ length: 8 }, () => (random() < 0.5 ? 0 : Math.floor(random() * 0x10000)));
      const full = parts.map((p) => p.toString(16)).join(':');
      check(full);
      const from = Math.floor(random() * 8);
      const to = from + 1 + Math.floor(random() * (8 - from));
      check(`${parts.slice(0, from).map((p) => p.toString(16)).join(':')}::${parts.slice(to).map((p) => p.toString(16)).join(':')}`);
    }
  });
});
