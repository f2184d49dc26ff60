// Hostile configuration documents for the fuzz suites (test/unit/fuzz.test.ts
// and test/functional/fuzz-live.test.ts): each is a valid fixture with one to
// four mutations stacked on it, drawn from a seeded PRNG, so that any document
// is made again from the seed and its index alone. The mutations are what an
// attacker or a broken orchestrator would send: every string given control
// characters, daemon keywords and separators, overlong and unicode values,
// addresses in odd notations; numbers out of range; wrong types; structures
// too deep or too wide; keys named like JavaScript internals, repeated in the
// JSON text. Some keep the document valid (a value taken from elsewhere, a
// network moved to an odd prefix), so the renderers see unusual valid input.
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** mulberry32: small, fast, the same sequence on every machine for one seed. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** 32-bit FNV-1a, to derive one PRNG per document from the run's seed. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

// ---------------------------------------------------------------------------
// The valid documents mutated.

export interface Fixture {
  readonly name: string;
  /** As stored (some are wrapped as `{"configuration": ...}`). */
  readonly body: JsonObject;
  /** Generic interface name -> MAC: the host the document was written for. */
  readonly interfaces: ReadonlyMap<string, string>;
}

const REPO = new URL('../../../', import.meta.url);

export function loadFixtures(): Fixture[] {
  const dir = new URL('test/fixtures/documents/', REPO);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: `test/fixtures/documents/${f}`, url: new URL(f, dir) }));
  files.push({ name: 'docs/examples/router.json', url: new URL('docs/examples/router.json', REPO) });
  return files.map(({ name, url }) => {
    const body = JSON.parse(readFileSync(url, 'utf8')) as JsonObject;
    const doc = (isObject(body.configuration) ? body.configuration : body) as { networks?: { interface: { ifname: string; lladdr?: string | null } }[] };
    const interfaces = new Map<string, string>();
    for (const [i, network] of (doc.networks ?? []).entries()) {
      interfaces.set(network.interface.ifname, network.interface.lladdr ?? `02:00:00:00:ff:${i.toString(16).padStart(2, '0')}`);
    }
    return { name, body, interfaces };
  });
}

// ---------------------------------------------------------------------------
// Hostile values.

const CONTROL = ['\u0000', '\n', '\r', '\r\n', '\t', '\u000b', '\u000c', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u2029', 'a\u0000b', 'x\ny'];
const DNSMASQ = [
  'ignore', 'infinite', 'IGNORE', 'Infinite', 'iGnOrE', '5m', '300', '12h', '1w', '0', '45s', '99999999999', '192.0.2.99', '198.51.100.10',
  ',ignore', ',infinite', ',5m', 'host,ignore', 'host,192.0.2.99', '#', '=', ',', 'tag:evil', 'set:evil', 'id:*', 'tag:!known', '\nignore',
  'dhcp-range=set:x,0.0.0.0,static', 'dhcp-option=3,192.0.2.66', ',192.0.2.99,infinite', '[2001:db8::66]', '02:00:00:00:00:66', 'ignore.example', '5m.example',
];
const BIRD = [
  ';', '{', '}', '"', '";', '}; protocol static evil { ipv4; route 0.0.0.0/0 unreachable; }', 'protocol', 'protocol kernel', 'include "/etc/passwd";',
  '"; include "/etc/shadow', '/*', '*/', 'filter', 'define X = 1;', 'ipv4 { export all; };', '" ; export all ; "',
];
const IPTABLES = [
  ' -j ACCEPT', '-j ACCEPT', ' --dport 22', '--', '-A INPUT -j ACCEPT', '\n-A INPUT -j ACCEPT\n', '\nCOMMIT\n*filter', '! ', ' -m comment --comment x',
  "'", '*nat', ':INPUT ACCEPT [0:0]', 'eth0 -j ACCEPT', ' -s 0.0.0.0/0', '-p all',
];
const NGINX = ['$host', '${var}', '$(id)', '`id`', '\\', "'", 'proxy_pass http://192.0.2.66;', 'location / {', 'return 200 "x";', 'include /etc/passwd;'];
const KEEPALIVED = ['!', '! comment', 'vrrp_script evil {', 'notify "/bin/sh -c id"', 'include /etc/passwd', 'virtual_ipaddress { 192.0.2.66 }'];
const STRONGSWAN = ['%any', '%defaultroute', 'conn evil', ': PSK "x"', 'include /etc/ipsec.secrets', '\\"', 'leftsubnet=0.0.0.0/0', 'also=evil', '"x" : PSK "y"'];
const SEPARATORS = [' ', ',', ';', ':', '=', '/', '\\', '|', '&', '<', '>', '?', '*', '[', ']', '(', ')', '@', '!', '%', '+', '~', '^', '..', '-', '_', '.', '"', "'", '`', '$', '{', '}', '#'];
const UNICODE = [
  '\u0430', // Cyrillic a
  '\u0435', // Cyrillic e
  '\u03bf', // Greek omicron
  '\uff11\uff19\uff12.\uff10.\uff12.\uff11', // full-width 192.0.2.1
  '\uff47\uff45\uff10', // full-width ge0
  '\u202e', // right-to-left override
  '\u202dhost\u202c',
  '\u200b', // zero-width space
  '\u200d',
  '\ufeff',
  '\u00a0',
  'e\u0301',
  '\ud835\udfcf', // mathematical bold 1
  '\u0663', // Arabic-Indic 3
  '\ud800', // lone surrogates
  '\udfff',
  '\ud83d\ude42',
  '\u0130GNORE',
  '\u212a', // Kelvin sign (lower-cases to k)
  '\ufb01',
  '\u00df',
  '\u0131gnore',
];
const OVERLONG = [63, 64, 65, 253, 254, 255, 256, 1024, 70_000];

const GENERIC_STRINGS: readonly string[] = [...CONTROL, ...DNSMASQ, ...BIRD, ...IPTABLES, ...NGINX, ...KEEPALIVED, ...STRONGSWAN, ...SEPARATORS, ...UNICODE];

const ODD_V4 = [
  '0.0.0.0', '255.255.255.255', '127.0.0.1', '224.0.0.1', '239.255.255.250', '169.254.169.254', '100.64.0.1', '240.0.0.1', '192.0.2.0', '192.0.2.255',
  '0xc0.0.2.1', '0300.0.2.1', '192.0.2.010', '3221225985', '192.0.2', '192.0.2.1.', ' 192.0.2.1', '192.0.2.1 ', '192.0.2.256', '192.0.2.-1', '192.0.2.1/32',
  '1e2.0.2.1', '192.0.2.1\n', '192.0.2.1%eth0', '+192.0.2.1', '192.0.2.1:80', '[192.0.2.1]',
];
const ODD_V6 = [
  '::', '::1', 'ff02::1', 'ff05::2', 'fe80::1', 'fe80::1%eth0', '::ffff:192.0.2.1', '::ffff:c000:201', '64:ff9b::192.0.2.1', '2001:DB8::1', '2001:db8:0:0:0:0:0:1',
  '2001:db8::1::1', '2001:db8:::1', '[2001:db8::1]', '2001:db8::g', '2001:0db8:0000::0001', '::192.0.2.1', 'fdca:3ba5:a17a:acda::1', 'fdca:3ba5:a17a:acda::2',
  '2001:db8::/64', '2001:db8:e::', '2001:db8:e::ffff:ffff:ffff:ffff', 'fec0::1', '2002:c000:0201::1',
];
const ODD_PREFIXES = ['0', '1', '8', '24', '30', '31', '32', '33', '64', '120', '127', '128', '129', '-1', '024', '24.0', '', '4294967320', ' 24'];
const ODD_MACS = [
  'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '00:00:00:00:00:00', '03:00:00:00:00:01', '02:00:00:00:02:0A', '02-00-00-00-02-0a', '0200.0000.020a',
  '02:00:00:00:02', '02:00:00:00:02:0a:ff', '02:00:00:00:02:0g', ' 02:00:00:00:02:0a', '02:00:00:00:02:0a,ignore', '02:00:00:00:01:02', '\uff10\uff12:00:00:00:02:0a',
];
const HOSTNAME_VALUES = [
  'ignore', 'infinite', 'IGNORE', 'Infinite', '5m', '5M', '300', '12h', '1w', '0', '192-0-2-1', '198.51.100.10', '1.2', '0x10', 'a', 'A-B', 'x.y.z', 'ignore.example',
  'host.ignore', '5m.example', 'example.5m', 'infinite1', 'ignore-me', 'w', 'm', '1', '9h9', 'xn--nxasmq6b', 'a'.repeat(63), 'a'.repeat(64), `${'a'.repeat(63)}.${'b'.repeat(63)}`,
  `${'a'.repeat(63)}.`.repeat(4).slice(0, 253), 'host.', '.host', '-host', 'host-', 'ho_st', 'ho st', 'a..b', 'host,ignore', 'host#x', 'h\u0430st', 'localhost', 'tag', 'set', 'id',
];
const TEXT_VALUES = ['', ' ', 'a b', 'x,y', 'k=v', 'a:b', '[x]', '*', '?', '!', '%s', '<x>', 'a&b', 'a|b', '^', '~', '@', '(x)', '+', 'name\u0085x', 'name\u2028x', '\u202ename', 'tenant-\u0430'];
const NUMBERS = [
  0, -1, 1, 1.5, -0.5, 2, 59, 60, 67, 68, 69, 100, 179, 254, 255, 256, 500, 1279, 1280, 1500, 4500, 5000, 9000, 9697, 65535, 65536, 2147483647, 2147483648,
  4294967295, 4294967296, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, -Number.MAX_SAFE_INTEGER,
];
const NUMBER_LIKE_STRINGS = ['NaN', 'Infinity', '-Infinity', '1e3', '0x10', '010', ' 1', '1 ', '', '5000', '1_000', '\u0661\u0662\u0663', '65535', '-0', 'null', 'true'];
const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '__defineGetter__', 'isPrototypeOf'];
const ODD_KEYS = [...PROTO_KEYS, '', ' ', 'x'.repeat(300), 'a/b', 'a~b', '~1', '\u0000', '\n', 'hostn\u0430me', 'HOSTNAME', 'networks ', '$ref', '$schema', 'configuration'];
const WRONG_TYPES: readonly Json[] = [null, true, false, 0, 1, -1, '', 'x', [], {}, [[]], [null], { '': null }];

/** A wrong-typed value, fresh: a later mutation may change it in place. */
function wrongType(rng: Prng): Json {
  return structuredClone(rng.pick(WRONG_TYPES));
}

/** Odd v4 and v6 network bases a whole network may be moved to (the host part of each address kept). */
const ODD_BASES: Readonly<Record<4 | 6, readonly string[]>> = {
  4: ['0.0.0.0', '127.0.0.0', '224.0.0.0', '239.255.255.0', '240.0.0.0', '255.255.255.0', '169.254.169.0', '100.64.0.0', '198.18.0.0', '192.0.2.0', '203.0.113.0', '198.51.100.0'],
  6: ['::', 'ff02::', 'ff05::', 'fe80::', 'fec0::', '::ffff:0:0', '64:ff9b::', '2002::', 'fc00::', '2001:db8:ffff::', '2001:db8:e::', 'fd00:b::', 'fdca:3ba5:a17a:acda::'],
};

// ---------------------------------------------------------------------------
// Where a mutation can land.

type Token = string | number;

interface Place {
  readonly path: readonly Token[];
  readonly value: Json;
}

/** Every value of a document, breadth-first, without going very deep or very wide (mutations may have made it so). */
function places(root: Json): Place[] {
  const out: Place[] = [];
  const queue: Place[] = [{ path: [], value: root }];
  for (let head = queue.shift(); head !== undefined; head = queue.shift()) {
    out.push(head);
    if (head.path.length >= 12) continue;
    if (Array.isArray(head.value)) {
      head.value.slice(0, 32).forEach((child, i) => queue.push({ path: [...head.path, i], value: child }));
    } else if (isObject(head.value)) {
      Object.keys(head.value).slice(0, 64).forEach((key) => queue.push({ path: [...head.path, key], value: (head.value as JsonObject)[key]! }));
    }
  }
  return out;
}

export function pointer(path: readonly Token[]): string {
  return path.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Set an own key, `__proto__` included (plain assignment would set the prototype instead). */
function setOwn(target: JsonObject | Json[], key: Token, value: Json): void {
  if (Array.isArray(target)) target[Number(key)] = value;
  else Object.defineProperty(target, String(key), { value, enumerable: true, writable: true, configurable: true });
}

function parentOf(root: Json, path: readonly Token[]): JsonObject | Json[] | undefined {
  let node: Json | undefined = root;
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = Object.hasOwn(node, String(token)) ? node[String(token)] : undefined;
    else return undefined;
  }
  return Array.isArray(node) || isObject(node) ? node : undefined;
}

// ---------------------------------------------------------------------------
// The document being built.

/** One mutation as the failure report shows it. */
export interface Mutation {
  readonly op: string;
  readonly at: string;
  readonly detail: string;
}

/** A key repeated in the JSON text: JSON.parse keeps the last of equal keys. */
interface DuplicateKey {
  readonly at: readonly Token[];
  readonly key: string;
  readonly value: Json;
  /** First (the original wins) or last (the duplicate wins). */
  readonly last: boolean;
}

export interface FuzzDocument {
  readonly index: number;
  readonly fixture: Fixture;
  readonly mutations: readonly Mutation[];
  /** The request body, as the API would receive it. */
  readonly text: string;
}

class Builder {
  readonly mutations: Mutation[] = [];
  readonly duplicates: DuplicateKey[] = [];
  /**
   * Set once a structure thousands of levels deep is in the document: no
   * further mutation, since copying or walking it (structuredClone, recursion)
   * would overflow the stack of the generator itself.
   */
  sealed = false;

  constructor(
    public root: Json,
    readonly rng: Prng,
    private readonly donors: readonly Json[],
  ) {}

  record(op: string, path: readonly Token[], detail: unknown): void {
    this.mutations.push({ op, at: pointer(path), detail: preview(detail) });
  }

  set(path: readonly Token[], value: Json): void {
    if (path.length === 0) {
      this.root = value;
      return;
    }
    const parent = parentOf(this.root, path);
    if (parent) setOwn(parent, path[path.length - 1]!, value);
  }

  /** A value taken from any fixture: valid somewhere, maybe not here. */
  donor(kind: 'number' | 'any'): Json {
    return this.rng.pick(kind === 'any' ? this.donors : this.donors.filter((d) => typeof d === kind));
  }

  donorString(): string {
    return this.rng.pick(this.donors.filter((d): d is string => typeof d === 'string'));
  }
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}... (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------
// Mutations.

function hostileString(b: Builder, original: string, key: Token | undefined): string {
  const { rng } = b;
  const plausible = plausibleStrings(original, key, b);
  const value = rng.chance(0.45) && plausible.length > 0 ? rng.pick(plausible) : rng.chance(0.12) ? overlong(rng) : rng.pick(GENERIC_STRINGS);
  switch (rng.int(6)) {
    case 0:
      return `${original}${value}`;
    case 1:
      return `${value}${original}`;
    case 2: {
      const at = rng.int(original.length + 1);
      return `${original.slice(0, at)}${value}${original.slice(at)}`;
    }
    case 3:
      return lookalike(original, rng);
    default:
      return value;
  }
}

function overlong(rng: Prng): string {
  const length = rng.pick(OVERLONG);
  const unit = rng.pick(['a', 'a.', '9', '\u0430', '-', '\ud83d\ude42', 'ab-']);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** One character swapped for a look-alike from another script, or a digit for a full-width one. */
function lookalike(text: string, rng: Prng): string {
  const swaps: Readonly<Record<string, string>> = { a: '\u0430', e: '\u0435', o: '\u043e', c: '\u0441', p: '\u0440', x: '\u0445', i: '\u0456', '0': '\uff10', '1': '\uff11', '2': '\uff12', ':': '\uff1a', '.': '\u3002', '-': '\u2010' };
  const chars = Array.from(text);
  const positions = chars.map((ch, i) => (Object.hasOwn(swaps, ch) ? i : -1)).filter((i) => i >= 0);
  if (positions.length === 0) return `${text}\u0430`;
  const at = rng.pick(positions);
  chars[at] = swaps[chars[at]!]!;
  return chars.join('');
}

/** Values near the original: the same kind of thing, odd or valid. */
function plausibleStrings(original: string, key: Token | undefined, b: Builder): string[] {
  const slash = original.indexOf('/');
  const bare = slash < 0 ? original : original.slice(0, slash);
  const family = isIP(bare) as 0 | 4 | 6;
  if (family !== 0) {
    const odd = [...(family === 4 ? ODD_V4 : ODD_V6), ...edgeAddresses(bare, family), b.donorString()];
    if (slash < 0) return odd;
    return [
      ...ODD_PREFIXES.map((p) => `${bare}/${p}`),
      ...odd.map((a) => `${a}/${original.slice(slash + 1)}`),
      ...edgeAddresses(bare, family).map((a) => `${a}/${original.slice(slash + 1)}`),
      bare,
    ];
  }
  if (/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(original)) return ODD_MACS;
  if (key === 'hostname') return HOSTNAME_VALUES;
  if (key === 'ifname') return ['ge', 'ge00', 'ge01', 'ge9999', 'ge10000', 'GE0', 'ge-1', 'ge0 ', 'eth0', 'ge1.5', 'ge\u0030\u0301', '\uff47\uff45\uff11', 'ge0,ge1', 'lo'];
  return [...TEXT_VALUES, ...HOSTNAME_VALUES.slice(0, 12)];
}

/** The network, broadcast, first, last and neighbouring addresses of the /24 or /64 around an address. */
function edgeAddresses(text: string, family: 4 | 6): string[] {
  const bytes = ipaddr.parse(text).toByteArray();
  const hostBytes = family === 4 ? 1 : 8;
  const variant = (fill: (i: number) => number) => ipaddr.fromByteArray(bytes.map((byte, i) => (i >= bytes.length - hostBytes ? fill(i) : byte))).toString();
  const last = bytes.length - 1;
  return [
    variant(() => 0),
    variant(() => 255),
    variant((i) => (i === last ? 1 : 0)),
    variant((i) => (i === last ? 254 : 255)),
    variant((i) => (i === last ? (bytes[last]! + 1) & 0xff : bytes[i]!)),
    variant((i) => (i === last ? 63 : bytes[i]!)),
    variant((i) => (i === last ? 64 : bytes[i]!)),
  ];
}

function hostileNumber(b: Builder, original: number): Json {
  const { rng } = b;
  switch (rng.int(5)) {
    case 0:
      return rng.pick([original + 1, original - 1, original * 2, -original, original + 0.5, original * 65536]);
    case 1:
      return rng.pick(NUMBER_LIKE_STRINGS);
    case 2:
      return b.donor('number');
    default:
      return rng.pick(NUMBERS);
  }
}

/** Nested lists or objects, `depth` levels of them. */
function nested(depth: number, kind: 'list' | 'object' | 'mixed', leaf: Json): Json {
  let value: Json = leaf;
  for (let i = 0; i < depth; i++) {
    const list = kind === 'list' || (kind === 'mixed' && i % 2 === 0);
    value = list ? [value] : { d: value };
  }
  return value;
}

function mutateValue(b: Builder, place: Place): void {
  const { rng } = b;
  const { path, value } = place;
  const key = path[path.length - 1];
  if (typeof value === 'string') {
    const next = rng.chance(0.85) ? hostileString(b, value, key) : wrongType(rng);
    b.set(path, next);
    b.record('string', path, next);
  } else if (typeof value === 'number') {
    const next = rng.chance(0.85) ? hostileNumber(b, value) : wrongType(rng);
    b.set(path, next);
    b.record('number', path, next);
  } else if (typeof value === 'boolean' || value === null) {
    const next = rng.chance(0.4) && typeof value === 'boolean' ? !value : rng.chance(0.5) ? b.donor('any') : structuredClone(rng.pick([...WRONG_TYPES, 'true', 'false', 'yes', 1, 0]));
    b.set(path, next);
    b.record('scalar', path, next);
  } else if (Array.isArray(value)) {
    mutateList(b, path, value);
  } else {
    mutateObject(b, path, value);
  }
}

function mutateList(b: Builder, path: readonly Token[], list: Json[]): void {
  const { rng } = b;
  const copy = [...list];
  switch (rng.int(8)) {
    case 0: {
      if (copy.length === 0) break;
      const i = rng.int(copy.length);
      copy.splice(i, 1);
      b.record('list-remove', [...path, i], '');
      b.set(path, copy);
      return;
    }
    case 1: {
      if (copy.length === 0) break;
      const i = rng.int(copy.length);
      const times = rng.pick([1, 1, 2, 16, 17, 257, 1025]);
      for (let k = 0; k < times; k++) copy.push(structuredClone(copy[i]!));
      b.record('list-repeat', [...path, i], `${times} more`);
      b.set(path, copy);
      return;
    }
    case 2: {
      if (copy.length < 2) break;
      copy.reverse();
      b.record('list-reverse', path, '');
      b.set(path, copy);
      return;
    }
    case 3: {
      const element = rng.chance(0.5) ? wrongType(rng) : rng.pick(GENERIC_STRINGS);
      copy.splice(rng.int(copy.length + 1), 0, element);
      b.record('list-insert', path, element);
      b.set(path, copy);
      return;
    }
    case 4:
      b.record('list-empty', path, '');
      b.set(path, []);
      return;
    case 5: {
      const element = copy.length > 0 && rng.chance(0.7) ? copy[0]! : wrongType(rng);
      // Beyond every maxItems of the schema (65,536) for small elements; wide but within the body limit for large ones.
      const count = typeof element === 'object' && element !== null ? rng.pick([17, 257, 1025]) : rng.pick([257, 4097, 20_000, 70_000]);
      // Scalars are shared as they are; objects are copied, so that a later mutation of one changes one.
      const wide: Json[] = Array.from({ length: count }, () => (typeof element === 'object' ? structuredClone(element) : element));
      b.record('list-wide', path, `${count} x ${preview(element)}`);
      b.set(path, wide);
      return;
    }
    default:
      break;
  }
  replaceContainer(b, path);
}

function mutateObject(b: Builder, path: readonly Token[], object: JsonObject): void {
  const { rng } = b;
  const keys = Object.keys(object);
  switch (rng.int(9)) {
    case 0: {
      if (keys.length === 0) break;
      const key = rng.pick(keys);
      const copy: JsonObject = {};
      for (const k of keys) if (k !== key) setOwn(copy, k, object[k]!);
      b.record('key-delete', [...path, key], '');
      b.set(path, copy);
      return;
    }
    case 1: {
      if (keys.length === 0) break;
      const key = rng.pick(keys);
      const renamed = rng.pick([lookalike(key, rng), key.toUpperCase(), `${key} `, ` ${key}`, `${key}\u0000`, key.replace(/_/g, '-'), `${key}s`]);
      const copy: JsonObject = {};
      for (const k of keys) setOwn(copy, k === key ? renamed : k, object[k]!);
      b.record('key-rename', [...path, key], renamed);
      b.set(path, copy);
      return;
    }
    case 2:
    case 3: {
      const key = rng.pick(ODD_KEYS);
      const value = rng.pick<Json>([{}, 'x', [], { polluted: true }, null, 1, { hostname: 'ignore' }, nested(3, 'mixed', 'x')]);
      const copy = { ...object };
      setOwn(copy, key, value);
      b.record('key-add', [...path, key], value);
      b.set(path, copy);
      return;
    }
    case 4:
    case 5: {
      if (keys.length === 0) break;
      const key = rng.chance(0.6) ? rng.pick(keys) : rng.pick(PROTO_KEYS);
      const original = Object.hasOwn(object, key) ? object[key]! : null;
      const value = typeof original === 'string' ? hostileString(b, original, key) : wrongType(rng);
      const last = rng.chance(0.5);
      b.duplicates.push({ at: path, key, value, last });
      b.record(last ? 'key-repeat-wins' : 'key-repeat-loses', [...path, key], value);
      return;
    }
    case 6: {
      const count = rng.pick([300, 2000, 20_000]);
      const copy = { ...object };
      for (let i = 0; i < count; i++) copy[`k${i}`] = i;
      b.record('object-wide', path, `${count} keys`);
      b.set(path, copy);
      return;
    }
    default:
      break;
  }
  replaceContainer(b, path);
}

function replaceContainer(b: Builder, path: readonly Token[]): void {
  const { rng } = b;
  if (rng.chance(0.5)) {
    const next = wrongType(rng);
    b.set(path, next);
    b.record('replace', path, next);
    return;
  }
  deepen(b, path);
}

/** An unknown key (or the value itself) made of nesting, around the depth limit or far beyond it. */
function deepen(b: Builder, path: readonly Token[]): void {
  const { rng } = b;
  const depth = rng.pick([20, 28, 29, 30, 31, 32, 33, 40, 62, 63, 64, 65, 200, 3000]);
  const kind = rng.pick(['list', 'object', 'mixed'] as const);
  const value = nested(depth, kind, rng.pick<Json>([1, 'x', null, []]));
  b.sealed = true;
  const parent = parentOf(b.root, [...path, 'x']);
  if (isObject(parent) && rng.chance(0.7)) {
    const key = rng.pick(['deep', '__proto__', 'constructor', 'x']);
    setOwn(parent, key, value);
    b.record('deep-key', [...path, key], `${depth} levels of ${kind}`);
  } else {
    b.set(path, value);
    b.record('deep', path, `${depth} levels of ${kind}`);
  }
}

/**
 * Move one subnet, and every address of the document inside it (keys of
 * allocation maps included), to an odd network base, the host part of each
 * address kept: a coherent document on loopback, multicast, link-local,
 * IPv4-mapped or overlapping space.
 */
function moveSubnet(b: Builder): boolean {
  const { rng } = b;
  const subnets = places(b.root).filter((p) => p.path.length >= 2 && p.path[p.path.length - 1] === 'cidr' && typeof p.value === 'string');
  if (subnets.length === 0) return false;
  const subnet = rng.pick(subnets);
  const cidrText = subnet.value as string;
  const [base, prefixText] = cidrText.split('/');
  const family = isIP(base ?? '') as 0 | 4 | 6;
  if (family === 0 || prefixText === undefined) return false;
  const prefix = Number(prefixText);
  const from = ipaddr.parse(base!);
  const to = ipaddr.parse(rng.pick(ODD_BASES[family]));
  const move = (text: string): string | undefined => {
    const slash = text.indexOf('/');
    const address = slash < 0 ? text : text.slice(0, slash);
    if (isIP(address) !== family) return undefined;
    const parsed = ipaddr.parse(address);
    if (!parsed.match(from, prefix)) return undefined;
    const bytes = parsed.toByteArray();
    const target = to.toByteArray();
    const moved = bytes.map((byte, i) => {
      const bit = i * 8;
      if (bit + 8 <= prefix) return target[i]!;
      if (bit >= prefix) return byte;
      const mask = 0xff >> (prefix - bit);
      return (target[i]! & ~mask & 0xff) | (byte & mask);
    });
    return `${ipaddr.fromByteArray(moved).toString()}${slash < 0 ? '' : text.slice(slash)}`;
  };
  // Addresses live a few levels down; what an earlier mutation nested deeper is left as it is.
  const rewrite = (value: Json, depth: number): Json => {
    if (typeof value === 'string') return move(value) ?? value;
    if (depth > 16) return value;
    if (Array.isArray(value)) return value.map((v) => rewrite(v, depth + 1));
    if (isObject(value)) {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) setOwn(out, move(k) ?? k, rewrite(v, depth + 1));
      return out;
    }
    return value;
  };
  b.root = rewrite(b.root, 0);
  b.record('move-subnet', subnet.path, `${cidrText} -> ${to.toString()}/${prefix}`);
  return true;
}

function mutateTop(b: Builder): void {
  const { rng } = b;
  const choice = rng.int(4);
  if (choice === 0) {
    b.root = { configuration: b.root };
    b.record('wrap', [], 'configuration');
  } else if (choice === 1) {
    b.root = { configuration: b.root, [rng.pick(['extra', 'configuration2', 'version'])]: 1 };
    b.record('wrap-extra', [], 'configuration + another key');
  } else if (choice === 2) {
    b.root = [b.root];
    b.record('top-list', [], '');
  } else {
    const next = rng.pick<Json>(['', 'null', 0, null, true, []]);
    b.root = next;
    b.record('top-replace', [], next);
  }
}

/** Every leaf value of the fixtures, for cross-pollination. */
function donorValues(fixtures: readonly Fixture[]): Json[] {
  const values = new Set<Json>();
  for (const fixture of fixtures) for (const p of places(fixture.body)) if (p.value === null || typeof p.value !== 'object') values.add(p.value);
  return [...values];
}

export interface GeneratorOptions {
  readonly seed: number;
  readonly fixtures?: readonly Fixture[];
}

/** Makes document `index` of the run with `seed`: the same every time. */
export class DocumentGenerator {
  readonly fixtures: readonly Fixture[];
  readonly #donors: Json[];

  constructor(readonly options: GeneratorOptions) {
    this.fixtures = options.fixtures ?? loadFixtures();
    this.#donors = donorValues(this.fixtures);
  }

  document(index: number): FuzzDocument {
    const rng = new Prng(hash32(`${this.options.seed}:${index}`));
    const fixture = rng.pick(this.fixtures);
    const b = new Builder(structuredClone(fixture.body), rng, this.#donors);
    const count = rng.pick([1, 1, 1, 1, 2, 2, 2, 3, 4]);
    for (let i = 0; i < count && !b.sealed; i++) this.#mutateOnce(b);
    return { index, fixture, mutations: b.mutations, text: serialize(b.root, b.duplicates) };
  }

  #mutateOnce(b: Builder): void {
    const { rng } = b;
    const roll = rng.next();
    if (roll < 0.02) return mutateTop(b);
    if (roll < 0.1 && moveSubnet(b)) return;
    const all = places(b.root);
    // Leaves most of the time: that is where values reach daemon files.
    const leaves = all.filter((p) => p.value === null || typeof p.value !== 'object');
    const place = rng.chance(0.75) && leaves.length > 0 ? rng.pick(leaves) : rng.pick(all);
    if (rng.chance(0.15) && typeof place.value !== 'object') {
      const next = b.donor('any');
      b.set(place.path, next);
      b.record('donor', place.path, next);
      return;
    }
    mutateValue(b, place);
  }
}

// ---------------------------------------------------------------------------
// JSON text with repeated keys.

/** JSON text of `root` with each repeated key written before or after the key it repeats. */
export function serialize(root: Json, duplicates: readonly DuplicateKey[]): string {
  if (duplicates.length === 0) return JSON.stringify(root);
  const at = new Map<string, DuplicateKey[]>();
  for (const d of duplicates) at.set(pointer(d.at), [...(at.get(pointer(d.at)) ?? []), d]);
  // Repeated keys are only ever placed a few levels down (see places()): deeper, JSON.stringify writes the rest.
  const write = (value: Json, path: Token[]): string => {
    if (path.length > 16) return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map((v, i) => write(v, [...path, i])).join(',')}]`;
    if (!isObject(value)) return JSON.stringify(value);
    const members = Object.keys(value).map((k) => `${JSON.stringify(k)}:${write(value[k]!, [...path, k])}`);
    for (const d of at.get(pointer(path)) ?? []) {
      const member = `${JSON.stringify(d.key)}:${JSON.stringify(d.value)}`;
      if (d.last) members.push(member);
      else members.unshift(member);
    }
    return `{${members.join(',')}}`;
  };
  return write(root, []);
}
