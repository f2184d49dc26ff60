// Placeholder: the interfaces subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createInterfacesSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'interfaces', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
