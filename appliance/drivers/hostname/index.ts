// Placeholder: the hostname subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createHostnameSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'hostname', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
