// Placeholder: the routes subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createRoutesSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'routes', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
