// The routing subsystem (spec section 6, "Routing"): BGP towards the external
// gateway and router advertisements on tenant networks, by one supervised
// BIRD 2. Decisions are explained in render.ts (with bird.conf.hbs beside
// it); how BIRD runs is its definition in driver.ts, and the daemon
// lifecycle of appliance/host/ does the rest.
import type { Subsystem } from '../../engine/subsystem.js';
import { supervisedDaemon } from '../../host/daemon-config.js';
import type { DriverEnvironment } from '../index.js';
import { birdDefinition } from './driver.js';
import { routingFirewall } from './firewall.js';
import { renderRouting, type RoutingDesired } from './render.js';

export function createRoutingSubsystem(env: DriverEnvironment): Subsystem<RoutingDesired> {
  const bird = supervisedDaemon(birdDefinition(env.stateDir), env.daemons, env.logger.child({ subsystem: 'routing' }));
  return {
    name: 'routing',
    render: renderRouting,
    firewall: (desired, model, host) => routingFirewall(desired.plan, model, host),
    check: (desired, context) => bird.check({ 'bird.conf': desired.config }, context.runner),
    apply: (desired, context) => bird.apply({ 'bird.conf': desired.config }, context),
    stop: () => bird.stop(),
  };
}
