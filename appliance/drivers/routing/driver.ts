// The host side of the routing subsystem: one BIRD 2, a child of the agent,
// with its own config, control socket, pid file and log under
// `<stateDir>/bird/`. A new configuration is checked with `bird -p`, written,
// and loaded with `birdc configure` (BIRD restarts only the protocols whose
// settings changed); the process itself is started only when it is not
// running, and is never restarted to load a configuration.
import { connect } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CheckFailedError } from '../../engine/engine.js';
import type { Applied, ApplyContext, CheckContext } from '../../engine/subsystem.js';
import { writeFileAtomic } from '../../engine/store.js';
import type { CommandRunner } from '../../host/exec.js';
import { Daemon } from '../../host/supervisor.js';
import type { DaemonRegistry } from '../../host/daemons.js';
import type { RoutingDesired } from './render.js';

export interface BirdPaths {
  readonly dir: string;
  readonly config: string;
  /** Where `check` writes a configuration for `bird -p` before it is accepted. */
  readonly candidate: string;
  readonly socket: string;
  /** BIRD's own pid file (`-P`). */
  readonly pidFile: string;
  /** The supervisor's record of the child (pid and command line). */
  readonly record: string;
  readonly log: string;
}

export function birdPaths(stateDir: string): BirdPaths {
  const dir = join(stateDir, 'bird');
  return {
    dir,
    config: join(dir, 'bird.conf'),
    candidate: join(dir, 'bird.conf.check'),
    socket: join(dir, 'bird.ctl'),
    pidFile: join(dir, 'bird.pid'),
    record: join(dir, 'daemon.json'),
    log: join(dir, 'bird.log'),
  };
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const READY_TIMEOUT_MS = 10_000;
const BIRDC_TIMEOUT_MS = 15_000;

export class BirdDriver {
  readonly paths: BirdPaths;
  readonly daemon: Daemon;

  constructor(stateDir: string, daemons: DaemonRegistry, logger: Logger) {
    this.paths = birdPaths(stateDir);
    const { config, socket, pidFile, record, log } = this.paths;
    this.daemon = daemons.register(
      new Daemon(
        {
          name: 'bird',
          argv: ['bird', '-f', '-c', config, '-s', socket, '-P', pidFile],
          logFile: log,
          pidFile: record,
          ready: () => this.#ready(),
        },
        logger,
      ),
    );
  }

  /** `bird -p` on the rendered file; a file identical to the live one was accepted before. */
  async check(desired: RoutingDesired, context: CheckContext): Promise<void> {
    if ((await readText(this.paths.config)) === desired.config) return;
    await mkdir(this.paths.dir, { recursive: true });
    await writeFile(this.paths.candidate, desired.config, { mode: 0o600 });
    try {
      const result = await context.runner.read(['bird', '-p', '-c', this.paths.candidate], { allowFailure: true, timeoutMs: BIRDC_TIMEOUT_MS });
      if (result.exitCode !== 0) {
        throw new CheckFailedError('routing', `bird -p refused the configuration: ${(result.stderr || result.stdout).trim()}`);
      }
    } finally {
      await rm(this.paths.candidate, { force: true });
    }
  }

  async apply(desired: RoutingDesired, context: ApplyContext<never>): Promise<Applied<never>> {
    const before = await readText(this.paths.config);
    const wasRunning = this.daemon.running;
    if (before === desired.config && wasRunning) return { changed: false };
    if (before !== desired.config) await writeFileAtomic(this.paths.config, desired.config);
    try {
      if (wasRunning) await this.#reconfigure(context.runner);
      else await this.#start();
    } catch (error) {
      // A refused reload leaves BIRD on its old configuration, and a failed
      // start leaves nothing running: putting the old file back is all it takes.
      await restoreText(this.paths.config, before);
      throw error;
    }
    context.logger.info({ reloaded: wasRunning, pid: this.daemon.pid }, wasRunning ? 'bird reconfigured' : 'bird started');
    return { changed: true, undo: () => this.#undo(before, wasRunning, context.runner) };
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }

  /** Back to the file and the process state from before the apply. */
  async #undo(before: string | undefined, wasRunning: boolean, runner: CommandRunner): Promise<void> {
    await restoreText(this.paths.config, before);
    if (!wasRunning || before === undefined) await this.daemon.stop();
    else if (this.daemon.running) await this.#reconfigure(runner);
    else await this.#start();
  }

  async #reconfigure(runner: CommandRunner): Promise<void> {
    const result = await runner.change(['birdc', '-s', this.paths.socket, 'configure'], { allowFailure: true, timeoutMs: BIRDC_TIMEOUT_MS });
    // Success is "Reconfigured", or "Reconfiguration in progress" while old protocols shut down.
    if (result.exitCode !== 0 || !/Reconfigur/.test(result.stdout)) {
      throw new Error(`birdc configure failed: ${lastLines(result.stdout || result.stderr)}`);
    }
  }

  async #start(): Promise<void> {
    if (Buffer.byteLength(this.paths.socket) > MAX_SOCKET_PATH) {
      throw new Error(`the BIRD control socket path ${this.paths.socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter state directory`);
    }
    // A daemon started before has died and may have a restart pending:
    // restart() cancels that, so two copies never run. A first start must not
    // call stop() first, which would forget the record of a copy left by an
    // earlier agent process that start() ends.
    if (this.daemon.status().started_at === null) await this.daemon.start();
    else await this.daemon.restart();
  }

  /** Ready when the control socket greets (`0001 BIRD 2.x ready.`), as birdc needs. */
  async #ready(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    // Short polls: the apply waits on this, and BIRD is usually ready within milliseconds.
    let delay = 2;
    for (;;) {
      if (await greets(this.paths.socket)) return;
      if (!this.daemon.running) {
        const log = await readText(this.paths.log);
        throw new Error(`bird exited during start-up: ${lastLines(log ?? '')}`);
      }
      if (Date.now() > deadline) throw new Error(`bird did not open its control socket ${this.paths.socket} within ${READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 20);
    }
  }
}

/** Whether BIRD answers on its control socket (its greeting starts with `0001 `). */
export function greets(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('0001 ')));
    socket.once('error', () => done(false));
  });
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function restoreText(path: string, text: string | undefined): Promise<void> {
  if (text === undefined) await rm(path, { force: true });
  else if ((await readText(path)) !== text) await writeFileAtomic(path, text);
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
