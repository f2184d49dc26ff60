// One lifecycle for every daemon the agent configures (dnsmasq and BIRD
// today; nginx, keepalived, conntrackd and strongSwan next). A subsystem
// gives the daemon's definition (its files, command line, checker, how it
// loads a change, how it shows it is ready) and renders the files' text; this
// does the rest, the same way for every daemon:
//
// - check: the daemon's own checker on a candidate file, before anything is
//   replaced (skipped when the files equal the live ones, which passed it);
// - apply: write only the files whose text changed (atomically), then start
//   the daemon if it is not running, restart it if a file that needs it
//   changed, or make it load the change (a signal it answers by re-reading,
//   or a control command); wait until it serves; no desired files means no
//   daemon (stopped, files removed);
// - undo: the files and the process state as they were before that apply;
//   an apply that fails undoes itself before it throws.
//
// The files on disk are the record of what the daemon was given: there is
// nothing to remember in the engine's memory. A daemon the agent wants but
// that cannot start is not left down: the supervisor keeps trying.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../engine/engine.js';
import { removeFile, replaceFile, type FileReplacement } from '../engine/store.js';
import type { Applied } from '../engine/subsystem.js';
import type { DaemonRegistry } from './daemons.js';
import type { CommandResult, CommandRunner } from './exec.js';
import { Daemon, fileSize, lastLines, logSince, RECORD_FILE, type Readiness } from './supervisor.js';

/** Where a daemon keeps everything: `<stateDir>/<name>/`. */
export interface DaemonFolder {
  readonly name: string;
  readonly dir: string;
  /** The daemon's standard output and error. */
  readonly log: string;
  /** The supervisor's record of the running child. */
  readonly record: string;
  /** What the checker reads; exists only while a check runs. */
  readonly candidate: string;
}

export function daemonFolder(stateDir: string, name: string): DaemonFolder {
  const dir = join(stateDir, name);
  return { name, dir, log: join(dir, `${name}.log`), record: join(dir, RECORD_FILE), candidate: join(dir, 'check.conf') };
}

/** What a changed file takes to reach the running daemon: a reload (see `Reload`) or a new process. */
export type FileChange = 'reload' | 'restart';

/** How a running daemon loads changed files without a new process. */
export type Reload =
  /** It re-reads them on a signal and logs a line matching `confirmed` once it has. */
  | { readonly signal: NodeJS.Signals; readonly confirmed: RegExp }
  /** A control command loads them; `accepted` tells success from the command's result. */
  | { readonly command: readonly string[]; readonly accepted: (result: CommandResult) => boolean };

/** The text of each file, by its name in the daemon's folder. */
export type DaemonFiles<File extends string> = Readonly<Record<File, string>>;

export interface DaemonDefinition<File extends string> {
  readonly folder: DaemonFolder;
  /** Every file the daemon reads from its folder, and what a change of it takes. */
  readonly files: Readonly<Record<File, FileChange>>;
  /** In the foreground, reading only files of its folder. */
  readonly argv: readonly string[];
  /** The daemon's own checker; without one (conntrackd has none) only the rendering of validated values stands behind the files. */
  readonly checker?: {
    /** One file with everything the checker must see (the files may reference each other). */
    candidate(files: DaemonFiles<File>): string;
    argv(candidatePath: string): readonly string[];
  };
  /** Without one, every change restarts the daemon. */
  readonly reload?: Reload;
  readonly ready: Readiness;
  /** Run before every start, also the supervisor's own tries (to remove a lock file a killed copy left, for example). */
  readonly beforeStart?: () => Promise<void>;
}

/** What the lifecycle needs of a supervised process (the real one is `Daemon`). */
export interface DaemonControl {
  readonly running: boolean;
  /** The supervisor keeps it running (it may be down, between tries). */
  readonly wanted: boolean;
  /** Run it (again) and wait until it is ready; it stays wanted when this throws. */
  start(): Promise<void>;
  stop(): Promise<void>;
  signal(name: NodeJS.Signals): void;
}

export interface DaemonApplyContext {
  readonly runner: CommandRunner;
  readonly logger: Logger;
}

type Action = 'start' | 'restart' | 'reload' | 'stop';

const CHECK_TIMEOUT_MS = 15_000;
const RELOAD_TIMEOUT_MS = 15_000;

export class DaemonLifecycle<File extends string> {
  readonly #names: readonly File[];

  constructor(
    readonly definition: DaemonDefinition<File>,
    private readonly daemon: DaemonControl,
  ) {
    this.#names = Object.keys(definition.files) as File[];
  }

  /** The daemon's own checker on `desired`; only the candidate file is written, and it is removed after. */
  async check(desired: DaemonFiles<File> | undefined, runner: CommandRunner): Promise<void> {
    const checker = this.definition.checker;
    if (desired === undefined || !checker) return;
    const live = await this.#read();
    if (this.#names.every((name) => live[name] === desired[name])) return;
    const { dir, candidate, name } = this.definition.folder;
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(candidate, checker.candidate(desired), { mode: 0o600 });
      const result = await runner.read(checker.argv(candidate), { allowFailure: true, timeoutMs: CHECK_TIMEOUT_MS });
      if (result.exitCode !== 0) throw new Error(`${name} refused the configuration: ${(result.stderr || result.stdout).trim()}`);
    } finally {
      await rm(candidate, { force: true });
    }
  }

  /** Make the daemon run `desired` (or not run, for undefined); see the top of this file. */
  async apply(desired: DaemonFiles<File> | undefined, context: DaemonApplyContext): Promise<Applied<never>> {
    const before = await this.#read();
    const wasWanted = this.daemon.wanted;
    const action = this.#plan(before, desired);
    if (action === undefined) return { changed: false };
    const { name } = this.definition.folder;

    // Files are replaced keeping their previous content aside, so that putting
    // them back needs no free space: a rollback on a full disk is complete.
    let files: FileReplacement | undefined;
    const undo = async () => {
      await files?.undo();
      if (!wasWanted) await this.daemon.stop();
      else if (action === 'reload' && this.daemon.running) await this.#reload(context.runner).catch(() => this.daemon.start());
      else await this.daemon.start();
      context.logger.info({ daemon: name, undone: action }, 'daemon restored');
    };
    try {
      if (desired === undefined) {
        await this.daemon.stop();
        files = await this.#replace({});
      } else {
        files = await this.#replace(desired);
        if (action === 'reload') await this.#reload(context.runner);
        else await this.daemon.start();
      }
    } catch (error) {
      try {
        await undo();
      } catch (undoError) {
        context.logger.error({ err: undoError, daemon: name }, 'restoring the daemon failed');
        throw new Error(`${messageOf(error)}; restoring the previous ${name} failed too (the supervisor keeps trying): ${messageOf(undoError)}`, { cause: error });
      }
      throw error;
    }
    context.logger.info({ daemon: name, action }, 'daemon updated');
    const replaced = files;
    return { changed: true, undo, ...(replaced ? { commit: () => replaced.commit() } : {}) };
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }

  /** What `desired` takes from the daemon as it is now; undefined for nothing. */
  #plan(before: Partial<Record<File, string>>, desired: DaemonFiles<File> | undefined): Action | undefined {
    if (desired === undefined) return this.daemon.wanted || this.#names.some((name) => before[name] !== undefined) ? 'stop' : undefined;
    if (!this.daemon.running) return 'start';
    const changed = this.#names.filter((name) => before[name] !== desired[name]);
    if (changed.length === 0) return undefined;
    return this.definition.reload && changed.every((name) => this.definition.files[name] === 'reload') ? 'reload' : 'restart';
  }

  async #reload(runner: CommandRunner): Promise<void> {
    const reload = this.definition.reload!;
    if ('command' in reload) {
      const result = await runner.change(reload.command, { allowFailure: true, timeoutMs: RELOAD_TIMEOUT_MS });
      if (!reload.accepted(result)) throw new Error(`${reload.command.join(' ')} failed: ${lastLines(result.stdout || result.stderr)}`);
      return;
    }
    const { log, name } = this.definition.folder;
    const offset = await fileSize(log);
    this.daemon.signal(reload.signal);
    // The apply ends once the daemon has re-read its files, not while a request could still meet the old ones.
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    for (let delay = 2; ; delay = Math.min(delay * 2, 20)) {
      const logged = await logSince(log, offset);
      if (reload.confirmed.test(logged)) return;
      if (!this.daemon.running) throw new Error(`${name} exited before it could re-read its files: ${lastLines(logged)}`);
      if (Date.now() > deadline) throw new Error(`${name} did not re-read its files within ${RELOAD_TIMEOUT_MS} ms: ${lastLines(logged)}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** The daemon's files as they are on disk; absent ones are missing from the result. */
  async #read(): Promise<Partial<Record<File, string>>> {
    const texts = await Promise.all(this.#names.map((name) => readIfExists(this.#path(name))));
    const files: Partial<Record<File, string>> = {};
    this.#names.forEach((name, i) => {
      const text = texts[i];
      if (text !== undefined) files[name] = text;
    });
    return files;
  }

  /**
   * Make the files `target` (removing those it lacks), touching only those
   * whose text differs; what is returned puts every one back. A failure part
   * way puts back what was done before throwing.
   */
  async #replace(target: Partial<Record<File, string>>): Promise<FileReplacement> {
    const current = await this.#read();
    const done: FileReplacement[] = [];
    const undo = async () => {
      for (const replacement of [...done].reverse()) await replacement.undo();
    };
    try {
      for (const name of this.#names) {
        const wanted = target[name];
        if (current[name] === wanted) continue;
        done.push(wanted === undefined ? await removeFile(this.#path(name)) : await replaceFile(this.#path(name), wanted));
      }
    } catch (error) {
      await undo();
      throw error;
    }
    return {
      undo,
      commit: async () => {
        for (const replacement of done) await replacement.commit();
      },
    };
  }

  #path(file: File): string {
    return join(this.definition.folder.dir, file);
  }
}

/**
 * The lifecycle of `definition`'s daemon, run by the supervisor; the daemon
 * is listed in `registry` (status, metrics) from its first start, so an
 * appliance that never needs it does not report it.
 */
export function supervisedDaemon<File extends string>(definition: DaemonDefinition<File>, registry: DaemonRegistry, logger: Logger): DaemonLifecycle<File> {
  const { folder, argv, ready, beforeStart } = definition;
  const daemon = new Daemon({ name: folder.name, argv, logFile: folder.log, recordFile: folder.record, ready, ...(beforeStart ? { beforeStart } : {}) }, logger);
  const control: DaemonControl = {
    get running() {
      return daemon.running;
    },
    get wanted() {
      return daemon.wanted;
    },
    start: () => {
      registry.register(daemon);
      return daemon.start();
    },
    stop: () => daemon.stop(),
    signal: (name) => daemon.signal(name),
  };
  return new DaemonLifecycle(definition, control);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
