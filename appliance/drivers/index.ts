// The subsystems of the appliance in dependency order (spec section 5):
// hostname, interfaces and addresses, routes, firewall, DHCP, routing daemon,
// metadata proxy, ARP, then services.
import type { Logger } from 'pino';
import type { Subsystem } from '../engine/engine.js';
import type { InterfaceNames } from '../host/interfaces.js';

export interface DriverEnvironment {
  readonly stateDir: string;
  readonly interfaces: InterfaceNames;
  readonly logger: Logger;
}

export function createSubsystems(_env: DriverEnvironment): Subsystem[] {
  return [];
}
