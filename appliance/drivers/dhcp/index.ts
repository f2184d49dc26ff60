// Placeholder: the dhcp subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createDhcpSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'dhcp', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
