// H1: an HA router pair failing over, in the functional tests' HA lab
// (test/harness/ha-lab.ts): two real agents with keepalived and conntrackd on
// shared bridges, a guest behind them, the upstream beyond.
//
//   - failover time: from the loss of the master (its links go down, every
//     process in it is killed) to the first packet through the backup: a
//     UDP echo through NAT every 10 ms, and the first answer to a datagram
//     sent after the loss (an upper bound: it includes up to one interval);
//   - the time until the backup holds every address (polled every 10 ms);
//   - connections kept: TCP connections through NAT open at the failover
//     (half carrying data both ways every 100 ms, half only pushed by the
//     upstream, which survive only through conntrackd's synchronised NAT
//     mapping), counted as kept when each carries data again, unbroken;
//   - the same count when the old master, back as backup, takes over again
//     after its preemption delay (failback).
//
// Each round crashes the priority-100 member, measures, brings it back
// (its agent re-applies its document) and waits for it to be master again.
import { waitFor } from '../test/harness/exec.js';
import { HA, HaLab, type Flow, type FlowEvent, type Member } from '../test/harness/ha-lab.js';
import { DhcpClient } from '../test/harness/dhclient.js';
import { LAB } from '../test/harness/topology.js';
import { median, round } from './lib/stats.js';
import { ms, num, type Row } from './lib/table.js';

export interface H1Mode {
  /** Failovers measured (each followed by a failback). */
  readonly failovers: number;
  /** TCP connections of each kind (both ways, pushed). */
  readonly connections: number;
}

export interface Kept {
  readonly open: number;
  readonly kept: number;
}

export interface H1Result {
  readonly failoverMs: readonly number[];
  readonly addressesMs: readonly number[];
  readonly failover: readonly Kept[];
  readonly failback: readonly Kept[];
}

const UDP_PORT = 7101;
const ECHO_PORT = 7102;
const PUSH_PORT = 7103;
const UDP_INTERVAL_MS = 10;
const TCP_INTERVAL_MS = 100;
/** How long a connection has to carry data again after a move before it counts as lost. */
const RESUME_MS = 20_000;
const TARGET_MS = 3000;

let current: HaLab | undefined;

/** Remove the lab of a run under way (the suite's signal handler). */
export async function destroyHaLab(): Promise<void> {
  await current?.destroy();
}

export async function measureHa(mode: H1Mode, log: (message: string) => void): Promise<H1Result> {
  const lab = await HaLab.create();
  current = lab;
  try {
    for (const member of ['ra', 'rb'] as const) await lab.startAgent(member);
    const put = async (member: Member, priority: number) => {
      const answer = await lab.agent(member).request('PUT', '/v1/system/config', { body: await lab.document(member, priority) });
      if (answer.status !== 200) throw new Error(`PUT ${member}: ${answer.status} ${answer.body.slice(0, 500)}`);
    };
    await put('ra', 100);
    await put('rb', 50);
    await lab.waitForState('ra', 'MASTER');
    await lab.waitForState('rb', 'BACKUP');
    const lease = await new DhcpClient(lab.topology, 'ta').lease();
    if (lease.lease?.address !== HA.guestA) throw new Error(`guest A got no lease: exit code ${lease.exitCode}`);

    lab.flow('ext', ['udp-server', LAB.ext.v4, String(UDP_PORT)]);
    lab.flow('ext', ['tcp-server', LAB.ext.v4, String(ECHO_PORT)]);
    lab.flow('ext', ['tcp-pusher', LAB.ext.v4, String(PUSH_PORT), String(TCP_INTERVAL_MS)]);
    for (const port of [ECHO_PORT, PUSH_PORT]) {
      await waitFor(`the upstream's server on ${port}`, async () => (await lab.topology.exec('ext', ['ss', '-Hltn', `sport = :${port}`])).stdout.trim() !== '');
    }
    const udp = lab.flow('ta', ['udp-client', LAB.ext.v4, String(UDP_PORT), String(UDP_INTERVAL_MS)]);
    const tcp = [
      lab.flow('ta', ['tcp-client', LAB.ext.v4, String(ECHO_PORT), String(mode.connections), String(TCP_INTERVAL_MS)]),
      lab.flow('ta', ['tcp-reader', LAB.ext.v4, String(PUSH_PORT), String(mode.connections)]),
    ];
    await waitFor('every connection to carry data', async () => (await liveConnections(tcp, Date.now() - 1000)).size === 2 * mode.connections, 20_000);

    const result: { failoverMs: number[]; addressesMs: number[]; failover: Kept[]; failback: Kept[] } = { failoverMs: [], addressesMs: [], failover: [], failback: [] };
    for (let round = 1; round <= mode.failovers; round++) {
      log(`H1: failover ${round} of ${mode.failovers}`);
      // The backup holds every live connection aside before the master goes.
      const open = await liveConnections(tcp, Date.now() - 1000);
      await waitFor('the backup to hold the connections', async () => (await syncedConnections(lab, 'rb')) >= open.size, 20_000);

      const lost = await lab.crash('ra');
      const held = await lab.timeUntil(() => lab.holdsAll('rb'), 10_000);
      result.addressesMs.push(held - lost);
      await waitFor('an answer through the backup', async () => firstReplyAfter(await udp.events(), lost) !== undefined, 10_000);
      result.failoverMs.push(firstReplyAfter(await udp.events(), lost)! - lost);
      result.failover.push(await kept(tcp, open, lost));

      log(`H1: failback ${round} of ${mode.failovers}`);
      await lab.reboot('ra');
      await lab.waitForState('ra', 'BACKUP');
      const before = await liveConnections(tcp, Date.now() - 1000);
      await lab.waitForState('ra', 'MASTER', 30_000);
      const tookBack = Date.now();
      await lab.waitForState('rb', 'BACKUP');
      result.failback.push(await kept(tcp, before, tookBack));
    }
    for (const flow of [udp, ...tcp]) await flow.stop();
    return result;
  } finally {
    await lab.destroy();
    current = undefined;
  }
}

export function haRows(result: H1Result): Row[] {
  const section = 'H1: an HA router pair (keepalived + conntrackd), master lost';
  const rows: Row[] = [];
  const row = (figure: string, value: string, target: string, note: string, verdict: Row['verdict'], number: number, unit: string) =>
    rows.push({ section, figure, value, target, ratio: note, verdict, number: round(number, 2), unit });
  const n = result.failoverMs.length;
  const worst = Math.max(...result.failoverMs);
  row(
    `master lost to the first packet through the backup (${n} failovers)`,
    `median ${ms(median(result.failoverMs))}, max ${ms(worst)}`,
    `< ${ms(TARGET_MS)}`,
    `${(worst / TARGET_MS).toFixed(2)}x`,
    worst < TARGET_MS ? 'ok' : 'MISSED',
    median(result.failoverMs),
    'ms',
  );
  row(`master lost to the backup holding every address`, `median ${ms(median(result.addressesMs))}, max ${ms(Math.max(...result.addressesMs))}`, '', '', 'info', median(result.addressesMs), 'ms');
  const sum = (list: readonly Kept[]) => list.reduce((total, k) => ({ open: total.open + k.open, kept: total.kept + k.kept }), { open: 0, kept: 0 });
  const failover = sum(result.failover);
  row(
    'TCP connections through NAT kept at the failovers',
    `${num(failover.kept)} of ${num(failover.open)}`,
    'all',
    'half both ways, half pushed by the upstream',
    failover.kept === failover.open ? 'ok' : 'MISSED',
    failover.kept,
    'connections',
  );
  const failback = sum(result.failback);
  row('kept when the old master takes over again (preemption)', `${num(failback.kept)} of ${num(failback.open)}`, 'all', '', failback.kept === failback.open ? 'ok' : 'MISSED', failback.kept, 'connections');
  return rows;
}

/** `flow index/connection` of every connection that got data since `since` and never broke. */
async function liveConnections(flows: readonly Flow[], since: number): Promise<Set<string>> {
  const live = new Set<string>();
  for (const [i, flow] of flows.entries()) {
    const events = await flow.events();
    const broken = new Set(events.filter((e) => e.event === 'error' || e.event === 'close').map((e) => e.conn));
    for (const e of events) if (e.event === 'echo' && e.at > since && !broken.has(e.conn)) live.add(`${i}/${e.conn ?? 0}`);
  }
  return live;
}

/** Of `open`, those carrying data again after `moved`, unbroken, waited for up to RESUME_MS. */
async function kept(flows: readonly Flow[], open: ReadonlySet<string>, moved: number): Promise<Kept> {
  const deadline = Date.now() + RESUME_MS;
  for (;;) {
    const live = await liveConnections(flows, moved);
    const resumed = [...open].filter((c) => live.has(c)).length;
    if (resumed === open.size || Date.now() > deadline) return { open: open.size, kept: resumed };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** When the first answer to a datagram sent after `lost` came back. */
function firstReplyAfter(events: readonly FlowEvent[], lost: number): number | undefined {
  return events.find((e) => e.event === 'reply' && (e.sent ?? 0) > lost)?.at;
}

/** The guest connections `member`'s conntrackd holds in its external cache. */
async function syncedConnections(lab: HaLab, member: Member): Promise<number> {
  const { stdout } = await lab.topology.exec(member, ['conntrackd', '-C', lab.conntrackdConf(member), '-e'], { allowFailure: true });
  return stdout.split('\n').filter((l) => l.includes(`dport=${ECHO_PORT}`) || l.includes(`dport=${PUSH_PORT}`)).length;
}
