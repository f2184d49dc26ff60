// Applies a routes plan in one `ip -batch`.
import type { Applied, ApplyContext } from '../../engine/subsystem.js';
import { runBatch, undoSteps } from '../../host/ip-batch.js';
import { readRoutes } from '../../host/routes.js';
import { planRoutes, routeKey } from './plan.js';
import type { RouteDesired, RoutesDesired } from './render.js';

export async function applyRoutes(desired: RoutesDesired, context: ApplyContext<readonly RouteDesired[]>): Promise<Applied<readonly RouteDesired[]>> {
  const { runner, logger } = context;
  for (const { route, reason } of desired.skipped) logger.warn({ route, reason }, 'configured route skipped');
  const remembered = context.memory ?? [];
  const plan = planRoutes(desired, await readRoutes(runner), remembered);
  if (plan.steps.length === 0) return { changed: false, memory: plan.memory };
  // Written ahead: killed during the batch, the agent still knows every route it may have added.
  const keys = new Set(remembered.map(routeKey));
  await context.remember([...remembered, ...plan.memory.filter((r) => !keys.has(routeKey(r)))]);
  await runBatch(runner, plan.steps, logger);
  logger.info({ changes: plan.steps.map((s) => s.line) }, 'routes changed');
  return { changed: true, undo: () => undoSteps(runner, plan.steps, logger), memory: plan.memory };
}

/** The memory persisted by an earlier apply; anything unexpected counts as no memory. */
export function rememberedRoutes(memory: unknown): RouteDesired[] | undefined {
  if (!Array.isArray(memory)) return undefined;
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
