// Placeholder: the sysctl subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createSysctlSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'sysctl', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
