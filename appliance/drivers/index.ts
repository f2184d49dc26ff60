// The subsystems of the appliance in dependency order (spec section 5):
// hostname, sysctls, HA (keepalived hands the shared addresses over before
// the interfaces and routes subsystems take or leave them: ha/index.ts),
// interfaces and addresses, routes, firewall, DHCP, routing daemon, metadata
// proxy, ARP, then services (load balancer, VPN). The firewall is applied in
// its place but rendered last, with every other subsystem's firewall
// contribution.
import type { Logger } from 'pino';
import type { AnySubsystem } from '../engine/subsystem.js';
import type { InterfaceNames } from '../host/interfaces.js';
import type { DaemonRegistry } from '../host/daemons.js';
import { VrrpState } from '../host/vrrp.js';
import { createArpSubsystem } from './arp/index.js';
import { createDhcpSubsystem } from './dhcp/index.js';
import { createFirewallSubsystem } from './firewall/index.js';
import { createHaSubsystem, type HaSubsystem } from './ha/index.js';
import { createHostnameSubsystem } from './hostname/index.js';
import { createInterfacesSubsystem } from './interfaces/index.js';
import { createLoadBalancerSubsystem, type LoadBalancerSubsystem } from './loadbalancer/index.js';
import { createRoutesSubsystem } from './routes/index.js';
import { createRoutingSubsystem } from './routing/index.js';
import { createSysctlSubsystem } from './sysctl/index.js';
import { createMetadataSubsystem } from './metadata/index.js';
import { createVpnSubsystem, type VpnSubsystem } from './vpn/index.js';

export interface DriverEnvironment {
  /** Root of everything the agent writes; each subsystem uses its own folder below it. */
  readonly stateDir: string;
  readonly interfaces: InterfaceNames;
  readonly daemons: DaemonRegistry;
  readonly logger: Logger;
  /** TCP port of the agent's API (default DEFAULT_API_PORT): the firewall opens it on the management interface. */
  readonly apiPort?: number;
  /**
   * Runs a change a subsystem makes outside a PUT (nginx following the
   * health monitors) in the engine's queue: after the apply in progress,
   * before the next. Without it (renders in tests) such a change runs at once.
   */
  readonly exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** The VRRP state of an HA pair member: the ha subsystem sets it, routing follows it. One is made when absent. */
  readonly vrrp?: VrrpState;
}

/** The subsystems, and the ones the API reads from besides applying them. */
export interface Appliance {
  readonly subsystems: AnySubsystem[];
  readonly loadBalancer: LoadBalancerSubsystem;
  readonly ha: HaSubsystem;
  readonly vpn: VpnSubsystem;
}

export function createAppliance(given: DriverEnvironment): Appliance {
  const env = { ...given, vrrp: given.vrrp ?? new VrrpState() };
  const loadBalancer = createLoadBalancerSubsystem(env);
  const vpn = createVpnSubsystem(env);
  const ha = createHaSubsystem(env);
  return {
    subsystems: [
      createHostnameSubsystem(env),
      createSysctlSubsystem(env),
      ha,
      createInterfacesSubsystem(env),
      createRoutesSubsystem(env),
      createFirewallSubsystem(env),
      createDhcpSubsystem(env),
      createRoutingSubsystem(env),
      createMetadataSubsystem(env),
      createArpSubsystem(env),
      loadBalancer,
      vpn,
    ],
    loadBalancer,
    ha,
    vpn,
  };
}

export function createSubsystems(env: DriverEnvironment): AnySubsystem[] {
  return createAppliance(env).subsystems;
}
