// Placeholder: the firewall subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createFirewallSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'firewall', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
