// DHCP for tenant networks: one supervised dnsmasq (spec section 6).
import type { Subsystem } from '../../engine/subsystem.js';
import { Daemon } from '../../host/supervisor.js';
import type { DriverEnvironment } from '../index.js';
import { dnsmasqArgv, dnsmasqFiles, DnsmasqDriver, type DaemonControl } from './driver.js';
import { renderDhcp, type DhcpDesired } from './render.js';

export function createDhcpSubsystem(env: DriverEnvironment): Subsystem<DhcpDesired> {
  const files = dnsmasqFiles(env.stateDir);
  const daemon: LazyDaemon = new LazyDaemon(() =>
    env.daemons.register(
      new Daemon({ name: 'dnsmasq', argv: dnsmasqArgv(files), logFile: files.log, pidFile: files.pid, ready: () => driver.ready() }, env.logger),
    ),
  );
  const driver: DnsmasqDriver = new DnsmasqDriver(files, daemon);
  return {
    name: 'dhcp',
    render: (model, host) => renderDhcp(model, host, files),
    check: (desired, context) => driver.check(desired, context.runner),
    apply: (desired, context) => driver.apply(desired, context.logger),
    stop: () => daemon.stop(),
  };
}

/**
 * The dnsmasq Daemon, made (and registered for status reports) the first
 * time it starts: an appliance without tenant DHCP has no dnsmasq to report.
 */
class LazyDaemon implements DaemonControl {
  #daemon: Daemon | undefined;

  constructor(private readonly make: () => Daemon) {}

  get running(): boolean {
    return this.#daemon?.running ?? false;
  }

  restart(): Promise<void> {
    this.#daemon ??= this.make();
    return this.#daemon.restart();
  }

  async stop(): Promise<void> {
    await this.#daemon?.stop();
  }

  signal(name: NodeJS.Signals): void {
    this.#daemon?.signal(name);
  }
}
