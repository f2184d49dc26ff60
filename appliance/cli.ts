// `astara-appliance`: the agent's command line.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { DEFAULT_API_PORT, DEFAULT_STATE_DIR, parseAddress, unwrapDocument, validateDocument, ValidationMemo } from '../contract/index.js';
import { createApp } from './api/app.js';
import { GatewayProbe } from './api/status.js';
import { AgentMetrics } from './api/metrics.js';
import { imageServices, isService, SERVICES, SERVICES_FILE, servicesProblems, type ApplianceService, type EnabledServices } from './api/services.js';
import { StatsCollector } from './api/stats.js';
import { ApplyEngine, messageOf } from './engine/engine.js';
import { readJsonIfExists, sweepLeftovers } from './engine/store.js';
import { RepushGuard } from './engine/repush.js';
import { readLiveFingerprint } from './host/live-state.js';
import { CommandRunner } from './host/exec.js';
import { InterfaceNames, type LiveInterface } from './host/interfaces.js';
import { endLeftoverDaemons } from './host/supervisor.js';
import { createAppliance } from './drivers/index.js';
import { DaemonRegistry } from './host/daemons.js';
import { managementRecordPath, type ManagementRecord } from './management/configure.js';


export function agentVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export interface ServeOptions {
  readonly listen: string[];
  readonly port: number;
  readonly stateDir: string;
  readonly logLevel: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  /** Overrides the image's services file. */
  readonly services?: ApplianceService[];
  /** Seconds between two verifications of the live state (0: never, and every re-push is applied in full). */
  readonly verifyPeriod: number;
}

/** Mutual TLS material, read once at start. */
interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}


function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError('must be a port number (1-65535)');
  return port;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds > 86_400) throw new InvalidArgumentError('must be a number of seconds from 0 to 86400');
  return seconds;
}

function parseServiceList(value: string): ApplianceService[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isService(name));
  if (unknown.length > 0) throw new InvalidArgumentError(`${unknown.join(', ')}: the services are ${SERVICES.join(', ')}`);
  return names as ApplianceService[];
}

function collectAddress(value: string, previous: string[]): string[] {
  const address = parseAddress(value);
  if (!address) throw new InvalidArgumentError(`${value} is not an IPv4 or IPv6 address`);
  return [...previous, address.text];
}

export function buildProgram(): Command {
  const program = new Command('astara-appliance')
    .description('The Astara appliance agent: makes this host match one JSON network configuration.')
    .version(agentVersion());

  program
    .command('serve')
    .description('run the agent: re-apply the persisted configuration, then serve the v1 REST API')
    .option('--listen <address>', 'address to listen on (repeatable; IPv4 or IPv6). Default: the management address recorded by astara-configure-management', collectAddress, [])
    .addOption(new Option('--port <n>', 'TCP port of the API').default(DEFAULT_API_PORT).argParser(parsePort))
    .option('--state-dir <dir>', 'directory for everything the agent writes (documents, daemon configs, leases)', DEFAULT_STATE_DIR)
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM); needs --tls-key and --tls-client-ca')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--tls-client-ca <file>', 'CA (PEM) that must have signed every client certificate: clients without one are refused')
    .option(
      '--services <list>',
      `services this appliance runs, comma-separated (${SERVICES.join(', ')}); a document needing another is refused. Default: those of ${SERVICES_FILE}, or all when it does not exist`,
      parseServiceList,
    )
    .addOption(
      new Option(
        '--verify-period <seconds>',
        'how often the live state is compared with what the last apply left; while it matches, a re-push of the same bytes is answered without applying. 0: never, every re-push is applied in full',
      )
        .default(10)
        .argParser(parseSeconds),
    )
    .action(async (options: ServeOptions) => {
      await serve(options);
    });

  program
    .command('validate')
    .description('check a configuration document offline and print every problem with its JSON path')
    .argument('<file>', 'JSON document ("-" for standard input)')
    .action(async (file: string) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        console.error(`malformed JSON: ${messageOf(error)}`);
        process.exitCode = 1;
        return;
      }
      const result = validateDocument(unwrapDocument(body));
      for (const w of result.warnings) console.log(`warning ${w.path || '/'}: ${w.message}`);
      if (result.ok) {
        console.log('valid');
      } else {
        for (const e of result.errors) console.log(`error ${e.path || '/'}: ${e.message}`);
        process.exitCode = 1;
      }
    });
  return program;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function serve(options: ServeOptions): Promise<void> {
  const logger = pino({ level: options.logLevel, base: { service: 'astara-appliance' } });
  let listen = options.listen;
  if (listen.length === 0) {
    const record = await readJsonIfExists<ManagementRecord>(managementRecordPath(options.stateDir));
    if (!record) {
      console.error(
        `astara-appliance: no --listen address given and no management address recorded in ${managementRecordPath(options.stateDir)}; ` +
          'run astara-configure-management first, or pass --listen',
      );
      process.exit(2);
    }
    listen = [record.address];
  }

  const tls = await readTlsFiles(options);
  const runner = new CommandRunner();
  const interfaces = new InterfaceNames(runner);
  // The first listing fixes the generic names for the life of the process.
  const live = await interfaces.list();
  const daemons = new DaemonRegistry();
  const services = await enabledServices(options, logger);
  const appliance = createAppliance({
    stateDir: options.stateDir,
    interfaces,
    daemons,
    logger,
    apiPort: options.port,
    // Called once applies run, so after the engine exists.
    exclusive: (task) => engine.exclusive(task),
  });
  const engine = new ApplyEngine(options.stateDir, appliance.subsystems, runner, logger, {
    realName: (generic) => {
      const real = interfaces.realName(generic);
      if (!real) throw new Error(`no interface ${generic}`);
      return real;
    },
  });
  const loadBalancer = { status: () => appliance.loadBalancer.status(), traffic: () => appliance.loadBalancer.traffic(runner) };
  await endLeftoverDaemons(options.stateDir, logger);
  const swept = await sweepLeftovers(options.stateDir);
  if (swept.length > 0) logger.info({ files: swept }, 'removed what a killed agent left being written');
  const stats = new StatsCollector(runner, interfaces);
  const vpn = { status: () => appliance.vpn.status(runner) };
  const metrics = new AgentMetrics(stats, daemons, () => engine.current?.generation ?? 0, loadBalancer, appliance.ha, vpn);
  engine.onReport((report) => metrics.applied(report));
  await reapplyPersisted(engine, live, services, logger);

  const repush = new RepushGuard(engine, () => readLiveFingerprint(runner, () => daemons.status()), logger, options.verifyPeriod * 1000);
  engine.trustLiveState((generation) => repush.verifiedFor(generation));
  repush.start();
  const app = createApp({
    engine,
    repush,
    interfaces,
    runner,
    probe: new GatewayProbe(runner),
    daemons,
    stats,
    metrics,
    logger,
    listenAddresses: listen,
    services,
    loadBalancer,
    ha: appliance.ha,
    vpn,
    version: agentVersion(),
    startedAt: Date.now(),
    validationMemo: new ValidationMemo(),
  });
  const servers = await Promise.all(listen.map((address) => listenOn(app, address, options.port, tls)));
  logger.info({ listen, port: options.port, stateDir: options.stateDir, tls: tls !== undefined, services: [...services.services], services_from: services.source }, 'agent ready');

  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    repush.stop();
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    void engine.shutdown().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** `--services`, else the image's services file, else every service. */
async function enabledServices(options: ServeOptions, logger: Logger): Promise<EnabledServices> {
  if (options.services) return { services: new Set(options.services), source: '--services' };
  const image = await imageServices();
  if (image.unknown.length > 0) logger.warn({ file: image.source, unknown: image.unknown }, 'the services file names services this agent does not know; ignored');
  return image;
}

/**
 * The persisted document is the desired state at start-up: re-applied before
 * the API answers; if that fails the engine keeps it and retries with backoff
 * (the status says degraded meanwhile). One that no longer validates on this
 * host (a NIC went away) cannot be applied at all: the status says so, and a
 * new push replaces it.
 */
async function reapplyPersisted(engine: ApplyEngine, live: readonly LiveInterface[], services: EnabledServices, logger: Logger): Promise<void> {
  const persisted = await engine.loadPersisted();
  if (!persisted) return;
  const result = validateDocument(persisted.document, { interfaces: new Map(live.map((i) => [i.generic, i.link.address ?? ''])) });
  const errors = result.ok ? servicesProblems(result.model, services) : result.errors;
  if (!result.ok || errors.length > 0) {
    logger.error({ generation: persisted.generation, errors }, 'the persisted configuration no longer validates on this host; waiting for a new one');
    engine.markDegraded(`the persisted configuration (generation ${persisted.generation}) no longer validates on this host: ${errors.map((e) => `${e.path || '/'}: ${e.message}`).join('; ')}`);
    return;
  }
  await engine.restore(persisted.document, result.model, persisted.generation, persisted.applied_at);
  if (engine.degraded) logger.error({ generation: persisted.generation, reason: engine.degraded.reason }, 'the persisted configuration is not applied yet; retrying in the background');
  else logger.info({ generation: persisted.generation, duration_ms: engine.lastReport?.duration_ms }, 're-applied the persisted configuration');
}

async function readTlsFiles(options: ServeOptions): Promise<TlsFiles | undefined> {
  const given = [options.tlsCert, options.tlsKey, options.tlsClientCa].filter((f) => f !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) {
    console.error('astara-appliance: --tls-cert, --tls-key and --tls-client-ca go together (mutual TLS)');
    process.exit(2);
  }
  const [cert, key, ca] = await Promise.all([readFile(options.tlsCert!), readFile(options.tlsKey!), readFile(options.tlsClientCa!)]);
  return { cert, key, ca };
}

function listenOn(app: ReturnType<typeof createApp>, address: string, port: number, tls: TlsFiles | undefined): Promise<Server> {
  return new Promise((resolve, reject) => {
    // With TLS, the handshake itself refuses a client without a certificate
    // signed by the operator's CA: such a client never reaches the API.
    const server: Server = tls ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, app) : createServer(app);
    server.once('error', reject);
    server.listen({ host: address, port, ipv6Only: address.includes(':') }, () => resolve(server));
  });
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
