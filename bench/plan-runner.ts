// Runs a plan of commands inside the router namespace with no agent: the
// floor (the agent's own rendered documents applied straight with the tools)
// and the original appliance's cost model (one process per change). Started
// by the benchmark as
//
//   ip netns exec NS unshare --mount --uts --propagation private -- \
//     sh test/harness/sandbox-init.sh node --import tsx bench/plan-runner.ts PLAN.json RESULT.json
//
// (the same sandbox as the agent: a host name or a file under /run never
// reaches the host). Timing starts at the first step, so this process's own
// start is not counted. Daemons it starts are ended before it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { greets } from '../appliance/drivers/routing/driver.js';
import { dirname } from 'node:path';

export type Step =
  | { readonly kind: 'run'; readonly argv: readonly string[]; readonly input?: string; readonly allowFailure?: boolean }
  | { readonly kind: 'write'; readonly path: string; readonly text: string }
  | {
      readonly kind: 'daemon';
      readonly name: string;
      readonly argv: readonly string[];
      readonly log: string;
      /** Ready when the log matches `logPattern`, or when `socket` greets with `0001 ` (BIRD). */
      readonly ready: { readonly logPattern: string } | { readonly socket: string };
    }
  | { readonly kind: 'stop'; readonly name: string };

export interface Phase {
  readonly name: string;
  readonly steps: readonly Step[];
  /** Setup only: run, but leave out of the total. */
  readonly untimed?: boolean;
  /**
   * Stop this phase once it has run this long (ms); the result then says how
   * many of its steps ran, for an extrapolation the caller labels as such.
   */
  readonly budgetMs?: number;
}

export interface Plan {
  readonly phases: readonly Phase[];
}

export interface PhaseResult {
  readonly name: string;
  readonly ms: number;
  /** Processes started (commands and daemons). */
  readonly processes: number;
  readonly steps: number;
  /** Steps run: less than `steps` when the budget ran out. */
  readonly ran: number;
  readonly untimed: boolean;
}

export interface PlanResult {
  readonly totalMs: number;
  readonly phases: readonly PhaseResult[];
}

const daemons = new Map<string, ChildProcess>();
const POLL_MS = 2;
const READY_TIMEOUT_MS = 30_000;

function runCommand(step: Extract<Step, { kind: 'run' }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = step.argv;
    const child = spawn(file!, args, { stdio: [step.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 || step.allowFailure) resolve();
      else reject(new Error(`${step.argv.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    if (step.input !== undefined) child.stdin!.end(step.input);
  });
}

async function startDaemon(step: Extract<Step, { kind: 'daemon' }>): Promise<void> {
  await mkdir(dirname(step.log), { recursive: true });
  const log = openSync(step.log, 'a');
  const [file, ...args] = step.argv;
  const child = spawn(file!, args, { stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } });
  closeSync(log);
  daemons.set(step.name, child);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${step.name} exited ${code} during start-up`))));
  exited.catch(() => undefined);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const ready = step.ready;
  const check = 'logPattern' in ready ? logMatches(step.log, new RegExp(ready.logPattern, 'm')) : () => greets(ready.socket);
  for (;;) {
    if (await Promise.race([check(), exited])) return;
    if (Date.now() > deadline) throw new Error(`${step.name} not ready within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function logMatches(path: string, pattern: RegExp): () => Promise<boolean> {
  return async () => pattern.test(await readFile(path, 'utf8').catch(() => ''));
}


async function stopDaemon(name: string): Promise<void> {
  const child = daemons.get(name);
  daemons.delete(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function runStep(step: Step): Promise<number> {
  switch (step.kind) {
    case 'run':
      await runCommand(step);
      return 1;
    case 'write':
      await mkdir(dirname(step.path), { recursive: true });
      await writeFile(step.path, step.text);
      return 0;
    case 'daemon':
      await startDaemon(step);
      return 1;
    case 'stop':
      await stopDaemon(step.name);
      return 0;
  }
}

async function main(): Promise<void> {
  const [planFile, resultFile] = process.argv.slice(2);
  const plan = JSON.parse(await readFile(planFile!, 'utf8')) as Plan;
  const phases: PhaseResult[] = [];
  let totalMs = 0;
  try {
    for (const phase of plan.phases) {
      const started = performance.now();
      let processes = 0;
      let ran = 0;
      for (const step of phase.steps) {
        if (phase.budgetMs !== undefined && performance.now() - started > phase.budgetMs) break;
        processes += await runStep(step);
        ran++;
      }
      const ms = performance.now() - started;
      if (!phase.untimed) totalMs += ms;
      phases.push({ name: phase.name, ms, processes, steps: phase.steps.length, ran, untimed: phase.untimed ?? false });
    }
    await writeFile(resultFile!, JSON.stringify({ totalMs, phases } satisfies PlanResult));
  } finally {
    await Promise.all([...daemons.keys()].map(stopDaemon));
  }
}

await main();
