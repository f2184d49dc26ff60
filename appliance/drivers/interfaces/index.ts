// The interfaces subsystem (spec section 6, Interfaces): render.ts says what
// the interfaces should be, plan.ts what to change, driver.ts changes it.
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { applyInterfaces } from './driver.js';
import { renderInterfaces, type InterfacesDesired } from './render.js';

export function createInterfacesSubsystem(_env: DriverEnvironment): Subsystem<InterfacesDesired> {
  return {
    name: 'interfaces',
    render: (model, host) => renderInterfaces(model, host),
    apply: (desired, { runner, logger }, previous) => applyInterfaces(desired, runner, logger, previous),
  };
}
