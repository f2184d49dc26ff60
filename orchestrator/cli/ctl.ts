// `astara-ctl`: the operator's command line. Message commands become the admin
// API's PUT routes (the command line is the path); `list`, `show` and
// `workers debug` read its JSON views; `ssh` and `browse` are interactive.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { constants as osConstants } from 'node:os';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { execa } from 'execa';
import { decode } from 'ini';
import { request } from 'undici';
import type { AgentHaStatus } from '../client/appliance.js';
import type { HaView, ResourceDetailView, ResourceView, WorkersView } from '../core/control.js';
import type { ClusterView } from '../core/ownership.js';
import type { BrowseApi } from './browse.js';
import { formatAge, lastPushText, renderPairs, renderTable, resourceTable } from './table.js';

export const DEFAULT_URL = 'http://[::1]:44250';
const DEFAULT_API_PORT = 44250;
const REQUEST_TIMEOUT_MS = 30_000;

/** Where the output goes and how children run: the process's by default, captured in tests. */
export interface CtlContext {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Run a command with the terminal (stdio inherited); resolves to its exit status. */
  readonly runInteractive: (argv: readonly string[]) => Promise<number>;
  readonly processAlive: (pid: number) => boolean;
  readonly shell: string | undefined;
}

/** A failure with a message meant for the operator as it is. */
export class CtlError extends Error {
  override readonly name = 'CtlError';
}

/** An interactive child's non-zero status, passed on as astara-ctl's own. */
class ChildExit extends Error {
  constructor(readonly status: number) {
    super(`exited with ${status}`);
  }
}

/** The admin API's base URL from the orchestrator's INI file (`[DEFAULT] api_listen`, `api_port`). */
export function urlFromConfig(text: string, file: string): string {
  const parsed = decode(text) as Record<string, unknown>;
  const section = (parsed.DEFAULT ?? {}) as Record<string, unknown>;
  const value = (key: string): string | undefined => {
    const found = section[key] ?? parsed[key];
    return typeof found === 'string' && found.trim() !== '' ? found.trim() : undefined;
  };
  // rug_api_port: the original's deprecated name, which the orchestrator still reads.
  const portText = value('api_port') ?? value('rug_api_port');
  const port = portText === undefined ? DEFAULT_API_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CtlError(`${file}: api_port is not a port number: ${String(portText)}`);
  return `http://${hostForUrl(value('api_listen'))}:${port}`;
}

/** A listen address as a client reaches it: wildcards mean this host's loopback. */
function hostForUrl(listen: string | undefined): string {
  if (listen === undefined || listen === '::') return '[::1]';
  if (listen === '0.0.0.0') return '127.0.0.1';
  return listen.includes(':') ? `[${listen.replace('%', '%25')}]` : listen;
}

function checkedBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CtlError(`--url is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CtlError(`--url must be http or https: ${url}`);
  return url.replace(/\/+$/, '');
}

function describeFailure(error: unknown): string {
  // Node's connect errors to a name that has several addresses are an AggregateError with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) return describeFailure(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return error.message || (typeof code === 'string' ? code : error.name);
  }
  return String(error);
}

/** The admin API as astara-ctl and the console use it. */
export class AdminClient implements BrowseApi {
  constructor(
    readonly baseUrl: string,
    /** Sent as `Authorization: Bearer` when the orchestrator has an admin_token_file. */
    readonly token?: string,
  ) {}

  /** PUT the command line as a path: `['resource', 'debug', id, '--reason', 'why']`. */
  async send(words: readonly string[]): Promise<void> {
    await this.#call('PUT', `/${words.map(encodeURIComponent).join('/')}`);
  }

  async listResources(): Promise<ResourceView[]> {
    return (await this.resourceList()).resources;
  }

  /** The resources and, when the orchestrator is one of a cluster, the group's members. */
  async resourceList(): Promise<{ resources: ResourceView[]; cluster?: ClusterView }> {
    return (await this.#call('GET', '/v1/resources')) as { resources: ResourceView[]; cluster?: ClusterView };
  }

  async getResource(id: string): Promise<ResourceDetailView> {
    return ((await this.#call('GET', `/v1/resources/${encodeURIComponent(id)}`)) as { resource: ResourceDetailView }).resource;
  }

  async workers(): Promise<WorkersView> {
    return ((await this.#call('GET', '/v1/workers')) as { workers: WorkersView }).workers;
  }

  async #call(method: 'GET' | 'PUT', path: string): Promise<unknown> {
    let statusCode: number;
    let text: string;
    try {
      const headers = this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
      const response = await request(`${this.baseUrl}${path}`, { method, headers, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new CtlError(`cannot reach the orchestrator at ${this.baseUrl}: ${describeFailure(error)}`);
    }
    if (statusCode < 200 || statusCode > 299) throw new CtlError(apiErrorMessage(statusCode, text));
    if (method === 'PUT') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CtlError(`the orchestrator at ${this.baseUrl} answered ${method} ${path} with something that is not JSON`);
    }
  }
}

/** The API's own words for a failure: `error: detail; detail`, or the status when the body says nothing. */
export function apiErrorMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; details?: unknown };
    if (typeof body.error === 'string') {
      const details = Array.isArray(body.details)
        ? body.details.map((d: unknown) => (d !== null && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string' ? (d as { message: string }).message : '')).filter((m) => m !== '')
        : [];
      return details.length > 0 ? `${body.error}: ${details.join('; ')}` : body.error;
    }
  } catch {
    // Not JSON: fall through to the status.
  }
  return `the orchestrator answered ${status}${text.trim() === '' ? '' : `: ${text.trim()}`}`;
}

/** The command line that opens a shell (or runs `command`) in a resource's first appliance. */
export function applianceShellArgv(resource: ResourceView, command: readonly string[], shell: string | undefined, processAlive: (pid: number) => boolean): string[] {
  const appliance = resource.appliances[0];
  if (!appliance) throw new CtlError(`${resource.id} has no appliance`);
  const namespace = appliance.details.namespace;
  const inside = command.length > 0 ? [...command] : [shell || '/bin/sh'];
  if (typeof namespace === 'string' && namespace !== '') {
    const pid = Number(appliance.details.agent_pid);
    // nsenter joins the agent's own mount and UTS namespaces too, so the shell sees the appliance's files and name.
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return ['nsenter', '--target', String(pid), '--net', '--mount', '--uts', '--', ...inside];
    return ['ip', 'netns', 'exec', namespace, ...inside];
  }
  if (!appliance.management_address) throw new CtlError(`the appliance of ${resource.id} has no management address`);
  return ['ssh', `astara@${appliance.management_address}`, ...command];
}

export function showText(resource: ResourceDetailView, now: number): string {
  const push = resource.last_push;
  const pushText = push
    ? `${lastPushText(push, now)} (${push.at}, ${push.duration_ms} ms${push.generation === null ? '' : `, generation ${push.generation}`})${push.error ? `: ${push.error}` : ''}`
    : '-';
  const pairs: [string, string][] = [
    ['id', resource.id],
    ['driver', resource.driver],
    ['tenant', resource.tenant_id],
    ['state', resource.state],
    ['instance state', resource.instance_state],
    ['action', resource.action],
    ['shard', String(resource.shard)],
    ['queue length', String(resource.queue_length)],
    ['boot attempts', String(resource.boot_attempts)],
    ['debug', resource.debug.enabled ? `${resource.debug.scope ?? 'on'}${resource.debug.reason ? ` (reason: ${resource.debug.reason})` : ''}` : 'off'],
    ['last push', pushText],
    ['last error', resource.last_error ? `${resource.last_error.message} (${formatAge(resource.last_error.at, now)} ago)` : '-'],
  ];
  if (resource.ha.requested || resource.ha.pair) pairs.push(['ha', haText(resource.ha)]);
  for (const appliance of resource.appliances) {
    const vrrp = appliance.ha ? `, ${vrrpText(appliance.ha)}` : '';
    pairs.push([
      `appliance ${appliance.name}`,
      `${appliance.status}, ${appliance.health}, ${appliance.management_address ?? 'no address'}${vrrp}, id ${appliance.id}, booted ${appliance.booted_at}`,
    ]);
    for (const key of Object.keys(appliance.details).sort()) pairs.push([`  ${key}`, detailText(appliance.details[key])]);
  }
  const lines = renderPairs(pairs);
  lines.push('', 'recent transitions:');
  if (resource.transitions.length === 0) {
    lines.push('  none');
  } else {
    const rows = resource.transitions.map((t) => [t.at, t.from, t.to, t.action, t.instance_state]);
    lines.push(...renderTable([{ title: 'AT' }, { title: 'FROM' }, { title: 'TO' }, { title: 'ACTION' }, { title: 'INSTANCE' }], rows).map((l) => `  ${l}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The members line under a clustered orchestrator's list: the list is only this member's share. */
export function clusterText(cluster: ClusterView): string {
  const reach = cluster.connected ? '' : `\netcd out of reach (${cluster.problem ?? 'no answer'}): serving the resources above, taking no new ones`;
  return `\ncluster members (this one is ${cluster.host}): ${cluster.members.join(', ') || 'none'}${reach}\n`;
}

function haText(ha: HaView): string {
  if (ha.pair && ha.requested) return 'pair';
  if (ha.pair) return 'pair (the router no longer asks for one: a rebuild makes it one appliance)';
  return 'one appliance (the router asks for a pair: a rebuild makes it one)';
}

function vrrpText(ha: AgentHaStatus): string {
  return `VRRP ${ha.state}${ha.since === null ? '' : ` since ${ha.since}`}${ha.peer === null ? '' : ` (peer ${ha.peer})`}`;
}

function detailText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The workers view in the words of the original's `workers debug` log. */
export function workersText(workers: WorkersView): string {
  const lines: string[] = [];
  for (const shard of workers.shards) {
    lines.push(`shard ${shard.index}: ${shard.resources} resources, ${shard.tenants} tenants, queue ${shard.queue_length}, runners busy ${shard.runners_busy}/${shard.runners.length}`);
    for (const runner of shard.runners) lines.push(`  runner ${runner.index}: ${runner.status}`);
  }
  const reason = (r: string | null) => (r ? ` (reason: ${r})` : '');
  lines.push(workers.global_debug.enabled ? `Global debug mode enabled${reason(workers.global_debug.reason)}` : 'Global debug mode disabled');
  if (workers.tenants_in_debug.length === 0) lines.push('No tenants in debug mode');
  for (const t of workers.tenants_in_debug) lines.push(`Debugging tenant: ${t.id}${reason(t.reason)}`);
  if (workers.resources_in_debug.length === 0) lines.push('No resources in debug mode');
  for (const r of workers.resources_in_debug) lines.push(`Debugging resource: ${r.id}${reason(r.reason)}`);
  // The original's last line of `workers debug`.
  lines.push(workers.cluster?.enabled ? `Peer astara-orchestrator hosts: ${workers.cluster.members.join(', ')}` : 'No peer astara-orchestrator hosts, coordination disabled.');
  return `${lines.join('\n')}\n`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

interface GlobalOptions {
  readonly url?: string;
  readonly configFile?: string;
  readonly tokenFile?: string;
}

/** The environment variable holding the admin token (the token itself, not a file). */
export const TOKEN_VARIABLE = 'ASTARA_ADMIN_TOKEN';

/** `[DEFAULT] admin_token_file` of the orchestrator's INI file, relative to the file's directory. */
export function tokenFileFromConfig(text: string, file: string): string | undefined {
  const parsed = decode(text) as Record<string, unknown>;
  const section = (parsed.DEFAULT ?? {}) as Record<string, unknown>;
  const found = section.admin_token_file ?? parsed.admin_token_file;
  return typeof found === 'string' && found.trim() !== '' ? resolve(dirname(resolve(file)), found.trim()) : undefined;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CtlError(`cannot read ${file}: ${describeFailure(error)}`);
  }
}

/** The token: --token-file, else $ASTARA_ADMIN_TOKEN, else the config file's admin_token_file; none without any. */
async function tokenFor(options: GlobalOptions, configText: string | undefined): Promise<string | undefined> {
  const fromConfig = options.configFile !== undefined && configText !== undefined ? tokenFileFromConfig(configText, options.configFile) : undefined;
  const file = options.tokenFile ?? (process.env[TOKEN_VARIABLE] === undefined ? fromConfig : undefined);
  const text = file === undefined ? process.env[TOKEN_VARIABLE] : await readText(file);
  const token = text?.split('\n')[0]?.trim();
  if (token === '') throw new CtlError(file === undefined ? `${TOKEN_VARIABLE} is empty` : `the token file ${file} is empty`);
  return token;
}

async function clientFor(command: Command): Promise<AdminClient> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const configText = options.configFile === undefined ? undefined : await readText(options.configFile);
  const token = await tokenFor(options, configText);
  if (options.url !== undefined) return new AdminClient(checkedBaseUrl(options.url), token);
  if (options.configFile !== undefined && configText !== undefined) return new AdminClient(urlFromConfig(configText, options.configFile), token);
  return new AdminClient(DEFAULT_URL, token);
}

function parseInterval(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0.1) throw new InvalidArgumentError('must be a number of seconds (at least 0.1)');
  return seconds;
}

const RESOURCE_VERBS: readonly (readonly [string, string])[] = [
  ['rebuild', 'replace the appliance: stop it and boot a new one'],
  ['update', 'build the configuration again and push it if it changed (booting the appliance if it is down)'],
  ['debug', 'put it in debug mode: the orchestrator leaves it alone until "manage"'],
  ['manage', 'take it out of debug mode: the orchestrator manages it again'],
];

const REASON_HELP = 'why (shown with the debug flag and in the logs)';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as { code?: string }).code === 'EPERM';
  }
}

async function runInheriting(argv: readonly string[]): Promise<number> {
  const [file, ...args] = argv;
  // Ctrl-C and Ctrl-\ at the terminal reach the whole foreground group: they are for the
  // child (a shell cancelling its command), never a reason for astara-ctl to leave it behind.
  const ignore = () => undefined;
  process.on('SIGINT', ignore).on('SIGQUIT', ignore);
  const result = await execa(file!, args, { stdio: 'inherit', reject: false }).finally(() => {
    process.off('SIGINT', ignore).off('SIGQUIT', ignore);
  });
  if (result.failed && result.exitCode === undefined && result.signal === undefined) throw new CtlError(`cannot run ${file!}: ${result.shortMessage}`);
  if (result.exitCode !== undefined) return result.exitCode;
  return 128 + (result.signal ? osConstants.signals[result.signal] : 0);
}

export function processContext(): CtlContext {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    runInteractive: runInheriting,
    processAlive,
    shell: process.env.SHELL,
  };
}

export function buildProgram(context: CtlContext = processContext()): Command {
  const program = new Command('astara-ctl')
    .description('Operate the Astara orchestrator through its admin API.')
    .option('--url <url>', `admin API base URL (default: from --config-file, else ${DEFAULT_URL})`)
    .option('--config-file <file>', "the orchestrator's INI file: the URL comes from [DEFAULT] api_listen and api_port, the token from admin_token_file")
    .option('--token-file <file>', `file whose first line is the admin API's bearer token (default: $${TOKEN_VARIABLE}, else the config file's admin_token_file)`)
    .exitOverride()
    .configureOutput({ writeOut: context.out, writeErr: context.err });

  // `line` is the command and its arguments, `options` what follows them; only `line` is echoed back.
  const send = async (command: Command, line: readonly string[], options: readonly string[] = []) => {
    await (await clientFor(command)).send([...line, ...options]);
    context.out(`${line.join(' ')}: accepted\n`);
  };
  const withReason = (reason: string | undefined): string[] => (reason === undefined ? [] : ['--reason', reason]);

  program
    .command('poll')
    .description('ask every appliance for its health now (a POLL to every resource)')
    .action(async (_options: object, command: Command) => send(command, ['poll']));

  program
    .command('workers')
    .description('the worker shards')
    .command('debug')
    .description("log the workers' status, then print shards, queues, what each runner is doing, and the debug flags")
    .option('--json', 'print the workers view as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await clientFor(command);
      await client.send(['workers', 'debug']);
      const workers = await client.workers();
      context.out(options.json ? json(workers) : workersText(workers));
    });

  program
    .command('config')
    .description("the orchestrator's configuration")
    .command('reload')
    .description("re-read the orchestrator's configuration file")
    .action(async (_options: object, command: Command) => send(command, ['config', 'reload']));

  program
    .command('global')
    .description('switches for the whole orchestrator')
    .command('debug')
    .description('enable or disable global debug mode: while enabled, the orchestrator ignores every event')
    .addArgument(new Argument('<status>', 'enable or disable').choices(['enable', 'disable']))
    .option('--reason <text>', REASON_HELP)
    .action(async (status: string, options: { reason?: string }, command: Command) => send(command, ['global', 'debug', status], withReason(options.reason)));

  const resource = program.command('resource').description('commands for one resource (router or load balancer)');
  for (const [verb, what] of RESOURCE_VERBS) {
    const sub = resource
      .command(verb)
      .description(what)
      .argument('<resource_id>', 'the resource id')
      .option('--reason <text>', REASON_HELP);
    if (verb === 'rebuild') {
      sub.option('--image-uuid <id>', 'boot this image instead of the configured one (providers with images)');
      sub.addOption(new Option('--image_uuid <id>', 'the original spelling of --image-uuid').hideHelp());
    }
    sub.action(async (id: string, options: { reason?: string; imageUuid?: string; image_uuid?: string }, command: Command) => {
      const image = options.imageUuid ?? options.image_uuid;
      await send(command, ['resource', verb, id.toLowerCase()], [...withReason(options.reason), ...(image === undefined ? [] : ['--image_uuid', image])]);
    });
  }

  const router = program.command('router').description('commands for one router (deprecated: use "resource")');
  for (const [verb, what] of RESOURCE_VERBS) {
    router
      .command(verb)
      .description(`${what} (deprecated: use "resource ${verb}")`)
      .argument('<router_id>', 'the router id')
      .option('--reason <text>', REASON_HELP)
      .action(async (id: string, options: { reason?: string }, command: Command) => {
        context.err(`astara-ctl: "router ${verb}" is deprecated; use "resource ${verb}"\n`);
        await send(command, ['router', verb, id.toLowerCase()], withReason(options.reason));
      });
  }

  const tenant = program.command('tenant').description('commands for every resource of one tenant');
  for (const [verb, what] of [
    ['debug', 'put every resource of the tenant in debug mode'],
    ['manage', 'take the tenant out of debug mode'],
  ] as const) {
    tenant
      .command(verb)
      .description(what)
      .argument('<tenant_id>', 'the tenant (project) id')
      .option('--reason <text>', REASON_HELP)
      .action(async (id: string, options: { reason?: string }, command: Command) => send(command, ['tenant', verb, id], withReason(options.reason)));
  }

  program
    .command('list')
    .description('list every resource: state, appliance state and address, last push, debug flag (in a cluster: the owner, and the members)')
    .option('--json', 'print the resources as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { resources, cluster } = await (await clientFor(command)).resourceList();
      context.out(options.json ? json(resources) : `${resourceTable(resources, Date.now(), { withDriver: true }).join('\n')}\n${cluster ? clusterText(cluster) : ''}`);
    });

  program
    .command('show')
    .description('show one resource: states, appliances, last push and error, recent transitions')
    .argument('<id>', 'the resource id')
    .option('--json', 'print the resource as JSON (with its last pushed document)')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const found = await (await clientFor(command)).getResource(id.toLowerCase());
      context.out(options.json ? json(found) : showText(found, Date.now()));
    });

  program
    .command('ssh')
    .description("open a shell, or run a command, in the resource's appliance: in its namespace with the local provider, else over ssh to its management address")
    .argument('<resource_id>', 'the resource id')
    .argument('[command...]', 'what to run instead of a shell (put -- before it when its options are also astara-ctl options)')
    // `ssh <id> ip -6 addr`: the command's own options are not astara-ctl's.
    .allowUnknownOption()
    .action(async (id: string, words: string[], _options: object, command: Command) => {
      const found = await (await clientFor(command)).getResource(id.toLowerCase());
      const status = await context.runInteractive(applianceShellArgv(found, words, context.shell, context.processAlive));
      if (status !== 0) throw new ChildExit(status);
    });

  program
    .command('browse')
    .description('full-screen console of every resource, refreshed live: j/k move, r rebuild, u update, d debug, m manage, q quit')
    .addOption(new Option('--interval <seconds>', 'seconds between refreshes').default(2).argParser(parseInterval))
    .option('--dump', 'print the table once as plain text and exit (no terminal needed)')
    .action(async (options: { interval: number; dump?: boolean }, command: Command) => {
      // ink decides once, when it is first imported, whether it runs "in CI"
      // (any CI or CI_* variable) and then draws only the final frame. An
      // operator at a terminal wants the live screen wherever the variable
      // came from, so on a terminal the decision is made before ink loads.
      if (process.stdout.isTTY && options.dump !== true) process.env.CI = '0';
      const { runBrowse } = await import('./browse.js');
      await runBrowse(await clientFor(command), { interval: options.interval, dump: options.dump === true }, context.out);
    });

  return program;
}

/** Run astara-ctl with `argv` (as process.argv: node, script, arguments...); resolves to the exit status. */
export async function main(argv: readonly string[], context: CtlContext = processContext()): Promise<number> {
  try {
    await buildProgram(context).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ChildExit) return error.status;
    context.err(`astara-ctl: ${describeFailure(error)}\n`);
    return 1;
  }
}
