// Daemons are children of the agent (spec section 1), started in the
// foreground with their files, supervisor record and log in their own folder
// under the state directory. While the agent wants a daemon, the supervisor
// keeps it running: a daemon that dies, or that cannot start (its start-up
// fails or it never gets ready), is tried again with backoff, for as long as
// it takes, and its status says it is down and why. Stopped when the agent
// stops; killed by the kernel when the agent dies first (a SIGKILL gives the
// agent no chance to stop them). The record of every running child lets the
// next agent end a daemon that escaped both.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../engine/engine.js';
import { readJsonIfExists, writeFileAtomic } from '../engine/store.js';

/** The name of every daemon's supervisor record (its pid and command line), in the daemon's folder. */
export const RECORD_FILE = 'daemon.json';

/** How the supervisor knows a started daemon serves. */
export type Readiness =
  /** A line the daemon logs once it serves, looked for in what it logged since it was started. */
  | { readonly logLine: RegExp }
  /** A probe that answers true once the daemon serves (its control socket greets, for example). */
  | { readonly probe: () => Promise<boolean> };

export interface DaemonSpec {
  readonly name: string;
  readonly argv: readonly string[];
  /** Where the daemon's standard output and error go. */
  readonly logFile: string;
  /** Where the supervisor records the running child (`RECORD_FILE` in the daemon's folder). */
  readonly recordFile: string;
  readonly ready?: Readiness;
  /** Run before every try to start the daemon. */
  readonly beforeStart?: () => Promise<void>;
}

export interface DaemonStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | null;
  /** Tries the supervisor made on its own, after the daemon died or could not start. */
  readonly restarts: number;
  readonly started_at: string | null;
  /** Why the daemon is down (or why its last try failed); null while it runs or when it was stopped on purpose. */
  readonly last_error: string | null;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** A daemon that stayed up this long is healthy again: its backoff resets. */
const STABLE_MS = 30_000;
const STOP_GRACE_MS = 5000;
const READY_TIMEOUT_MS = 10_000;
/**
 * Put before every daemon's command line: setpriv (util-linux) asks the
 * kernel to SIGKILL the daemon when its parent, the agent, dies, and then
 * executes the daemon in its place (same pid, the daemon's own command line).
 */
const DIE_WITH_THE_AGENT = ['setpriv', '--pdeathsig', 'KILL', '--'];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class Daemon {
  #child: ChildProcess | undefined;
  #exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  #wanted = false;
  /** A try is waiting for the daemon to get ready: an exit now is that try's failure, not a crash. */
  #starting = false;
  #restarts = 0;
  #backoff = MIN_BACKOFF_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  /** The retry scheduled last; start() and stop() cancel it, also when its timer has fired already. */
  #retryToken: symbol | undefined;
  #startedAt: Date | undefined;
  #lastError: string | undefined;
  /** start, stop and the supervisor's own tries run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spec: DaemonSpec,
    private readonly logger: Logger,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.#child!.pid : undefined;
  }

  /** Up and serving: a copy that is still starting (not ready yet) does not count. */
  get running(): boolean {
    return this.#child !== undefined && !this.#starting && isLive(this.#child);
  }

  /** Whether the agent wants it running: from start() to stop(), also while it is down between tries. */
  get wanted(): boolean {
    return this.#wanted;
  }

  status(): DaemonStatus {
    return {
      name: this.spec.name,
      running: this.running,
      pid: this.pid ?? null,
      restarts: this.#restarts,
      started_at: this.#startedAt?.toISOString() ?? null,
      last_error: this.#lastError ?? null,
    };
  }

  /**
   * Run the daemon (again): end the running copy (or one an earlier agent
   * left), start a new one and wait until it is ready. A daemon that cannot
   * start stays wanted: this throws why, and the supervisor keeps trying.
   */
  start(): Promise<void> {
    return this.#serially(async () => {
      this.#wanted = true;
      this.#cancelRetry();
      await this.#end();
      await this.#try();
    });
  }

  /** Stop it for good: SIGTERM, then SIGKILL after a grace period; no more tries. */
  stop(): Promise<void> {
    return this.#serially(async () => {
      this.#wanted = false;
      this.#cancelRetry();
      this.#backoff = MIN_BACKOFF_MS;
      this.#lastError = undefined;
      await this.#end();
    });
  }

  /** Send a signal (SIGHUP to re-read files, for example). */
  signal(name: NodeJS.Signals): void {
    if (this.running) this.#child!.kill(name);
  }

  #serially<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** One try: spawn, wait until ready. A failed try ends what it started and schedules the next. */
  async #try(): Promise<void> {
    this.#starting = true;
    try {
      await this.spec.beforeStart?.();
      const logOffset = await fileSize(this.spec.logFile);
      const child = await this.#spawn();
      await this.#awaitReady(logOffset);
      this.logger.debug({ daemon: this.spec.name, pid: child.pid }, 'daemon ready');
      this.#lastError = undefined;
    } catch (error) {
      this.#lastError = messageOf(error);
      await this.#end();
      this.#retryLater();
      throw error;
    } finally {
      this.#starting = false;
    }
  }

  #retryLater(): void {
    if (!this.#wanted) return;
    this.#cancelRetry();
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.logger.warn({ daemon: this.spec.name, error: this.#lastError, retryInMs: delay }, 'daemon down; trying again');
    const token = Symbol('retry');
    this.#retryToken = token;
    this.#retryTimer = setTimeout(() => void this.#serially(() => (this.#retryToken === token ? this.#retry() : Promise.resolve())), delay);
    // The agent's servers keep the process alive, not a pending retry.
    this.#retryTimer.unref();
  }

  #cancelRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryToken = undefined;
  }

  async #retry(): Promise<void> {
    if (!this.#wanted || this.running) return;
    this.#restarts++;
    try {
      await this.#try();
      this.logger.info({ daemon: this.spec.name, pid: this.pid, restarts: this.#restarts }, 'daemon restarted');
    } catch (error) {
      this.logger.error({ err: error, daemon: this.spec.name }, 'daemon could not be restarted');
    }
  }

  async #spawn(): Promise<ChildProcess> {
    await mkdir(dirname(this.spec.logFile), { recursive: true });
    await mkdir(dirname(this.spec.recordFile), { recursive: true });
    const [file, ...args] = [...DIE_WITH_THE_AGENT, ...this.spec.argv];
    const log = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file!, args, { stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#startedAt = new Date();
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.once('exit', (code, signal) => this.#onExit(child, { code, signal }));
    child.on('error', (error) => this.logger.error({ err: error, daemon: this.spec.name }, 'daemon process error'));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await writeFileAtomic(this.spec.recordFile, `${JSON.stringify({ pid: child.pid, argv: this.spec.argv })}\n`);
    this.logger.info({ daemon: this.spec.name, pid: child.pid }, 'daemon started');
    return child;
  }

  /** Resolves once the daemon serves; rejects, with the end of its log, if it exits first or takes too long. */
  async #awaitReady(logOffset: number): Promise<void> {
    const ready = this.spec.ready;
    if (!ready) return;
    const name = this.spec.name;
    let over = false;
    const exited = this.#exited.then(async (exit): Promise<never> => {
      throw new Error(`${name} exited during start-up (${describeExit(exit)}): ${lastLines(await logSince(this.spec.logFile, logOffset))}`);
    });
    const poll = async () => {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      // Short polls: an apply waits on this, and daemons are usually ready within milliseconds.
      for (let delay = 2; !over; delay = Math.min(delay * 2, 20)) {
        const served = 'logLine' in ready ? ready.logLine.test(await logSince(this.spec.logFile, logOffset)) : await ready.probe();
        if (served) return;
        if (Date.now() > deadline) {
          throw new Error(`${name} did not get ready within ${READY_TIMEOUT_MS} ms: ${lastLines(await logSince(this.spec.logFile, logOffset))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    };
    try {
      await Promise.race([poll(), exited]);
    } finally {
      over = true;
      // Whichever lost the race settles unobserved.
      exited.catch(() => undefined);
    }
  }

  #onExit(child: ChildProcess, exit: Exit): void {
    if (child !== this.#child || this.#starting || !this.#wanted) return;
    if (Date.now() - (this.#startedAt?.getTime() ?? 0) > STABLE_MS) this.#backoff = MIN_BACKOFF_MS;
    this.#lastError = `exited (${describeExit(exit)})`;
    this.#retryLater();
  }

  /** End the running copy (ours, or one an earlier agent left, found by its record) and drop the record. */
  async #end(): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    // Forgotten first, so its exit is not taken for a crash.
    this.#child = undefined;
    if (!child) {
      await endLeftover(this.spec, this.logger);
    } else if (isLive(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.spec.recordFile, { force: true });
  }
}

function isLive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function describeExit({ code, signal }: Exit): string {
  return code !== null ? `exit code ${code}` : `signal ${signal ?? 'unknown'}`;
}

/**
 * End every daemon an earlier agent process left behind under `stateDir`: a
 * supervisor record (`RECORD_FILE`) in any folder one level below. Called
 * once at start-up, so a leftover is ended even when the new document no
 * longer needs that daemon.
 */
export async function endLeftoverDaemons(stateDir: string, logger: Logger): Promise<void> {
  let folders: string[];
  try {
    folders = (await readdir(stateDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const folder of folders) {
    const recordFile = join(stateDir, folder, RECORD_FILE);
    await endLeftover({ name: folder, recordFile }, logger);
    await rm(recordFile, { force: true });
  }
}

/** A supervisor record, or undefined for a missing file or anything else. */
async function readRecord(path: string): Promise<{ pid: number; argv: string[] } | undefined> {
  const record = await readJsonIfExists<{ pid?: unknown; argv?: unknown }>(path).catch(() => undefined);
  if (!record || typeof record !== 'object' || typeof record.pid !== 'number' || !Array.isArray(record.argv)) return undefined;
  return { pid: record.pid, argv: record.argv as string[] };
}

/**
 * End a daemon left running by an earlier agent process. The pid is trusted
 * only if that process still runs the very command line the agent recorded,
 * so a recycled pid is never hit.
 */
async function endLeftover(spec: Pick<DaemonSpec, 'name' | 'recordFile'>, logger: Logger): Promise<void> {
  const record = await readRecord(spec.recordFile);
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

/** The size of a log file, 0 when it does not exist yet: an offset to read what comes after. */
export function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** What a log file got since `offset` (all of it if it was truncated since); '' when it does not exist. */
export async function logSince(path: string, offset: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const from = size < offset ? 0 : offset;
    const buffer = Buffer.alloc(size - from);
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The last lines of a daemon's output, for an error message. */
export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || '(no output)';
}
