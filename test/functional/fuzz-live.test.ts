// The fuzz suite, live: hostile documents (the generator of the unit suite,
// test/support/fuzz/generate.ts, on the lab's own documents) pushed to a real
// agent in the namespace lab, the lab document applied first. After each
// rejection the answer is a 4xx whose every problem names a path in the
// document, and the host is exactly as it was: addresses, routes, both
// firewalls, the daemons' files and the very same daemon processes. After each
// accepted document the agent still answers, and a re-push of the lab
// document brings the host back to the lab state. No document may get a 5xx:
// the host did not fail, so anything refused must be the document's fault.
import assert from 'node:assert/strict';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unwrapDocument, validateDocument, type HostFacts } from '../../contract/index.js';
import { Agent } from '../harness/agent.js';
import { isTransientProcess } from '../harness/transient.js';
import { floatingIpTable } from '../harness/firewall-state.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';
import { DocumentGenerator, loadFixtures, type FuzzDocument } from '../support/fuzz/generate.js';
import { unnamedProblems } from '../support/fuzz/problems.js';

const SEED = Number(process.env.FUZZ_LIVE_SEED ?? 20261201);
const REJECTED = Number(process.env.FUZZ_LIVE_REJECTED ?? 130);
const ACCEPTED = Number(process.env.FUZZ_LIVE_ACCEPTED ?? 24);
/** Of the accepted documents, at most this many per kind of mutation: the live set stays varied. */
const PER_KIND = Number(process.env.FUZZ_LIVE_PER_KIND ?? 4);

/** The lab router as the agent sees it: ge0..ge3 with the harness's MACs. */
const LAB_HOST: HostFacts = { interfaces: new Map(LAB.routerMacs.map((mac, i) => [`ge${i}`, mac])) };

interface Pick {
  readonly doc: FuzzDocument;
  /** The request body parsed, and the document in it (unwrapped) as the agent reads it. */
  readonly body: unknown;
  readonly document: unknown;
  readonly accepted: boolean;
}

/**
 * The live set: documents of the lab's fixtures in generator order, each
 * classified by the contract as the agent will classify it; the first
 * REJECTED rejected ones, and ACCEPTED accepted ones spread over the kinds
 * of mutation that produced them.
 */
function liveSet(): Pick[] {
  const fixtures = loadFixtures().filter((f) => /harness-router\.json$|docs\/examples\/router\.json$/.test(f.name));
  const generator = new DocumentGenerator({ seed: SEED, fixtures });
  const picks: Pick[] = [];
  const perKind = new Map<string, number>();
  let rejected = 0;
  let accepted = 0;
  for (let index = 0; rejected < REJECTED || accepted < ACCEPTED; index++) {
    if (index > 100_000) throw new Error('the generator gives too few documents of one kind');
    const doc = generator.document(index);
    // The generator writes JSON text only.
    const body = JSON.parse(doc.text) as unknown;
    const document = unwrapDocument(body);
    const ok = validateDocument(document, LAB_HOST).ok;
    if (!ok && rejected < REJECTED) {
      rejected++;
      picks.push({ doc, body, document, accepted: false });
    } else if (ok && accepted < ACCEPTED) {
      const kind = [...new Set(doc.mutations.map((m) => m.op))].sort().join('+');
      if ((perKind.get(kind) ?? 0) >= PER_KIND) continue;
      perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      accepted++;
      picks.push({ doc, body, document, accepted: true });
    }
  }
  return picks;
}

describe('fuzz, live: hostile documents pushed to an agent in namespaces', () => {
  let lab: Topology;
  let agent: Agent;
  let labDocument: string;

  /** Files of the state directory the daemons read, with their text (logs, leases and sockets left out). */
  const stateFiles = async (dir: string): Promise<Record<string, string>> => {
    const files: Record<string, string> = {};
    const walk = async (at: string) => {
      for (const name of (await readdir(at)).sort()) {
        const path = join(at, name);
        const info = await lstat(path);
        if (info.isDirectory()) await walk(path);
        else if (info.isFile() && !/\.log$|^leases$/.test(name)) files[relative(dir, path)] = await readFile(path, 'utf8');
      }
    };
    await walk(dir);
    return files;
  };

  /** What the host holds: addresses, routes, firewalls, the daemons' files and processes. */
  const snapshot = async () => {
    const read = async (argv: string[]) => (await lab.exec('router', argv)).stdout;
    const strip = (save: string) => save.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
    const [addressText, routes4, routes6, iptables, ip6tables, floatingIps, files, pids] = await Promise.all([
      read(['ip', '-j', 'addr', 'show']),
      read(['ip', '-j', '-4', 'route', 'show', 'table', 'all']),
      read(['ip', '-j', '-6', 'route', 'show', 'table', 'all']),
      read(['iptables-save']),
      read(['ip6tables-save']),
      floatingIpTable(lab),
      stateFiles(agent.stateDir),
      lab.pids('router'),
    ]);
    // One line per link and per address, in the kernel's order. DAD state is
    // the kernel's own and changes by itself within a second of an address's creation.
    const addresses = (JSON.parse(addressText) as ({ ifname: string; addr_info: { tentative?: boolean }[] } & Record<string, unknown>)[]).flatMap(({ addr_info, ...link }) => [
      JSON.stringify(link),
      ...addr_info.map(({ tentative: _t, ...address }) => `${link.ifname} ${JSON.stringify(address)}`),
    ]);
    const processes: string[] = [];
    for (const pid of pids) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
      if (argv.length > 0 && !isTransientProcess(argv)) processes.push(`${pid} ${argv.map((a) => a.replace(/.*\//, '')).slice(0, 2).join(' ')}`);
    }
    return {
      addresses,
      routes4: JSON.parse(routes4) as unknown,
      // The IPv6 local table is the kernel's image of the addresses (compared above), filled in as DAD completes.
      routes6: (JSON.parse(routes6) as { expires?: unknown; table?: string }[]).filter((r) => r.table !== 'local').map(({ expires: _e, ...r }) => r),
      iptables: strip(iptables),
      ip6tables: strip(ip6tables),
      floatingIps,
      files,
      processes: processes.sort(),
    };
  };
  type Snapshot = Awaited<ReturnType<typeof snapshot>>;

  /**
   * The lab state as a re-push of the lab document must give it back. What
   * may differ: the daemons' pids (restarted), the generation persisted, and
   * the order of the addresses of an interface. The agent holds sets of
   * addresses; the kernel keeps them in the order they were added, and the
   * first IPv4 address of a prefix is the source (`prefsrc`) of its routes:
   * a floating IP removed by a document and given back by the next comes
   * after the others.
   */
  const labState = (state: Snapshot) => {
    const applied = state.files['applied.json'];
    const files = Object.fromEntries(Object.entries(state.files).filter(([name]) => !/(^|\/)(applied|daemon)\.json$/.test(name)));
    const sorted = (items: readonly unknown[]) => items.map((item) => JSON.stringify(item)).sort();
    const withoutSource = (routes: unknown) => sorted((routes as { prefsrc?: string }[]).map(({ prefsrc: _p, ...route }) => route));
    return {
      ...state,
      addresses: state.addresses.map((line) => line.replace(/,"secondary":true/, '')).sort(),
      routes4: withoutSource(state.routes4),
      routes6: withoutSource(state.routes6),
      files,
      document: applied === undefined ? undefined : (JSON.parse(applied) as { document: unknown }).document,
      processes: state.processes.map((p) => p.replace(/^\d+ /, '')).sort(),
    };
  };

  const put = (text: string) => agent.request('PUT', '/v1/system/config', { body: text, timeoutS: 120 });

  before(async () => {
    lab = await routerLab();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    labDocument = (await readFile(new URL('../fixtures/documents/harness-router.json', import.meta.url), 'utf8'));
    const answer = await put(labDocument);
    assert.equal(answer.status, 200, answer.body);
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it(`refuses ${REJECTED} rejected documents leaving the host as it was, and comes back from ${ACCEPTED} accepted ones`, async () => {
    const started = performance.now();
    const picks = liveSet();
    const failures: string[] = [];
    let baseline = await snapshot();
    const labBaseline = labState(baseline);
    const statuses = new Map<number, number>();
    let applied = 0;

    for (const { doc, body, document, accepted } of picks) {
      const fail = (what: string) => failures.push([`document ${doc.index} of seed ${SEED} (${doc.fixture.name}): ${what}`, ...doc.mutations.map((m) => `  ${m.op} at ${JSON.stringify(m.at)}: ${m.detail}`)].join('\n'));
      const answer = await put(doc.text);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 200) {
        if (!accepted) fail(`applied, though the contract rejects it: ${answer.body.slice(0, 300)}`);
        applied++;
        const base = await agent.request('GET', '/v1/base/');
        if (base.status !== 200) fail(`the agent no longer answers after applying it (${base.status})`);
        const back = await put(labDocument);
        if (back.status !== 200) fail(`the lab document was refused after it: ${back.status} ${back.body.slice(0, 300)}`);
        baseline = await snapshot();
        const restored = labState(baseline);
        try {
          assert.deepEqual(restored, labBaseline);
        } catch {
          fail(`a re-push of the lab document did not restore the lab state: ${difference(restored, labBaseline)}`);
        }
        continue;
      }
      if (answer.status < 400 || answer.status >= 500) {
        fail(`answered ${answer.status}: ${answer.body.slice(0, 500)}`);
      } else {
        let details: unknown;
        try {
          details = answer.json<{ details?: unknown }>().details;
        } catch {
          details = undefined;
        }
        if (!Array.isArray(details) || details.length === 0) fail(`a ${answer.status} without details: ${answer.body.slice(0, 300)}`);
        else for (const fault of unnamedProblems(document, details as { path?: unknown; message?: unknown }[], body)) fail(`${answer.status}: ${fault}`);
      }
      const now = await snapshot();
      try {
        assert.deepEqual(now, baseline);
      } catch {
        fail(`the host changed after a ${answer.status}: ${difference(now, baseline)}`);
        baseline = now;
      }
    }

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const answered = [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${n} x ${status}`).join(', ');
    console.log(`fuzz live: seed ${SEED}: ${picks.length} documents pushed in ${seconds} s (${answered}); ${applied} applied and undone by the lab document; failures: ${failures.length}`);
    assert.deepEqual(failures, [], `\n${failures.join('\n\n')}`);
  });
});

/** What two snapshots disagree on, item by item. */
function difference(actual: Record<string, unknown>, expected: Record<string, unknown>): string {
  const items = (value: unknown): string[] =>
    Array.isArray(value) ? value.map((v) => JSON.stringify(v)) : typeof value === 'object' && value !== null ? Object.entries(value).map(([k, v]) => `${k}=${JSON.stringify(v)}`) : String(value).split('\n');
  const parts: string[] = [];
  for (const key of Object.keys(expected)) {
    const a = new Set(items(actual[key]));
    const e = new Set(items(expected[key]));
    const extra = [...a].filter((x) => !e.has(x)).map((x) => x.slice(0, 200));
    const missing = [...e].filter((x) => !a.has(x)).map((x) => x.slice(0, 200));
    if (extra.length + missing.length > 0) parts.push(`${key}: extra ${extra.slice(0, 4).join(' ')}; missing ${missing.slice(0, 4).join(' ')}`);
  }
  return parts.join(' | ') || 'only in order';
}
