// The orchestrator under test: started as a real process (bin/astara-orchestrator)
// in a throwaway "host" namespace of a Topology, with its own state directory,
// INI file and resource file. Guests and the upstream gateway are namespaces
// of the same Topology joined to the orchestrator's bridges by veth pairs.
// Appliance namespaces (`ak-router-<id>`, `ak-loadbalancer-<id>`) are global
// names: every resource id is unique to the run, and teardown removes every
// appliance namespace of the ids the lab used, even after a failure.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { httpFrom, REPO, type HttpAnswer, type RequestOptions } from './agent.js';
import { run, waitFor } from './exec.js';
import { alive, signal, Topology } from './topology.js';

export const MANAGEMENT_PREFIX = 'fdca:3ba5:a17a:acda::/64';
export const ORCHESTRATOR_ADDRESS = 'fdca:3ba5:a17a:acda::1';
export const API_PORT = 44250;

export const bridgeName = (networkId: string): string => `brq${networkId.slice(0, 11)}`;
export const tapName = (portId: string): string => `tap${portId.slice(0, 11)}`;
export const applianceNamespace = (routerId: string): string => `ak-router-${routerId}`;
/** The namespace of member `index` (0 or 1) of an HA router's pair. */
export const memberNamespace = (routerId: string, index: number): string => `${applianceNamespace(routerId)}_${index}`;
export const loadBalancerNamespace = (loadBalancerId: string): string => `ak-loadbalancer-${loadBalancerId}`;

/** A UUID whose first 11 characters differ from every other of this run (bridge and tap names use them). */
export function uniqueId(): string {
  return randomUUID();
}

export interface LabOptions {
  /** Extra namespaces (guests, upstream) besides `orch`. */
  readonly roles: readonly string[];
  /** `[section] option = value` lines, by section. */
  readonly ini?: Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>;
  readonly resources: unknown;
  /**
   * Where the admin API listens (`api_listen`; default `::1`) and its token
   * (written to a file named by `admin_token_file`; default none): api() and
   * ctl() use both.
   */
  readonly api?: { readonly listen?: string; readonly token?: string };
}

export class OrchestratorLab {
  #process: ResultPromise | undefined;
  #pid: number | undefined;
  /** The appliance namespace of every router and load balancer this lab ever wrote, for teardown. */
  readonly #applianceNamespaces = new Set<string>();
  #resources: unknown;
  #apiHost = '::1';
  #token: string | undefined;

  private constructor(
    readonly topology: Topology,
    readonly dir: string,
    readonly iniFile: string,
    readonly resourcesFile: string,
    readonly logFile: string,
    readonly statePath: string,
  ) {}

  static async create(options: LabOptions): Promise<OrchestratorLab> {
    const topology = await Topology.create({ namespaces: ['orch', ...options.roles], links: [] });
    const dir = join(topology.dir, 'orchestrator');
    await mkdir(dir, { recursive: true });
    // As short as a unique directory gets (`/tmp/XXXXXX`): the agents keep control sockets
    // (BIRD's, conntrackd's) deep below it, in directories named after the appliances, and a
    // socket path is limited to 107 bytes.
    const statePath = await mkdtemp(`${tmpdir()}${sep}`);
    const lab = new OrchestratorLab(topology, dir, join(dir, 'orchestrator.ini'), join(dir, 'resources.json'), join(dir, 'orchestrator.log'), statePath);
    try {
      const sections: Record<string, Record<string, string | number | boolean>> = {
        DEFAULT: {
          state_path: statePath,
          host: `test-${topology.prefix}`,
          api_listen: '::1',
          api_port: API_PORT,
          health_check_period: 3600,
          alive_timeout: 1,
          boot_timeout: 60,
          log_level: 'debug',
          num_worker_processes: 4,
          num_worker_threads: 2,
          management_prefix: MANAGEMENT_PREFIX,
          provider_rules_path: join(dir, 'provider_rules.json'),
        },
        local: { resources: lab.resourcesFile, management_address: ORCHESTRATOR_ADDRESS },
      };
      if (options.api?.listen !== undefined) {
        sections.DEFAULT!.api_listen = options.api.listen;
        lab.#apiHost = options.api.listen;
      }
      if (options.api?.token !== undefined) {
        await writeFile(join(dir, 'admin-token'), `${options.api.token}\n`, { mode: 0o600 });
        sections.DEFAULT!.admin_token_file = join(dir, 'admin-token');
        lab.#token = options.api.token;
      }
      for (const [section, values] of Object.entries(options.ini ?? {})) sections[section] = { ...sections[section], ...values };
      await lab.writeIni(sections);
      await lab.writeResources(options.resources);
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  async writeIni(sections: Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>): Promise<void> {
    const text = Object.entries(sections)
      .map(([section, values]) => [`[${section}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${String(v)}`)].join('\n'))
      .join('\n\n');
    await writeFile(this.iniFile, `${text}\n`);
  }

  get resources(): unknown {
    return this.#resources;
  }

  /** Replace the resource file, the way editors that write a new file and rename it over the old one do. */
  async writeResources(resources: unknown, how: 'rename' | 'in-place' = 'rename'): Promise<void> {
    this.#resources = resources;
    const { routers = [], loadbalancers = [] } = resources as { routers?: { id: string }[]; loadbalancers?: { id: string }[] };
    for (const router of routers) for (const ns of [applianceNamespace(router.id), memberNamespace(router.id, 0), memberNamespace(router.id, 1)]) this.#applianceNamespaces.add(ns);
    for (const lb of loadbalancers) this.#applianceNamespaces.add(loadBalancerNamespace(lb.id));
    const text = `${JSON.stringify(resources, null, 1)}\n`;
    if (how === 'in-place') {
      await writeFile(this.resourcesFile, text);
    } else {
      const temporary = `${this.resourcesFile}.new`;
      await writeFile(temporary, text);
      await rename(temporary, this.resourcesFile);
    }
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Remove this router's appliances at teardown too (a router that comes from a cloud, not from the resource file). */
  trackRouter(routerId: string): void {
    for (const ns of [applianceNamespace(routerId), memberNamespace(routerId, 0), memberNamespace(routerId, 1)]) this.#applianceNamespaces.add(ns);
  }

  /** Start bin/astara-orchestrator in the `orch` namespace and wait until its admin API answers. */
  async start(): Promise<void> {
    // nsenter, not `ip netns exec`: the orchestrator creates namespaces that must be usable outside it.
    const child = execa('nsenter', [`--net=/run/netns/${this.topology.ns('orch')}`, '--', process.execPath, join(REPO, 'bin/astara-orchestrator'), '--config-file', this.iniFile], {
      reject: false,
      stdin: 'ignore',
      stdout: { file: this.logFile, append: true },
      stderr: { file: this.logFile, append: true },
      env: { LC_ALL: 'C' },
    });
    this.#process = child;
    this.#pid = child.pid;
    await waitFor(
      'the orchestrator admin API',
      async () => {
        if (this.#pid === undefined || !alive(this.#pid)) throw new Error(`the orchestrator exited:\n${(await this.log()).slice(-4000)}`);
        return (await this.api('GET', '/v1/workers', { timeoutS: 2 })).status === 200;
      },
      30_000,
    );
  }

  /** SIGTERM and wait; the appliances keep running. */
  async stop(): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    await Promise.race([this.#process, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
    if (alive(pid)) {
      signal(pid, 'SIGKILL');
      await this.#process;
    }
    this.#pid = undefined;
    this.#process = undefined;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Wait for a JSON log line of the orchestrator that `match` accepts, logged after `since` lines. */
  async waitForLog(what: string, match: (line: Record<string, unknown>) => boolean, since = 0, timeoutMs = 15_000): Promise<number> {
    let found = -1;
    await waitFor(
      what,
      async () => {
        const lines = (await this.log()).split('\n');
        for (let i = since; i < lines.length; i++) {
          if (!lines[i]!.startsWith('{')) continue;
          if (match(JSON.parse(lines[i]!) as Record<string, unknown>)) {
            found = i;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
    );
    return found;
  }

  async logLines(): Promise<number> {
    return (await this.log()).split('\n').length - 1;
  }

  /** The admin API's base URL, as seen from the orchestrator's namespace. */
  get apiUrl(): string {
    return `http://[${this.#apiHost}]:${API_PORT}`;
  }

  api(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const auth = this.#token === undefined ? [] : [`Authorization: Bearer ${this.#token}`];
    return httpFrom(this.topology, 'orch', method, `${this.apiUrl}${path}`, { ...options, headers: [...auth, ...(options.headers ?? [])] });
  }

  /** Run bin/astara-ctl in the orchestrator's namespace. */
  async ctl(args: readonly string[], input?: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const token = this.#token === undefined ? [] : ['--token-file', join(this.dir, 'admin-token')];
    return this.topology.exec('orch', [process.execPath, join(REPO, 'bin/astara-ctl'), '--url', this.apiUrl, ...token, ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
      ...(input === undefined ? {} : { input }),
    });
  }

  async resource(id: string): Promise<ResourceState | undefined> {
    const answer = await this.api('GET', `/v1/resources/${id}`);
    return answer.status === 200 ? answer.json<{ resource: ResourceState }>().resource : undefined;
  }

  /** Wait until the resource satisfies `check`; fails with the last view seen. */
  async waitForResource(id: string, what: string, check: (r: ResourceState) => boolean, timeoutMs = 60_000): Promise<ResourceState> {
    let last: ResourceState | undefined;
    try {
      await waitFor(
        `${what} (resource ${id})`,
        async () => {
          last = await this.resource(id);
          return last !== undefined && check(last);
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nlast view: ${JSON.stringify(last, null, 1)?.slice(0, 3000)}\nlog tail:\n${(await this.log()).split('\n').slice(-30).join('\n')}`);
    }
    return last!;
  }

  waitConfigured(id: string, timeoutMs = 60_000): Promise<ResourceState> {
    return this.waitForResource(id, 'the router to be configured', (r) => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0, timeoutMs);
  }

  /**
   * Put a namespace of the topology on a network: a veth pair whose far end is
   * enslaved to the network's bridge in the orchestrator's namespace.
   */
  async attach(role: string, networkId: string, options: { ifname?: string; mac?: string; addresses?: readonly string[] } = {}): Promise<void> {
    const ifname = options.ifname ?? 'eth0';
    const hostEnd = `v${role}${ifname}`.slice(0, 15);
    const orch = this.topology.ns('orch');
    await waitFor(`bridge ${bridgeName(networkId)}`, async () => (await run(['ip', '-n', orch, 'link', 'show', bridgeName(networkId)], { allowFailure: true })).exitCode === 0);
    await this.topology.ip(role, ['link', 'add', ifname, 'type', 'veth', 'peer', 'name', hostEnd, 'netns', orch]);
    if (options.mac) await this.topology.ip(role, ['link', 'set', ifname, 'address', options.mac]);
    await this.topology.ip(role, ['link', 'set', ifname, 'up']);
    for (const address of options.addresses ?? []) await this.topology.ip(role, ['addr', 'add', address, 'dev', ifname, ...(address.includes(':') ? ['nodad'] : [])]);
    await run(['ip', '-n', orch, 'link', 'set', hostEnd, 'master', bridgeName(networkId), 'up']);
  }

  /** Pids of every process in a router's appliance namespace. */
  appliancePids(routerId: string): Promise<number[]> {
    return namespacePids(applianceNamespace(routerId));
  }

  /** The agent's pid inside an appliance, as the orchestrator reports it. */
  async agentPid(routerId: string): Promise<number> {
    const view = await this.resource(routerId);
    const pid = view?.appliances[0]?.details.agent_pid;
    if (typeof pid !== 'number') throw new Error(`no agent pid for ${routerId}: ${JSON.stringify(view)}`);
    return pid;
  }

  async namespaces(): Promise<string[]> {
    const { stdout } = await run(['ip', 'netns', 'list']);
    return stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  }

  /** Links in the orchestrator's namespace whose names start with `prefix`. */
  async hostLinks(prefix: string): Promise<string[]> {
    const { stdout } = await run(['ip', '-n', this.topology.ns('orch'), '-j', 'link', 'show']);
    return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith(prefix));
  }

  /** Stop the orchestrator, every appliance of the lab's routers and load balancers, and the topology. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    const present = new Set(await this.namespaces().catch(() => [] as string[]));
    for (const ns of this.#applianceNamespaces) {
      if (!present.has(ns)) continue;
      const pids = await namespacePids(ns);
      for (const pid of pids) signal(pid, 'SIGTERM');
      await waitFor(`processes of ${ns} to exit`, () => pids.every((pid) => !alive(pid)), 5000).catch(() => {
        for (const pid of pids) signal(pid, 'SIGKILL');
      });
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    }
    await this.topology.destroy();
    await rm(this.statePath, { recursive: true, force: true });
  }
}

async function namespacePids(namespace: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', namespace], { allowFailure: true });
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

export interface ResourceState {
  readonly id: string;
  readonly driver: string;
  readonly tenant_id: string;
  readonly state: string;
  readonly instance_state: string;
  readonly queue_length: number;
  readonly boot_attempts: number;
  readonly ha: { requested: boolean; pair: boolean };
  readonly appliances: readonly {
    name: string;
    id: string;
    health: string;
    management_address: string | null;
    booted_at: string;
    ha: { state: string; since: string | null; peer: string | null } | null;
    details: Record<string, unknown>;
  }[];
  readonly last_push: { ok: boolean; generation: number | null; at: string } | null;
  readonly last_error: { at: string; message: string } | null;
  readonly debug: { enabled: boolean; scope: string | null; reason: string | null };
  readonly last_document?: unknown;
  readonly transitions?: readonly { from: string; to: string; action: string; instance_state: string }[];
}
