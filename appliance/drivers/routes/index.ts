// The routes subsystem (spec section 6, Routes): render.ts says which routes,
// plan.ts what to change given the main table and the routes the agent added
// before (its memory), driver.ts applies that in one `ip -batch`.
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { applyRoutes, rememberedRoutes } from './driver.js';
import { renderRoutes, type RouteDesired, type RoutesDesired } from './render.js';

export function createRoutesSubsystem(_env: DriverEnvironment): Subsystem<RoutesDesired, readonly RouteDesired[]> {
  return {
    name: 'routes',
    memory: { key: 'routes', parse: rememberedRoutes },
    render: (model, host) => renderRoutes(model, host),
    apply: (desired, context) => applyRoutes(desired, context),
  };
}
