// Faults at any instant. The agent is killed (SIGKILL) at 24 points spread
// over a large apply, then started again: every time, nothing it ran
// survives it, and the restarted agent brings the host back to exactly the
// persisted document (no stray route, address, rule or process), whichever
// side of the kill the persist fell on. A route the killed apply added is
// removed even when the kill came before the document was persisted
// (ownership is written ahead). On a full state disk an apply fails with a
// 5xx naming the cause, is undone completely, and leaves no temporary file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { run, waitFor } from '../harness/exec.js';
import { alive, LAB, routerLab, type Topology } from '../harness/topology.js';
import { isTransientProcess } from '../harness/transient.js';
import { floatingIpTable } from '../harness/firewall-state.js';

interface Doc {
  floating_ips: { floating_ip: string; fixed_ip: string }[];
  static_routes: { destination: string; next_hop: string }[];
  networks: { network_type: string; allocations: { mac_address: string; ip_addresses: Record<string, boolean>; hostname?: string; device_id?: string }[] }[];
}

const KILL_POINTS = 24;

/** The lab's document (A) and a large one (B): hundreds of floating IPs, allocations and routes more. */
async function documents(): Promise<{ small: Doc; large: Doc }> {
  const small = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
  const large = structuredClone(small);
  const tenantA = large.networks.find((n) => n.network_type === 'internal')!;
  for (let i = 0; i < 400; i++) {
    const fixed = `fd00:a::${(0x1000 + i).toString(16)}`;
    large.floating_ips.push({ floating_ip: `2001:db8:e::${(0x1000 + i).toString(16)}`, fixed_ip: fixed });
    tenantA.allocations.push({ mac_address: `02:00:00:10:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, ip_addresses: { [fixed]: false }, hostname: `guest-${i}`, device_id: `instance-${i}` });
  }
  // IPv4 floating IPs for addresses of tenant B (198.51.100.64/26) the lab does not use.
  for (let i = 0; i < 40; i++) large.floating_ips.push({ floating_ip: `203.0.113.${20 + i}`, fixed_ip: `198.51.100.${80 + i}` });
  for (let i = 0; i < 60; i++) large.static_routes.push({ destination: `2001:db8:${(0x100 + i).toString(16)}::/64`, next_hop: 'fd00:a::10' });
  return { small, large };
}

/**
 * SIGSTOP `pid` as soon as `ip monitor` in the router namespace prints a
 * route to `destination`. Resolves once the monitor is seen to report (a
 * sentinel route on `lo`, added and deleted again).
 */
async function freezeOnRoute(lab: Topology, pid: number, destination: string): Promise<{ readonly seen: boolean; stop(): void }> {
  const monitor = spawn('ip', ['-n', lab.ns('router'), '-6', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const state = { seen: false, output: '' };
  monitor.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    state.output += text;
    if (!state.seen && text.includes(destination)) {
      state.seen = true;
      process.kill(pid, 'SIGSTOP');
    }
  });
  const sentinel = '2001:db8:7f::/64';
  await lab.ip('router', ['-6', 'route', 'add', sentinel, 'dev', 'lo']);
  await waitFor('ip monitor to report routes', () => state.output.includes('2001:db8:7f::'));
  await lab.ip('router', ['-6', 'route', 'del', sentinel, 'dev', 'lo']);
  return {
    get seen() {
      return state.seen;
    },
    stop: () => monitor.kill(),
  };
}

describe('faults at any instant', () => {
  let lab: Topology;
  let agent: Agent;
  let small: Doc;
  let large: Doc;
  const put = (doc: Doc) => agent.request('PUT', '/v1/system/config', { body: doc, timeoutS: 120 });

  /** What the host holds, without what the kernel changes by itself (counters, DAD flags). */
  const snapshot = async () => {
    const read = async (argv: string[]) => (await lab.exec('router', argv)).stdout;
    const strip = (save: string) => save.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
    const addresses = JSON.parse(await read(['ip', '-j', 'addr', 'show'])) as { addr_info: { tentative?: boolean; preferred_life_time?: number; valid_life_time?: number }[] }[];
    for (const link of addresses) {
      for (const a of link.addr_info) {
        delete a.tentative;
      }
    }
    return {
      addresses,
      routes4: JSON.parse(await read(['ip', '-j', '-4', 'route', 'show', 'table', 'all'])) as unknown,
      // The IPv6 local table is the kernel's own image of the addresses (compared above), filled in as each
      // address finishes duplicate address detection: only the other tables say what the agent did.
      routes6: (JSON.parse(await read(['ip', '-j', '-6', 'route', 'show', 'table', 'all'])) as { expires?: unknown; table?: string }[])
        .filter((r) => r.table !== 'local')
        .map(({ expires: _e, ...r }) => r),
      iptables: strip(await read(['iptables-save'])),
      ip6tables: strip(await read(['ip6tables-save'])),
      floatingIps: await floatingIpTable(lab),
    };
  };
  const commandsInNamespace = async () => {
    const lines: string[] = [];
    for (const pid of await lab.pids('router')) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
      if (argv.length > 0 && !isTransientProcess(argv)) lines.push(argv.map((a) => a.replace(/.*\//, '')).slice(0, 2).join(' '));
    }
    return lines.sort();
  };

  before(async () => {
    ({ small, large } = await documents());
    lab = await routerLab();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it(`recovers the persisted document after SIGKILL at ${KILL_POINTS} points of a large apply`, async () => {
    // The two reference states, and how long the large apply takes.
    assert.equal((await put(large)).status, 200);
    const largeState = await snapshot();
    const largeDaemons = await commandsInNamespace();
    assert.equal((await put(small)).status, 200);
    const smallState = await snapshot();
    const smallDaemons = await commandsInNamespace();
    const started = performance.now();
    assert.equal((await put(large)).status, 200);
    const applyMs = performance.now() - started;
    assert.equal((await put(small)).status, 200);

    const recoveries: number[] = [];
    let landedLarge = 0;
    for (let point = 0; point < KILL_POINTS; point++) {
      // Spread over twice the apply's duration: the agent just restarted is slower than the one measured.
      const delayMs = ((point + 0.5) / KILL_POINTS) * applyMs * 2;
      const request = put(large);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await agent.kill();
      await request;
      // Nothing the killed agent ran goes on: no command, no daemon.
      await waitFor('every process of the killed agent to end', async () => (await lab.pids('router')).length === 0, 5000);

      const restartedAt = performance.now();
      agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
      recoveries.push(performance.now() - restartedAt);
      const held = (await agent.request('GET', '/v1/system/config')).json<{ configuration: Doc }>().configuration;
      const isLarge = held.floating_ips.length === large.floating_ips.length;
      assert.deepEqual(held, isLarge ? large : small, `kill point ${point}: the persisted document is the one held`);
      const status = (await agent.request('GET', '/v1/status/')).json<{ degraded?: unknown }>();
      assert.ok(!status.degraded, `kill point ${point}: not degraded: ${JSON.stringify(status.degraded)}`);
      const state = await snapshot();
      const expected = isLarge ? largeState : smallState;
      assert.deepEqual(state, expected, `kill point ${point} (${Math.round(delayMs)} ms), holding the ${isLarge ? 'large' : 'small'} document: the host differs: ${difference(state, expected)}`);
      assert.deepEqual(await commandsInNamespace(), isLarge ? largeDaemons : smallDaemons, `kill point ${point}: the same daemons run`);
      if (isLarge) {
        landedLarge++;
        assert.equal((await put(small)).status, 200);
      }
    }
    const sorted = [...recoveries].sort((a, b) => a - b);
    console.log(`chaos: ${KILL_POINTS} kill points over a ${Math.round(applyMs)} ms apply; ${KILL_POINTS - landedLarge} recovered the earlier document, ${landedLarge} the new one; restart to serving: median ${Math.round(sorted[sorted.length >> 1]!)} ms, max ${Math.round(sorted.at(-1)!)} ms`);
  });

  it('a route added by an apply killed before it persisted is removed at restart', async () => {
    // The kill must land after the routes step and before the persist; a kill
    // that came too late (the document persisted) is tried again with another route.
    for (let attempt = 0; attempt < 5; attempt++) {
      const destination = `2001:db8:7${attempt}::/64`;
      const withRoute = structuredClone(small);
      withRoute.static_routes.push({ destination, next_hop: 'fd00:a::10' });
      withRoute.floating_ips.push(...large.floating_ips.slice(small.floating_ips.length, small.floating_ips.length + 300));
      let answered: { status: number; body: string } | undefined;
      // The agent is frozen the moment the kernel announces the route: the
      // steps after the routes' (a floating-IP delta, the persist) take a few
      // milliseconds, less than polling for the route would.
      const frozen = await freezeOnRoute(lab, agent.pid, destination);
      const request = put(withRoute).then((a) => (answered = a));
      await waitFor('the new route on the host', () => {
        if (answered && answered.status !== 200) throw new Error(`the PUT answered ${answered.status}: ${answered.body}`);
        return frozen.seen || answered !== undefined;
      }, 30_000);
      frozen.stop();
      await agent.kill();
      await request;
      agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
      const held = (await agent.request('GET', '/v1/system/config')).json<{ configuration: Doc }>().configuration;
      if (held.static_routes.length === withRoute.static_routes.length) {
        assert.equal((await put(small)).status, 200);
        continue;
      }
      assert.equal((await lab.exec('router', ['ip', '-6', 'route', 'show', destination])).stdout.trim(), '', 'no stray route');
      return;
    }
    assert.fail('every kill came after the persist');
  });

  it('leaves no process of a killed agent, even the command it was running', async () => {
    const pid = agent.pid;
    const request = put(large);
    await waitFor('a command of the apply to run', async () => (await lab.pids('router')).some((p) => p !== pid && /^(ip|iptables|ip6tables|setpriv)/.test(readCommand(p))), 30_000).catch(() => undefined);
    await agent.kill();
    await request;
    await waitFor('no process left in the appliance', async () => (await lab.pids('router')).length === 0, 5000);
    assert.ok(!alive(pid));
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
    assert.equal((await put(small)).status, 200);
  });

  it('on a full state disk: a 5xx naming the cause, the host unchanged, no temporary file left', async () => {
    const stateDir = join(lab.dir, 'small-disk');
    await run(['mkdir', '-p', stateDir]);
    await agent.stop();
    await run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'astara-test-full', stateDir]);
    try {
      agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir });
      assert.equal((await put(small)).status, 200);
      const before = await snapshot();
      // Fill the disk to the last block.
      await run(['dd', 'if=/dev/zero', `of=${join(stateDir, 'filler')}`, 'bs=64k'], { allowFailure: true });
      const answer = await put(large);
      assert.ok(answer.status >= 500, `answered ${answer.status}: ${answer.body}`);
      assert.match(answer.body, /no space left on device/i);
      assert.deepEqual(await snapshot(), before, 'the host is as it was');
      const report = (await agent.request('GET', '/v1/system/apply')).json<{ report: { rolled_back?: boolean } }>().report;
      assert.equal(report.rolled_back, true);
      const leftovers = (await listRecursively(stateDir)).filter((f) => /\.tmp-\d+$|\.prev-\d+$/.test(f));
      assert.deepEqual(leftovers, [], 'no temporary file left');
      // A little space left: enough for the daemons' files, not for the
      // persisted document. The failure comes late and everything before it is undone.
      await run(['rm', '-f', join(stateDir, 'filler')]);
      const available = Number((await run(['df', '--output=avail', '-B1', stateDir])).stdout.trim().split('\n').pop());
      const leave = Math.floor(JSON.stringify(large).length / 2);
      await run(['fallocate', '-l', String(available - leave), join(stateDir, 'filler')]);
      const hostsBefore = await readFile(join(stateDir, 'dnsmasq', 'hosts'), 'utf8');
      const late = await put(large);
      assert.ok(late.status >= 500, `answered ${late.status}: ${late.body}`);
      assert.match(late.body, /no space left on device/i);
      const lateReport = (await agent.request('GET', '/v1/system/apply')).json<{ report: { rolled_back?: boolean; failed_step?: string } }>().report;
      assert.equal(lateReport.rolled_back, true, JSON.stringify(lateReport));
      assert.equal(await readFile(join(stateDir, 'dnsmasq', 'hosts'), 'utf8'), hostsBefore, 'the dnsmasq hosts file is back');
      assert.deepEqual(await snapshot(), before, 'the host is as it was');
      assert.deepEqual((await listRecursively(stateDir)).filter((f) => /\.tmp-\d+$|\.prev-\d+$/.test(f)), [], 'no temporary file left');
      // Space again: the same document applies.
      await run(['rm', '-f', join(stateDir, 'filler')]);
      assert.equal((await put(large)).status, 200);
      await agent.stop();
    } finally {
      await run(['umount', '-l', stateDir], { allowFailure: true });
    }
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
  });
});

/** What two snapshots disagree on, item by item (the order of a kernel listing is not the point). */
function difference(actual: Record<string, unknown>, expected: Record<string, unknown>): string {
  const items = (value: unknown): string[] => (Array.isArray(value) ? value.map((v) => JSON.stringify(v)) : String(value).split('\n'));
  const parts: string[] = [];
  for (const key of Object.keys(expected)) {
    const a = new Set(items(actual[key]));
    const e = new Set(items(expected[key]));
    const extra = [...a].filter((x) => !e.has(x));
    const missing = [...e].filter((x) => !a.has(x));
    if (extra.length + missing.length > 0) parts.push(`${key}: extra ${extra.slice(0, 5).join(' ')}${extra.length > 5 ? ` (+${extra.length - 5})` : ''}; missing ${missing.slice(0, 5).join(' ')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
  }
  return parts.join(' | ') || 'only in order';
}

function readCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every file name below `dir`. */
async function listRecursively(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    names.push(entry.name);
    if (entry.isDirectory()) names.push(...(await listRecursively(join(dir, entry.name))));
  }
  return names;
}
