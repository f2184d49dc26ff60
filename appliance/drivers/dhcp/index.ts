// DHCP for tenant networks: one supervised dnsmasq (spec section 6). The
// render (render.ts, with the templates beside it) says what it serves, the
// definition (driver.ts) how it runs; the daemon lifecycle of appliance/host/
// does the rest.
import type { Subsystem } from '../../engine/subsystem.js';
import { supervisedDaemon } from '../../host/daemon-config.js';
import type { DriverEnvironment } from '../index.js';
import { dnsmasqDefinition, dnsmasqFiles, dnsmasqPaths } from './driver.js';
import { dhcpFirewall } from './firewall.js';
import { renderDhcp, type DhcpDesired } from './render.js';

export function createDhcpSubsystem(env: DriverEnvironment): Subsystem<DhcpDesired> {
  const paths = dnsmasqPaths(env.stateDir);
  const dnsmasq = supervisedDaemon(dnsmasqDefinition(env.stateDir), env.daemons, env.logger);
  return {
    name: 'dhcp',
    render: (model, host) => renderDhcp(model, host, paths),
    firewall: (_desired, model, host) => dhcpFirewall(model, host),
    check: (desired, context) => dnsmasq.check(dnsmasqFiles(desired), context.runner),
    apply: (desired, context) => dnsmasq.apply(dnsmasqFiles(desired), context),
    stop: () => dnsmasq.stop(),
  };
}
