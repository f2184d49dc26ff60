// Placeholder: the arp subsystem is being written.
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';

export function createArpSubsystem(_env: DriverEnvironment): Subsystem {
  return { name: 'arp', render: () => undefined, apply: () => Promise.resolve({ changed: false }) };
}
