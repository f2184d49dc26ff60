// Daemons are children of the agent (spec section 1): started in the
// foreground with their own config, pid and log paths, restarted with backoff
// when they die, stopped when the agent stops. The pid of every running child
// is recorded under the state directory so that an agent that was killed
// outright can find and end the daemons it left behind before starting its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic, readJsonIfExists } from '../engine/store.js';

export interface DaemonSpec {
  readonly name: string;
  readonly argv: readonly string[];
  /** Where the daemon's standard output and error go. */
  readonly logFile: string;
  /** Where the supervisor records the child's pid. */
  readonly pidFile: string;
  /** Resolves when the daemon is ready to serve (for example its control socket answers). */
  readonly ready?: () => Promise<void>;
}

export interface DaemonStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | null;
  readonly restarts: number;
  readonly started_at: string | null;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15_000;
/** A daemon that stayed up this long is healthy again: its backoff resets. */
const STABLE_MS = 30_000;
const STOP_GRACE_MS = 5000;

export class Daemon {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #restarts = 0;
  #backoff = MIN_BACKOFF_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt: Date | undefined;

  constructor(
    readonly spec: DaemonSpec,
    private readonly logger: Logger,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  status(): DaemonStatus {
    return {
      name: this.spec.name,
      running: this.running,
      pid: this.running ? (this.pid ?? null) : null,
      restarts: this.#restarts,
      started_at: this.#startedAt?.toISOString() ?? null,
    };
  }

  /** Start the daemon (ending a leftover copy first) and wait until it is ready. */
  async start(): Promise<void> {
    // A restart scheduled after a crash must not spawn a second copy.
    clearTimeout(this.#restartTimer);
    this.#stopping = false;
    await endLeftover(this.spec, this.logger);
    await this.#spawn();
    try {
      await this.spec.ready?.();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Send a signal (SIGHUP to re-read files, for example). */
  signal(name: NodeJS.Signals): void {
    if (this.running) this.#child!.kill(name);
  }

  /** Stop it for good: SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child && this.running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#child = undefined;
    await rm(this.spec.pidFile, { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async #spawn(): Promise<void> {
    await mkdir(dirname(this.spec.logFile), { recursive: true });
    await mkdir(dirname(this.spec.pidFile), { recursive: true });
    const [file, ...args] = this.spec.argv;
    const log = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file!, args, { stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#startedAt = new Date();
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    await spawned;
    await writeFileAtomic(this.spec.pidFile, `${JSON.stringify({ pid: child.pid, argv: this.spec.argv })}\n`);
    this.logger.info({ daemon: this.spec.name, pid: child.pid }, 'daemon started');
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child || this.#stopping) return;
    const upMs = Date.now() - (this.#startedAt?.getTime() ?? 0);
    if (upMs > STABLE_MS) this.#backoff = MIN_BACKOFF_MS;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.logger.warn({ daemon: this.spec.name, code, signal, restartInMs: delay }, 'daemon exited; restarting');
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#restarts++;
      this.#spawn().catch((error: unknown) => this.logger.error({ err: error, daemon: this.spec.name }, 'restart failed'));
    }, delay);
  }
}

/**
 * End every daemon an earlier agent process left behind under `stateDir`: a
 * supervisor record (`{pid, argv}` JSON, whatever the driver named the file)
 * in any folder one level below. Called once at start-up, so a leftover is
 * ended even when the new document no longer needs that daemon. Other files
 * (a daemon's own pid file, configs) are left alone.
 */
export async function endLeftoverDaemons(stateDir: string, logger: Logger): Promise<void> {
  let folders: string[];
  try {
    folders = (await readdir(stateDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(stateDir, e.name));
  } catch {
    return;
  }
  for (const folder of folders) {
    const files = await readdir(folder).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.pid') || f.endsWith('.json'))) {
      const path = join(folder, file);
      if (!(await readRecord(path))) continue;
      await endLeftover({ name: file.replace(/\.(pid|json)$/, ''), pidFile: path }, logger);
      await rm(path, { force: true });
    }
  }
}

/** A supervisor record, or undefined for a missing file or anything else. */
async function readRecord(path: string): Promise<{ pid: number; argv: string[] } | undefined> {
  const record = await readJsonIfExists<{ pid?: unknown; argv?: unknown }>(path).catch(() => undefined);
  if (!record || typeof record !== 'object' || typeof record.pid !== 'number' || !Array.isArray(record.argv)) return undefined;
  return { pid: record.pid, argv: record.argv as string[] };
}

/**
 * End a daemon left running by an earlier agent process (killed without a
 * chance to stop its children). The pid is trusted only if that process still
 * runs the very command line the agent recorded, so a recycled pid is never hit.
 */
async function endLeftover(spec: Pick<DaemonSpec, 'name' | 'pidFile'>, logger: Logger): Promise<void> {
  const record = await readRecord(spec.pidFile);
  if (!record) return;
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return;
  }
  if (cmdline.slice(1).join('\0') !== record.argv.slice(1).join('\0')) return;
  logger.warn({ daemon: spec.name, pid: record.pid }, 'ending a daemon left by an earlier agent');
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!isRunning(record.pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    process.kill(record.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/**
 * Whether `pid` still runs. An orphan that exited stays a zombie until init
 * reaps it (slowly on some machines): it counts as ended, since it holds no
 * socket, lease or address any more.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}
