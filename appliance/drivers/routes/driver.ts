// Applies a routes plan in one `ip -batch`.
import type { Logger } from 'pino';
import type { SubsystemOutcome } from '../../engine/engine.js';
import type { CommandRunner } from '../../host/exec.js';
import { runBatch, undoSteps } from '../interfaces/ip-batch.js';
import { readRoutes } from './live.js';
import { planRoutes } from './plan.js';
import type { RouteDesired, RoutesDesired } from './render.js';

export async function applyRoutes(desired: RoutesDesired, runner: CommandRunner, logger: Logger, memory: unknown): Promise<SubsystemOutcome> {
  for (const { route, reason } of desired.skipped) logger.warn({ route, reason }, 'configured route skipped');
  const plan = planRoutes(desired, await readRoutes(runner), rememberedRoutes(memory));
  if (plan.steps.length === 0) return { changed: false, memory: plan.memory };
  await runBatch(runner, plan.steps, logger);
  logger.info({ changes: plan.steps.map((s) => s.line) }, 'routes changed');
  return { changed: true, undo: () => undoSteps(runner, plan.steps, logger), memory: plan.memory };
}

/** The memory persisted by an earlier apply; anything unexpected counts as no memory. */
export function rememberedRoutes(memory: unknown): RouteDesired[] {
  if (!Array.isArray(memory)) return [];
  return (memory as Partial<RouteDesired>[]).filter(
    (r): r is RouteDesired =>
      typeof r === 'object' &&
      r !== null &&
      (r.family === 4 || r.family === 6) &&
      typeof r.destination === 'string' &&
      typeof r.via === 'string' &&
      (r.device === undefined || typeof r.device === 'string'),
  );
}
