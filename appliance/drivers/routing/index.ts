// The routing subsystem (spec section 6, "Routing"): BGP towards the external
// gateway and router advertisements on tenant networks, by one supervised
// BIRD 2. Decisions are explained in render.ts; the host side is driver.ts.
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { BirdDriver } from './driver.js';
import { renderRouting, type RoutingDesired } from './render.js';

export function createRoutingSubsystem(env: DriverEnvironment): Subsystem<RoutingDesired> {
  const driver = new BirdDriver(env.stateDir, env.daemons, env.logger.child({ subsystem: 'routing' }));
  return {
    name: 'routing',
    render: renderRouting,
    check: (desired, context) => driver.check(desired, context),
    apply: (desired, context) => driver.apply(desired, context),
    stop: () => driver.stop(),
  };
}
