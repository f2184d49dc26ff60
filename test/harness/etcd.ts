// A real etcd cluster for the tests (Debian's etcd-server 3.4): `size`
// members on 127.0.0.1, in the root namespace or inside a namespace the test
// made, each with its own ports and data directory under a temporary
// directory. Members are killed and restarted one by one or all at once, by
// PID; destroy() stops them all and removes their data.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { waitFor } from './exec.js';
import { alive, signal } from './topology.js';

export interface EtcdClusterOptions {
  readonly size?: number;
  /** Run inside this network namespace (its loopback must be up); the root namespace otherwise. */
  readonly namespace?: string;
  /** Client ports are basePort, basePort+2, ...; peer ports one above each. Clear of etcd's 2379/2380 and of the other tests. */
  readonly basePort?: number;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  process: ResultPromise | undefined;
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
    private readonly namespace: string | undefined,
  ) {}

  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const size = options.size ?? 3;
    const base = options.basePort ?? 32379;
    const dir = await mkdtemp(join(tmpdir(), 'astara-etcd-'));
    const members = Array.from({ length: size }, (_, i) => ({
      name: `etcd${i}`,
      clientPort: base + 2 * i,
      peerPort: base + 2 * i + 1,
      dataDir: join(dir, `etcd${i}`),
      logFile: join(dir, `etcd${i}.log`),
      process: undefined,
    }));
    const cluster = new EtcdCluster(dir, members, options.namespace);
    try {
      for (let i = 0; i < size; i++) cluster.#spawn(i);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** `http://127.0.0.1:<port>` of every member. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** The orchestrator's `[coordination] url` for every member. */
  get url(): string {
    return this.members.map((m) => `etcd3+http://127.0.0.1:${m.clientPort}`).join(',');
  }

  #spawn(index: number): void {
    const member = this.members[index]!;
    const initialCluster = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    const argv = [
      'etcd',
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${member.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${member.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${member.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `astara-test-${process.pid}`,
      // Fast elections keep a member's death short; small WAL and snapshots keep the test light.
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--snapshot-count', '10000',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ];
    const command = this.namespace ? ['nsenter', `--net=/run/netns/${this.namespace}`, '--', ...argv] : argv;
    member.process = execa(command[0]!, command.slice(1), {
      reject: false,
      stdin: 'ignore',
      stdout: { file: member.logFile, append: true },
      stderr: { file: member.logFile, append: true },
      env: { LC_ALL: 'C' },
    });
  }

  /** Whether a member answers /health with a quorum behind it. */
  async #healthy(index: number): Promise<boolean> {
    const member = this.members[index]!;
    const argv = ['curl', '-sf', '--max-time', '1', `http://127.0.0.1:${member.clientPort}/health`];
    const command = this.namespace ? ['nsenter', `--net=/run/netns/${this.namespace}`, '--', ...argv] : argv;
    const result = await execa(command[0]!, command.slice(1), { reject: false });
    return result.exitCode === 0 && result.stdout.includes('"health":"true"');
  }

  /** Wait until every running member answers healthy. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'the etcd members to be healthy',
      async () => {
        for (let i = 0; i < this.members.length; i++) {
          const member = this.members[i]!;
          if (!member.process) continue;
          if (member.process.pid === undefined || !alive(member.process.pid)) throw new Error(`etcd member ${member.name} exited:\n${await this.log(i)}`);
          if (!(await this.#healthy(i))) return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  pid(index: number): number | undefined {
    return this.members[index]?.process?.pid;
  }

  log(index: number): Promise<string> {
    return readFile(this.members[index]!.logFile, 'utf8').then((text) => text.slice(-3000)).catch(() => '');
  }

  /** SIGKILL one member and wait for it to be gone. */
  async kill(index: number): Promise<void> {
    const member = this.members[index]!;
    const pid = member.process?.pid;
    if (pid !== undefined && alive(pid)) {
      signal(pid, 'SIGKILL');
      await member.process;
    }
    member.process = undefined;
  }

  /** Start a member that was killed again, with its data (it rejoins the cluster). */
  async restart(index: number): Promise<void> {
    if (this.members[index]!.process) return;
    this.#spawn(index);
    await this.waitHealthy();
  }

  /** SIGTERM every member and wait: etcd entirely stopped. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.members.map(async (member) => {
        const pid = member.process?.pid;
        if (pid !== undefined && alive(pid)) {
          signal(pid, 'SIGTERM');
          await Promise.race([member.process, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
          if (alive(pid)) signal(pid, 'SIGKILL');
          await member.process;
        }
        member.process = undefined;
      }),
    );
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) if (!this.members[i]!.process) this.#spawn(i);
    await this.waitHealthy();
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    await rm(this.dir, { recursive: true, force: true });
  }
}
