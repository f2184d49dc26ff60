// The local provider's two kinds of I/O: commands (argument arrays, each
// bounded by a timeout, run in the orchestrator's "host" network namespace when
// one is named) and the small JSON records it keeps of what it made.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';

/** Where `ip netns add` puts named namespaces (iproute2's NETNS_RUN_DIR). */
export const NETNS_DIR = '/run/netns';

const DEFAULT_TIMEOUT_MS = 20_000;

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface CommandOptions {
  /** Text written to the command's standard input (`ip -batch -`). */
  readonly input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
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

export async function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runCommand: empty argument array');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const child = await execa(file, args, { reject: false, input: options.input ?? '', timeout: timeoutMs, env: { LC_ALL: 'C' } });
  const result: CommandResult = {
    stdout: typeof child.stdout === 'string' ? child.stdout : '',
    stderr: typeof child.stderr === 'string' ? child.stderr : '',
    exitCode: child.exitCode ?? 1,
  };
  if (child.timedOut) throw new CommandError(argv, { ...result, stderr: `timed out after ${timeoutMs} ms ${result.stderr}`.trim() });
  if (result.exitCode !== 0 && !options.allowFailure) throw new CommandError(argv, result);
  return result;
}

/** `ip` arguments for namespace `netns` (the current one when undefined). */
export function ipArgv(netns: string | undefined, args: readonly string[]): string[] {
  return ['ip', ...(netns === undefined ? [] : ['-n', netns]), ...args];
}

/** Run `ip` in namespace `netns` (the current one when undefined). */
export function ip(netns: string | undefined, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
  return runCommand(ipArgv(netns, args), options);
}

/** Parse the JSON output of an `ip -j` command, naming the command when it is not JSON. */
export function parseIpJson<T>(argv: readonly string[], stdout: string): T[] {
  // `ip -j` prints nothing at all when nothing matches.
  if (stdout.trim() === '') return [];
  try {
    return JSON.parse(stdout) as T[];
  } catch (error) {
    throw new Error(`${argv.join(' ')}: output is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Run an `ip -j` command in `netns` and parse its output. */
export async function ipJson<T>(netns: string | undefined, args: readonly string[]): Promise<T[]> {
  const argv = ipArgv(netns, ['-j', ...args]);
  return parseIpJson<T>(argv, (await runCommand(argv)).stdout);
}

/** Write `value` as JSON so that a reader sees the old file or the new one, never a part. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 1)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export const isMissingFile = (error: unknown): boolean => error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
