// The load-balancer lab: an appliance namespace running the agent, on the
// management network and on a loadbalancer network that is a bridge (in a
// switch namespace) joining the members' namespace and the clients'
// namespace. Members are small Node servers that answer their own name
// (lb-member.mjs); clients are a Node script that makes requests and counts
// who answered (lb-client.mjs). Only documentation addresses.
//
//   mgmt     m0 fdca:3ba5:a17a:acda::1/64 ---- eth0 ge0 (management, API on ::2)   lb
//   sw       br0: p0 ---- eth1 ge1 (loadbalancer, VIP 198.51.100.10)                  lb
//                 p1 ---- eth0 members 198.51.100.21..24/24                           members
//                 p2 ---- eth0 clients 198.51.100.101..106/24                         clients
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { REPO } from './agent.js';
import { spawnInNs, waitFor } from './exec.js';
import { alive, signal, Topology } from './topology.js';

export const LB_LAB = {
  mgmtAddress: 'fdca:3ba5:a17a:acda::2',
  mgmtPeer: 'fdca:3ba5:a17a:acda::1',
  macs: ['02:00:00:00:05:00', '02:00:00:00:05:01'],
  vip: '198.51.100.10',
  members: ['198.51.100.21', '198.51.100.22', '198.51.100.23', '198.51.100.24'],
  clients: ['198.51.100.101', '198.51.100.102', '198.51.100.103', '198.51.100.104', '198.51.100.105', '198.51.100.106'],
} as const;

export async function loadBalancerLab(): Promise<Topology> {
  const lab = await Topology.create({
    namespaces: ['lb', 'mgmt', 'sw', 'members', 'clients'],
    links: [
      [
        { ns: 'lb', ifname: 'eth0', mac: LB_LAB.macs[0], addresses: [`${LB_LAB.mgmtAddress}/64`] },
        { ns: 'mgmt', ifname: 'm0', addresses: [`${LB_LAB.mgmtPeer}/64`] },
      ],
      [
        { ns: 'lb', ifname: 'eth1', mac: LB_LAB.macs[1] },
        { ns: 'sw', ifname: 'p0' },
      ],
      [
        { ns: 'members', ifname: 'eth0', addresses: LB_LAB.members.map((a) => `${a}/24`) },
        { ns: 'sw', ifname: 'p1' },
      ],
      [
        { ns: 'clients', ifname: 'eth0', addresses: LB_LAB.clients.map((a) => `${a}/24`) },
        { ns: 'sw', ifname: 'p2' },
      ],
    ],
  });
  try {
    await lab.ip('sw', ['link', 'add', 'br0', 'type', 'bridge']);
    for (const port of ['p0', 'p1', 'p2']) await lab.ip('sw', ['link', 'set', port, 'master', 'br0']);
    await lab.ip('sw', ['link', 'set', 'br0', 'up']);
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}

/** One member server in the members' namespace; it ends with the lab, or with stop(). */
export class Member {
  private constructor(
    readonly name: string,
    private readonly process: ResultPromise,
    readonly pid: number,
  ) {}

  /** Start `mode` (http or tcp) on address:port and wait until it listens. */
  static async start(lab: Topology, name: string, mode: 'http' | 'tcp', address: string, port: number, delayMs = 0): Promise<Member> {
    const log = join(lab.dir, `member-${name}-${mode}-${port}.log`);
    const child = spawnInNs(lab.ns('members'), [process.execPath, join(REPO, 'test/harness/lb-member.mjs'), mode, name, address, String(port), String(delayMs)], log);
    if (child.pid === undefined) throw new Error(`member ${name} did not start`);
    const pid = child.pid;
    await waitFor(`member ${name} to listen on ${address}:${port}`, async () => {
      if (!alive(pid)) throw new Error(`member ${name} exited: ${await readFile(log, 'utf8').catch(() => '')}`);
      return (await readFile(log, 'utf8').catch(() => '')).includes('listening');
    });
    return new Member(name, child, pid);
  }

  async stop(): Promise<void> {
    signal(this.pid, 'SIGTERM');
    await this.process;
  }
}

export interface ClientOptions {
  readonly url: string;
  readonly count?: number;
  readonly concurrency?: number;
  readonly intervalMs?: number;
  readonly sources?: readonly string[];
  readonly timeoutMs?: number;
}

export interface ClientResult {
  readonly total: number;
  /** Member name -> answers. */
  readonly answers: Readonly<Record<string, number>>;
  readonly bySource: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly failures: readonly { readonly source: string | null; readonly error: string }[];
}

const CLIENT = join(REPO, 'test/harness/lb-client.mjs');

/** Run the clients until they have made `count` requests. */
export async function runClients(lab: Topology, options: ClientOptions): Promise<ClientResult> {
  const { stdout } = await lab.exec('clients', [process.execPath, CLIENT, JSON.stringify(options)], { timeoutMs: 60_000 });
  return JSON.parse(stdout) as ClientResult;
}

/** Start clients that go on until `finish()`, which resolves with what they saw. */
export function startClients(lab: Topology, options: Omit<ClientOptions, 'count'>, name: string): { finish(): Promise<ClientResult> } {
  const stopFile = join(lab.dir, `clients-${name}.stop`);
  const output = join(lab.dir, `clients-${name}.json`);
  const child = spawnInNs(lab.ns('clients'), [process.execPath, CLIENT, JSON.stringify({ ...options, untilFile: stopFile })], output);
  return {
    async finish() {
      await writeFile(stopFile, '');
      await child;
      return JSON.parse(await readFile(output, 'utf8')) as ClientResult;
    },
  };
}

export interface MemberSpec {
  readonly id: string;
  readonly address: string;
  readonly protocol_port: number;
  readonly weight?: number;
  readonly admin_state_up?: boolean;
}

export interface PoolSpec {
  readonly id: string;
  readonly lb_algorithm?: string;
  readonly protocol?: string;
  readonly admin_state_up?: boolean;
  readonly session_persistence?: { type: string; cookie_name?: string | null } | null;
  readonly healthmonitor?: Record<string, unknown> | null;
  readonly members: readonly MemberSpec[];
}

export interface ListenerSpec {
  readonly id: string;
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP';
  readonly protocol_port: number;
  readonly admin_state_up?: boolean;
  readonly default_pool: PoolSpec | null;
}

/** A load-balancer document for the lab: ge1 carries the VIP on 198.51.100.0/24, ge0 the agent's address. */
export function loadBalancerDocument(listeners: readonly ListenerSpec[], lb: { admin_state_up?: boolean } = {}): Record<string, unknown> {
  return {
    hostname: 'ak-loadbalancer-lab',
    tenant_id: 'lab-tenant',
    networks: [
      {
        network_id: 'mgmt-net',
        network_type: 'management',
        interface: { ifname: 'ge0', lladdr: LB_LAB.macs[0], addresses: [`${LB_LAB.mgmtAddress}/64`] },
        subnets: [{ id: 'mgmt-subnet', cidr: 'fdca:3ba5:a17a:acda::/64', gateway_ip: LB_LAB.mgmtPeer, dhcp_enabled: false, dns_nameservers: [], host_routes: [] }],
        allocations: [],
      },
      {
        network_id: 'vip-net',
        network_type: 'loadbalancer',
        interface: { ifname: 'ge1', lladdr: LB_LAB.macs[1], addresses: [`${LB_LAB.vip}/24`] },
        subnets: [{ id: 'vip-subnet', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', dhcp_enabled: false, dns_nameservers: [], host_routes: [] }],
        allocations: [],
      },
    ],
    services: {
      loadbalancer: { id: 'lab-lb', name: 'lab', admin_state_up: lb.admin_state_up ?? true, vip_address: LB_LAB.vip, listeners },
    },
  };
}
