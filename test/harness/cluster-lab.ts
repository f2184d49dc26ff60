// Several orchestrators on one host, as a cluster: one throwaway "host"
// namespace holding a real three-member etcd cluster on its loopback, the
// local provider's bridges (shared), and N bin/astara-orchestrator processes,
// each with its own state directory, admin API port and management address,
// all reading one resource file and keeping their appliances' records in one
// shared directory (so whichever owns a router finds its appliance).
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { httpFrom, REPO, type HttpAnswer } from './agent.js';
import { EtcdCluster } from './etcd.js';
import { run, waitFor } from './exec.js';
import { MANAGEMENT_PREFIX, type ResourceState } from './orchestrator.js';
import { alive, signal, Topology } from './topology.js';

/** Below the ephemeral range (32768-60999): an outgoing connection in the namespace can never hold it. */
export const CLUSTER_API_PORT = 30350;
export const LEASE_TTL_S = 4;
export const HEARTBEAT_S = 0.5;

/** A resource as a clustered orchestrator shows it: with its owner. */
export type ClusterResource = ResourceState & { readonly owner?: string | null };

export interface ClusterView {
  readonly enabled: boolean;
  readonly host: string;
  readonly members: readonly string[];
  readonly connected: boolean;
  readonly problem: string | null;
  readonly rebalances: number;
}

interface Member {
  readonly name: string;
  readonly index: number;
  readonly statePath: string;
  readonly iniFile: string;
  readonly logFile: string;
  process: ResultPromise | undefined;
}

export class ClusterLab {
  readonly #members = new Map<string, Member>();
  readonly #routerIds = new Set<string>();

  private constructor(
    readonly topology: Topology,
    readonly etcd: EtcdCluster,
    readonly resourcesFile: string,
    readonly appliancesPath: string,
    private readonly logLevel: string,
  ) {}

  /** `logLevel`: the members' `[DEFAULT] log_level` (the benchmark runs them at `info`). */
  static async create(resources: { routers: readonly { id: string }[] }, logLevel = 'debug'): Promise<ClusterLab> {
    const topology = await Topology.create({ namespaces: ['orch'], links: [] });
    let etcd: EtcdCluster | undefined;
    try {
      etcd = await EtcdCluster.start({ namespace: topology.ns('orch') });
      // Short: the agents keep control sockets deep below it (107-byte limit).
      const appliancesPath = await mkdtemp(`${tmpdir()}${sep}`);
      const lab = new ClusterLab(topology, etcd, join(topology.dir, 'resources.json'), appliancesPath, logLevel);
      await lab.writeResources(resources);
      return lab;
    } catch (error) {
      await etcd?.destroy();
      await topology.destroy();
      throw error;
    }
  }

  async writeResources(resources: { routers: readonly { id: string }[] }): Promise<void> {
    for (const router of resources.routers) this.#routerIds.add(router.id);
    const temporary = `${this.resourcesFile}.new`;
    await writeFile(temporary, `${JSON.stringify(resources, null, 1)}\n`);
    await rename(temporary, this.resourcesFile);
  }

  get names(): string[] {
    return [...this.#members.keys()];
  }

  /** Start member `index` (host `member-<index>`) and wait for its admin API. */
  async start(index: number): Promise<string> {
    const name = `member-${index}`;
    let member = this.#members.get(name);
    if (!member) {
      const statePath = await mkdtemp(`${tmpdir()}${sep}`);
      const dir = join(this.topology.dir, name);
      await mkdir(dir, { recursive: true });
      member = { name, index, statePath, iniFile: join(dir, 'orchestrator.ini'), logFile: join(dir, 'orchestrator.log'), process: undefined };
      const ini = {
        DEFAULT: {
          host: name,
          state_path: statePath,
          api_listen: '::1',
          api_port: CLUSTER_API_PORT + index,
          health_check_period: 3600,
          alive_timeout: 2,
          boot_timeout: 120,
          log_level: this.logLevel,
          num_worker_processes: 2,
          num_worker_threads: 2,
          management_prefix: MANAGEMENT_PREFIX,
          provider_rules_path: join(dir, 'provider_rules.json'),
        },
        local: { resources: this.resourcesFile, management_address: `fdca:3ba5:a17a:acda::${index + 1}`, appliances_path: this.appliancesPath },
        coordination: { enabled: true, url: this.etcd.url, group_id: `lab-${this.topology.prefix}`, heartbeat_interval: HEARTBEAT_S, lease_ttl: LEASE_TTL_S },
      };
      const text = Object.entries(ini)
        .map(([section, values]) => [`[${section}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${String(v)}`)].join('\n'))
        .join('\n\n');
      await writeFile(member.iniFile, `${text}\n`);
      this.#members.set(name, member);
    }
    // nsenter, not `ip netns exec`: the orchestrator creates namespaces that must be usable outside it.
    member.process = execa('nsenter', [`--net=/run/netns/${this.topology.ns('orch')}`, '--', process.execPath, join(REPO, 'bin/astara-orchestrator'), '--config-file', member.iniFile], {
      reject: false,
      stdin: 'ignore',
      stdout: { file: member.logFile, append: true },
      stderr: { file: member.logFile, append: true },
      env: { LC_ALL: 'C' },
    });
    const started = member;
    await waitFor(
      `the admin API of ${name}`,
      async () => {
        const pid = started.process?.pid;
        if (pid === undefined || !alive(pid)) throw new Error(`${name} exited:\n${(await this.log(name)).slice(-4000)}`);
        return (await this.api(name, 'GET', '/v1/workers', 2)).status === 200;
      },
      30_000,
    );
    return name;
  }

  pid(name: string): number | undefined {
    return this.#members.get(name)?.process?.pid;
  }

  /** SIGKILL a member: no goodbye to etcd, its lease has to expire. */
  async kill(name: string): Promise<void> {
    const member = this.#members.get(name)!;
    const pid = member.process?.pid;
    if (pid !== undefined && alive(pid)) signal(pid, 'SIGKILL');
    await member.process;
    member.process = undefined;
  }

  async stop(name: string): Promise<void> {
    const member = this.#members.get(name)!;
    const pid = member.process?.pid;
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    await Promise.race([member.process, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
    if (alive(pid)) signal(pid, 'SIGKILL');
    await member.process;
    member.process = undefined;
  }

  running(): string[] {
    return [...this.#members.values()].filter((m) => m.process?.pid !== undefined && alive(m.process.pid)).map((m) => m.name);
  }

  log(name: string): Promise<string> {
    return readFile(this.#members.get(name)!.logFile, 'utf8').catch(() => '');
  }

  api(name: string, method: string, path: string, timeoutS = 10): Promise<HttpAnswer> {
    const member = this.#members.get(name)!;
    return httpFrom(this.topology, 'orch', method, `http://[::1]:${CLUSTER_API_PORT + member.index}${path}`, { timeoutS });
  }

  /** What a member lists: its own resources, and the cluster as it sees it. */
  async list(name: string): Promise<{ resources: ClusterResource[]; cluster: ClusterView }> {
    const answer = await this.api(name, 'GET', '/v1/resources');
    if (answer.status !== 200) throw new Error(`${name}: GET /v1/resources answered ${answer.status}: ${answer.body}`);
    return answer.json<{ resources: ClusterResource[]; cluster: ClusterView }>();
  }

  /** Each running member's resource ids. */
  async ownership(): Promise<Map<string, string[]>> {
    const lists = await Promise.all(this.running().map(async (name) => [name, (await this.list(name)).resources.map((r) => r.id)] as const));
    return new Map(lists);
  }

  async resource(name: string, id: string): Promise<ClusterResource | undefined> {
    const answer = await this.api(name, 'GET', `/v1/resources/${id}`);
    return answer.status === 200 ? answer.json<{ resource: ClusterResource }>().resource : undefined;
  }

  /** Stop every member, every appliance of the lab's routers, etcd and the namespace. */
  async destroy(): Promise<void> {
    for (const name of this.running()) await this.stop(name).catch(() => undefined);
    const { stdout } = await run(['ip', 'netns', 'list'], { allowFailure: true });
    const present = new Set(stdout.split('\n').map((l) => l.split(' ')[0]!));
    for (const id of this.#routerIds) {
      const ns = `ak-router-${id}`;
      if (!present.has(ns)) continue;
      const pids = (await run(['ip', 'netns', 'pids', ns], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean).map(Number);
      for (const pid of pids) signal(pid, 'SIGTERM');
      await waitFor(`processes of ${ns} to exit`, () => pids.every((pid) => !alive(pid)), 5000).catch(() => {
        for (const pid of pids) signal(pid, 'SIGKILL');
      });
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    }
    await this.etcd.destroy();
    await this.topology.destroy();
    for (const member of this.#members.values()) await rm(member.statePath, { recursive: true, force: true });
    await rm(this.appliancesPath, { recursive: true, force: true });
  }
}
