// Placeholder: the routing subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createRoutingSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'routing', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
