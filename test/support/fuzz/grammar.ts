// What a legitimate line of each file the agent renders looks like: the line
// kinds each template and renderer emits (read from dnsmasq.*.hbs,
// bird.conf.hbs, firewall/render.ts and the contributions, the ip-batch
// planners), as templates with typed holes. A hole's text must match its
// pattern and pass its check, which knows the daemon's own reading of the
// value (how dnsmasq tells the fields of a host line apart, what an address
// or a network is), written here independently of the code under test. A
// line that matches no kind is one a valid document could not produce: an
// injection.
import { isIP, isIPv4, isIPv6 } from 'node:net';

/** One rendered file: where it goes and its text. */
export interface RenderedFile {
  readonly name: string;
  readonly text: string;
}

/** A line that no kind accepts. */
export interface BadLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

interface Hole {
  /** A regular expression without capturing groups. */
  readonly pattern: string;
  /** Why the text is not such a value, or undefined when it is. */
  readonly check?: (text: string) => string | undefined;
}

const IPV4 = '[0-9]{1,3}(?:\\.[0-9]{1,3}){3}';
// strongSwan's algorithm names the agent writes (vpn/render.ts), as strongSwan spells them.
const SWAN_ENCRYPTION = '3des|aes(?:128|192|256)(?:ctr|gcm(?:8|12|16)|ccm(?:8|12|16))?';
const SWAN_INTEGRITY = 'sha1|sha256|sha384|sha512';
const SWAN_GROUP = 'modp(?:1024|1536|2048|3072|4096|6144|8192)|ecp(?:256|384|521)|curve25519';
const SWAN_PLUGINS = ['random', 'nonce', 'openssl', 'aes', 'sha1', 'sha2', 'hmac', 'gmp', 'kdf', 'pem', 'pkcs1', 'pubkey', 'x509', 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici'];
const IPV6 = '[0-9a-f:.]{2,45}';
const IFNAME = 'eth(?:0|[1-9][0-9]{0,3})';

function integerIn(low: number, high: number): (text: string) => string | undefined {
  return (text) => (/^(?:0|[1-9][0-9]*)$/.test(text) && Number(text) >= low && Number(text) <= high ? undefined : `not an integer in ${low}..${high}`);
}

/** Canonical dotted quad (no leading zeros: iptables and dnsmasq would read those as octal). */
function ipv4(text: string): string | undefined {
  if (!isIPv4(text)) return 'not an IPv4 address';
  return text.split('.').some((part) => part.length > 1 && part.startsWith('0')) ? 'an IPv4 part with a leading zero' : undefined;
}

function ipv6(text: string): string | undefined {
  return isIPv6(text) && text.includes(':') ? undefined : 'not an IPv6 address';
}

function addressBits(text: string): { bits: bigint; width: number } {
  if (isIPv4(text)) return { bits: text.split('.').reduce((v, p) => (v << 8n) | BigInt(p), 0n), width: 32 };
  // Expand `::` and a dotted tail into eight groups.
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [g])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { bits: all.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n), width: 128 };
}

function ipv4Groups(dotted: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/** `address/length` of one family; with `network`, no host bit may be set. */
function cidr(family: 4 | 6, network: boolean): (text: string) => string | undefined {
  return (text) => {
    const [address = '', length = '', ...rest] = text.split('/');
    if (rest.length > 0) return 'more than one "/"';
    const bad = family === 4 ? ipv4(address) : ipv6(address);
    if (bad) return bad;
    const width = family === 4 ? 32 : 128;
    const badLength = integerIn(0, width)(length);
    if (badLength) return `prefix length ${badLength}`;
    if (!network) return undefined;
    const { bits } = addressBits(address);
    const hostBits = BigInt(width - Number(length));
    return bits & ((1n << hostBits) - 1n) ? 'host bits set in a network' : undefined;
  };
}

/**
 * An address a host can hold and a route can lead through, as the kernel
 * sees it: not 0.0.0.0/8 nor ::, not loopback, not multicast, not the IPv4
 * limited broadcast (it refuses these as next hops, and the IPv6 ones as
 * interface addresses).
 */
function unicast(text: string): string | undefined {
  const bad = isIPv4(text) ? ipv4(text) : ipv6(text);
  if (bad) return bad;
  const { bits, width } = addressBits(text);
  const top = (n: number) => bits >> BigInt(width - n);
  if (width === 32) {
    if (top(8) === 0n) return 'in 0.0.0.0/8';
    if (top(8) === 127n) return 'a loopback address';
    if (top(4) === 0xen) return 'a multicast address';
    if (bits === 0xffffffffn) return 'the broadcast address';
    return undefined;
  }
  if (bits === 0n) return 'the unspecified address';
  if (bits === 1n) return 'the loopback address';
  return top(8) === 0xffn ? 'a multicast address' : undefined;
}

/**
 * An address the agent puts on an interface: unicast, and not link-local,
 * since the agent leaves link-local addresses to the kernel and would never
 * take such an address away again.
 */
function interfaceAddress(text: string): string | undefined {
  return unicast(text) ?? (isLinkLocal(text) ? 'link-local, which the agent never removes' : undefined);
}

function isLinkLocal(text: string): boolean {
  const { bits, width } = addressBits(text);
  return width === 32 ? bits >> 16n === 0xa9fen : bits >> 118n === 0x3fan;
}

/** A next hop of a route that names no interface: unicast, and for IPv6 not link-local (the kernel needs the interface). */
function hopWithoutDevice(text: string): string | undefined {
  return unicast(text) ?? (isIPv6(text) && isLinkLocal(text) ? 'link-local, and the route names no interface' : undefined);
}

function netmask(text: string): string | undefined {
  if (ipv4(text)) return 'not a dotted netmask';
  const bits = Number(addressBits(text).bits);
  const inverted = ~bits >>> 0;
  return (inverted & (inverted + 1)) === 0 ? undefined : 'not a contiguous netmask';
}

/**
 * How dnsmasq reads one comma-separated field of a `dhcp-host` line (option.c,
 * the `dhcp-host` case): an IPv6 address in brackets, anything with a colon
 * as a MAC, client id, tag or set, a dotted quad as an address, `infinite`
 * and `ignore` as keywords, and digits with at most one unit letter as a
 * lease time. Only what is left is a host name.
 */
export function dnsmasqHostField(field: string): 'ipv6' | 'colon' | 'ipv4' | 'keyword' | 'lease' | 'name' {
  if (field.startsWith('[')) return 'ipv6';
  if (field.includes(':')) return 'colon';
  if (field.includes('.') && isIPv4(field)) return 'ipv4';
  // dnsmasq compares the keywords exactly; the agent refuses them in any case, and so does this.
  if (['infinite', 'ignore'].includes(field.toLowerCase())) return 'keyword';
  const unit = field.length > 1 && /[smhdw]$/i.test(field) ? 1 : 0;
  const digits = field.slice(0, field.length - unit);
  if (/^[0-9 ]*$/.test(digits) && /[0-9]/.test(digits)) return 'lease';
  return 'name';
}

function dhcpName(text: string): string | undefined {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(text)) return 'not a host name label';
  const kind = dnsmasqHostField(text);
  return kind === 'name' ? undefined : `dnsmasq would read it as ${kind === 'keyword' ? 'a keyword' : kind === 'lease' ? 'a lease time' : 'an address'}`;
}

/** A list of `separator`-joined values, each passing `check`. */
function listOf(separator: string, check: (text: string) => string | undefined, strip: (item: string) => string | undefined = (item) => item): (text: string) => string | undefined {
  return (text) => {
    for (const item of text.split(separator)) {
      const inner = strip(item);
      const bad = inner === undefined ? 'malformed item' : check(inner);
      if (bad) return `${JSON.stringify(item)}: ${bad}`;
    }
    return undefined;
  };
}

function routes121(text: string): string | undefined {
  const items = text.split(',');
  if (items.length % 2 !== 0) return 'an odd number of route fields';
  for (let i = 0; i < items.length; i += 2) {
    const bad = cidr(4, true)(items[i]!) ?? unicast(items[i + 1]!);
    if (bad) return `${items[i]!},${items[i + 1]!}: ${bad}`;
  }
  return undefined;
}

/** Two canonical unicast addresses of one family. */
function fipPair(floating: string, fixed: string): string | undefined {
  if (isIP(floating) === 0 || isIP(floating) !== isIP(fixed)) return 'not two addresses of one family';
  return unicast(floating) ?? unicast(fixed);
}

/** A floating IP's counter name (firewall/nft.ts): its two addresses with `:` as `_`. */
function fipCounter(text: string): string | undefined {
  const [, , floating = '', fixed = '', ...rest] = text.split('-');
  return rest.length > 0 ? 'more than two addresses' : fipPair(floating.replace(/_/g, ':'), fixed.replace(/_/g, ':'));
}

/** A map's elements: `address : address` of one family, or `address : "counter name"`. */
function fipElements(text: string): string | undefined {
  for (const element of text.split(', ')) {
    const [key = '', value = '', ...rest] = element.split(' : ');
    if (rest.length > 0) return `${element}: not one key and one value`;
    const counter = /^"(fip-(?:in|out)-[0-9a-f._]+-[0-9a-f._]+)"$/.exec(value)?.[1];
    const why = counter !== undefined ? unicast(key) ?? fipCounter(counter) : fipPair(key, value);
    if (why) return `${element}: ${why}`;
  }
  return undefined;
}

/** `address:port` as nginx reads it: a unicast address, IPv6 in brackets, and a port. */
function endpoint(text: string): string | undefined {
  const colon = text.lastIndexOf(':');
  const address = text.slice(0, colon);
  const v6 = /^\[(.*)\]$/.exec(address)?.[1];
  return (v6 !== undefined ? unicast(v6) : ipv4(address) ?? unicast(address)) ?? integerIn(1, 65535)(text.slice(colon + 1));
}

const HOLES: Readonly<Record<string, Hole>> = {
  ipv4: { pattern: IPV4, check: ipv4 },
  ipv6: { pattern: IPV6, check: ipv6 },
  // BIRD's router id is a 32-bit number in dotted form (a hash when there is no external IPv4 address): any but 0.
  routerid: { pattern: IPV4, check: (t) => ipv4(t) ?? (t === '0.0.0.0' ? 'zero, which BIRD refuses' : undefined) },
  uipv4: { pattern: IPV4, check: unicast },
  uipv6: { pattern: IPV6, check: unicast },
  hop6: { pattern: IPV6, check: hopWithoutDevice },
  ucidr4: { pattern: `${IPV4}/[0-9]{1,2}`, check: (t) => cidr(4, false)(t) ?? interfaceAddress(t.split('/')[0]!) },
  ucidr6: { pattern: `${IPV6}/[0-9]{1,3}`, check: (t) => cidr(6, false)(t) ?? interfaceAddress(t.split('/')[0]!) },
  host4: { pattern: `${IPV4}/32`, check: (t) => ipv4(t.slice(0, -3)) },
  host6: { pattern: `${IPV6}/128`, check: (t) => ipv6(t.slice(0, -4)) },
  cidr4: { pattern: `${IPV4}/[0-9]{1,2}`, check: cidr(4, false) },
  cidr6: { pattern: `${IPV6}/[0-9]{1,3}`, check: cidr(6, false) },
  net4: { pattern: `${IPV4}/[0-9]{1,2}`, check: cidr(4, true) },
  net6: { pattern: `${IPV6}/[0-9]{1,3}`, check: cidr(6, true) },
  netmask: { pattern: IPV4, check: netmask },
  prefix6: { pattern: '[0-9]{1,3}', check: integerIn(0, 128) },
  if: { pattern: IFNAME },
  tag: { pattern: 'ge(?:0|[1-9][0-9]{0,3})-s(?:0|[1-9][0-9]{0,2})' },
  mac: { pattern: '[0-9a-f]{2}(?::[0-9a-f]{2}){5}' },
  dhcpname: { pattern: '[A-Za-z0-9-]{1,63}', check: dhcpName },
  mtu: { pattern: '[0-9]{2,5}', check: integerIn(68, 65535) },
  port: { pattern: '[0-9]{1,5}', check: integerIn(1, 65535) },
  mdport: { pattern: '[0-9]{4,5}', check: integerIn(9600, 9600 + 9999) },
  asn: { pattern: '[0-9]{1,10}', check: integerIn(1, 4294967295) },
  session: { pattern: 'upstream[1-9][0-9]{0,3}' },
  ipv4s: { pattern: '[0-9.,]+', check: listOf(',', ipv4) },
  ipv6brackets: { pattern: '[0-9a-f:.,\\[\\]]+', check: listOf(',', ipv6, (item) => (/^\[.*\]$/.test(item) ? item.slice(1, -1) : undefined)) },
  routes121: { pattern: '[0-9./,]+', check: routes121 },
  quotedifs: { pattern: `"${IFNAME}"(?:, "${IFNAME}")*` },
  net6s: { pattern: '[0-9a-f:./, ]+', check: listOf(', ', cidr(6, true)) },
  rdnss: { pattern: `(?:ns ${IPV6}; )+`, check: (t) => listOf('; ', ipv6, (item) => (item.startsWith('ns ') ? item.slice(3) : undefined))(t.slice(0, -2)) },
  fipcounter: { pattern: 'fip-(?:in|out)-[0-9a-f._]+-[0-9a-f._]+', check: fipCounter },
  fipelements: { pattern: '[0-9a-finoptu:.", _-]+', check: fipElements },
  endpoint: { pattern: `(?:${IPV4}|\\[${IPV6}\\]):[0-9]{1,5}`, check: endpoint },
  upstream: { pattern: 'pool_(?:0|[1-9][0-9]{0,2})' },
  weight: { pattern: '[0-9]{1,3}', check: integerIn(1, 256) },
  sysctlvalue: { pattern: '[01]' },
  // strongSwan (swanctl.conf): an address of either family, canonical.
  ip: { pattern: `${IPV4}|${IPV6}`, check: (t) => (isIPv4(t) ? ipv4(t) : ipv6(t)) },
  // Networks of either family, comma-separated (a child's traffic selectors).
  nets: { pattern: '[0-9a-f:./,]+', check: listOf(',', (t) => (t.includes(':') ? cidr(6, false)(t) : cidr(4, false)(t))) },
  // A connection's name: its id with `.` and `:` made `_` (swanctl splits section names at `.`).
  swname: { pattern: '[A-Za-z0-9_-]{1,255}' },
  // An IKE identity inside quotes: the contract's characters, no quote or backslash to end the string.
  ident: { pattern: '[A-Za-z0-9_.:@=/-]{1,255}' },
  psk: { pattern: '[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,255}' },
  ikeproposal: { pattern: `(?:${SWAN_ENCRYPTION})-(?:prf)?(?:${SWAN_INTEGRITY})-(?:${SWAN_GROUP})` },
  espproposal: { pattern: `(?:${SWAN_ENCRYPTION})(?:-(?:${SWAN_INTEGRITY}))?-(?:${SWAN_GROUP})` },
  seconds: { pattern: '[0-9]{1,10}', check: integerIn(0, 2147483647) },
  bytes: { pattern: '[0-9]{1,16}', check: integerIn(0, 2147483647 * 1024) },
  retransmit: { pattern: '[0-9]{1,5}', check: integerIn(1, 86400) },
  // keepalived (keepalived.conf): an instance is named after the document's interface.
  geif: { pattern: 'ge(?:0|[1-9][0-9]{0,3})' },
  vrid: { pattern: '[0-9]{1,3}', check: integerIn(1, 255) },
  priority: { pattern: '[0-9]{1,3}', check: integerIn(1, 254) },
  // The instance's own link-local virtual address, derived from its VRID (ha/render.ts).
  vrrpll: { pattern: 'fe80::200:5eff:fe00:2[0-9a-f]{2}/64' },
  plugins: { pattern: '[a-z0-9 -]+', check: (t) => (t.split(' ').every((p) => SWAN_PLUGINS.includes(p)) ? undefined : 'a plugin the agent does not load') },
};

export interface LineKind {
  readonly name: string;
  readonly regex: RegExp;
  readonly holes: readonly string[];
}

/**
 * A line kind from a template: `<hole>` is a typed value, `{{a|b}}` one of
 * literal alternatives, `{{=text}}` a value given by the caller (a path);
 * the rest is literal.
 */
export function kind(name: string, template: string, values: Readonly<Record<string, string>> = {}): LineKind {
  const holes: string[] = [];
  let source = '^';
  let last = 0;
  for (const match of template.matchAll(/<([a-z0-9]+)>|\{\{=([a-z]+)\}\}|\{\{([^}]*)\}\}/g)) {
    source += escapeRegExp(template.slice(last, match.index));
    const [, hole, value, alternatives] = match;
    if (hole !== undefined) {
      const spec = HOLES[hole];
      if (!spec) throw new Error(`no hole <${hole}>`);
      holes.push(hole);
      source += `(${spec.pattern})`;
    } else if (value !== undefined) {
      const given = values[value];
      if (given === undefined) throw new Error(`no value for {{=${value}}}`);
      source += escapeRegExp(given);
    } else {
      source += `(?:${alternatives!.split('|').map(escapeRegExp).join('|')})`;
    }
    last = match.index + match[0].length;
  }
  return { name, regex: new RegExp(`${source}${escapeRegExp(template.slice(last))}$`), holes };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Why no kind accepts `line`, or undefined when one does. */
export function lineProblem(line: string, kinds: readonly LineKind[]): string | undefined {
  const near: string[] = [];
  for (const k of kinds) {
    const match = k.regex.exec(line);
    if (!match) continue;
    const bad = k.holes.map((hole, i) => {
      const why = HOLES[hole]!.check?.(match[i + 1]!);
      return why && `<${hole}> ${JSON.stringify(match[i + 1])}: ${why}`;
    }).filter(Boolean);
    if (bad.length === 0) return undefined;
    near.push(`as ${k.name}: ${bad.join('; ')}`);
  }
  return near.length > 0 ? near.join(' | ') : 'matches no line kind';
}

/** The lines of a file (which must end with a newline), each checked; `extra` adds checks on the whole file. */
export function checkFile(file: RenderedFile, kinds: readonly LineKind[], extra?: (lines: readonly string[]) => BadLine[]): BadLine[] {
  const bad: BadLine[] = [];
  if (file.text === '') return bad;
  if (!file.text.endsWith('\n')) bad.push({ file: file.name, line: 0, text: file.text.slice(-40), why: 'the file does not end with a newline' });
  const lines = file.text.split('\n');
  lines.pop();
  lines.forEach((text, i) => {
    const why = lineProblem(text, kinds);
    if (why) bad.push({ file: file.name, line: i + 1, text, why });
  });
  return [...bad, ...(extra?.(lines).map((b) => ({ ...b, file: file.name })) ?? [])];
}

// ---------------------------------------------------------------------------
// dnsmasq (dnsmasq.conf.hbs, dnsmasq.hosts.hbs, dnsmasq.options.hbs).

export interface DnsmasqFilePaths {
  readonly leases: string;
  readonly hosts: string;
  readonly options: string;
}

export function dnsmasqConfKinds(paths: DnsmasqFilePaths): LineKind[] {
  const fixed = [
    '# dnsmasq of the astara agent: DHCP only (no DNS), on tenant interfaces only.',
    '# Written by the agent; a change here restarts dnsmasq.',
    'port=0', 'no-resolv', 'no-hosts', 'pid-file=', 'log-facility=-', 'user=root', 'group=', 'bind-interfaces', 'dhcp-authoritative', 'dhcp-lease-max=65535',
  ];
  return [
    ...fixed.map((line) => kind('fixed line', line)),
    kind('interface', 'interface=<if>'),
    kind('except-interface', 'except-interface=<if>'),
    kind('leases file', 'dhcp-leasefile={{=path}}', { path: paths.leases }),
    kind('hosts file', 'dhcp-hostsfile={{=path}}', { path: paths.hosts }),
    kind('options file', 'dhcp-optsfile={{=path}}', { path: paths.options }),
    kind('IPv4 range', 'dhcp-range=set:<tag>,<ipv4>,static,<netmask>,86400s'),
    kind('IPv6 range', 'dhcp-range=set:<tag>,<ipv6>,static,<prefix6>,86400s'),
  ];
}

export const DNSMASQ_HOSTS_KINDS: readonly LineKind[] = [
  kind('host, IPv4', '<mac>,<uipv4>'),
  kind('host, IPv4 and name', '<mac>,<uipv4>,<dhcpname>'),
  kind('host, IPv4 and IPv6', '<mac>,<uipv4>,[<uipv6>]'),
  kind('host, IPv4, IPv6 and name', '<mac>,<uipv4>,[<uipv6>],<dhcpname>'),
  kind('host, IPv6', '<mac>,[<uipv6>]'),
  kind('host, IPv6 and name', '<mac>,[<uipv6>],<dhcpname>'),
];

export const DNSMASQ_OPTIONS_KINDS: readonly LineKind[] = [
  kind('router', 'tag:<tag>,option:router'),
  kind('router', 'tag:<tag>,option:router,<uipv4>'),
  kind('DNS servers', 'tag:<tag>,option:dns-server,<ipv4s>'),
  kind('classless routes', 'tag:<tag>,option:classless-static-route,<routes121>'),
  kind('MTU', 'tag:<tag>,option:mtu,<mtu>'),
  kind('IPv6 DNS servers', 'tag:<tag>,option6:dns-server,<ipv6brackets>'),
];

/** Every tag an options line selects is set by a range of the main config. */
export function dnsmasqTagsProblems(conf: string, options: string): BadLine[] {
  const set = new Set([...conf.matchAll(/^dhcp-range=set:([^,]+),/gm)].map((m) => m[1]!));
  return options
    .split('\n')
    .map((text, i) => ({ text, line: i + 1, tag: /^tag:([^,]+),/.exec(text)?.[1] }))
    .filter((l) => l.tag !== undefined && !set.has(l.tag))
    .map((l) => ({ file: 'dnsmasq options', line: l.line, text: l.text, why: `tag ${l.tag!} is set by no dhcp-range` }));
}

// ---------------------------------------------------------------------------
// BIRD 2 (bird.conf.hbs).

export const BIRD_KINDS: readonly LineKind[] = [
  kind('header', '# Written by the astara agent from the applied configuration; edits are overwritten.'),
  kind('empty', ''),
  kind('log', 'log stderr all;'),
  kind('router id', 'router id <routerid>;'),
  kind('protocol device', 'protocol device {'),
  kind('block end', '}'),
  kind('protocol direct', 'protocol direct {'),
  kind('channel', '  {{ipv4|ipv6}};'),
  kind('direct interfaces', '  interface <quotedifs>;'),
  kind('kernel protocol', 'protocol kernel {{kernel4|kernel6}} {'),
  kind('learn', '  learn;'),
  kind('kernel channel', '  {{ipv4|ipv6}} { import all; export none; };'),
  kind('tenant prefix set', 'define TENANT_PREFIXES = [ <net6s> ];'),
  kind('static protocol', 'protocol static tenant_prefixes {'),
  kind('tenant route', '  route <net6> via "<if>";'),
  kind('export filter', 'filter upstream_export {'),
  kind('filter ULA', '  if net ~ [ fc00::/7+ ] then reject;'),
  kind('filter tenants', '  if net ~ TENANT_PREFIXES then accept;'),
  kind('filter end', '  reject;'),
  kind('bgp protocol', 'protocol bgp <session> {'),
  kind('bgp description', '  description "{{iBGP|eBGP}} to the external gateway <uipv6>";'),
  kind('bgp local', '  local <uipv6> as <asn>;'),
  kind('bgp neighbor', '  neighbor <uipv6> as <asn>;'),
  kind('bgp direct', '  direct;'),
  kind('bgp channel', '  ipv6 {'),
  kind('bgp import', '    import none;'),
  kind('bgp export', '    export {{filter upstream_export|none}};'),
  kind('bgp next hop', '    next hop self;'),
  kind('inner block end', '  };'),
  kind('radv protocol', 'protocol radv tenants {'),
  kind('radv interface', '  interface "<if>" {'),
  kind('radv managed', '    managed yes;'),
  kind('radv other config', '    other config yes;'),
  kind('radv prefix', '    prefix <net6> { autonomous {{yes|no}}; };'),
  kind('radv skip', '    prefix ::/0 { skip yes; };'),
  kind('radv rdnss', '    rdnss { <rdnss>};'),
];

/** Braces balance, never closing more than was opened: no value closed a block or opened one. */
export function birdBraceProblems(lines: readonly string[]): BadLine[] {
  let depth = 0;
  for (const [i, line] of lines.entries()) {
    for (const ch of line) {
      if (ch === '{') depth++;
      else if (ch === '}' && --depth < 0) return [{ file: '', line: i + 1, text: line, why: 'closes a block that was not open' }];
    }
  }
  return depth === 0 ? [] : [{ file: '', line: lines.length, text: '', why: `${depth} blocks left open` }];
}

// ---------------------------------------------------------------------------
// nginx (nginx.conf.hbs): `dir` is nginx's folder under the state directory.

export function nginxKinds(dir: string): LineKind[] {
  const values = { dir };
  const fixed = [
    '# Written by the astara agent from the applied configuration; edits are overwritten.',
    '',
    'load_module /usr/lib/nginx/modules/ngx_stream_module.so;',
    'user {{nobody nogroup|root root}};',
    'worker_processes 1;',
    'error_log stderr notice;',
    'events {',
    '  worker_connections 4096;',
    '}',
    'http {',
    '  server_tokens off;',
    '  access_log off;',
    "  log_format astara_count '';",
    '  client_max_body_size 0;',
    '  proxy_request_buffering off;',
    '  proxy_buffering off;',
    '  proxy_http_version 1.1;',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header Upgrade $http_upgrade;',
    '  proxy_set_header Connection $astara_upstream_connection;',
    '  map $http_upgrade $astara_upstream_connection {',
    '    default upgrade;',
    "    '' '';",
    '  }',
    '  proxy_connect_timeout 5s;',
    '  proxy_next_upstream error timeout;',
    '  server {',
    '    location / {',
    '    }',
    '    return 503;',
    '    proxy_connect_timeout 5s;',
    '    return "";',
    '    least_conn;',
    '    hash $remote_addr consistent;',
    '    keepalive 256;',
    '    keepalive_timeout 4s;',
    'stream {',
  ];
  return [
    ...fixed.map((line) => kind('fixed line', line)),
    kind('pid', 'pid {{=dir}}/nginx.pid;', values),
    kind('temporary files', '  {{client_body|proxy|fastcgi|uwsgi|scgi}}_temp_path {{=dir}}/{{client_body|proxy|fastcgi|uwsgi|scgi}}_temp;', values),
    kind('listen', '    listen <endpoint>;'),
    kind('request log', '    access_log {{=dir}}/requests-<port>.log astara_count buffer=64k flush=1s;', values),
    kind('HTTP proxy', '      proxy_pass http://<upstream>;'),
    kind('stream proxy', '    proxy_pass <upstream>;'),
    kind('upstream', '  upstream <upstream> {'),
    kind('member', '    server <endpoint> weight=<weight>;'),
    kind('member down', '    server <endpoint> weight=<weight> down;'),
  ];
}

// ---------------------------------------------------------------------------
// strongSwan (vpn/swanctl.conf.hbs, vpn/strongswan.conf.hbs): `dir` is strongSwan's folder under the state directory.

export const SWANCTL_KINDS: readonly LineKind[] = [
  ...['# Written by the astara agent from the applied configuration; edits are overwritten.', '', 'connections {', 'secrets {', '}', '  }', '    }', '      }']
    .map((line) => kind('fixed line', line)),
  kind('connection', '  <swname> {'),
  kind('IKE version', '    version = {{1|2}}'),
  kind('addresses', '    {{local|remote}}_addrs = <ip>'),
  kind('IKE proposal', '    proposals = <ikeproposal>'),
  kind('aggressive', '    aggressive = {{yes|no}}'),
  kind('IKE rekey', '    rekey_time = <seconds>s'),
  kind('keying tries', '    keyingtries = {{0|1}}'),
  kind('DPD', '    dpd_{{delay|timeout}} = <seconds>s'),
  kind('peer', '    {{local|remote}} {'),
  kind('authentication', '      auth = psk'),
  kind('identity', '      id = "<ident>"'),
  kind('children', '    children {'),
  kind('child', '      <swname> {'),
  kind('traffic selectors', '        {{local|remote}}_ts = <nets>'),
  kind('ESP proposal', '        esp_proposals = <espproposal>'),
  kind('mode', '        mode = tunnel'),
  kind('child lifetime in seconds', '        {{rekey|life}}_time = <seconds>s'),
  kind('child lifetime in bytes', '        {{rekey|life}}_bytes = <bytes>'),
  kind('DPD action', '        dpd_action = {{trap|clear|restart}}'),
  kind('start and close', '        {{start|close}}_action = {{start|none}}'),
  kind('secret', '  ike-<swname> {'),
  kind('secret identities', '    id-{{local|remote}} = "<ident>"'),
  kind('pre-shared key', '    secret = "<psk>"'),
];

/** keepalived.conf (ha/keepalived.conf.hbs): every value a document reaches is an address, an interface or a number. */
export function keepalivedKinds(fifo: string): LineKind[] {
  const fixed = [
    '# Written by the astara agent from the applied configuration; edits are overwritten.', '', 'global_defs {', '  router_id astara', '  vrrp_version 3', '  script_user root', '}',
    'vrrp_sync_group astara {', '  group {', '  }', '  state BACKUP', '  track_interface {', '  advert_int 0.5', '  preempt_delay 10', '  garp_master_delay 1',
    '  garp_master_repeat 3', '  garp_master_refresh 60', '  garp_lower_prio_repeat 3', '  higher_prio_send_advert', '  check_unicast_src', '  unicast_peer {',
    '  virtual_ipaddress {', '  virtual_ipaddress_excluded {', '  virtual_routes {',
  ];
  return [
    ...fixed.map((line) => kind('fixed line', line)),
    kind('notify FIFO', '  notify_fifo {{=fifo}}', { fifo }),
    kind('sync group member', '    <geif>'),
    kind('instance', 'vrrp_instance <geif> {'),
    kind('advertising interface', '  interface <if>'),
    kind('tracked interface', '    <if>'),
    kind('VRID', '  virtual_router_id <vrid>'),
    kind('priority', '  priority <priority>'),
    kind('unicast source', '  unicast_src_ip <uipv6>'),
    kind('unicast peer', '    <uipv6>'),
    kind('link-local virtual address', '    <vrrpll> dev <if>'),
    kind('IPv4 virtual address', '    <ucidr4> dev <if>'),
    kind('IPv6 virtual address', '    <ucidr6> dev <if>'),
    kind('IPv4 virtual route', '    {{default|0.0.0.0/0}} via <uipv4> dev <if>'),
    kind('IPv4 virtual route', '    <net4> via <uipv4> dev <if>'),
    kind('IPv6 virtual route', '    default via <uipv6> dev <if>'),
    kind('IPv6 virtual route', '    <net6> via <uipv6> dev <if>'),
  ];
}

/** conntrackd.conf (ha/conntrackd.conf.hbs): the pair's management addresses and interface, the agent's paths. */
export function conntrackdKinds(lockFile: string, socket: string): LineKind[] {
  const fixed = [
    '# Written by the astara agent from the applied configuration; edits are overwritten.', '', 'Sync {', '  Mode FTFW {', '    DisableExternalCache Off', '    StartupResync on',
    '  }', '  UDP {', '    Port 3780', '    SndSocketBuffer 1249280', '    RcvSocketBuffer 1249280', '    Checksum on', '}', 'General {', '  HashSize 32768',
    '  HashLimit 131072', '  LogFile off', '  Syslog off', '  UNIX {', '  NetlinkBufferSize 2097152', '  NetlinkBufferSizeMaxGrowth 8388608', '  NetlinkOverrunResync on',
    '  Filter From Userspace {', '    Protocol Accept {', '      TCP', '      SCTP', '      DCCP', '      UDP', '      ICMP', '      IPv6-ICMP', '    }', '    Address Ignore {',
    '      IPv4_address 127.0.0.1', '      IPv6_address ::1',
  ];
  return [
    ...fixed.map((line) => kind('fixed line', line)),
    kind('own address', '    IPv6_address <uipv6>'),
    kind('peer address', '    IPv6_Destination_Address <uipv6>'),
    kind('sync interface', '    Interface <if>'),
    kind('lock file', '  LockFile {{=lock}}', { lock: lockFile }),
    kind('control socket', '    Path {{=socket}}', { socket }),
    kind('pair addresses ignored', '      IPv6_address <uipv6>'),
  ];
}

export function strongswanConfKinds(dir: string): LineKind[] {
  const fixed = [
    '# Written by the astara agent; edits are overwritten.', 'charon {', '  load_modular = no', '  install_routes = yes', '  retransmit_tries = 4', '  retransmit_base = 1',
    '  plugins {', '    vici {', '    }', '  }', '  filelog {', '    stderr {', '      default = 1', '      ike = 1', '      time_format = %F %T', '      ike_name = yes', '}',
  ];
  return [
    ...fixed.map((line) => kind('fixed line', line)),
    kind('plugins', '  load = <plugins>'),
    kind('retransmission', '  retransmit_timeout = <retransmit>'),
    kind('vici socket', '      socket = unix://{{=dir}}/v', { dir }),
  ];
}

// ---------------------------------------------------------------------------
// iptables-restore documents (firewall/render.ts and every contribution).

const TABLE_OF_LINE = /^\*(filter|nat|mangle)$/;

/** The rule kinds of one table of one family: `<host>` and `<ip>` are addresses of that family. */
export function iptablesKinds(family: 4 | 6): Readonly<Record<'filter' | 'nat' | 'mangle' | 'any', readonly LineKind[]>> {
  const host = family === 4 ? '<host4>' : '<host6>';
  const ip = family === 4 ? '<uipv4>' : '<uipv6>';
  const k = (name: string, template: string) => kind(name, template.replace(/<host>/g, host).replace(/<ip>/g, ip));
  return {
    any: [
      kind('header', `# astara firewall, IPv${family}: rendered by the agent, replaced whole on every change`),
      kind('table', '*{{filter|nat|mangle}}'),
      kind('built-in chain', ':{{INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING}} {{ACCEPT|DROP}} [0:0]'),
      kind('agent chain', ':astara-{{input|mgmt|external|internal|forward|prerouting|postrouting|exempt|checksum}} - [0:0]'),
      kind('commit', 'COMMIT'),
    ],
    filter: [
      k('jump', '-A {{INPUT -j astara-input|FORWARD -j astara-forward}}'),
      k('loopback', '-A astara-input -i lo -j ACCEPT'),
      k('management address elsewhere', '-A astara-input -d <host> ! -i <if> -j DROP'),
      k('ping', family === 4 ? '-A astara-input -p icmp -m icmp --icmp-type 8 -j ACCEPT' : '-A astara-input -p ipv6-icmp -j ACCEPT'),
      k('input by network', '-A astara-input -i <if> -j astara-{{mgmt|external|internal}}'),
      k('replies', '-A astara-{{mgmt|external|internal}} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
      // SSH, the agent's API (5000 here: the suites render with the default port), the orchestrator's metadata port.
      k('management service', '-A astara-mgmt -p tcp -m tcp --dport {{22|5000|9697}} -j ACCEPT'),
      ...(family === 6 ? [k('DHCPv6 client reply', '-A astara-{{mgmt|external}} -s fe80::/10 -p udp -m udp --sport 547 --dport 546 -j ACCEPT')] : []),
      k('HA VRRP (ha)', '-A astara-mgmt -s <host> -p vrrp -j ACCEPT'),
      k('HA conntrackd (ha)', '-A astara-mgmt -s <host> -p udp -m udp --dport 3780 -j ACCEPT'),
      k('IKE (vpn)', '-A astara-external -p udp -m udp --dport {{500|4500}} -j ACCEPT'),
      k('ESP and AH (vpn)', '-A astara-external -p {{esp|ah}} -j ACCEPT'),
      k('BGP peer (routing)', '-A astara-{{mgmt|external|internal}} -s <host> -i <if> -p tcp -m tcp --dport 179 -j ACCEPT'),
      k('DHCP server (dhcp)', `-A astara-internal -i <if> -p udp -m udp --dport ${family === 4 ? 67 : 547} -j ACCEPT`),
      ...(family === 4 ? [k('metadata listener (metadata-proxy)', '-A astara-internal -d <host4> -i <if> -p tcp -m tcp --dport <mdport> -j ACCEPT')] : []),
      k('load-balancer listener (loadbalancer)', '-A astara-internal -d <host> -i <if> -p tcp -m tcp --dport <port> -m conntrack --ctstate NEW -m comment --comment lb-listener-<port> -j ACCEPT'),
      k('no transit through management', '-A astara-forward -{{i|o}} <if> -j DROP'),
    ],
    nat: [
      k('jump', '-A {{PREROUTING -j astara-prerouting|POSTROUTING -j astara-postrouting}}'),
      k('tenant mark', '-A astara-prerouting -i <if> -j MARK --set-xmark 0x10000/0x10000'),
      ...(family === 4 ? [k('metadata redirect (metadata-proxy)', '-A astara-prerouting -d 169.254.169.254/32 -i <if> -p tcp -m tcp --dport 80 -j DNAT --to-destination <uipv4>:<mdport>')] : []),
      k('IPsec exempt (vpn)', '-A astara-postrouting -m policy --dir out --pol ipsec -j RETURN'),
      k('local subnet to peer CIDR exempt (vpn)', `-A astara-postrouting -s <net${family}> -d <net${family}> -j RETURN`),
      k('only tenant traffic', '-A astara-postrouting -m mark ! --mark 0x10000/0x10000 -j RETURN'),
      ...(family === 4 ? [k('router SNAT', '-A astara-postrouting -o <if> -j SNAT --to-source <uipv4>')] : []),
      k('hairpin SNAT', '-A astara-postrouting ! -o <if> -m conntrack --ctstate DNAT -j SNAT --to-source <ip>'),
    ],
    mangle: [
      k('jump', '-A POSTROUTING -j astara-{{exempt|checksum}}'),
      k('IPsec exempt mark (vpn)', '-A astara-exempt -m policy --dir out --pol ipsec -j MARK --set-xmark 0x20000/0x20000'),
      k('local subnet to peer CIDR exempt mark (vpn)', `-A astara-exempt -s <net${family}> -d <net${family}> -j MARK --set-xmark 0x20000/0x20000`),
      k('DHCP checksum', '-A astara-checksum -o <if> -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill'),
    ],
  };
}

/** The floating IPs' nftables table (firewall/nft.ts) as the driver replaces it whole. */
export const NFT_FIP_KINDS: readonly LineKind[] = [
  kind('declare and delete', '{{table inet astara-fip|delete table inet astara-fip}}'),
  kind('table', 'table inet astara-fip {'),
  kind('end of a block', '\t}'),
  kind('end of the table', '}'),
  kind('counter', '\tcounter <fipcounter> {'),
  kind('map', '\tmap {{dnat4|snat4|acct_in4|acct_out4|dnat6|snat6|acct_in6|acct_out6}} {'),
  kind('map type', '\t\ttype {{ipv4_addr : ipv4_addr|ipv4_addr : counter|ipv6_addr : ipv6_addr|ipv6_addr : counter}}'),
  kind('elements', '\t\telements = { <fipelements> }'),
  kind('chain', '\tchain {{prerouting|output|postrouting|forward}} {'),
  kind(
    'hook',
    '\t\ttype {{nat hook prerouting priority dstnat + 1|nat hook output priority -99|nat hook postrouting priority srcnat - 1|filter hook forward priority filter}}; policy accept;',
  ),
  kind('DNAT not from management', '\t\tiifname != "<if>" dnat {{ip to ip daddr map @dnat4|ip6 to ip6 daddr map @dnat6}}'),
  kind('DNAT', '\t\tdnat {{ip to ip daddr map @dnat4|ip6 to ip6 daddr map @dnat6}}'),
  kind('exempt and tenant marks', '\t\tmeta mark & {{0x20000 == 0x20000|0x10000 != 0x10000}} return'),
  kind('SNAT', '\t\toifname "<if>" snat {{ip to ip saddr map @snat4|ip6 to ip6 saddr map @snat6}}'),
  kind('hairpin SNAT', '\t\toifname != "<if>" ct status dnat snat {{ip to ip saddr map @snat4|ip6 to ip6 saddr map @snat6}}'),
  kind('accounting', '\t\t{{iifname|oifname}} "<if>" counter name {{ip daddr map @acct_in4|ip saddr map @acct_out4|ip6 daddr map @acct_in6|ip6 saddr map @acct_out6}}'),
];

/** Each line checked against the kinds of the table it is in; every rule's chain declared in that table. */
export function checkIptables(file: RenderedFile, family: 4 | 6): BadLine[] {
  const kinds = iptablesKinds(family);
  const bad: BadLine[] = [];
  if (!file.text.endsWith('\n')) bad.push({ file: file.name, line: 0, text: '', why: 'the file does not end with a newline' });
  let table: 'filter' | 'nat' | 'mangle' | undefined;
  let declared = new Set<string>();
  const lines = file.text.split('\n');
  lines.pop();
  lines.forEach((text, i) => {
    const report = (why: string) => bad.push({ file: file.name, line: i + 1, text, why });
    const opened = TABLE_OF_LINE.exec(text)?.[1] as typeof table;
    if (opened) {
      if (table) report(`table ${opened} opened inside ${table}`);
      table = opened;
      declared = new Set();
    }
    if (text === 'COMMIT') {
      if (!table) report('COMMIT outside a table');
      table = undefined;
    }
    if (text.startsWith(':')) declared.add(text.slice(1).split(' ')[0]!);
    const why = lineProblem(text, text.startsWith('-A ') ? (table ? kinds[table] : []) : kinds.any);
    if (why) return report(table || !text.startsWith('-A ') ? why : 'a rule outside a table');
    const chain = /^-A (\S+)/.exec(text)?.[1];
    if (chain !== undefined && !declared.has(chain)) report(`chain ${chain} is not declared in table ${table ?? 'none'}`);
  });
  if (table) bad.push({ file: file.name, line: lines.length, text: '', why: `table ${table} is never committed` });
  return bad;
}

// ---------------------------------------------------------------------------
// `ip -batch` lines (interfaces and routes planners) and what else reaches a command.

export const IP_BATCH_KINDS: readonly LineKind[] = [
  kind('MTU', 'link set dev <if> mtu <mtu>'),
  kind('link up', 'link set dev <if> up'),
  kind('IPv4 address with broadcast', 'address add <ucidr4> brd + dev <if>'),
  kind('IPv4 address', 'address add <ucidr4> dev <if>'),
  kind('IPv6 address', 'address add <ucidr6> dev <if>'),
  kind('IPv6 address without DAD', 'address add <ucidr6> dev <if> nodad'),
  kind('IPv4 route', 'route replace <net4> via <uipv4> metric 0'),
  kind('IPv4 default route', 'route replace <net4> via <uipv4> dev <if> metric 0'),
  kind('IPv6 route', 'route replace <net6> via <hop6> metric 1024'),
  kind('IPv6 default route', 'route replace <net6> via <uipv6> dev <if> metric 1024'),
];

/**
 * No IPv4 route leads through the network or broadcast address of a prefix
 * the batch puts on an interface: the kernel holds a broadcast route there
 * and refuses it as a gateway.
 */
export function ipBatchHopProblems(lines: readonly string[]): BadLine[] {
  const edges = new Set<string>();
  for (const line of lines) {
    const cidrText = /^address add ([0-9.]+\/[0-9]+) /.exec(line)?.[1];
    if (cidrText === undefined) continue;
    const [address = '', length = ''] = cidrText.split('/');
    const hostBits = 32n - BigInt(length);
    if (hostBits < 2n) continue;
    const network = (addressBits(address).bits >> hostBits) << hostBits;
    for (const edge of [network, network | ((1n << hostBits) - 1n)]) edges.add(dottedQuad(edge));
  }
  return lines.flatMap((text, i) => {
    const hop = /^route replace \S+ via ([0-9.]+) /.exec(text)?.[1];
    return hop !== undefined && edges.has(hop) ? [{ file: '', line: i + 1, text, why: `${hop} is the network or broadcast address of an interface prefix` }] : [];
  });
}

function dottedQuad(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join('.');
}

export const SYSCTL_KINDS: readonly LineKind[] = [
  kind('forwarding', '{{net/ipv4/ip_forward|net/ipv6/conf/all/forwarding}}=1'),
  kind('DAD', 'net/ipv6/conf/<if>/accept_dad=<sysctlvalue>'),
  kind('secondaries', 'net/ipv4/conf/<if>/promote_secondaries=1'),
  kind('nonlocal bind', '{{net/ipv4/ip_nonlocal_bind|net/ipv6/ip_nonlocal_bind}}=<sysctlvalue>'),
];

/** The kernel's host name: RFC 1123 labels, at most 64 bytes (HOST_NAME_MAX). */
export function hostnameProblem(name: string): string | undefined {
  if (name.length > 64) return `${name.length} characters; the kernel keeps 64`;
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name) ? undefined : 'not an RFC 1123 host name';
}

/** A real interface name as the suites' host names them. */
export function interfaceProblem(name: string): string | undefined {
  return new RegExp(`^${IFNAME}$`).test(name) ? undefined : `${JSON.stringify(name)} is not an interface of the host`;
}

export function addressProblem(text: string): string | undefined {
  return isIP(text) === 4 ? ipv4(text) : ipv6(text);
}

/** A value the metadata proxy sends as a request header: visible ASCII without separators that could end or split it. */
export function headerValueProblem(value: string): string | undefined {
  return /^[A-Za-z0-9_.:-]*$/.test(value) ? undefined : `${JSON.stringify(value)} is not a plain header token`;
}

export function upstreamProblem(url: string): string | undefined {
  const match = /^http:\/\/(?:([0-9.]+)|\[([0-9a-f:.]+)\]):([0-9]{1,5})$/.exec(url);
  if (!match) return `${JSON.stringify(url)} is not http://address:port`;
  const [, v4, v6, port] = match;
  return (v4 !== undefined ? ipv4(v4) : ipv6(v6!)) ?? integerIn(1, 65535)(port!);
}

export { ipv4 as ipv4Problem, ipv6 as ipv6Problem };
