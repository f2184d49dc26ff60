// Commands for the test harness: argument arrays, run in a namespace when asked.
import { execa, type ResultPromise } from 'execa';

export interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export async function run(argv: readonly string[], options: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {}): Promise<Result> {
  const [file, ...args] = argv;
  const child = await execa(file!, args, { reject: false, input: options.input ?? '', timeout: options.timeoutMs ?? 60_000, env: { LC_ALL: 'C' } });
  const result = { stdout: child.stdout ?? '', stderr: child.stderr ?? '', exitCode: child.exitCode ?? 1 };
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new Error(`${argv.join(' ')} exited ${result.exitCode}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result;
}

/** Run a command inside network namespace `ns`. */
export function inNs(ns: string, argv: readonly string[], options?: Parameters<typeof run>[1]): Promise<Result> {
  return run(['ip', 'netns', 'exec', ns, ...argv], options);
}

/** Start a long-running process inside `ns`; the caller owns its lifetime. */
export function spawnInNs(ns: string, argv: readonly string[], logFile: string): ResultPromise {
  return execa('ip', ['netns', 'exec', ns, ...argv], {
    reject: false,
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    env: { LC_ALL: 'C' },
  });
}

/** Wait until `check` returns true, polling with a short backoff; fail with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
}
