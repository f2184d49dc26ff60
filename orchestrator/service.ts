// The orchestrator process: options in, providers built, the dispatcher fed
// by the event source and the health monitor, the admin API and the guests'
// metadata service listening. The only place that knows which provider set
// is in use.
import { mkdir, readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseCidr } from '../contract/ip.js';
import { createAdminApp } from './api/admin.js';
import { OrchestratorMetrics } from './api/metrics.js';
import { ApplianceClient } from './client/appliance.js';
import { DebugStore } from './core/debug-store.js';
import { Dispatcher, type ManagedResource, type ResourceHooks } from './core/dispatcher.js';
import { applianceName, isApplianceOf } from './core/driver.js';
import { event, POLL, type ResourceRef } from './core/events.js';
import { InstanceManager, type ApplianceApi, type InstanceManagerTimings } from './core/instance-manager.js';
import { Automaton } from './core/state-machine.js';
import { RouterDriver } from './drivers/router.js';
import { LocalMetadata } from './metadata/local.js';
import { createMetadataServer } from './metadata/server.js';
import { describeOptions, loadOptions } from './options.js';
import type { OrchestratorOptions } from './options-types.js';
import { LocalCompute } from './providers/local/compute.js';
import { LocalBridges } from './providers/local/host.js';
import { LocalNetworkProvider } from './providers/local/network.js';
import { ResourceFileWatcher } from './providers/local/watcher.js';
import type { NetworkProvider } from './providers/types.js';

/** How long CheckBoot lets a booting appliance be before looking again. */
const BOOT_CHECK_INTERVAL_MS = 250;
/** How long a shutdown waits for state machines that are in the middle of a step. */
const STOP_GRACE_MS = 10_000;

/** Options read once at start: a reload logs that they changed and keeps the running values. */
const RESTART_OPTIONS = [
  'apiListen',
  'apiPort',
  'astaraMetadataPort',
  'statePath',
  'networkProvider',
  'computeProvider',
  'managementPrefix',
  'managementNetworkId',
  'numWorkerProcesses',
  'numWorkerThreads',
  'local',
  'applianceTls',
] as const satisfies readonly (keyof OrchestratorOptions)[];

async function makeClient(options: OrchestratorOptions): Promise<ApplianceClient> {
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

/**
 * Each local appliance's agent keeps AF_UNIX control sockets (BIRD's is the
 * deepest, `bird/bird.ctl`) in its state directory under state_path, and
 * socket paths are limited to 107 bytes: refuse a state_path that cannot hold them.
 */
function checkStatePath(statePath: string): void {
  const deepest = join(statePath, 'appliances', applianceName('router', '00000000-0000-4000-8000-000000000000'), 'state', 'bird', 'bird.ctl');
  const excess = Buffer.byteLength(deepest) - 107;
  if (excess > 0) throw new StartupError(`[DEFAULT] state_path ${statePath} is ${excess} bytes too long: the appliances' control sockets under it would exceed 107 bytes`);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class OrchestratorService {
  #options: OrchestratorOptions;
  readonly #logger: Logger;
  readonly metrics: OrchestratorMetrics;
  readonly dispatcher: Dispatcher;
  readonly #network: NetworkProvider;
  readonly #compute: LocalCompute;
  readonly #bridges: LocalBridges;
  readonly #watcher: ResourceFileWatcher;
  #client: ApplianceClient;
  /** What every instance manager calls: always the current client (a reload may replace it). */
  readonly #appliances: ApplianceApi;
  #adminServer: Server | undefined;
  #metadataServer: Server | undefined;
  #healthTimer: NodeJS.Timeout | undefined;

  private constructor(options: OrchestratorOptions, logger: Logger, parts: {
    debug: DebugStore;
    watcher: ResourceFileWatcher;
    bridges: LocalBridges;
    compute: LocalCompute;
    network: NetworkProvider;
    client: ApplianceClient;
  }) {
    this.#options = options;
    this.#logger = logger;
    this.#watcher = parts.watcher;
    this.#bridges = parts.bridges;
    this.#compute = parts.compute;
    this.#network = parts.network;
    this.#client = parts.client;
    this.#appliances = {
      status: (address, port) => this.#client.status(address, port),
      interfaces: (address, port) => this.#client.interfaces(address, port),
      config: (address, port) => this.#client.config(address, port),
      pushConfig: (address, port, document) => this.#client.pushConfig(address, port, document),
    };
    this.metrics = new OrchestratorMetrics();
    this.dispatcher = new Dispatcher({
      shards: options.numWorkerProcesses,
      runnersPerShard: options.numWorkerThreads,
      debug: parts.debug,
      log: logger,
      create: (ref, hooks) => this.#createResource(ref, hooks),
      resourceForTenant: (driver, tenantId) => (driver === 'router' || driver === '*' ? this.#network.routerForTenant(tenantId) : Promise.resolve(undefined)),
      findResource: (id) => this.#findResource(id),
      onConfigReload: () => this.reload(),
    });
    this.metrics.setSources({ resources: () => this.dispatcher.listResources(), workers: () => this.dispatcher.workers() });
  }

  get options(): OrchestratorOptions {
    return this.#options;
  }

  /** The orchestrator's own address on the management network. */
  get managementAddress(): string {
    return this.#options.local.managementAddress;
  }

  static async start(options: OrchestratorOptions, logger: Logger): Promise<OrchestratorService> {
    checkStatePath(options.statePath);
    await mkdir(options.statePath, { recursive: true });
    const debug = await DebugStore.open(join(options.statePath, 'debug.json'));
    const parseOptions = { managementNetworkId: options.managementNetworkId, managementPrefix: options.managementPrefix };
    const bridges = new LocalBridges({ stateDir: options.statePath, logger });
    const watcher = new ResourceFileWatcher({
      path: options.local.resources,
      parseOptions,
      logger,
      onView: async (view) => {
        await bridges.sync([...view.networks.values()].map((n) => ({ id: n.id, mtu: n.mtu ?? null })), {
          networkId: view.managementNetworkId,
          address: `${options.local.managementAddress}/${parseCidr(options.managementPrefix)!.prefix}`,
        });
      },
    });
    const loaded = await watcher.load();
    if (!loaded.ok) throw new ResourceFileError(options.local.resources, loaded.problems);
    for (const warning of loaded.warnings) logger.warn({ path: warning.path }, `resource file: ${warning.message}`);

    const compute = new LocalCompute({
      stateDir: join(options.statePath, 'appliances'),
      agentCommand: options.local.agentCommand,
      agentPort: options.router.mgtServicePort,
      logger,
      agentTls: options.local.agentTls,
    });
    const network = new LocalNetworkProvider(() => watcher.current!);
    const client = await makeClient(options);
    const service = new OrchestratorService(options, logger, { debug, watcher, bridges, compute, network, client });
    try {
      await service.#startServing(loaded.view);
    } catch (error) {
      await service.stop();
      throw error;
    }
    return service;
  }

  async #startServing(view: NonNullable<ResourceFileWatcher['current']>): Promise<void> {
    const options = this.#options;
    const logger = this.#logger;
    await this.#bridges.sync([...view.networks.values()].map((n) => ({ id: n.id, mtu: n.mtu ?? null })), {
      networkId: view.managementNetworkId,
      address: `${options.local.managementAddress}/${parseCidr(options.managementPrefix)!.prefix}`,
    });

    const metadata = new LocalMetadata(() => this.#watcher.current!, (address) => this.dispatcher.applianceAddresses().get(address), logger);
    this.#metadataServer = createMetadataServer({ backend: metadata, logger });
    await listen(this.#metadataServer, options.local.managementAddress, options.astaraMetadataPort);

    this.#adminServer = createServer(createAdminApp({ control: this.dispatcher, metrics: this.metrics, logger }));
    await listen(this.#adminServer, options.apiListen, options.apiPort);
    logger.info({ api: `${options.apiListen}:${options.apiPort}`, metadata: `${options.local.managementAddress}:${options.astaraMetadataPort}` }, 'listening');

    await this.#populate();
    await this.#watcher.start((target, e) => void this.dispatcher.handleMessage(target, e));
    this.#scheduleHealth();
  }

  /** Every resource the provider knows gets a state machine and a first POLL; appliances of unknown resources are removed. */
  async #populate(): Promise<void> {
    const routers = this.#options.enabledDrivers.includes('router') ? await this.#network.listRouters() : [];
    for (const router of routers) await this.dispatcher.handleMessage(router.tenantId, event({ driver: router.driver, id: router.id, tenantId: router.tenantId }, POLL));
    const names = routers.map((r) => applianceName(r.driver, r.id));
    const orphans = (await this.#compute.listAllInstances()).filter((i) => !names.some((name) => isApplianceOf(i.name, name)));
    if (orphans.length > 0) {
      this.#logger.info({ appliances: orphans.map((o) => o.name) }, 'removing appliances of resources that no longer exist');
      await this.#compute.destroy(orphans, this.#options.bootTimeoutS * 1000);
    }
  }

  #scheduleHealth(): void {
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    const periodMs = this.#options.healthCheckPeriodS * 1000;
    // Each resource is polled at a random moment of each period, so thousands of polls never come at once.
    this.#healthTimer = setInterval(() => this.dispatcher.pollAll(periodMs), periodMs);
    this.#healthTimer.unref();
  }

  async #findResource(id: string): Promise<ResourceRef | undefined> {
    if (!this.#options.enabledDrivers.includes('router')) return undefined;
    const detail = await this.#network.getRouter(id);
    return detail ? { driver: 'router', id, tenantId: detail.router.tenant_id } : undefined;
  }

  #timings(): InstanceManagerTimings {
    const o = this.#options;
    return {
      maxRetries: o.maxRetries,
      retryDelayMs: o.retryDelayS * 1000,
      bootTimeoutMs: o.bootTimeoutS * 1000,
      hotplugTimeoutMs: o.hotplugTimeoutS * 1000,
      errorStateCooldownMs: o.errorStateCooldownS * 1000,
    };
  }

  #createResource(ref: ResourceRef, hooks: ResourceHooks): ManagedResource | undefined {
    if (ref.driver !== 'router' || !this.#options.enabledDrivers.includes('router')) return undefined;
    const log = this.#logger.child({ resource: ref.id, tenant: ref.tenantId, driver: ref.driver });
    const driver = new RouterDriver(ref, () => ({
      network: this.#network,
      servicePort: this.#options.router.mgtServicePort,
      asn: this.#options.asn,
      neighborAsn: this.#options.neighborAsn,
      providerRulesPath: this.#options.providerRulesPath,
      orchestrator: { address: this.managementAddress, metadata_port: this.#options.astaraMetadataPort, host: this.#options.host },
      log,
    }));
    const instance = new InstanceManager({
      driver,
      compute: this.#compute,
      network: this.#network,
      client: this.#appliances,
      timings: () => this.#timings(),
      log,
      metrics: this.metrics,
      imageId: this.#options.router.imageUuid,
    });
    const machine = new Automaton({
      resource: ref,
      instance,
      log,
      queueWarningThreshold: this.#options.queueWarningThreshold,
      rebootErrorThreshold: this.#options.rebootErrorThreshold,
      bootCheckIntervalMs: BOOT_CHECK_INTERVAL_MS,
      stopRetryDelayMs: this.#options.retryDelayS * 1000,
      defaultImageId: this.#options.router.imageUuid,
      onDelete: hooks.onDelete,
      onTransition: (t) => {
        hooks.onTransition(t);
        this.metrics.transition(t.from, t.to);
        const routine = t.action === POLL && (t.to === 'Alive' || t.to === 'CalcAction') && t.instanceState === 'configured';
        log[routine ? 'debug' : 'info']({ from: t.from, to: t.to, action: t.action, instance_state: t.instanceState }, 'transition');
      },
    });
    return { machine, instance };
  }

  /** `config reload`: read the options file again and apply what can change live, then the resource file. */
  async reload(): Promise<void> {
    const previous = this.#options;
    if (previous.configFile) {
      const next = await loadOptions(previous.configFile);
      const kept = RESTART_OPTIONS.filter((key) => !isDeepStrictEqual(next[key], previous[key]));
      this.#options = Object.assign({}, next, Object.fromEntries(kept.map((key) => [key, previous[key]])));
      this.#logger.level = this.#options.logLevel;
      if (kept.length > 0) this.#logger.warn({ options: kept }, 'these options take effect at the next start');
      if (next.aliveTimeoutS !== previous.aliveTimeoutS || next.configTimeoutS !== previous.configTimeoutS) {
        const old = this.#client;
        this.#client = await makeClient(this.#options);
        void old.close();
      }
      if (next.healthCheckPeriodS !== previous.healthCheckPeriodS) this.#scheduleHealth();
      this.#logger.info({ options: describeOptions(this.#options) }, 'options reloaded');
    }
    const result = await this.#watcher.reload();
    if (!result.ok) this.#logger.warn({ problems: result.problems }, 'the resource file is not valid; keeping the last valid view');
  }

  /** Stop serving. The appliances keep running (and are adopted at the next start) unless `stop_appliances_on_exit`. */
  async stop(): Promise<void> {
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    await this.#watcher.stop();
    await this.dispatcher.stop(STOP_GRACE_MS);
    await Promise.all([close(this.#adminServer), close(this.#metadataServer)]);
    if (this.#options.local.stopAppliancesOnExit) {
      const all = await this.#compute.listAllInstances();
      this.#logger.info({ appliances: all.map((i) => i.name) }, 'stopping every appliance (stop_appliances_on_exit)');
      await this.#compute.destroy(all, this.#options.bootTimeoutS * 1000);
      await this.#bridges.destroyAll();
    }
    await this.#client.close();
  }
}
