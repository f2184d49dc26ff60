// Every command the agent runs goes through here: an argument array, never a
// shell string, and counted, so an apply report can say how many commands
// changed the host (and prove that a re-apply of the same document ran none).
import { execa } from 'execa';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
    super(`${argv.join(' ')} exited ${result.exitCode}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  /** Text written to the command's standard input. */
  readonly input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
  /**
   * Work sent in the background after an apply has answered (gratuitous
   * ARP): never recorded, so it cannot show up in the report of whatever
   * apply happens to be running when it starts.
   */
  readonly background?: boolean;
}

export interface CommandRecord {
  readonly argv: readonly string[];
  readonly mutating: boolean;
  readonly exitCode: number;
  readonly ms: number;
}

/**
 * How a command is actually run: a child process (the default), or, in unit
 * tests, a fake host (test/support/fake-runner.ts).
 */
export type Executor = (argv: readonly string[], options: RunOptions, mutating: boolean) => Promise<CommandResult>;

/** Every command's time limit unless the caller gives one. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Run `argv` as a child process that the kernel kills if the agent dies
 * (`setpriv --pdeathsig`): a command of a killed agent must never go on
 * changing the host while the next agent applies. A command killed at its
 * time limit says so in its stderr.
 */
export async function runProcess(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
  if (argv.length === 0) throw new Error('empty command');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const child = await execa('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
    reject: false,
    input: options.input ?? '',
    timeout: timeoutMs,
    stripFinalNewline: false,
    env: { LC_ALL: 'C' },
  });
  const stderr = child.stderr ?? '';
  return {
    stdout: child.stdout ?? '',
    stderr: child.timedOut ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed after its time limit of ${timeoutMs / 1000} s` : stderr,
    exitCode: child.exitCode ?? (child.failed ? 1 : 0),
  };
}

export class CommandRunner {
  #records: CommandRecord[] = [];
  #recording = false;
  #idle: (() => void)[] = [];

  constructor(private readonly execute: Executor = runProcess) {}

  /** Record commands (only during an apply, so that idle polling never accumulates records). */
  setRecording(on: boolean): void {
    this.#recording = on;
    this.#records = [];
    if (!on) {
      const waiting = this.#idle;
      this.#idle = [];
      // setImmediate: after the code that ended the apply, so its answer is sent first.
      for (const resolve of waiting) setImmediate(resolve);
    }
  }

  /** Resolves once no apply is running (at once when none is), after the one that ends has answered. */
  idle(): Promise<void> {
    if (!this.#recording) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Run a command that only reads the host. */
  read(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.#run(argv, false, options);
  }

  /** Run a command that changes the host; counted in apply reports. */
  change(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.#run(argv, true, options);
  }

  /** Records since the last call, for one step of an apply. */
  takeRecords(): CommandRecord[] {
    const records = this.#records;
    this.#records = [];
    return records;
  }

  async #run(argv: readonly string[], mutating: boolean, options: RunOptions): Promise<CommandResult> {
    if (argv.length === 0) throw new Error('empty command');
    const started = performance.now();
    // Recorded when started, so a command left running in the background
    // still counts in the report of the apply that started it.
    const record = { argv, mutating, exitCode: -1, ms: 0 };
    if (this.#recording && !options.background) this.#records.push(record);
    const result = await this.execute(argv, options, mutating);
    record.exitCode = result.exitCode;
    record.ms = performance.now() - started;
    if (result.exitCode !== 0 && !options.allowFailure) throw new CommandError(argv, result);
    return result;
  }
}
