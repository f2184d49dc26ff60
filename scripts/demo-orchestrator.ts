// `npm run demo:orchestrator`: the orchestrator at work, with its local
// provider, in a throwaway namespace sandbox.
//
//            ext (the "internet": upstream 192.0.2.1 and an HTTP server
//             |   that answers with the address it sees)
//         [public] external network 192.0.2.0/24
//             |
//   ak-router-<id> (the appliance the orchestrator boots: the real agent)
//        /                    \
//   [net-guest-a]         [net-guest-b]
//        |                      |
//     guest A                guest B (floating IP 192.0.2.50)
//
// [...] are the Linux bridges the orchestrator makes in its own namespace,
// where it also serves its admin API (astara-ctl) and the guests' metadata.
//
// The orchestrator reads a resource file in Neutron's shapes, boots the
// router's appliance (a namespace `ak-router-<id>` running the real agent)
// and pushes it its document; the demo then shows what a person would check
// by hand, edits the file, kills the agent and watches the replacement. It
// never touches the host's own network, and removes everything it made, even
// when interrupted.
import { randomUUID } from 'node:crypto';
import { DhcpClient } from '../test/harness/dhclient.js';
import { run, waitFor } from '../test/harness/exec.js';
import type { ResourceDetailView } from '../orchestrator/core/control.js';
import { applianceNamespace, OrchestratorLab } from '../test/harness/orchestrator.js';
import { EXTERNAL, externalNetwork, resourceFile, routerSpec, tenantNetwork, type FloatingIp, type RouterSpec, type TenantNetwork } from '../test/harness/resources.js';
import { seenAs, startEchoServer } from '../test/harness/servers.js';
import { alive, signal } from '../test/harness/topology.js';

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);
let step = 0;
let tearingDown = false;
// After a signal, the step under way fails as the orchestrator stops: only the teardown is worth reading.
const show = (line: string) => (interrupted && !tearingDown ? undefined : console.log(`   ${line}`));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Set by the first SIGINT/SIGTERM/SIGHUP; the demo stops at the next step and tears down. */
let interrupted: NodeJS.Signals | undefined;
let onInterrupt: () => void = () => undefined;
const interruption = new Promise<void>((resolve) => (onInterrupt = resolve));
class Interrupted extends Error {}

const heading = (title: string) => console.log(`\n${bold(`${++step}. ${title}`)}`);
/** A new step; none starts once a signal came. */
const say = (title: string) => {
  if (interrupted) throw new Interrupted(interrupted);
  heading(title);
};

// The sample cloud: one router of one tenant, two tenant networks with a
// guest each, the external network, a floating IP for guest B. A second
// floating IP, for guest A, is added by editing the file later.
const external = externalNetwork();
const netA = tenantNetwork(0, 'guest-a');
const netB = tenantNetwork(1, 'guest-b');
const router: RouterSpec = { ...routerSpec(0), tenants: [netA, netB] };
const FLOATING_B: FloatingIp = { id: randomUUID(), address: '192.0.2.50', routerId: router.routerId, portId: netB.guestPortId, fixedAddress: netB.guestAddress };
const FLOATING_A: FloatingIp = { id: randomUUID(), address: '192.0.2.51', routerId: router.routerId, portId: netA.guestPortId, fixedAddress: netA.guestAddress };
const UPSTREAM_URL = `http://${EXTERNAL.gateway}:8080/`;
const guests = [
  { role: 'ga', label: 'guest A', net: netA },
  { role: 'gb', label: 'guest B', net: netB },
] as const;

/** What the file holds, in a reader's words. */
function summary(file: ReturnType<typeof resourceFile>): string[] {
  const counts = (['networks', 'subnets', 'ports', 'routers', 'floatingips', 'servers'] as const).map((k) => `${file[k].length} ${k}`).join(', ');
  const tenant = (t: TenantNetwork, label: string) =>
    `network ${`net-${t.guestName}`.padEnd(12)} ${t.cidr.padEnd(17)} router ${t.gateway}, ${label} (${t.guestName}, ${t.guestMac}) gets ${t.guestAddress} by DHCP`;
  return [
    counts,
    `router  router-${router.routerId.slice(0, 8)}  id ${router.routerId}, tenant ${router.tenantId}`,
    `network public       ${EXTERNAL.cidr.padEnd(17)} external: upstream ${EXTERNAL.gateway}, router ${router.externalAddress}`,
    tenant(netA, 'guest A'),
    tenant(netB, 'guest B'),
    ...file.floatingips.map((f) => `floating IP ${f.floating_ip_address} -> ${f.fixed_ip_address} (${f.fixed_ip_address === netA.guestAddress ? 'guest A' : 'guest B'})`),
  ];
}

type View = ResourceDetailView;
const transitionKey = (t: View['transitions'][number]) => JSON.stringify(t);

/** The router as the admin API shows it (`astara-ctl show --json`): with its recent transitions, timed. */
async function view(lab: OrchestratorLab): Promise<View | undefined> {
  const answer = await lab.api('GET', `/v1/resources/${router.routerId}`);
  return answer.status === 200 ? answer.json<{ resource: View }>().resource : undefined;
}

/**
 * Poll the router's view and print each state machine transition as it
 * appears, timed from `t0`, until `done` accepts the view. `baseline` is a
 * view taken before: its transitions are not printed again.
 */
async function follow(lab: OrchestratorLab, t0: number, baseline: View | undefined, done: (r: View) => boolean, timeoutMs = 90_000): Promise<View> {
  let lastKey = baseline?.transitions.at(-1);
  let last: View | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (interrupted) throw new Interrupted(interrupted);
    last = await view(lab);
    const transitions = last?.transitions ?? [];
    // The view keeps the last 50 transitions: find where we left off by content, not by index.
    const seen = lastKey === undefined ? -1 : transitions.map(transitionKey).lastIndexOf(transitionKey(lastKey));
    for (const t of transitions.slice(seen + 1)) {
      const at = `+${seconds(Date.parse(t.at) - t0)}`.padStart(8);
      show(`${at}  ${t.from.padEnd(17)} -> ${t.to.padEnd(17)} action ${t.action.padEnd(8)} instance ${t.instance_state}`);
    }
    if (transitions.length > 0) lastKey = transitions.at(-1);
    if (last !== undefined && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; last view: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The harness's waitFor, given up at once on a signal. */
const until = (what: string, check: () => Promise<boolean> | boolean, timeoutMs?: number) =>
  waitFor(
    what,
    () => {
      if (interrupted) throw new Interrupted(interrupted);
      return check();
    },
    timeoutMs,
  );

const configured = (r: View) => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0;

async function demo(lab: OrchestratorLab): Promise<boolean> {
  let ok = true;
  const check = (good: boolean, line: string) => {
    show(`${good ? 'ok  ' : 'FAIL'} ${line}`);
    ok &&= good;
  };
  const ctl = async (args: readonly string[], filter: (lines: string[]) => string[] = (l) => l) => {
    show(`$ astara-ctl ${args.join(' ')}`);
    const result = await lab.ctl(args);
    for (const line of filter(result.stdout.trimEnd().split('\n'))) show(`  ${line}`);
    if (result.exitCode !== 0) check(false, `astara-ctl exited ${result.exitCode}: ${result.stderr.trim()}`);
  };
  const lease = async (role: string, label: string, expected: string) => {
    const attempt = await new DhcpClient(lab.topology, role).lease(10);
    const got = attempt.lease;
    check(got?.address === expected, `${label} got ${got?.address ?? 'nothing'} (host name ${got?.options['host-name'] ?? '-'}, router ${got?.options.routers ?? '-'}) in ${attempt.ms} ms`);
  };
  const seenUpstream = async (role: string, label: string, expected: string, why: string) => {
    const seen = await seenAs(lab.topology, role, UPSTREAM_URL);
    check(seen === expected, `the upstream server saw ${label} as ${seen ?? '(no answer)'}${seen === expected ? ` (${why})` : `, not ${expected}`}`);
  };
  const inbound = async (address: string, label: string) => {
    const seen = await seenAs(lab.topology, 'ext', `http://${address}:8080/`);
    check(seen === EXTERNAL.gateway, `${label} answered the upstream on ${address}:8080 and saw it as ${seen ?? '(no answer)'}`);
  };

  say('The resource file the orchestrator reads (Neutron JSON shapes, written by the demo)');
  show(lab.resourcesFile);
  for (const line of summary(resourceFile(external, [router], [FLOATING_B]))) show(`  ${line}`);

  say('Start the orchestrator in its namespace; it boots the router\'s appliance and configures it');
  const t0 = Date.now();
  await lab.start();
  show(`astara-orchestrator (pid ${lab.pid ?? '?'}) answers on its admin API after ${seconds(Date.now() - t0)}; state transitions of the router:`);
  const booted = await follow(lab, t0, undefined, configured);
  const appliance = booted.appliances[0];
  check(appliance?.name === applianceNamespace(router.routerId) && booted.last_push?.ok === true, `appliance ${appliance?.name ?? '(none)'} configured ${seconds(Date.now() - t0)} after the start (agent pid ${String(appliance?.details.agent_pid)}, management address ${appliance?.management_address ?? '-'})`);
  await ctl(['list']);
  // The transitions were printed as they came: show the rest of the view.
  await ctl(['show', router.routerId], (lines) => lines.slice(0, lines.includes('recent transitions:') ? lines.indexOf('recent transitions:') : undefined).filter((l) => l !== ''));

  say('Plug the upstream server and the guests into the orchestrator\'s bridges');
  await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
  await startEchoServer(lab.topology, 'ext', EXTERNAL.gateway);
  // The appliance's status checks pinged its gateway before anything was plugged in here, leaving
  // a FAILED neighbour entry the kernel does not retry at once: announce the upstream, as a host
  // whose link comes up does, or the first connection through the router may wait for it.
  await lab.topology.exec('ext', ['arping', '-q', '-U', '-c', '1', '-I', 'eth0', EXTERNAL.gateway], { allowFailure: true });
  show(`upstream ${EXTERNAL.gateway}/24 on the external network (announced with a gratuitous ARP), HTTP echo server on :8080`);
  for (const g of guests) {
    await lab.attach(g.role, g.net.networkId, { mac: g.net.guestMac });
    show(`${g.label} (${g.net.guestMac}) on network net-${g.net.guestName}, no address yet`);
  }

  say('The guests ask for an address with DHCP (the appliance\'s dnsmasq answers)');
  for (const g of guests) await lease(g.role, g.label, g.net.guestAddress);

  say('The guests reach outside: guest A through the router\'s NAT, guest B as its floating IP');
  await seenUpstream('ga', 'guest A', router.externalAddress, "the router's external address");
  await seenUpstream('gb', 'guest B', FLOATING_B.address, 'its floating IP');

  say(`The upstream reaches guest B on its floating IP ${FLOATING_B.address}`);
  await startEchoServer(lab.topology, 'gb', netB.guestAddress);
  await inbound(FLOATING_B.address, 'guest B');

  say('Guest A reads its instance-id from the metadata service at 169.254.169.254');
  const metadata = await lab.topology.exec('ga', ['curl', '-sS', '--max-time', '5', 'http://169.254.169.254/latest/meta-data/instance-id'], { allowFailure: true });
  check(metadata.stdout === netA.instanceId, `GET /latest/meta-data/instance-id: ${metadata.stdout || metadata.stderr.trim() || '(nothing)'} (its server id in the file)`);

  say(`Edit the file: a second floating IP, ${FLOATING_A.address} for guest A`);
  await startEchoServer(lab.topology, 'ga', netA.guestAddress);
  const beforeEdit = (await view(lab))!;
  const tEdit = Date.now();
  // In place, as `vi` or `echo >>` would: the watcher must notice either way.
  await lab.writeResources(resourceFile(external, [router], [FLOATING_B, FLOATING_A]), 'in-place');
  show(`rewrote ${lab.resourcesFile}; it now holds:`);
  for (const line of summary(resourceFile(external, [router], [FLOATING_B, FLOATING_A])).slice(-2)) show(`  ${line}`);
  await until('the new floating IP to answer', async () => (await seenAs(lab.topology, 'ext', `http://${FLOATING_A.address}:8080/`, 1)) === EXTERNAL.gateway, 30_000);
  const afterEdit = (await view(lab))!;
  check(true, `${FLOATING_A.address} answers from outside ${seconds(Date.now() - tEdit)} after the edit`);
  check(
    afterEdit.appliances[0]?.details.agent_pid === beforeEdit.appliances[0]?.details.agent_pid,
    `pushed to the same appliance (agent pid ${String(afterEdit.appliances[0]?.details.agent_pid)}, push generation ${String(beforeEdit.last_push?.generation)} -> ${String(afterEdit.last_push?.generation)}), not a new one`,
  );
  await seenUpstream('ga', 'guest A', FLOATING_A.address, 'its new floating IP');
  await seenUpstream('gb', 'guest B', FLOATING_B.address, 'unchanged');
  await ctl(['list']);

  say("Kill the appliance's agent with SIGKILL; a health check finds it and the appliance is replaced");
  const beforeKill = (await view(lab))!;
  const pid = await lab.agentPid(router.routerId);
  const tKill = Date.now();
  signal(pid, 'SIGKILL');
  await until('the agent to die', () => !alive(pid));
  show(`killed agent ${pid} in ${beforeKill.appliances[0]?.name ?? '?'} (appliance id ${beforeKill.appliances[0]?.id ?? '?'})`);
  // Health checks run every health_check_period (an hour in this lab): ask for one now, as the health monitor would.
  const tPoll = Date.now();
  await ctl(['poll']);
  const replaced = await follow(lab, tKill, beforeKill, (r) => configured(r) && r.appliances[0]?.id !== beforeKill.appliances[0]?.id);
  const done = Date.now();
  check(
    replaced.appliances[0]?.details.agent_pid !== pid,
    `new appliance ${replaced.appliances[0]?.id ?? '?'} (agent pid ${String(replaced.appliances[0]?.details.agent_pid)}) configured ${seconds(done - tPoll)} after the poll, ${seconds(done - tKill)} after the kill`,
  );
  await ctl(['list']);

  say('The new appliance serves the guests as the old one did, both floating IPs included');
  for (const g of guests) await lease(g.role, g.label, g.net.guestAddress);
  await seenUpstream('ga', 'guest A', FLOATING_A.address, 'its floating IP');
  await seenUpstream('gb', 'guest B', FLOATING_B.address, 'its floating IP');
  await inbound(FLOATING_A.address, 'guest A');
  await inbound(FLOATING_B.address, 'guest B');
  const again = await lab.topology.exec('gb', ['curl', '-sS', '--max-time', '5', 'http://169.254.169.254/latest/meta-data/instance-id'], { allowFailure: true });
  check(again.stdout === netB.instanceId, `guest B reads its instance-id: ${again.stdout || '(nothing)'}`);

  return ok;
}

/** Namespaces and processes the lab made that are still there after teardown. */
async function leftovers(lab: OrchestratorLab, pids: readonly number[]): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  const names = stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  const ours = names.filter((n) => n.startsWith(`${lab.topology.prefix}-`) || n === applianceNamespace(router.routerId));
  return [...ours.map((n) => `namespace ${n}`), ...pids.filter(alive).map((p) => `process ${p}`)];
}

// Ctrl-C reaches the whole foreground group (the orchestrator included); the
// demo itself stays to tear down. Later signals are ignored so that a second
// Ctrl-C cannot cut the teardown short and leave namespaces behind.
for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(name, () => {
    if (interrupted) return;
    interrupted = name;
    console.log(`\n${name}: stopping; removing everything the demo made...`);
    onInterrupt();
  });
}

const started = Date.now();
const lab = await OrchestratorLab.create({ roles: ['ext', 'ga', 'gb'], resources: resourceFile(external, [router], [FLOATING_B]) });
const running = demo(lab).then(
  (ok) => ok,
  (error: unknown) => {
    if (!interrupted) console.error(`\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return false;
  },
);
const ok = await Promise.race([running, interruption.then(() => false)]);
if (interrupted) {
  // Let the command under way finish (briefly), so nothing starts in a namespace after the teardown swept it.
  await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
}
tearingDown = true;
heading('Remove the sandbox: the orchestrator, the appliance, the guests, the bridges');
let clean = false;
try {
  // Every pid in the sandbox before the teardown, to check none outlives it.
  const pids = new Set<number>(await lab.appliancePids(router.routerId));
  if (lab.pid !== undefined) pids.add(lab.pid);
  for (const role of ['orch', 'ext', 'ga', 'gb']) for (const pid of await lab.topology.pids(role)) pids.add(pid);
  await lab.destroy();
  const left = await leftovers(lab, [...pids]);
  clean = left.length === 0;
  show(`${clean ? 'ok  ' : 'FAIL'} ${clean ? 'no namespace or process of the demo is left' : `left behind: ${left.join(', ')}`}`);
} catch (error) {
  console.error(error);
}
const verdict = interrupted
  ? `Interrupted (${interrupted}); ${clean ? 'everything removed' : 'see FAIL above'}.`
  : ok && clean
    ? 'The orchestrator works.'
    : 'Something did not work: see FAIL above.';
console.log(`\n${bold(verdict)} (${seconds(Date.now() - started)})`);
process.exitCode = ok && clean && !interrupted ? 0 : 1;
// A step cut short by a signal may still be polling: do not wait for it.
if (interrupted) process.exit();
