// The orchestrator process: options in, providers built, the dispatcher fed
// by the event source and the health monitor, the admin API and the guests'
// metadata service listening. The only place that knows which provider set
// is in use.
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { createAdminApp } from './api/admin.js';
import { OrchestratorMetrics } from './api/metrics.js';
import type { ApplianceClient } from './client/appliance.js';
import { DebugStore } from './core/debug-store.js';
import { BadCommandError } from './core/control.js';
import { Dispatcher } from './core/dispatcher.js';
import { applianceName, isApplianceOf } from './core/driver.js';
import { event, POLL, type ResourceRef } from './core/events.js';
import type { ApplianceApi } from './core/instance-manager.js';
import { LocalMetadata } from './metadata/local.js';
import { createMetadataServer } from './metadata/server.js';
import { describeOptions, loadOptions, OptionsError } from './options.js';
import type { OrchestratorOptions } from './options-types.js';
import type { LocalCompute } from './providers/local/compute.js';
import type { LocalBridges } from './providers/local/host.js';
import type { LocalNetworkProvider } from './providers/local/network.js';
import type { ResourceFileWatcher } from './providers/local/watcher.js';
import type { ResourceSummary } from './providers/types.js';
import { buildResource, makeClient, RESTART_OPTIONS, startLocalProviders } from './wiring.js';

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
  readonly #network: LocalNetworkProvider;
  readonly #compute: LocalCompute;
  readonly #bridges: LocalBridges;
  readonly #watcher: ResourceFileWatcher;
  #client: ApplianceClient;
  /** What every instance manager calls: always the current client (a reload may replace it). */
  readonly #appliances: ApplianceApi;
  #adminServer: Server | undefined;
  #metadataServer: Server | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  /** Options the command line set: a reload keeps them. */
  readonly #overrides: Partial<OrchestratorOptions>;

  private constructor(options: OrchestratorOptions, logger: Logger, overrides: Partial<OrchestratorOptions>, parts: {
    debug: DebugStore;
    watcher: ResourceFileWatcher;
    bridges: LocalBridges;
    compute: LocalCompute;
    network: LocalNetworkProvider;
    client: ApplianceClient;
  }) {
    this.#options = options;
    this.#overrides = overrides;
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
      create: (ref, hooks) =>
        buildResource(ref, { options: () => this.#options, network: this.#network, compute: this.#compute, client: this.#appliances, metrics: this.metrics, logger }, hooks),
      resourceForTenant: (driver, tenantId) => this.#resourceForTenant(driver, tenantId),
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

  /** Start serving with `options` (the file's, with `overrides` from the command line applied). */
  static async start(fileOptions: OrchestratorOptions, logger: Logger, overrides: Partial<OrchestratorOptions> = {}): Promise<OrchestratorService> {
    const options = { ...fileOptions, ...overrides };
    const providers = await startLocalProviders(options, logger);
    await mkdir(options.statePath, { recursive: true });
    const debug = await DebugStore.open(join(options.statePath, 'debug.json'));
    const client = await makeClient(options);
    const service = new OrchestratorService(options, logger, overrides, { debug, client, ...providers });
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

    const metadata = new LocalMetadata(() => this.#watcher.current!, (address) => this.dispatcher.resourceAt(address), logger);
    this.#metadataServer = createMetadataServer({ backend: metadata, logger });
    await listen(this.#metadataServer, options.local.managementAddress, options.astaraMetadataPort);

    this.#adminServer = createServer(createAdminApp({ control: this.dispatcher, metrics: this.metrics, logger }));
    await listen(this.#adminServer, options.apiListen, options.apiPort);
    logger.info({ api: `${options.apiListen}:${options.apiPort}`, metadata: `${options.local.managementAddress}:${options.astaraMetadataPort}` }, 'listening');

    await this.#populate();
    await this.#watcher.start((target, e) => void this.dispatcher.handleMessage(target, e));
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
    this.#healthTimer = setInterval(() => this.dispatcher.pollAll(periodMs), periodMs);
    this.#healthTimer.unref();
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
