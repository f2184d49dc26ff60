// The ARP subsystem (spec section 6, ARP).
import type { Subsystem } from '../../engine/engine.js';
import type { DriverEnvironment } from '../index.js';
import { applyArp } from './driver.js';
import { renderArp, type ArpDesired } from './render.js';

export function createArpSubsystem(_env: DriverEnvironment): Subsystem<ArpDesired> {
  return {
    name: 'arp',
    render: (model, host) => renderArp(model, host),
    apply: (desired, { runner, logger, memory }) => applyArp(desired, runner, logger, memory),
  };
}
