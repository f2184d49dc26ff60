// The ARP subsystem (spec section 6, ARP).
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { applyArp, parseArpMemory, type ArpMemory } from './driver.js';
import { renderArp, type ArpDesired } from './render.js';

export function createArpSubsystem(_env: DriverEnvironment): Subsystem<ArpDesired, ArpMemory> {
  return {
    name: 'arp',
    memory: { key: 'arp', parse: parseArpMemory },
    render: (model, host) => renderArp(model, host),
    apply: (desired, { runner, logger, memory }) => applyArp(desired, runner, logger, memory),
  };
}
