// V1: the site-to-site VPN (strongSwan driven by the agent), in the
// functional tests' VPN lab (test/harness/vpn-lab.ts): two routers, each with
// a tenant network and a guest, joined only through an "internet" namespace.
//
//   - TCP bulk throughput from guest A to guest B through the tunnel, against
//     the same two routers and internet hop without it (guest B reached on a
//     floating IP: source NAT on A, destination NAT on B), in the same run;
//   - the time from the PUT that gives router A its VPN (router B already has
//     its side) to router A's status saying the tunnel is up.
//
// The status is read by a long-lived client in A's management namespace
// (bench/ns-client.ts), so no process start falls inside that timing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Configuration } from '../contract/index.js';
import { Agent, REPO } from '../test/harness/agent.js';
import { spawnInNs, waitFor } from '../test/harness/exec.js';
import { LAB, type Topology } from '../test/harness/topology.js';
import { vpnLab, vpnRouterDocument, vpnService, VPN_LAB, type Side } from '../test/harness/vpn-lab.js';
import { NsClient } from './lib/lab.js';
import { median, round } from './lib/stats.js';
import { ms, num, ratio, type Row } from './lib/table.js';

export interface V1Mode {
  /** Seconds of each bulk transfer. */
  readonly seconds: number;
  /** Tunnels brought up and timed. */
  readonly establishments: number;
}

export interface V1Result {
  readonly tunnelMbps: number;
  readonly plainMbps: number;
  readonly establishMs: readonly number[];
  readonly dataPath: string;
}

const FLOATING = '203.0.113.50';
const PORT = 5201;
const AGENT_URL = `http://[${LAB.mgmtAddress}]:5000`;
const THROUGHPUT = join(REPO, 'bench/lib/tcp-throughput.mjs');

let current: Topology | undefined;

/** Remove the lab of a run under way (the suite's signal handler). */
export async function destroyVpnLab(): Promise<void> {
  await current?.destroy();
}

export async function measureVpn(mode: V1Mode, log: (message: string) => void): Promise<V1Result> {
  const lab = await vpnLab();
  current = lab;
  const agents: Partial<Record<Side, Agent>> = {};
  let status: NsClient | undefined;
  try {
    const docs: Partial<Record<Side, Configuration>> = {};
    for (const s of ['a', 'b'] as const) {
      agents[s] = await Agent.start(lab, { role: `r${s}`, clientRole: `m${s}`, listen: [LAB.mgmtAddress], stateDir: join(lab.dir, `state-${s}`), extraArgs: ['--log-level', 'info'] });
      docs[s] = await vpnRouterDocument(s);
    }
    const put = async (s: Side, doc: Configuration) => {
      const answer = await agents[s]!.request('PUT', '/v1/system/config', { body: doc });
      if (answer.status !== 200) throw new Error(`PUT on router ${s}: ${answer.status} ${answer.body.slice(0, 500)}`);
    };
    const server = spawnInNs(lab.ns('gb'), [process.execPath, THROUGHPUT, 'server', VPN_LAB.b.guest, String(PORT)], join(lab.dir, 'throughput-server.log'));
    await waitFor('the throughput server to listen', async () => (await readFile(join(lab.dir, 'throughput-server.log'), 'utf8').catch(() => '')).includes('listening'));
    const transfer = async (to: string) => {
      const { stdout } = await lab.exec('ga', [process.execPath, THROUGHPUT, 'client', to, String(PORT), String(mode.seconds)], { timeoutMs: (mode.seconds + 30) * 1000 });
      const { bytes, seconds } = JSON.parse(stdout) as { bytes: number; seconds: number };
      return (bytes * 8) / seconds / 1e6;
    };

    log('V1: guest to guest without the tunnel (floating IP)');
    await put('a', docs.a!);
    await put('b', { ...docs.b!, floating_ips: [{ floating_ip: FLOATING, fixed_ip: VPN_LAB.b.guest }] });
    const plainMbps = await transfer(FLOATING);

    log('V1: PUT to an established tunnel');
    status = NsClient.start(lab, 'ma');
    await status.ready();
    const tunnelUp = async () => {
      const answer = await status!.request('GET', `${AGENT_URL}/v1/vpn/status`);
      if (answer.status !== 200) return { up: false, dataPath: '' };
      const body = JSON.parse(answer.body) as { vpn: { data_path?: string; connections: { up: boolean }[] } };
      return { up: body.vpn.connections.every((c) => c.up), dataPath: body.vpn.data_path ?? 'unknown' };
    };
    await put('b', { ...docs.b!, vpn: vpnService('b', { psk: 'bench-secret-psk' }) });
    const establishMs: number[] = [];
    let dataPath = 'unknown';
    for (let i = 0; i < mode.establishments; i++) {
      const started = performance.now();
      await put('a', { ...docs.a!, vpn: vpnService('a', { psk: 'bench-secret-psk' }) });
      for (;;) {
        const now = await tunnelUp();
        if (now.up) {
          dataPath = now.dataPath;
          break;
        }
        if (performance.now() - started > 60_000) throw new Error('the tunnel did not come up within 60 s');
      }
      establishMs.push(performance.now() - started);
      // Down again for the next one, but the last: its tunnel carries the transfer.
      if (i < mode.establishments - 1) {
        await put('a', docs.a!);
        await waitFor('the tunnel to be down on router A', async () => (await status!.request('GET', `${AGENT_URL}/v1/vpn/status`)).status === 404);
      }
    }

    log('V1: guest to guest through the tunnel');
    const tunnelMbps = await transfer(VPN_LAB.b.guest);
    server.kill('SIGTERM');
    return { tunnelMbps, plainMbps, establishMs, dataPath };
  } finally {
    await status?.close();
    for (const agent of Object.values(agents)) await agent.stop();
    await lab.destroy();
    current = undefined;
  }
}

export function vpnRows(result: V1Result): Row[] {
  const section = 'V1: the site-to-site VPN (strongSwan driven by the agent), real traffic';
  const rows: Row[] = [];
  const row = (figure: string, value: string, note: string, number?: number, unit?: string) =>
    rows.push({ section, figure, value, target: '', ratio: note, verdict: 'info', ...(number === undefined ? {} : { number: round(number, 2), unit }) });
  row('TCP guest to guest through the tunnel', `${num(result.tunnelMbps)} Mbit/s`, `data path: ${result.dataPath}`, result.tunnelMbps, 'Mbit/s');
  row('TCP guest to guest without it (floating IP, NAT both ends)', `${num(result.plainMbps)} Mbit/s`, 'same routers and internet hop', result.plainMbps, 'Mbit/s');
  row('  through the tunnel / without', ratio(result.tunnelMbps / result.plainMbps), 'same run', result.tunnelMbps / result.plainMbps, 'ratio');
  const up = median(result.establishMs);
  row(
    `PUT on router A to its tunnel up (median of ${result.establishMs.length})`,
    ms(up),
    `router B configured first; max ${ms(Math.max(...result.establishMs))}`,
    up,
    'ms',
  );
  return rows;
}
