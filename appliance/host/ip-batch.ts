// Changes made with one `ip -batch` and undone line by line. Each step pairs
// a line with the line that undoes it, so a batch that stops half-way (ip
// stops at the first failing line) is undone exactly as far as it went.
import type { Logger } from 'pino';
import { CommandError, type CommandRunner } from './exec.js';

export interface BatchStep {
  readonly line: string;
  readonly undo: string;
}

/** Run the steps in one `ip -batch`; when a line fails, undo the ones before it and throw. */
export async function runBatch(runner: CommandRunner, steps: readonly BatchStep[], logger: Logger): Promise<void> {
  if (steps.length === 0) return;
  const argv = ['ip', '-batch', '-'];
  const result = await runner.change(argv, { input: lines(steps.map((s) => s.line)), allowFailure: true });
  if (result.exitCode === 0) return;
  await undoSteps(runner, steps.slice(0, linesBeforeFailure(result.stderr, steps.length)), logger);
  throw new CommandError(argv, result);
}

/** Undo steps, last first, going on past lines that fail (the state may have moved since). */
export async function undoSteps(runner: CommandRunner, steps: readonly BatchStep[], logger: Logger): Promise<void> {
  const failed = await runForced(runner, steps.map((s) => s.undo).reverse());
  if (failed) logger.warn({ error: failed }, 'some changes could not be undone');
}

/** Run `ip -batch` lines, going on past failures; returns the error text, empty when every line went through. */
export async function runForced(runner: CommandRunner, batch: readonly string[]): Promise<string> {
  if (batch.length === 0) return '';
  const result = await runner.change(['ip', '-force', '-batch', '-'], { input: lines(batch), allowFailure: true });
  return result.exitCode === 0 ? '' : (result.stderr || result.stdout).trim();
}

/** How many lines ran before the one `ip -batch` reports as failed ("Command failed -:N"); all of them when it does not say. */
export function linesBeforeFailure(stderr: string, total: number): number {
  const match = /Command failed -:(\d+)/.exec(stderr);
  return match ? Math.min(Number(match[1]) - 1, total) : total;
}

function lines(batch: readonly string[]): string {
  return `${batch.join('\n')}\n`;
}
