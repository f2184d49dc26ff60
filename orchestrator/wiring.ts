// The pieces the service and astara-debug-router both build: the provider
// set the options name (local, or OpenStack's), the appliance client, and one
// resource's driver, instance manager and state machine.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseCidr } from '../contract/ip.js';
import { ApplianceClient } from './client/appliance.js';
import type { OrchestratorMetricsSink } from './core/control.js';
import type { ManagedResource, ResourceHooks } from './core/dispatcher.js';
import { applianceName, HA_MEMBERS, memberName, type ResourceDriver } from './core/driver.js';
import { POLL, type ResourceRef } from './core/events.js';
import { InstanceManager, type ApplianceApi, type InstanceManagerTimings } from './core/instance-manager.js';
import { Automaton } from './core/state-machine.js';
import { LoadBalancerDriver } from './drivers/loadbalancer.js';
import { RouterDriver } from './drivers/router.js';
import { LocalMetadata } from './metadata/local.js';
import type { OrchestratorOptions } from './options-types.js';
import { LocalCompute } from './providers/local/compute.js';
import { LocalBridges } from './providers/local/host.js';
import { LocalNetworkProvider } from './providers/local/network.js';
import type { ResourceView } from './providers/local/view.js';
import { ResourceFileWatcher } from './providers/local/watcher.js';
import { NO_METADATA, startOpenStackProviders, type OpenStackProviders } from './providers/openstack/start.js';
import type { ComputeProvider, EventSource, MetadataBackend, NetworkProvider } from './providers/types.js';

/** How long CheckBoot lets a booting appliance be before looking again. */
const BOOT_CHECK_INTERVAL_MS = 250;

/** Options read once at start: a reload logs that they changed and keeps the running values. */
export const RESTART_OPTIONS = [
  'apiListen',
  'apiPort',
  'adminTokenFile',
  'astaraMetadataPort',
  'statePath',
  'networkProvider',
  'computeProvider',
  // Keystone, the catalogue and RabbitMQ are connected to at start.
  'openstack',
  'managementPrefix',
  'managementNetworkId',
  'numWorkerProcesses',
  'numWorkerThreads',
  // The resources of a kind are listed at start only.
  'enabledDrivers',
  'local',
  'applianceTls',
  // The agents listen on the port they were started with.
  'router',
  'loadbalancer',
  // The group is joined once; its ring must stay what every member computes.
  'coordination',
  'hashPartitionExponent',
] as const satisfies readonly (keyof OrchestratorOptions)[];

export async function makeClient(options: OrchestratorOptions): Promise<ApplianceClient> {
  const tls = options.applianceTls
    ? {
        ca: await readFile(options.applianceTls.caFile, 'utf8'),
        cert: await readFile(options.applianceTls.certFile, 'utf8'),
        key: await readFile(options.applianceTls.keyFile, 'utf8'),
      }
    : undefined;
  return new ApplianceClient({
    aliveTimeoutMs: options.aliveTimeoutS * 1000,
    configTimeoutMs: options.configTimeoutS * 1000,
    readTimeoutMs: 30_000,
    ...(tls ? { tls } : {}),
  });
}

/** A configuration the service cannot start with (the command exits 2). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** A resource file that does not validate at start. */
export class ResourceFileError extends StartupError {
  constructor(
    readonly path: string,
    readonly problems: readonly { readonly path: string; readonly message: string }[],
  ) {
    super(`the resource file ${path} is not valid:\n${problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}`);
    this.name = 'ResourceFileError';
  }
}

/** The resource kinds the orchestrator has a driver for. */
export type DriverName = 'router' | 'loadbalancer';
const isDriverName = (driver: string): driver is DriverName => driver === 'router' || driver === 'loadbalancer';

/** The kinds whose resources may run as HA pairs (`<name>_0`, `<name>_1`). */
const HA_DRIVERS: readonly string[] = ['router'];

/**
 * Each local appliance's agent keeps AF_UNIX control sockets (BIRD's is the
 * deepest, `bird/bird.ctl`; every appliance runs BIRD) in its state directory
 * under state_path, named after the appliance (`ak-<driver>-<id>`, ids of at
 * most 36 characters, `_<n>` added for an HA member), and socket paths are
 * limited to 107 bytes: refuse a state_path that cannot hold them for the
 * longest name an enabled driver gives.
 */
export function checkStatePath(statePath: string, enabledDrivers: readonly string[]): void {
  const uuid = '00000000-0000-4000-8000-000000000000';
  const longestOf = (driver: string) => (HA_DRIVERS.includes(driver) ? memberName(applianceName(driver, uuid), HA_MEMBERS.length - 1) : applianceName(driver, uuid));
  const longest = enabledDrivers.map(longestOf).reduce((a, b) => (b.length > a.length ? b : a), '');
  const deepest = join(statePath, 'appliances', longest, 'state', 'bird', 'bird.ctl');
  const excess = Buffer.byteLength(deepest) - 107;
  if (excess > 0) throw new StartupError(`[DEFAULT] state_path ${statePath} is ${excess} bytes too long: the appliances' control sockets under it would exceed 107 bytes`);
}


export interface LocalProviders {
  readonly watcher: ResourceFileWatcher;
  readonly bridges: LocalBridges;
  readonly compute: LocalCompute;
  readonly network: LocalNetworkProvider;
}

/**
 * Read the resource file (refusing an invalid one), make the bridges it needs
 * (unless `syncBridges` is false: a running service already has), and build
 * the local provider set.
 */
export async function startLocalProviders(options: OrchestratorOptions, logger: Logger, syncBridges = true): Promise<LocalProviders> {
  checkStatePath(options.statePath, options.enabledDrivers);
  const bridges = new LocalBridges({ stateDir: options.statePath, logger });
  // What the bridges were last synced to: an edit that leaves the networks as
  // they were runs no `ip` command (each is a process spawned by the busy
  // orchestrator: issue 16, bench O2); a config reload always syncs, which
  // repairs whatever drifted.
  let synced: string | undefined;
  const sync = async (view: ResourceView, always: boolean) => {
    const networks = [...view.networks.values()].map((n) => ({ id: n.id, mtu: n.mtu ?? null }));
    const management = { networkId: view.managementNetworkId, address: `${options.local.managementAddress}/${parseCidr(options.managementPrefix)!.prefix}` };
    const wanted = JSON.stringify([networks, management]);
    if (!always && wanted === synced) return;
    synced = undefined;
    await bridges.sync(networks, management);
    synced = wanted;
  };
  const watcher = new ResourceFileWatcher({
    path: options.local.resources,
    parseOptions: { managementNetworkId: options.managementNetworkId, managementPrefix: options.managementPrefix },
    logger,
    onView: async (view, reload) => {
      await sync(view, reload);
    },
  });
  const loaded = await watcher.load();
  if (!loaded.ok) throw new ResourceFileError(options.local.resources, loaded.problems);
  for (const warning of loaded.warnings) logger.warn({ path: warning.path }, `resource file: ${warning.message}`);
  const compute = localCompute(options, logger);
  if (syncBridges) await sync(loaded.view, true);
  return { watcher, bridges, compute, network: new LocalNetworkProvider(() => watcher.current!) };
}

function localCompute(options: OrchestratorOptions, logger: Logger): LocalCompute {
  try {
    return new LocalCompute({
      stateDir: options.local.appliancesPath,
      agentCommand: options.local.agentCommand,
      logger,
      agentTls: options.local.agentTls,
    });
  } catch (error) {
    throw new StartupError(`[local] agent_command: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What the service runs on, whichever provider set: the local one or the OpenStack one. */
export interface ProviderSet {
  readonly network: NetworkProvider;
  readonly compute: ComputeProvider;
  readonly events: EventSource;
  /** The guests' metadata answers, given the resource whose appliance has a management address. */
  metadata(resourceAt: (address: string) => string | undefined): MetadataBackend;
  /** A resource's name for the console; null without one. */
  nameOf(resource: { readonly driver: string; readonly id: string }): string | null;
  /** `config reload`: read again what the provider reads from files. */
  reload(): Promise<void>;
  /** Remove what the providers made on this host (stop_appliances_on_exit), once the appliances are gone. */
  destroyHost(): Promise<void>;
  /** Close the providers' connections. */
  close(): Promise<void>;
}

/** The provider set the options name: `network_provider = openstack` (with Nova or local compute), or the local set. */
export async function startProviders(options: OrchestratorOptions, logger: Logger): Promise<ProviderSet> {
  if (options.networkProvider === 'openstack') {
    // Nova's servers need no bridges, nor appliance state on this host.
    const nova = options.computeProvider === 'nova';
    if (!nova) checkStatePath(options.statePath, options.enabledDrivers);
    const bridges = nova ? undefined : new LocalBridges({ stateDir: options.statePath, logger });
    let openstack: OpenStackProviders;
    try {
      openstack = await startOpenStackProviders(options, logger, bridges === undefined ? undefined : { compute: localCompute(options, logger), bridges });
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError(`the OpenStack provider cannot start: ${error instanceof Error ? error.message : String(error)}`);
    }
    return {
      network: openstack.network,
      compute: openstack.compute,
      events: openstack.events,
      metadata: () => NO_METADATA,
      nameOf: () => null,
      reload: () => Promise.resolve(),
      destroyHost: async () => {
        await bridges?.destroyAll();
      },
      close: () => openstack.rpc.close(),
    };
  }
  const local = await startLocalProviders(options, logger);
  return {
    network: local.network,
    compute: local.compute,
    events: local.watcher,
    metadata: (resourceAt) => new LocalMetadata(() => local.watcher.current!, resourceAt, logger),
    nameOf: (resource) => {
      const view = local.watcher.current;
      const named = resource.driver === 'loadbalancer' ? view?.loadbalancers.get(resource.id) : view?.routers.get(resource.id);
      return named?.name ?? null;
    },
    reload: async () => {
      const result = await local.watcher.reload();
      if (!result.ok) logger.warn({ problems: result.problems }, 'the resource file is not valid; keeping the last valid view');
    },
    destroyHost: async () => {
      await local.bridges.destroyAll();
    },
    close: () => Promise.resolve(),
  };
}

export function timings(options: OrchestratorOptions): InstanceManagerTimings {
  return {
    maxRetries: options.maxRetries,
    retryDelayMs: options.retryDelayS * 1000,
    bootTimeoutMs: options.bootTimeoutS * 1000,
    hotplugTimeoutMs: options.hotplugTimeoutS * 1000,
    errorStateCooldownMs: options.errorStateCooldownS * 1000,
  };
}

export interface ResourceDependencies {
  /** The current options (a reload may change them). */
  readonly options: () => OrchestratorOptions;
  readonly network: NetworkProvider;
  readonly compute: ComputeProvider;
  readonly client: ApplianceApi;
  readonly metrics: OrchestratorMetricsSink;
  readonly logger: Logger;
  /** astara-debug-router gives up after one failed boot. */
  readonly rebootErrorThreshold?: number;
}

/** The driver of a resource kind, reading the options in effect each time (a reload may change them). */
function makeDriver(ref: ResourceRef, driver: DriverName, deps: ResourceDependencies, log: Logger): ResourceDriver {
  const options = deps.options;
  if (driver === 'loadbalancer') return new LoadBalancerDriver(ref, () => ({ network: deps.network, servicePort: options().loadbalancer.mgtServicePort }));
  return new RouterDriver(ref, () => ({
    network: deps.network,
    servicePort: options().router.mgtServicePort,
    asn: options().asn,
    neighborAsn: options().neighborAsn,
    providerRulesPath: options().providerRulesPath,
    ipsecVpn: options().router.ipsecVpn,
    orchestrator: { address: options().local.managementAddress, metadata_port: options().astaraMetadataPort, host: options().host },
    log,
  }));
}

/** One resource's driver, instance manager and state machine; undefined when its driver is not enabled. */
export function buildResource(ref: ResourceRef, deps: ResourceDependencies, hooks: ResourceHooks): ManagedResource | undefined {
  const options = deps.options;
  const kind = ref.driver;
  if (!isDriverName(kind) || !options().enabledDrivers.includes(kind)) return undefined;
  const log = deps.logger.child({ resource: ref.id, tenant: ref.tenantId, driver: kind });
  const driver = makeDriver(ref, kind, deps, log);
  const instance = new InstanceManager({
    driver,
    compute: deps.compute,
    network: deps.network,
    client: deps.client,
    timings: () => timings(options()),
    log,
    metrics: deps.metrics,
    imageId: options()[kind].imageUuid,
  });
  const machine = new Automaton({
    resource: ref,
    instance,
    log,
    // Getters: a config reload reaches the resources that already exist.
    get queueWarningThreshold() {
      return options().queueWarningThreshold;
    },
    get rebootErrorThreshold() {
      return deps.rebootErrorThreshold ?? options().rebootErrorThreshold;
    },
    bootCheckIntervalMs: BOOT_CHECK_INTERVAL_MS,
    get stopRetryDelayMs() {
      return options().retryDelayS * 1000;
    },
    get defaultImageId() {
      return options()[kind].imageUuid;
    },
    onDelete: hooks.onDelete,
    onTransition: (t) => {
      hooks.onTransition(t);
      deps.metrics.transition(t.from, t.to);
      // A healthy poll is the common case: keep it out of the info log.
      const routine = t.action === POLL && (t.to === 'Alive' || t.to === 'CalcAction') && t.instanceState === 'configured';
      log[routine ? 'debug' : 'info']({ from: t.from, to: t.to, action: t.action, instance_state: t.instanceState }, 'transition');
    },
  });
  return { machine, instance };
}
