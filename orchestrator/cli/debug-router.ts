// `astara-debug-router --router-id ID`: one router's state machine, run in
// the foreground for one UPDATE, outside the service's workers, printing
// every transition with the appliance's state and the action. The running
// service is asked to keep the router in debug mode meanwhile, so the two
// never drive the same appliance at once.
import { Command } from 'commander';
import { destination, pino } from 'pino';
import { request } from 'undici';
import type { OrchestratorMetricsSink, ResourceView } from '../core/control.js';
import { UPDATE, event } from '../core/events.js';
import { CONFIGURED } from '../core/instance-state.js';
import { readAdminToken } from '../api/access.js';
import { loadOptions, OptionsError } from '../options.js';
import { readResourceFile } from '../providers/local/resource-file.js';
import type { OrchestratorOptions } from '../options-types.js';
import { buildResource, makeClient, startLocalProviders, StartupError } from '../wiring.js';

const REASON = 'astara-debug-router';

interface Output {
  out(line: string): void;
  err(line: string): void;
}

const noMetrics: OrchestratorMetricsSink = { push: () => undefined, poll: () => undefined, boot: () => undefined, error: () => undefined, transition: () => undefined };

function adminUrl(options: OrchestratorOptions): string {
  const host = ['::', '0.0.0.0', ''].includes(options.apiListen) ? '::1' : options.apiListen;
  return `http://${host.includes(':') ? `[${host}]` : host}:${options.apiPort}`;
}

/**
 * Make sure the service leaves the router alone: put it in debug mode if it is
 * not already. Returns a line for the operator, undefined when no service
 * runs; throws when the service does not know the router.
 */
async function holdInService(base: string, routerId: string, token: string | undefined): Promise<string | undefined> {
  // The service's admin_token_file is this command's too: it reads the same options.
  const timeouts = { headersTimeout: 3000, bodyTimeout: 3000, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) };
  let answer;
  try {
    answer = await request(`${base}/v1/resources/${encodeURIComponent(routerId)}`, timeouts);
  } catch (error) {
    if ((error as { code?: string }).code === 'ECONNREFUSED') return undefined;
    throw error;
  }
  const body = (await answer.body.json()) as { resource?: ResourceView };
  if (answer.statusCode === 404) throw new Error(`the orchestrator at ${base} does not manage ${routerId}: does it read the same resource file?`);
  if (body.resource?.debug.enabled) return `the service already keeps ${routerId} in debug mode (${body.resource.debug.scope})`;
  const put = await request(`${base}/resource/debug/${encodeURIComponent(routerId)}/--reason/${REASON}`, { method: 'PUT', ...timeouts });
  const text = await put.body.text();
  if (put.statusCode !== 200) throw new Error(`the orchestrator at ${base} refused to put ${routerId} in debug mode (${put.statusCode}): ${text}`);
  return `put ${routerId} in debug mode in the service; run \`astara-ctl resource manage ${routerId}\` when done`;
}

export async function debugRouter(routerId: string, configFile: string | undefined, output: Output): Promise<number> {
  let options: OrchestratorOptions;
  try {
    options = await loadOptions(configFile, (warning) => output.err(`astara-debug-router: warning: ${warning}`));
  } catch (error) {
    if (error instanceof OptionsError) {
      for (const problem of error.problems) output.err(`astara-debug-router: ${problem}`);
      return 2;
    }
    throw error;
  }
  // Nothing is touched before the router is known to exist.
  const file = await readResourceFile(options.local.resources, { managementNetworkId: options.managementNetworkId, managementPrefix: options.managementPrefix });
  if (!file.ok) {
    output.err(`astara-debug-router: ${options.local.resources}: ${file.problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}`);
    return 2;
  }
  if (!file.view.routers.has(routerId)) {
    output.err(`astara-debug-router: no router ${routerId} in ${options.local.resources}`);
    return 1;
  }
  const base = adminUrl(options);
  let held: string | undefined;
  try {
    held = await holdInService(base, routerId, options.adminTokenFile === undefined ? undefined : await readAdminToken(options.adminTokenFile));
  } catch (error) {
    output.err(`astara-debug-router: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  output.err(held ?? `no orchestrator answers at ${base}: nothing else drives this router`);

  // Decisions go to standard error as JSON lines; the transitions are the output.
  const logger = pino({ level: options.logLevel, base: { service: 'astara-debug-router' } }, destination(2));
  let providers;
  try {
    // A running service has made the bridges already; without one, this run needs them.
    providers = await startLocalProviders(options, logger, held === undefined);
  } catch (error) {
    if (error instanceof StartupError) {
      output.err(`astara-debug-router: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const detail = await providers.network.getRouter(routerId);
  if (!detail) {
    output.err(`astara-debug-router: no router ${routerId} in ${options.local.resources}`);
    return 1;
  }
  const ref = { driver: 'router', id: routerId, tenantId: detail.router.tenant_id };
  const client = await makeClient(options);
  try {
    const managed = buildResource(ref, { options: () => options, network: providers.network, compute: providers.compute, client, metrics: noMetrics, logger, rebootErrorThreshold: 1 }, {
      onDelete: () => output.out('DELETE: the router is gone'),
      onTransition: (t) => output.out(`${t.from.padEnd(18)} -> ${t.to.padEnd(18)} action ${t.action.padEnd(8)} appliance ${t.instanceState}`),
    });
    if (!managed) {
      output.err('astara-debug-router: the router driver is not enabled ([DEFAULT] enabled_drivers)');
      return 1;
    }
    const { machine, instance } = managed;
    machine.sendMessage(event(ref, UPDATE));
    while (machine.hasMoreWork()) {
      await machine.update();
      const delay = machine.takeRetryDelay();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    output.out(`final: state machine ${machine.stateName}, appliance ${instance.state}${instance.lastError ? `, error: ${instance.lastError.message}` : ''}`);
    return instance.state === CONFIGURED || machine.deleted ? 0 : 1;
  } finally {
    await client.close();
  }
}

export function buildProgram(output: Output = { out: (l) => console.log(l), err: (l) => console.error(l) }): Command {
  return new Command('astara-debug-router')
    .description(
      "Run one router's state machine in the foreground for one UPDATE, printing every transition with the appliance's state and the action. " +
        'The running service is asked to keep the router in debug mode meanwhile.',
    )
    .requiredOption('--router-id <id>', 'the router to run')
    .option('--config-file <file>', 'the orchestrator INI file (default /etc/astara/orchestrator.ini)')
    .action(async (flags: { routerId: string; configFile?: string }) => {
      process.exitCode = await debugRouter(flags.routerId, flags.configFile, output);
    });
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
