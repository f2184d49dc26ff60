// Runs the real agent inside a namespace of a topology, in its own mount and
// UTS namespaces with a private /run (so a hostname change or a file under
// /run can never reach the host), and talks to it over HTTP from another
// namespace with curl, as an orchestrator on the management network would.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_API_PORT } from '../../contract/index.js';
import type { ResultPromise } from 'execa';
import { spawnInNs, waitFor } from './exec.js';
import { alive, signal, type Topology } from './topology.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SANDBOX_INIT = join(REPO, 'test/harness/sandbox-init.sh');

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  json<T = unknown>(): T;
}

export interface RequestOptions {
  readonly body?: string | object;
  readonly contentType?: string | null;
  readonly headers?: readonly string[];
  readonly timeoutS?: number;
  /** More curl arguments (TLS client certificates, for example). */
  readonly curlArgs?: readonly string[];
}

/** One HTTP request made with curl from inside namespace `role`; status 0 means no connection. */
export async function httpFrom(topology: Topology, role: string, method: string, url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const argv = ['curl', '-sS', '-g', '-X', method, '--max-time', String(options.timeoutS ?? 60), '-w', '\n%{content_type}\n%{http_code}'];
  let input: string | undefined;
  if (options.body !== undefined) {
    input = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    argv.push('--data-binary', '@-');
    const type = options.contentType === undefined ? 'application/json' : options.contentType;
    argv.push('-H', type === null ? 'Content-Type:' : `Content-Type: ${type}`);
  }
  for (const header of options.headers ?? []) argv.push('-H', header);
  argv.push(...(options.curlArgs ?? []));
  if (method === 'HEAD') argv.splice(argv.indexOf('-X'), 2, '-I');
  argv.push(url);
  const result = await topology.exec(role, argv, { input, allowFailure: true, timeoutMs: ((options.timeoutS ?? 60) + 5) * 1000 });
  const lines = result.stdout.split('\n');
  const status = Number(lines.pop());
  const contentType = lines.pop() ?? '';
  const body = lines.join('\n');
  return {
    status: Number.isFinite(status) ? status : 0,
    contentType,
    body,
    json<T>() {
      return JSON.parse(body) as T;
    },
  };
}

export interface AgentOptions {
  /** Namespace role the agent runs in. */
  readonly role?: string;
  /** Addresses to listen on; empty means "the recorded management address". */
  readonly listen?: readonly string[];
  readonly port?: number;
  readonly stateDir?: string;
  /** Namespace role from which the harness talks to the agent. */
  readonly clientRole?: string;
  /** Address the harness uses to reach the agent. */
  readonly connectAddress?: string;
  readonly extraArgs?: readonly string[];
  /** Talk HTTPS, with these curl arguments (CA, client certificate and key). */
  readonly tlsCurlArgs?: readonly string[];
}

export class Agent {
  private constructor(
    readonly topology: Topology,
    readonly process: ResultPromise,
    readonly pid: number,
    readonly stateDir: string,
    readonly logFile: string,
    readonly baseUrl: string,
    readonly clientRole: string,
    readonly curlArgs: readonly string[],
  ) {}

  /** Start the agent and wait until its API answers (or it exits). */
  static async start(topology: Topology, options: AgentOptions = {}): Promise<Agent> {
    const role = options.role ?? 'router';
    const port = options.port ?? DEFAULT_API_PORT;
    const stateDir = options.stateDir ?? join(topology.dir, 'agent-state');
    const logFile = join(topology.dir, `agent-${role}.log`);
    const listen = options.listen ?? [];
    const argv = [
      'unshare', '--mount', '--uts', '--propagation', 'private', '--',
      'sh', SANDBOX_INIT,
      // Through its shebang, so the agent runs with the node flags it ships with.
      join(REPO, 'bin/astara-appliance'), 'serve',
      ...listen.flatMap((address) => ['--listen', address]),
      '--port', String(port), '--state-dir', stateDir, '--log-level', 'debug',
      ...(options.extraArgs ?? []),
    ];
    const child = spawnInNs(topology.ns(role), argv, logFile);
    const pid = child.pid;
    if (pid === undefined) throw new Error('the agent did not start');
    const address = options.connectAddress ?? listen[0];
    if (!address) throw new Error('connectAddress is needed when the agent listens on its recorded address');
    const host = address.includes(':') ? `[${address}]` : address;
    const scheme = options.tlsCurlArgs ? 'https' : 'http';
    const agent = new Agent(topology, child, pid, stateDir, logFile, `${scheme}://${host}:${port}`, options.clientRole ?? 'mgmt', options.tlsCurlArgs ?? []);
    try {
      await waitFor('the agent to answer GET /v1/base/', async () => {
        if (!alive(pid)) throw new Error(`the agent exited during start-up:\n${await agent.log()}`);
        return (await agent.request('GET', '/v1/base/', { timeoutS: 2 })).status === 200;
      }, 30_000);
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    return httpFrom(this.topology, this.clientRole, method, `${this.baseUrl}${path}`, { ...options, curlArgs: [...this.curlArgs, ...(options.curlArgs ?? [])] });
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** SIGTERM, then wait for the exit; returns the exit code. */
  async stop(): Promise<number | undefined> {
    signal(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([this.process, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 10_000, undefined)))]);
    clearTimeout(timer);
    if (outcome === undefined) {
      signal(this.pid, 'SIGKILL');
      return (await this.process).exitCode;
    }
    return outcome.exitCode;
  }

  /** SIGKILL: a crash, leaving whatever the agent started. */
  async kill(): Promise<void> {
    signal(this.pid, 'SIGKILL');
    await this.process;
  }
}
