// The fuzz suite, unit level: thousands of hostile documents (mutations of the
// valid fixtures, test/support/fuzz/generate.ts) taken the way the API takes a
// body (the size bound, the depth scan and parse of appliance/api/json.ts,
// the `{"configuration": ...}` unwrap, validation with the host's interfaces
// or without), and, for those accepted, rendered by every subsystem as the
// engine renders them. It lives in test/unit/ because it crosses the contract
// and every driver, like the bad-documents corpus beside it.
//
// For each document: validation never throws; every problem it reports names
// a JSON pointer that leads into the document (or to the key it misses); an
// accepted document is answered and persisted exactly as it was sent; every
// renderer runs, or refuses on purpose naming the allocation; and every line
// of every rendered file is a line a valid document can produce
// (test/support/fuzz/grammar.ts). A failure prints the seed and the document's
// index: FUZZ_SEED=<seed> FUZZ_ONLY=<index> reproduces it alone.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MAX_DOCUMENT_BYTES, unwrapDocument, validateDocument, type HostFacts } from '../../contract/index.js';
import { parseJsonBody, sortKeys } from '../../appliance/api/json.js';
import { DocumentGenerator, type FuzzDocument } from '../support/fuzz/generate.js';
import { BIRD_KINDS, checkFile, checkIptables, DNSMASQ_HOSTS_KINDS, DNSMASQ_OPTIONS_KINDS, birdBraceProblems } from '../support/fuzz/grammar.js';
import { pointerTokens, unnamedProblems } from '../support/fuzz/problems.js';
import { EngineRenderer, injectedLines, type RenderedOutput } from '../support/fuzz/render.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const COUNT = Number(process.env.FUZZ_COUNT ?? 12_000);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
/** Failures printed in full; the rest are counted. */
const SHOWN = 12;

interface Figures {
  generated: number;
  tooLarge: number;
  refusedBeforeParsing: number;
  rejected: number;
  accepted: number;
  rendererRefusals: number;
  problems: number;
  linesChecked: number;
  crashes: number;
}

interface Failure {
  readonly document: FuzzDocument;
  readonly what: string;
}

const generator = new DocumentGenerator({ seed: SEED });
const renderer = new EngineRenderer();
after(() => renderer.close());

/** Everything one document may do wrong; figures counted as it goes. */
function examine(doc: FuzzDocument, figures: Figures): string[] {
  figures.generated++;
  const bytes = Buffer.from(doc.text);
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    // The API answers 413 before reading further.
    figures.tooLarge++;
    return [];
  }
  const parsed = parseJsonBody(bytes);
  if (!parsed.ok) {
    figures.refusedBeforeParsing++;
    figures.problems += parsed.details.length;
    if (parsed.status !== 422) return [`the body parser answered ${parsed.status}: ${JSON.stringify(parsed.details)}`];
    return parsed.details.flatMap((p) => (typeof p.path === 'string' && pointerTokens(p.path) && p.message ? [] : [`a problem without a path: ${JSON.stringify(p)}`]));
  }
  const body = unwrapDocument(parsed.value);
  // Half with the host the fixture was written for (its interfaces and MACs), half without host facts.
  const host: HostFacts | undefined = doc.index % 2 === 0 ? { interfaces: doc.fixture.interfaces } : undefined;
  let result: ReturnType<typeof validateDocument>;
  try {
    result = validateDocument(body, host);
  } catch (error) {
    figures.crashes++;
    return [`validation threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`];
  }
  const faults = unnamedProblems(body, result.warnings).map((f) => `warning: ${f}`);
  if (!result.ok) {
    figures.rejected++;
    figures.problems += result.errors.length;
    if (result.errors.length === 0) faults.push('rejected without any problem');
    faults.push(...unnamedProblems(body, result.errors));
    return faults;
  }
  figures.accepted++;
  // GET /v1/system/config and the persisted state give back the document as it was accepted.
  const answered: unknown = JSON.parse(JSON.stringify(sortKeys(result.document)));
  try {
    assert.deepStrictEqual(answered, body);
  } catch {
    faults.push(`the document answered differs from the one accepted: ${JSON.stringify(answered).slice(0, 300)}`);
  }
  let output: RenderedOutput;
  try {
    const outcome = renderer.render(result.model);
    if (!outcome.ok) {
      figures.rendererRefusals++;
      return faults;
    }
    output = outcome.output;
  } catch (error) {
    figures.crashes++;
    return [...faults, error instanceof Error ? (error.stack ?? error.message) : String(error)];
  }
  figures.linesChecked += output.files.reduce((n, f) => n + f.text.split('\n').length - 1, 0);
  for (const bad of injectedLines(output)) faults.push(`${bad.file} line ${bad.line}: ${JSON.stringify(bad.text)}: ${bad.why}`);
  return faults;
}

function report(failure: Failure): string {
  const { document: doc, what } = failure;
  return [
    `document ${doc.index} of seed ${SEED}, from ${doc.fixture.name} (reproduce: FUZZ_SEED=${SEED} FUZZ_ONLY=${doc.index} npx tsx --test test/unit/fuzz.test.ts)`,
    ...doc.mutations.map((m) => `  ${m.op} at ${JSON.stringify(m.at)}: ${m.detail}`),
    `  -> ${what}`,
    `  body: ${doc.text.length > 400 ? `${doc.text.slice(0, 400)}... (${doc.text.length} chars)` : doc.text}`,
  ].join('\n');
}

/** A rendered state of the lab router with `line` added to one file. */
function withLine(output: RenderedOutput, file: string, line: string): RenderedOutput {
  return { ...output, files: output.files.map((f) => (f.name === file ? { ...f, text: `${f.text}${line}\n` } : f)) };
}

describe('fuzz: hostile documents against the validator and every renderer', () => {
  it('accepts and renders every valid fixture with no line outside the grammar', () => {
    for (const fixture of generator.fixtures) {
      const result = validateDocument(unwrapDocument(fixture.body), { interfaces: fixture.interfaces });
      assert.ok(result.ok, `${fixture.name}: ${JSON.stringify(result.ok ? [] : result.errors)}`);
      const outcome = renderer.render(result.model);
      assert.ok(outcome.ok, fixture.name);
      assert.deepEqual(injectedLines(outcome.output), [], fixture.name);
    }
  });

  it('the checks catch injected lines and unnamed problems', () => {
    const lab = generator.fixtures.find((f) => f.name.endsWith('harness-router.json'))!;
    const result = validateDocument(lab.body);
    assert.ok(result.ok);
    const outcome = renderer.render(result.model);
    assert.ok(outcome.ok);
    const injections: [string, string][] = [
      ['dnsmasq hosts', '02:00:00:00:02:0a,198.51.100.10,ignore'],
      ['dnsmasq hosts', '02:00:00:00:02:0a,198.51.100.10,5m'],
      ['dnsmasq hosts', '02:00:00:00:02:0a,198.51.100.10,infinite'],
      ['dnsmasq hosts', '02:00:00:00:02:0a,198.51.100.10,300'],
      ['dnsmasq hosts', '02:00:00:00:02:0a,198.51.100.10,host,ignore'],
      ['dnsmasq options', 'tag:ge2-s0,option:router,198.51.100.1,192.0.2.66'.replace(',192.0.2.66', ',0192.0.2.66')],
      ['dnsmasq options', 'tag:ge9-s9,option:router,198.51.100.1'],
      ['dnsmasq.conf', 'dhcp-range=set:x,0.0.0.0,static'],
      ['dnsmasq.conf', 'conf-file=/etc/passwd'],
      ['bird.conf', 'protocol static evil { ipv4; route 0.0.0.0/0 unreachable; }'],
      ['bird.conf', '}'],
      ['bird.conf', 'include "/etc/passwd";'],
      ['iptables-restore', '-A INPUT -j ACCEPT'],
      ['iptables-restore', '-A astara-mgmt -p tcp -m tcp --dport 23 -j ACCEPT'],
      ['ip6tables-restore', '*filter'],
      ['ip -batch', 'address add 192.0.2.9/24 dev eth9 ; link set dev eth0 down'],
      ['ip -batch', 'address add ff05::2/64 dev eth1 nodad'],
      ['ip -batch', 'address add ::1/64 dev eth2 nodad'],
      ['ip -batch', 'address add 169.254.169.10/24 brd + dev eth1'],
      ['ip -batch', 'route replace 203.0.113.0/24 via 239.255.255.1 metric 0'],
      ['ip -batch', 'route replace 203.0.113.0/24 via 198.51.100.63 metric 0'],
      ['ip -batch', 'route replace 2001:db8:9::/64 via fe80::1 metric 1024'],
      ['dnsmasq hosts', '02:00:00:00:02:0a,224.0.0.10'],
      ['sysctl', 'net/ipv4/ip_forward=0'],
    ];
    for (const [file, line] of injections) {
      const bad = injectedLines(withLine(outcome.output, file, line));
      assert.ok(bad.length > 0, `${file}: ${line} passed the grammar`);
    }
    // Files checked alone: a valid line in the wrong place, a brace left open, a rule outside a table.
    assert.notDeepEqual(checkFile({ name: 'h', text: 'tag:ge2-s0,option:mtu,1500\n' }, DNSMASQ_HOSTS_KINDS), []);
    assert.notDeepEqual(checkFile({ name: 'o', text: '02:00:00:00:02:0a,198.51.100.10\n' }, DNSMASQ_OPTIONS_KINDS), []);
    assert.notDeepEqual(checkFile({ name: 'b', text: 'protocol device {\n' }, BIRD_KINDS, birdBraceProblems), []);
    assert.notDeepEqual(checkIptables({ name: 'i', text: '-A INPUT -j astara-input\n' }, 4), []);
    // A problem at a path that leads nowhere, and one naming the whole document, are faults.
    assert.deepEqual(unnamedProblems({ a: [1] }, [{ path: '/a/0', message: 'x' }, { path: '/a/1', message: 'x' }, { path: '/a/0/b', message: 'x' }, { path: '/b/c', message: 'is required' }]).length, 2);
    assert.deepEqual(unnamedProblems({ a: 1 }, [{ path: '', message: 'x' }]).length, 1);
    assert.deepEqual(unnamedProblems({ a: 1 }, [{ path: '/a', message: 'x' }, { path: '', message: 'and 3 more like these, not listed' }]), []);
  });

  it('the strongSwan grammars catch injected directives', () => {
    const vpn = generator.fixtures.find((f) => f.name.endsWith('router-notes-8.1-vpn.json'))!;
    const result = validateDocument(unwrapDocument(vpn.body), { interfaces: vpn.interfaces });
    assert.ok(result.ok);
    const outcome = renderer.render(result.model);
    assert.ok(outcome.ok);
    assert.ok(outcome.output.files.some((f) => f.name === 'swanctl.conf' && f.text.includes('secret = ')), 'the fixture renders a swanctl.conf');
    const injections: [string, string][] = [
      ['swanctl.conf', '    secret = "x" include /etc/ipsec.secrets'],
      ['swanctl.conf', '    secret = "a"b"'],
      ['swanctl.conf', '      id = "%any"'],
      ['swanctl.conf', '    remote_addrs = %any'],
      ['swanctl.conf', '        remote_ts = 0.0.0.0/0 include'],
      ['swanctl.conf', '    proposals = aes128-sha256-modp2048,null'],
      ['swanctl.conf', 'include /etc/swanctl/conf.d/*.conf'],
      ['swanctl.conf', '}'],
      ['strongswan.conf, libipsec', '  load = vici stroke'],
      ['strongswan.conf, kernel', '      socket = unix:///tmp/evil'],
    ];
    for (const [file, line] of injections) {
      assert.ok(injectedLines(withLine(outcome.output, file, line)).length > 0, `${file}: ${line} passed the grammar`);
    }
  });

  it('the keepalived and conntrackd grammars catch injected directives', () => {
    const pair = generator.fixtures.find((f) => f.name.endsWith('router-notes-8.1-ha.json'))!;
    const result = validateDocument(unwrapDocument(pair.body), { interfaces: pair.interfaces });
    assert.ok(result.ok);
    const outcome = renderer.render(result.model);
    assert.ok(outcome.ok);
    assert.ok(outcome.output.files.some((f) => f.name === 'keepalived.conf' && f.text.includes('virtual_ipaddress_excluded {')), 'the fixture renders a keepalived.conf');
    assert.ok(outcome.output.files.some((f) => f.name === 'conntrackd.conf' && f.text.includes('IPv6_Destination_Address ')), 'the fixture renders a conntrackd.conf');
    const injections: [string, string][] = [
      ['keepalived.conf', '  notify_master "/bin/sh -c id"'],
      ['keepalived.conf', 'include /etc/keepalived/*.conf'],
      ['keepalived.conf', '    192.0.2.9/24 dev eth1 label evil'],
      ['keepalived.conf', '    0.0.0.0/0 dev eth1'],
      ['keepalived.conf', '    default via 192.0.2.1 dev eth1 table 5'],
      ['keepalived.conf', '  priority 255'],
      ['keepalived.conf', '  virtual_router_id 0'],
      ['keepalived.conf', '    ff02::1'],
      ['keepalived.conf', '}'],
      ['conntrackd.conf', '    IPv4_address 127.0.0.1'],
      ['conntrackd.conf', '    Path /tmp/evil'],
      ['conntrackd.conf', '    IPv6_Destination_Address ff02::1'],
      ['conntrackd.conf', '  LogFile on'],
    ];
    for (const [file, line] of injections) {
      assert.ok(injectedLines(withLine(outcome.output, file, line)).length > 0, `${file}: ${line} passed the grammar`);
    }
  });

  it('the floating IPs’ nftables grammar catches injected rules and elements', () => {
    const pair = generator.fixtures.find((f) => f.name.endsWith('harness-router.json'))!;
    const result = validateDocument(unwrapDocument(pair.body), { interfaces: pair.interfaces });
    assert.ok(result.ok);
    const outcome = renderer.render(result.model);
    assert.ok(outcome.ok);
    const file = 'nft -f (floating IPs)';
    assert.ok(outcome.output.files.some((f) => f.name === file && f.text.includes('\t\telements = { ')), 'the fixture renders map elements');
    const injections = [
      '\t\tiifname "eth1" accept',
      '\t\toifname "eth1" snat ip to 192.0.2.9',
      '\t\telements = { 203.0.113.10 : 198.51.100.10 } ; flush ruleset',
      '\t\telements = { 203.0.113.10 : fd00:a::10 }',
      '\t\telements = { 0.0.0.0 : 198.51.100.10 }',
      '\tcounter fip-in-203.0.113.10-198.51.100.10-1.2.3.4 {',
      '\tchain input {',
      '\t\ttype filter hook input priority -400; policy drop;',
      'flush ruleset',
      'delete table inet filter',
    ];
    for (const line of injections) {
      assert.ok(injectedLines(withLine(outcome.output, file, line)).length > 0, `${file}: ${line} passed the grammar`);
    }
  });

  it(`${ONLY === undefined ? COUNT : 1} generated documents: no crash, every problem named, no injected line`, () => {
    const figures: Figures = { generated: 0, tooLarge: 0, refusedBeforeParsing: 0, rejected: 0, accepted: 0, rendererRefusals: 0, problems: 0, linesChecked: 0, crashes: 0 };
    const failures: Failure[] = [];
    const started = performance.now();
    const indices = ONLY === undefined ? Array.from({ length: COUNT }, (_, i) => i) : [ONLY];
    for (const index of indices) {
      const doc = generator.document(index);
      for (const what of examine(doc, figures)) failures.push({ document: doc, what });
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: seed ${SEED}: ${figures.generated} documents generated in ${seconds} s: ${figures.accepted} accepted, ` +
        `${figures.rejected + figures.refusedBeforeParsing + figures.tooLarge} rejected (${figures.rejected} by validation, ${figures.refusedBeforeParsing} before parsing, ${figures.tooLarge} too large; ${figures.problems} problems named), ` +
        `${figures.rendererRefusals} renderer refusals, ${figures.linesChecked} rendered lines checked, crashes: ${figures.crashes}, failures: ${failures.length}`,
    );
    assert.ok(ONLY !== undefined || figures.accepted > COUNT / 10, `too few documents accepted (${figures.accepted}) for the renderers to be exercised`);
    assert.ok(ONLY !== undefined || figures.rejected > COUNT / 2, `too few documents rejected (${figures.rejected})`);
    assert.equal(failures.length, 0, `${failures.length} failures; the first ones:\n\n${failures.slice(0, SHOWN).map(report).join('\n\n')}`);
  });
});
