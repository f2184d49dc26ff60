// The orchestrator process: options in, providers built, the dispatcher fed
// by the event source and the health monitor, the admin API and the guests'
// metadata service listening. The provider set (wiring.ts's startProviders)
// is all it knows of the cloud.
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { readAdminToken } from './api/access.js';
import { createAdminApp } from './api/admin.js';
import { OrchestratorMetrics } from './api/metrics.js';
import type { ApplianceClient } from './client/appliance.js';
import { startCluster, type Cluster } from './cluster/start.js';
import { DebugStore, type DebugFlagStore } from './core/debug-store.js';
import { BadCommandError } from './core/control.js';
import { Dispatcher } from './core/dispatcher.js';
import { applianceName, isApplianceOf } from './core/driver.js';
import { event, POLL, type ResourceRef } from './core/events.js';
import type { ApplianceApi } from './core/instance-manager.js';
import { createMetadataServer } from './metadata/server.js';
import { ApplianceProbe } from './console/appliances.js';
import { defaultConsoleDir, loadConsoleAssets } from './console/assets.js';
import { LiveFeed } from './console/live.js';
import { consoleRouter } from './console/routes.js';
import { TrafficHistory } from './console/traffic.js';
import { describeOptions, loadOptions, OptionsError } from './options.js';
import type { OrchestratorOptions } from './options-types.js';
import type { ComputeProvider, NetworkProvider, ResourceSummary } from './providers/types.js';
import { buildResource, makeClient, RESTART_OPTIONS, startProviders, StartupError, type ProviderSet } from './wiring.js';

export { ResourceFileError, StartupError } from './wiring.js';

/** How long a shutdown waits for state machines that are in the middle of a step. */
const STOP_GRACE_MS = 10_000;

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
  readonly #compute: ComputeProvider;
  readonly #providers: ProviderSet;
  #client: ApplianceClient;
  /** What every instance manager calls: always the current client (a reload may replace it). */
  readonly #appliances: ApplianceApi;
  #adminServer: Server | undefined;
  #metadataServer: Server | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  /** The console's live feed and the appliances' traffic, sampled on each health poll. */
  readonly #liveFeed: LiveFeed;
  readonly #traffic = new TrafficHistory();
  readonly #probe: ApplianceProbe;
  /** Options the command line set: a reload keeps them. */
  readonly #overrides: Partial<OrchestratorOptions>;
  /** The orchestrator group in etcd, when `[coordination] enabled`. */
  readonly #cluster: Cluster | undefined;

  private constructor(options: OrchestratorOptions, logger: Logger, overrides: Partial<OrchestratorOptions>, parts: {
    debug: DebugFlagStore;
    cluster: Cluster | undefined;
    providers: ProviderSet;
    client: ApplianceClient;
  }) {
    this.#options = options;
    this.#overrides = overrides;
    this.#logger = logger;
    this.#providers = parts.providers;
    this.#compute = parts.providers.compute;
    this.#network = parts.providers.network;
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
      ...(parts.cluster ? { ownership: parts.cluster.ownership } : {}),
      log: logger,
      create: (ref, hooks) =>
        buildResource(ref, { options: () => this.#options, network: this.#network, compute: this.#compute, client: this.#appliances, metrics: this.metrics, logger }, hooks),
      resourceForTenant: (driver, tenantId) => this.#resourceForTenant(driver, tenantId),
      findResource: (id) => this.#findResource(id),
      onConfigReload: () => this.reload(),
    });
    this.metrics.setSources({ resources: () => this.dispatcher.listResources(), workers: () => this.dispatcher.workers() });
    this.#cluster = parts.cluster;
    this.#cluster?.onRebalance(() => {
      this.#listResources().then(
        (resources) => this.dispatcher.rebalance(resources),
        (error: unknown) => logger.error({ err: error }, 'rebalance: the resources could not be listed; the next change of members tries again'),
      );
    });
    this.#cluster?.onCleared((scope, id) => void this.dispatcher.flagCleared(scope, id));
    // The console shows each resource's name, which only the provider knows.
    this.#liveFeed = new LiveFeed({
      listResources: () => this.dispatcher.listResources().map((r) => ({ ...r, name: this.#nameOf(r) })),
      workers: () => this.dispatcher.workers(),
    });
    this.#probe = new ApplianceProbe({
      reader: () => this.#client,
      portOf: (driver) => (driver === 'loadbalancer' ? this.#options.loadbalancer.mgtServicePort : this.#options.router.mgtServicePort),
      history: this.#traffic,
      log: logger,
    });
  }

  get options(): OrchestratorOptions {
    return this.#options;
  }

  /** The orchestrator's own address on the management network. */
  get managementAddress(): string {
    return this.#options.local.managementAddress;
  }

  /**
   * Start serving with `options` (the file's, with `overrides` from the command
   * line applied). `providerSet` builds the providers: the set the options name
   * unless a program embedding the service brings its own (the O2 benchmark
   * wraps the local set with a compute provider of simulated appliances).
   */
  static async start(
    fileOptions: OrchestratorOptions,
    logger: Logger,
    overrides: Partial<OrchestratorOptions> = {},
    providerSet: (options: OrchestratorOptions, logger: Logger) => Promise<ProviderSet> = startProviders,
  ): Promise<OrchestratorService> {
    const options = { ...fileOptions, ...overrides };
    const providers = await providerSet(options, logger);
    await mkdir(options.statePath, { recursive: true });
    // Clustered, the debug flags live in etcd, where every member sees them.
    const cluster = options.coordination.enabled ? await startCluster(options, logger) : undefined;
    const debug = cluster?.debug ?? (await DebugStore.open(join(options.statePath, 'debug.json')));
    const client = await makeClient(options);
    const service = new OrchestratorService(options, logger, overrides, { debug, client, cluster, providers });
    try {
      await service.#startServing();
    } catch (error) {
      await service.stop();
      throw error;
    }
    return service;
  }

  async #startServing(): Promise<void> {
    const options = this.#options;
    const logger = this.#logger;

    const metadata = this.#providers.metadata((address) => this.dispatcher.resourceAt(address));
    this.#metadataServer = createMetadataServer({ backend: metadata, logger });
    await listen(this.#metadataServer, options.local.managementAddress, options.astaraMetadataPort);

    let adminToken: string | undefined;
    if (options.adminTokenFile !== undefined) {
      try {
        adminToken = await readAdminToken(options.adminTokenFile);
      } catch (error) {
        throw new StartupError(error instanceof Error ? error.message : String(error));
      }
    }
    const consoleRoutes = consoleRouter({
      control: this.dispatcher,
      feed: this.#liveFeed,
      probe: this.#probe,
      history: this.#traffic,
      assets: await loadConsoleAssets(defaultConsoleDir()),
    });
    this.#adminServer = createServer(createAdminApp({ control: this.dispatcher, metrics: this.metrics, logger, console: consoleRoutes, ...(adminToken === undefined ? {} : { adminToken }) }));
    await listen(this.#adminServer, options.apiListen, options.apiPort);
    logger.info({ api: `${options.apiListen}:${options.apiPort}`, metadata: `${options.local.managementAddress}:${options.astaraMetadataPort}` }, 'listening');

    await this.#populate();
    await this.#providers.events.start((target, e) => void this.dispatcher.handleMessage(target, e));
    this.#scheduleHealth();
  }

  /** Every resource of the enabled drivers, routers first. */
  async #listResources(): Promise<ResourceSummary[]> {
    const enabled = this.#options.enabledDrivers;
    return [
      ...(enabled.includes('router') ? await this.#network.listRouters() : []),
      ...(enabled.includes('loadbalancer') ? await this.#network.listLoadBalancers() : []),
    ];
  }

  /** The resource of a tenant for an event that names none (the original assumed one per tenant); `*` looks for a router first. */
  async #resourceForTenant(driver: string, tenantId: string): Promise<string | undefined> {
    const enabled = this.#options.enabledDrivers;
    const router = (driver === 'router' || driver === '*') && enabled.includes('router') ? await this.#network.routerForTenant(tenantId) : undefined;
    if (router !== undefined) return router;
    return (driver === 'loadbalancer' || driver === '*') && enabled.includes('loadbalancer') ? this.#network.loadBalancerForTenant(tenantId) : undefined;
  }

  /** Every resource the provider knows gets a state machine and a first POLL; appliances of unknown resources are removed. */
  async #populate(): Promise<void> {
    const resources = await this.#listResources();
    for (const resource of resources) await this.dispatcher.handleMessage(resource.tenantId, event({ driver: resource.driver, id: resource.id, tenantId: resource.tenantId }, POLL));
    const names = resources.map((r) => applianceName(r.driver, r.id));
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
    this.#healthTimer = setInterval(() => {
      this.dispatcher.pollAll(periodMs);
      void this.#probe.sample(this.dispatcher.listResources());
    }, periodMs);
    this.#healthTimer.unref();
  }

  /** The name the provider gives a resource (null without one). */
  #nameOf(resource: { readonly driver: string; readonly id: string }): string | null {
    return this.#providers.nameOf(resource);
  }

  async #findResource(id: string): Promise<ResourceRef | undefined> {
    const resources = await this.#listResources();
    // astara-ctl lower-cases ids (Neutron's and Octavia's are); a resource file may not have.
    return resources.find((r) => r.id === id) ?? resources.find((r) => r.id.toLowerCase() === id.toLowerCase());
  }

  /**
   * `config reload`: read the options file again and apply what can change
   * live (options the command line set stay as it set them), then the
   * resource file. An invalid options file changes nothing and is reported
   * to the caller.
   */
  async reload(): Promise<void> {
    const previous = this.#options;
    if (previous.configFile) {
      let read: OrchestratorOptions;
      try {
        read = await loadOptions(previous.configFile, (warning) => this.#logger.warn(warning));
      } catch (error) {
        if (error instanceof OptionsError) throw new BadCommandError(`${previous.configFile} is not valid, nothing reloaded: ${error.problems.join('; ')}`);
        throw error;
      }
      const next = { ...read, ...this.#overrides };
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
    await this.#providers.reload();
  }

  /** Stop serving. The appliances keep running (and are adopted at the next start) unless `stop_appliances_on_exit`. */
  async stop(): Promise<void> {
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    this.#liveFeed.close();
    await this.#providers.events.stop();
    await this.dispatcher.stop(STOP_GRACE_MS);
    // Only now: a member that left the group earlier could see its resources taken while it still worked on them.
    await this.#cluster?.stop();
    await Promise.all([close(this.#adminServer), close(this.#metadataServer)]);
    if (this.#options.local.stopAppliancesOnExit) {
      const all = await this.#compute.listAllInstances();
      this.#logger.info({ appliances: all.map((i) => i.name) }, 'stopping every appliance (stop_appliances_on_exit)');
      await this.#compute.destroy(all, this.#options.bootTimeoutS * 1000);
      await this.#providers.destroyHost();
    }
    await this.#providers.close();
    await this.#client.close();
  }
}
