// Reading and writing kernel settings. Reads go straight to `/proc/sys` (a
// file read, not a command, so a re-apply that finds nothing to change runs
// nothing); writes are one `sysctl -w` for all the values that differ, so the
// apply report counts them. The agent runs inside the appliance's network
// namespace, so `/proc/sys/net` is that namespace's.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CommandRunner } from './exec.js';

/** The current value of a `/proc/sys`-relative path, or undefined when the kernel has no such setting. */
export async function readSysctl(path: string): Promise<string | undefined> {
  checkPath(path);
  try {
    return (await readFile(`/proc/sys/${path}`, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What `writeSysctls` changed: the previous value of every path it wrote. */
export type SysctlPrevious = Record<string, string>;

/**
 * Write every setting of `desired` whose current value differs, with one
 * `sysctl -w`. Settings the kernel does not have are skipped with a warning
 * (for example IPv6 on a kernel booted without it). Returns the previous
 * values of what was written, for undo.
 */
export async function writeSysctls(runner: CommandRunner, desired: Readonly<Record<string, string>>, logger: Logger): Promise<SysctlPrevious> {
  const previous: SysctlPrevious = {};
  const entries = Object.entries(desired);
  const current = await Promise.all(entries.map(([path]) => readSysctl(path)));
  entries.forEach(([path, value], i) => {
    const now = current[i];
    if (now === undefined) logger.warn({ sysctl: path }, 'the kernel has no such setting; skipped');
    else if (now !== value) previous[path] = now;
  });
  const changes = Object.keys(previous);
  if (changes.length > 0) await runner.change(['sysctl', '-q', '-w', ...changes.map((path) => `${path}=${desired[path]!}`)]);
  return previous;
}

/** Put back values saved by `writeSysctls`. */
export async function restoreSysctls(runner: CommandRunner, previous: SysctlPrevious): Promise<void> {
  const entries = Object.entries(previous);
  if (entries.length > 0) await runner.change(['sysctl', '-q', '-w', ...entries.map(([path, value]) => `${path}=${value}`)]);
}

function checkPath(path: string): void {
  // Interface names hold no '/' or blank; '=' would split `sysctl -w path=value` in the wrong place.
  if (!/^[^\s=/]+(?:\/[^\s=/]+)*$/.test(path) || path.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`not a sysctl path: ${path}`);
  }
}
