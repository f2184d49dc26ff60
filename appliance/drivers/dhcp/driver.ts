// The host side of DHCP: one supervised dnsmasq in the foreground, with its
// own files under `<stateDir>/dnsmasq/`. The files on disk are the record of
// what dnsmasq serves: a changed main config restarts it, changed hosts or
// options files are re-read on SIGHUP, and an unchanged set runs nothing.
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Applied } from '../../engine/subsystem.js';
import { writeFileAtomic } from '../../engine/store.js';
import type { CommandRunner } from '../../host/exec.js';
import type { DhcpDesired, DnsmasqPaths } from './render.js';

/** What the driver needs of a supervised daemon (the real one is `Daemon`). */
export interface DaemonControl {
  readonly running: boolean;
  restart(): Promise<void>;
  stop(): Promise<void>;
  signal(name: NodeJS.Signals): void;
}

export interface DnsmasqFiles extends DnsmasqPaths {
  readonly dir: string;
  readonly config: string;
  /** Where the supervisor records the pid (and argv) of the running dnsmasq. */
  readonly pid: string;
  readonly log: string;
  /** The rendered config plus host and option lines, for `dnsmasq --test`. */
  readonly candidate: string;
}

export function dnsmasqFiles(stateDir: string): DnsmasqFiles {
  const dir = join(stateDir, 'dnsmasq');
  return {
    dir,
    config: join(dir, 'dnsmasq.conf'),
    hosts: join(dir, 'hosts'),
    options: join(dir, 'options'),
    leases: join(dir, 'leases'),
    pid: join(dir, 'dnsmasq.pid'),
    log: join(dir, 'dnsmasq.log'),
    candidate: join(dir, 'check.conf'),
  };
}

export function dnsmasqArgv(files: DnsmasqFiles): string[] {
  return ['dnsmasq', '--keep-in-foreground', `--conf-file=${files.config}`];
}

/** The three files as they are on disk; undefined where a file is absent. */
interface OnDisk {
  readonly config: string | undefined;
  readonly hosts: string | undefined;
  readonly options: string | undefined;
}

type Action = 'none' | 'start' | 'restart' | 'reread' | 'stop';

const READY_TIMEOUT_MS = 10_000;

export class DnsmasqDriver {
  #logOffset = 0;

  constructor(
    readonly files: DnsmasqFiles,
    private readonly daemon: DaemonControl,
  ) {}

  /**
   * dnsmasq's own parser on everything it will read: the main config with the
   * host and option lines inlined as directives. Only the candidate file is
   * written; dnsmasq's live files are untouched.
   */
  async check(desired: DhcpDesired, runner: CommandRunner): Promise<void> {
    if (desired.config === undefined) return;
    // Files identical to the live ones passed this check before they were written.
    const live = await this.#read();
    if (live.config === desired.config && live.hosts === desired.hosts && live.options === desired.options) return;
    const candidate = [
      desired.config,
      ...nonEmpty(desired.hosts).map((line) => `dhcp-host=${line}`),
      ...nonEmpty(desired.options).map((line) => `dhcp-option=${line}`),
    ].join('\n');
    await writeFileAtomic(this.files.candidate, `${candidate}\n`);
    try {
      const result = await runner.read(['dnsmasq', '--test', `--conf-file=${this.files.candidate}`], { allowFailure: true });
      if (result.exitCode !== 0) throw new Error(`dnsmasq refused the configuration: ${(result.stderr || result.stdout).trim()}`);
    } finally {
      await rm(this.files.candidate, { force: true });
    }
  }

  async apply(desired: DhcpDesired, logger: Logger): Promise<Applied<never>> {
    const before = await this.#read();
    const wasRunning = this.daemon.running;
    const configChanged = before.config !== desired.config;
    const dataChanged = before.hosts !== desired.hosts || before.options !== desired.options;

    let action: Action;
    if (desired.config === undefined) action = wasRunning || before.config !== undefined ? 'stop' : 'none';
    else if (!wasRunning) action = 'start';
    else if (configChanged) action = 'restart';
    else if (dataChanged) action = 'reread';
    else action = 'none';
    if (action === 'none') return { changed: false };

    const undo = async () => {
      // Back to the files and the process state from before this apply.
      await this.#write(before);
      if (!wasRunning || before.config === undefined) await this.#stop();
      else if (action === 'reread') await this.#reread();
      else await this.#start();
      logger.info({ undone: action }, 'dnsmasq restored');
    };
    try {
      if (action === 'stop') {
        await this.#stop();
        await this.#write({ config: undefined, hosts: undefined, options: undefined });
      } else {
        await this.#write(desired);
        // dnsmasq re-reads the hosts and options files on SIGHUP; the
        // ranges and interfaces of the main config need a new process.
        if (action === 'reread') await this.#reread();
        else await this.#start();
      }
    } catch (error) {
      await undo().catch((undoError: unknown) => logger.error({ err: undoError }, 'restoring dnsmasq failed'));
      throw error;
    }
    logger.info({ action }, 'dnsmasq updated');
    return { changed: true, undo };
  }

  /**
   * Resolves once dnsmasq has logged that it started (its sockets are open);
   * rejects if it exits first, as it does for an interface it cannot use.
   */
  ready(): Promise<void> {
    return this.#awaitLog('start', /dnsmasq\[\d+\]: started, version/);
  }

  async #start(): Promise<void> {
    this.#logOffset = await this.#logSize();
    // restart() rather than start(): it also cancels a pending restart of a
    // copy that died, so two never run at once.
    await this.daemon.restart();
  }

  /**
   * SIGHUP, then wait until dnsmasq has read the options file (it reads the
   * hosts file just before), so the apply ends when the new entries are live
   * and not while a request could still meet the old ones.
   */
  async #reread(): Promise<void> {
    this.#logOffset = await this.#logSize();
    this.daemon.signal('SIGHUP');
    await this.#awaitLog('re-read its files', new RegExp(`: read ${escapeRegExp(this.files.options)}$`, 'm'));
  }

  async #awaitLog(what: string, pattern: RegExp): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    // Short polls: the apply waits on this, and dnsmasq is usually ready within milliseconds.
    for (let delay = 2; ; delay = Math.min(delay * 2, 20)) {
      const log = await this.#logSince(this.#logOffset);
      if (pattern.test(log)) return;
      if (!this.daemon.running) throw new Error(`dnsmasq exited before it could ${what}: ${lastLines(log)}`);
      if (Date.now() > deadline) throw new Error(`dnsmasq did not ${what} within ${READY_TIMEOUT_MS} ms: ${lastLines(log)}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #logSize(): Promise<number> {
    return stat(this.files.log).then(
      (s) => s.size,
      () => 0,
    );
  }

  async #stop(): Promise<void> {
    await this.daemon.stop();
  }

  async #read(): Promise<OnDisk> {
    const [config, hosts, options] = await Promise.all([this.files.config, this.files.hosts, this.files.options].map(readIfExists));
    return { config, hosts, options };
  }

  /** Write (or remove, for undefined) only the files whose text differs. */
  async #write(target: OnDisk): Promise<void> {
    const current = await this.#read();
    const pairs: [string, string | undefined, string | undefined][] = [
      [this.files.config, current.config, target.config],
      [this.files.hosts, current.hosts, target.hosts],
      [this.files.options, current.options, target.options],
    ];
    for (const [path, now, wanted] of pairs) {
      if (now === wanted) continue;
      if (wanted === undefined) await rm(path, { force: true });
      else await writeFileAtomic(path, wanted);
    }
  }

  async #logSince(offset: number): Promise<string> {
    let handle;
    try {
      handle = await open(this.files.log, 'r');
    } catch {
      return '';
    }
    try {
      const { size } = await handle.stat();
      // A log truncated (rotated) since the offset was taken is read whole.
      const from = size < offset ? 0 : offset;
      const buffer = Buffer.alloc(size - from);
      await handle.read(buffer, 0, buffer.length, from);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function nonEmpty(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || '(no output)';
}
