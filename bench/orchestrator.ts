// O1: the orchestrator at work, with its local provider, the real
// orchestrator process and real appliances (namespaces `ak-router-<id>`
// running the agent), in throwaway namespaces built by the functional tests'
// harness (test/harness/orchestrator.ts):
//
//   - a router written into the resource file of a running orchestrator, until
//     its two guests hold a DHCP lease and one reached the upstream server;
//   - its appliance's agent killed, `astara-ctl poll`, until a guest is served
//     again by the replacement;
//   - a floating IP added to the file, until it answers from the upstream side;
//   - the orchestrator's resident memory with 0 and N routers, and the time to
//     bring N routers up from a file that lists them all at start;
//   - the push latency the orchestrator records (`last_push.duration_ms`).
//
// Timings are taken in this process; the orchestrator's view is read by a
// long-lived client in its namespace (bench/ns-client.ts) every 10 ms, and the
// HTTP requests of guests and upstream are made by such clients too, so no
// process start is inside a timing except the ones a real actor pays: the
// guests' `dhclient` and the operator's `astara-ctl poll`.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ResourceDetailView, ResourceView } from '../orchestrator/core/control.js';
import { DhcpClient } from '../test/harness/dhclient.js';
import { API_PORT, OrchestratorLab } from '../test/harness/orchestrator.js';
import { EXTERNAL, externalNetwork, resourceFile, routerSpec, type ExternalNetwork, type FloatingIp, type RouterSpec } from '../test/harness/resources.js';
import { startEchoServer } from '../test/harness/servers.js';
import { alive, signal } from '../test/harness/topology.js';
import { NsClient, rssMiB } from './lib/lab.js';
import { median, round } from './lib/stats.js';
import { ms, type Row } from './lib/table.js';

export interface O1Mode {
  /** Repetitions of the router, replacement and floating-IP scenario, each in a fresh lab. */
  readonly reps: number;
  /** Routers of the memory and bring-up scenario. */
  readonly routers: number;
}

/**
 * The orchestrator's own defaults for concurrency and timeouts (the harness
 * sets smaller ones for the tests), at the production log level. Health checks
 * run only when asked (`astara-ctl poll`), so none falls inside a timing.
 */
const INI = {
  DEFAULT: { log_level: 'info', num_worker_processes: 16, num_worker_threads: 4, alive_timeout: 3, boot_timeout: 600, health_check_period: 3600 },
} as const;

const API_URL = `http://[::1]:${API_PORT}`;
const UPSTREAM_URL = `http://${EXTERNAL.gateway}:8080/`;
/** The view is read this often while a timing waits on it. */
const POLL_MS = 10;
/** Memory an appliance takes (the agent about 90 MiB, dnsmasq and BIRD a few), for the check before N of them. */
const APPLIANCE_MIB = 110;

// --- clean-up -------------------------------------------------------------------

const labs = new Set<OrchestratorLab>();
/** Set by `destroyOrchestratorLabs`: no new lab is made after it. */
let stopping = false;

async function withLab<T>(roles: readonly string[], resources: unknown, fn: (lab: OrchestratorLab) => Promise<T>): Promise<T> {
  if (stopping) throw new Error('interrupted');
  const lab = await OrchestratorLab.create({ roles, resources, ini: INI });
  labs.add(lab);
  try {
    return await fn(lab);
  } finally {
    labs.delete(lab);
    await lab.destroy();
  }
}

/** For the suite's signal handler: stop every orchestrator, appliance and namespace of O1 still there. */
export async function destroyOrchestratorLabs(): Promise<void> {
  stopping = true;
  await Promise.allSettled([...labs].map((lab) => lab.destroy()));
}

// --- helpers --------------------------------------------------------------------

/** Call `probe` every `everyMs` until it returns a value; fail with `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = POLL_MS): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The lab's log tail, for an error message. */
async function logTail(lab: OrchestratorLab, lines = 30): Promise<string> {
  return (await lab.log()).split('\n').slice(-lines).join('\n');
}

/** Run `fn`; on failure, add the orchestrator's log tail to the error. */
async function explained<T>(lab: OrchestratorLab, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new Error(`${(error as Error).message}\norchestrator log tail:\n${await logTail(lab)}`, { cause: error });
  }
}

function json<T>(answer: { status: number; body: string }, what: string): T {
  if (answer.status !== 200) throw new Error(`${what} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    throw new Error(`${what}: not JSON (cut at 64 KiB by ns-client?): ${answer.body.slice(0, 200)}...`);
  }
}

async function view(api: NsClient, id: string): Promise<ResourceDetailView | undefined> {
  const answer = await api.request('GET', `${API_URL}/v1/resources/${id}`);
  if (answer.status === 404) return undefined;
  return json<{ resource: ResourceDetailView }>(answer, `GET /v1/resources/${id}`).resource;
}

/** As the harness's `waitConfigured`: configured, nothing queued, the state machine at rest. */
const configured = (r: ResourceView): boolean => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0;

/** Wait until the router's view satisfies `check`, reading it every 10 ms. */
function viewUntil(api: NsClient, id: string, what: string, check: (r: ResourceDetailView) => boolean, timeoutMs = 120_000): Promise<ResourceDetailView> {
  return until(
    what,
    async () => {
      const r = await view(api, id);
      return r !== undefined && check(r) ? r : undefined;
    },
    timeoutMs,
  );
}

const now = (): number => performance.now();

/** A file with the networks, subnets, guest ports and servers of `routers`, but no router (nor its interfaces, nor floating IP). */
function networksOnly(external: ExternalNetwork, routers: readonly RouterSpec[]): ReturnType<typeof resourceFile> {
  const file = resourceFile(external, routers);
  return { ...file, routers: [], ports: file.ports.filter((p) => p.device_owner !== 'network:router_interface'), floatingips: [] };
}

// --- rows 1-3: a router, its replacement, a floating IP ------------------------------

export interface ServedRun {
  /** Router written into the file to the view saying `configured`. */
  readonly configuredMs: number;
  /** From there to both guests leased and guest A answered by the upstream. */
  readonly servedMs: number;
  readonly totalMs: number;
  /** dhclient's time to a lease, guest A and guest B. */
  readonly leaseMs: readonly [number, number];
  /** Guest A's lease to its first answer from the upstream. */
  readonly upstreamMs: number;
  readonly firstPushMs: number;
  readonly replacement: {
    /** SIGKILL to the view showing the new appliance configured. */
    readonly configuredMs: number;
    /** SIGKILL to guest A leased again and answered by the upstream. */
    readonly servedMs: number;
    /** `astara-ctl poll`, process start to exit. */
    readonly pollMs: number;
    readonly leaseMs: number;
    readonly pushMs: number;
  };
  readonly floating: {
    /** File written to the first answer on the floating IP, from the upstream. */
    readonly answerMs: number;
    readonly pushMs: number;
  };
}

async function servedRun(log: (message: string) => void): Promise<ServedRun> {
  const external = externalNetwork();
  const router = routerSpec(2);
  const [netA, netB] = router.tenants as [RouterSpec['tenants'][number], RouterSpec['tenants'][number]];
  const floatingA: FloatingIp = { id: randomUUID(), address: '192.0.2.50', routerId: router.routerId, portId: netA.guestPortId, fixedAddress: netA.guestAddress };

  return withLab(['ext', 'ga', 'gb'], networksOnly(external, [router]), async (lab) => {
    const api = NsClient.start(lab.topology, 'orch');
    const guestA = NsClient.start(lab.topology, 'ga');
    const upstream = NsClient.start(lab.topology, 'ext');
    const dhcpA = new DhcpClient(lab.topology, 'ga');
    const dhcpB = new DhcpClient(lab.topology, 'gb');
    try {
      await Promise.all([api.ready(), guestA.ready(), upstream.ready()]);
      await lab.start();
      // Everything plugged before the router exists: the upstream (so the appliance's gateway checks
      // never see it missing) and both guests, on the bridges made for the networks already in the file.
      await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
      await startEchoServer(lab.topology, 'ext', EXTERNAL.gateway);
      await lab.attach('ga', netA.networkId, { mac: netA.guestMac });
      await lab.attach('gb', netB.networkId, { mac: netB.guestMac });

      const leased = async (dhcp: DhcpClient, expected: string, timeoutS = 10): Promise<number> => {
        const attempt = await dhcp.lease(timeoutS);
        if (attempt.lease?.address !== expected) throw new Error(`${dhcp.role} got ${attempt.lease?.address ?? 'no lease'} (dhclient exited ${attempt.exitCode}), not ${expected}`);
        return attempt.ms;
      };
      /** Guest A's first 200 from the upstream, then a check that it was seen as `expected` (outside the timing). */
      const reachUpstream = async (expected: string): Promise<number> => {
        await guestA.firstAnswer(UPSTREAM_URL, 30_000);
        const at = now();
        const seen = (await guestA.request('GET', UPSTREAM_URL)).body.trim().replace(/^::ffff:/, '');
        if (seen !== expected) throw new Error(`the upstream saw guest A as ${seen}, not ${expected}`);
        return at;
      };

      // 1. The router written into the file, to both guests served.
      log('O1: router written to guests served');
      const written = now();
      await lab.writeResources(resourceFile(external, [router]));
      const first = await explained(lab, () => viewUntil(api, router.routerId, 'the router configured', configured));
      const configuredAt = now();
      const [a, b] = await explained(lab, () =>
        Promise.all([
          (async () => {
            const lease = await leased(dhcpA, netA.guestAddress);
            const leasedAt = now();
            return { lease, upstreamMs: (await reachUpstream(router.externalAddress)) - leasedAt };
          })(),
          leased(dhcpB, netB.guestAddress),
        ]),
      );
      const servedAt = now();
      const firstPushMs = first.last_push?.duration_ms ?? Number.NaN;
      log(`O1:   configured after ${ms(configuredAt - written)}, served after ${ms(servedAt - written)}`);

      // 2. The appliance's agent killed; a health check asked for; a guest served by the new appliance.
      log('O1: agent SIGKILLed, astara-ctl poll, replacement');
      const before = first.appliances[0]!;
      const pid = before.details.agent_pid;
      if (typeof pid !== 'number') throw new Error(`no agent pid in the view: ${JSON.stringify(before)}`);
      const killed = now();
      signal(pid, 'SIGKILL');
      await until('the agent to die', () => Promise.resolve(alive(pid) ? undefined : true), 10_000, 1);
      const pollStarted = now();
      const poll = await lab.ctl(['poll']);
      const pollMs = now() - pollStarted;
      if (poll.exitCode !== 0) throw new Error(`astara-ctl poll exited ${poll.exitCode}: ${poll.stderr}`);
      const replaced = await explained(lab, () => viewUntil(api, router.routerId, 'a new appliance configured', (r) => configured(r) && r.appliances[0] !== undefined && r.appliances[0].id !== before.id));
      const replacedAt = now();
      const leaseAgainMs = await explained(lab, () => leased(dhcpA, netA.guestAddress));
      const servedAgainAt = await explained(lab, () => reachUpstream(router.externalAddress));
      log(`O1:   new appliance configured after ${ms(replacedAt - killed)}, guest served after ${ms(servedAgainAt - killed)}`);

      // 3. A floating IP for guest A added to the file, to its first answer from the upstream.
      log('O1: floating IP added');
      await startEchoServer(lab.topology, 'ga', netA.guestAddress);
      const generation = replaced.last_push?.generation ?? 0;
      const edited = now();
      await lab.writeResources(resourceFile(external, [router], [floatingA]));
      const floatingUrl = `http://${floatingA.address}:8080/`;
      await explained(lab, () => upstream.firstAnswer(floatingUrl, 60_000));
      const answeredAt = now();
      const seen = (await upstream.request('GET', floatingUrl)).body.trim();
      if (seen !== EXTERNAL.gateway) throw new Error(`guest A, on ${floatingA.address}, saw the upstream as ${seen}, not ${EXTERNAL.gateway}`);
      const pushed = await viewUntil(api, router.routerId, 'the floating IP push recorded', (r) => configured(r) && (r.last_push?.generation ?? 0) > generation);
      log(`O1:   answering after ${ms(answeredAt - edited)}`);

      return {
        configuredMs: configuredAt - written,
        servedMs: servedAt - configuredAt,
        totalMs: servedAt - written,
        leaseMs: [a.lease, b],
        upstreamMs: a.upstreamMs,
        firstPushMs,
        replacement: {
          configuredMs: replacedAt - killed,
          servedMs: servedAgainAt - killed,
          pollMs,
          leaseMs: leaseAgainMs,
          pushMs: replaced.last_push?.duration_ms ?? Number.NaN,
        },
        floating: { answerMs: answeredAt - edited, pushMs: pushed.last_push?.duration_ms ?? Number.NaN },
      };
    } finally {
      await Promise.allSettled([dhcpA.stop(), dhcpB.stop(), api.close(), guestA.close(), upstream.close()]);
    }
  });
}

// --- row 4: memory with 0 and N routers, N routers brought up -----------------------------

export interface FleetRun {
  /** Routers asked for; fewer than the mode's when the machine lacks the memory. */
  readonly routers: number;
  readonly memAvailableMiB: number;
  /** VmRSS of the orchestrator just started with no router, MiB. */
  readonly rssEmptyMiB: number;
  /** Process start to the admin API answering, with the N routers in the file. */
  readonly apiMs: number;
  /** Process start to every router configured. */
  readonly allConfiguredMs: number;
  /** Process start to the first router configured. */
  readonly firstConfiguredMs: number;
  /** VmRSS with the N routers configured, MiB. */
  readonly rssMiB: number;
  readonly pushMs: readonly number[];
  /** Appliances booted (the orchestrator's `booting an appliance` log lines): more than `routers` means some were retried. */
  readonly boots: number;
}

async function memAvailableMiB(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Number(/^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1]) / 1024;
}

async function fleetRun(wanted: number, log: (message: string) => void): Promise<FleetRun> {
  const available = await memAvailableMiB();
  // Leave a GiB to the rest of the machine.
  const routers = Math.max(1, Math.min(wanted, Math.floor((available - 1024) / APPLIANCE_MIB)));
  if (routers < wanted) log(`O1: only ${Math.round(available)} MiB available: ${routers} routers instead of ${wanted}`);
  const external = externalNetwork();
  // Gateway only, each its own external address (192.0.2.10 and up).
  const specs = Array.from({ length: routers }, (_, i) => routerSpec(0, `192.0.2.${10 + i}`));

  return withLab(['ext'], resourceFile(external, []), async (lab) => {
    const api = NsClient.start(lab.topology, 'orch');
    try {
      await api.ready();
      log('O1: orchestrator RSS with no router');
      await lab.start();
      const pid = lab.pid!;
      // The pid the harness holds is the orchestrator's own (nsenter execs it), not a wrapper's.
      if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('astara-orchestrator')) throw new Error(`pid ${pid} is not the orchestrator`);
      const rssEmptyMiB = await rssMiB(pid);
      await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
      await lab.stop();

      log(`O1: ${routers} routers in the file at start`);
      await lab.writeResources(resourceFile(external, specs));
      const logLines = await lab.logLines();
      const started = now();
      await lab.start();
      const apiMs = now() - started;
      let firstConfiguredMs: number | undefined;
      const all = await explained(lab, () =>
        until(
          `${routers} routers configured`,
          async () => {
            const list = json<{ resources: ResourceView[] }>(await api.request('GET', `${API_URL}/v1/resources`), 'GET /v1/resources').resources;
            const done = list.filter(configured).length;
            if (done > 0 && firstConfiguredMs === undefined) firstConfiguredMs = now() - started;
            return list.length === routers && done === routers ? list : undefined;
          },
          900_000,
          100,
        ),
      );
      const allConfiguredMs = now() - started;
      const rss = await rssMiB(lab.pid!);
      const boots = (await lab.log())
        .split('\n')
        .slice(logLines)
        .filter((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: unknown }).msg === 'booting an appliance').length;
      log(`O1:   all configured after ${ms(allConfiguredMs)}; orchestrator RSS ${rss.toFixed(1)} MiB`);
      return {
        routers,
        memAvailableMiB: Math.round(available),
        rssEmptyMiB,
        apiMs,
        allConfiguredMs,
        firstConfiguredMs: firstConfiguredMs ?? allConfiguredMs,
        rssMiB: rss,
        pushMs: all.map((r) => r.last_push?.duration_ms ?? Number.NaN),
        boots,
      };
    } finally {
      await api.close().catch(() => undefined);
    }
  });
}

// --- the section ------------------------------------------------------------------

export interface O1Result {
  readonly served: readonly ServedRun[];
  readonly fleet: FleetRun;
}

export async function measureOrchestrator(mode: O1Mode, log: (message: string) => void): Promise<O1Result> {
  const served: ServedRun[] = [];
  for (let rep = 0; rep < mode.reps; rep++) {
    log(`O1: router, replacement, floating IP: run ${rep + 1}/${mode.reps}`);
    served.push(await servedRun(log));
  }
  const fleet = await fleetRun(mode.routers, log);
  return { served, fleet };
}

export function orchestratorRows(result: O1Result): Row[] {
  const section = 'O1: the orchestrator (local provider), real appliances';
  const rows: Row[] = [];
  const row = (figure: string, value: string, note: string, number?: number, unit?: string) =>
    rows.push({ section, figure, value, target: '', ratio: note, verdict: 'info', ...(number === undefined ? {} : { number: round(number, 2), unit }) });
  const { served, fleet } = result;
  const m = (pick: (r: ServedRun) => number) => median(served.map(pick));
  const of = served.length > 1 ? ` (median of ${served.length})` : '';

  const total = m((r) => r.totalMs);
  row(`router written to guests served${of}`, ms(total), 'file edit to 2 DHCP leases and an answer from the upstream', total, 'ms');
  row('  written to configured (orchestrator view)', ms(m((r) => r.configuredMs)), 'boot, plug, first push', m((r) => r.configuredMs), 'ms');
  row(
    '  configured to guests served',
    ms(m((r) => r.servedMs)),
    `dhclient ${ms(m((r) => r.leaseMs[0]))} and ${ms(m((r) => r.leaseMs[1]))} side by side; upstream answered ${ms(m((r) => r.upstreamMs))} after the lease`,
    m((r) => r.servedMs),
    'ms',
  );
  const again = m((r) => r.replacement.servedMs);
  row(`agent SIGKILLed to a guest served again${of}`, ms(again), `astara-ctl poll ${ms(m((r) => r.replacement.pollMs))}; dhclient ${ms(m((r) => r.replacement.leaseMs))}`, again, 'ms');
  row('  SIGKILL to the new appliance configured (view)', ms(m((r) => r.replacement.configuredMs)), '', m((r) => r.replacement.configuredMs), 'ms');
  const floating = m((r) => r.floating.answerMs);
  row(`floating IP added to the file to answering from the upstream${of}`, ms(floating), '', floating, 'ms');
  row(
    `push latency (last_push.duration_ms)${of}`,
    `first ${ms(m((r) => r.firstPushMs))}, replacement ${ms(m((r) => r.replacement.pushMs))}, floating IP ${ms(m((r) => r.floating.pushMs))}`,
    'PUT to 200, as the orchestrator times it',
    m((r) => r.firstPushMs),
    'ms',
  );

  const n = fleet.routers;
  row('orchestrator RSS, just started, no router', `${fleet.rssEmptyMiB.toFixed(1)} MiB`, '', fleet.rssEmptyMiB, 'MiB');
  row(`orchestrator RSS, ${n} routers configured`, `${fleet.rssMiB.toFixed(1)} MiB`, `+${((fleet.rssMiB - fleet.rssEmptyMiB) / n).toFixed(2)} MiB per router`, fleet.rssMiB, 'MiB');
  row(
    `${n} routers in the file at start: process start to all configured`,
    ms(fleet.allConfiguredMs),
    `admin API ${ms(fleet.apiMs)}, first configured ${ms(fleet.firstConfiguredMs)}; ${fleet.boots} appliances booted`,
    fleet.allConfiguredMs,
    'ms',
  );
  const pushes = fleet.pushMs.filter(Number.isFinite);
  row(`  push latency over the ${n} first pushes`, `median ${ms(median(pushes))}, max ${ms(Math.max(...pushes))}`, '', median(pushes), 'ms');
  return rows;
}
