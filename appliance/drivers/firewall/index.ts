// The firewall subsystem (spec section 6): render in render.ts (pure, with
// every other subsystem's contributed rules, which the engine gathers because
// this subsystem collects them), prove and apply in driver.ts.
import type { Subsystem } from '../../engine/subsystem.js';
import type { DriverEnvironment } from '../index.js';
import { FirewallDriver, parseFirewallMemory, type FirewallMemory } from './driver.js';
import { DEFAULT_API_PORT } from '../../../contract/index.js';
import { renderFirewall, type FirewallRules } from './render.js';

export function createFirewallSubsystem(env: DriverEnvironment): Subsystem<FirewallRules, FirewallMemory> {
  const driver = new FirewallDriver(env.logger.child({ subsystem: 'firewall' }));
  const options = { apiPort: env.apiPort ?? DEFAULT_API_PORT };
  return {
    name: 'firewall',
    memory: { key: 'firewall', parse: parseFirewallMemory },
    collectsFirewall: true,
    render: (model, host) => renderFirewall(model, host, options),
    check: (rules, context) => driver.check(rules, context),
    apply: (rules, context, previous) => driver.apply(rules, context, previous),
  };
}
