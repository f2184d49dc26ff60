// The admin API: the original's PUT routes, where the path is an astara-ctl
// command line (`/resource/debug/<id>/--reason/text`), plus JSON reads for
// tools and the console. It only translates HTTP to OrchestratorControl.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  BadCommandError,
  UnknownTargetError,
  type OrchestratorControl,
} from '../core/control.js';
import {
  CONFIG_RELOAD,
  GLOBAL_DEBUG,
  POLL_COMMAND,
  RESOURCE_DEBUG,
  RESOURCE_MANAGE,
  RESOURCE_REBUILD,
  RESOURCE_UPDATE,
  ROUTER_DEBUG,
  ROUTER_MANAGE,
  ROUTER_REBUILD,
  ROUTER_UPDATE,
  TENANT_DEBUG,
  TENANT_MANAGE,
  WORKERS_DEBUG,
  isWildcard,
  type CommandBody,
  type CommandName,
} from '../core/events.js';
import { requireToken } from './access.js';
import { sendError, sendJson } from './json.js';
import type { OrchestratorMetrics } from './metrics.js';

export interface AdminDependencies {
  readonly control: OrchestratorControl;
  readonly metrics: OrchestratorMetrics;
  readonly logger: Logger;
  /** The bearer token every request but the console's static files must carry; undefined: none asked. */
  readonly adminToken?: string;
  /** The console's files, live feed and appliance reads (orchestrator/console/routes.ts). */
  readonly console?: express.Router;
}

/** The 500 text of the original, kept so scripts that matched it still do. */
export const UNKNOWN_ERROR = 'An unknown error has occurred. Please try your request again.';

/** The arguments after a command's words, parsed the way argparse parsed them. */
interface Arguments {
  readonly positional: string | undefined;
  readonly options: ReadonlyMap<string, string>;
}

interface CommandSpec {
  readonly words: readonly string[];
  /** The one positional argument, by its argparse name; none for poll and the like. */
  readonly positional?: string;
  /** Accepted options: spelling on the command line -> key in Arguments.options. */
  readonly options?: Readonly<Record<string, string>>;
  /** Interactive commands need a terminal: the API refuses them with 501, as the original did. */
  readonly interactive?: boolean;
  readonly build?: (args: Arguments) => CommandBody;
}

const REASON = { '--reason': 'reason' };

function resourceCommand(verb: string, command: CommandName, extraOptions: Readonly<Record<string, string>> = {}): CommandSpec {
  return {
    words: ['resource', verb],
    positional: 'resource_id',
    options: { ...REASON, ...extraOptions },
    build: ({ positional, options }) => ({
      command,
      resource_id: positional!.toLowerCase(),
      tenant_id: '*',
      reason: options.get('reason'),
      image_uuid: options.get('image_uuid'),
    }),
  };
}

function routerCommand(verb: string, command: CommandName): CommandSpec {
  return {
    words: ['router', verb],
    positional: 'router_id',
    options: REASON,
    build: ({ positional, options }) => {
      const routerId = positional!.toLowerCase();
      // astara-ctl looked the tenant up in Neutron; the core knows its resources, so only a wildcard travels here.
      return { command, router_id: routerId, tenant_id: isWildcard(routerId) ? routerId : undefined, reason: options.get('reason') };
    },
  };
}

function tenantCommand(verb: string, command: CommandName): CommandSpec {
  return {
    words: ['tenant', verb],
    positional: 'tenant_id',
    options: REASON,
    build: ({ positional, options }) => ({ command, tenant_id: positional!, reason: options.get('reason') }),
  };
}

const IMAGE_UUID = { '--image_uuid': 'image_uuid', '--image-uuid': 'image_uuid' };

const COMMAND_SPECS: readonly CommandSpec[] = [
  { words: ['poll'], build: () => ({ command: POLL_COMMAND }) },
  { words: ['workers', 'debug'], build: () => ({ command: WORKERS_DEBUG }) },
  { words: ['config', 'reload'], build: () => ({ command: CONFIG_RELOAD }) },
  {
    words: ['global', 'debug'],
    positional: 'status',
    options: REASON,
    build: ({ positional, options }) => {
      const status = positional!.toLowerCase();
      if (status !== 'enable' && status !== 'disable') throw new ArgumentError(`argument status: must be enable or disable, not ${positional!}`);
      return { command: GLOBAL_DEBUG, enabled: status === 'enable' ? 1 : 0, reason: options.get('reason') };
    },
  },
  resourceCommand('debug', RESOURCE_DEBUG),
  resourceCommand('manage', RESOURCE_MANAGE),
  resourceCommand('update', RESOURCE_UPDATE),
  resourceCommand('rebuild', RESOURCE_REBUILD, IMAGE_UUID),
  routerCommand('debug', ROUTER_DEBUG),
  routerCommand('manage', ROUTER_MANAGE),
  routerCommand('update', ROUTER_UPDATE),
  routerCommand('rebuild', ROUTER_REBUILD),
  tenantCommand('debug', TENANT_DEBUG),
  tenantCommand('manage', TENANT_MANAGE),
  { words: ['browse'], interactive: true },
  { words: ['ssh'], interactive: true },
];

class ArgumentError extends Error {}

export type ParsedCommand =
  | { readonly kind: 'command'; readonly body: CommandBody }
  | { readonly kind: 'interactive'; readonly name: string }
  | { readonly kind: 'unknown'; readonly message: string }
  | { readonly kind: 'bad-arguments'; readonly name: string; readonly message: string };

/**
 * Turn the words of a command line (the path's segments, decoded) into the
 * command body astara-ctl would have sent. Like cliff, the longest command
 * name that prefixes the words wins; like argparse, the rest is one
 * positional argument and `--option value` (or `--option=value`) pairs.
 */
export function parseCommandWords(words: readonly string[]): ParsedCommand {
  const spec = findCommand(words);
  if (!spec) return { kind: 'unknown', message: words.length === 0 ? 'no command given' : `unknown command: ${words.join(' ')}` };
  const name = spec.words.join(' ');
  if (spec.interactive) return { kind: 'interactive', name };
  try {
    const args = parseArguments(spec, words.slice(spec.words.length));
    return { kind: 'command', body: withoutUndefined(spec.build!(args)) };
  } catch (error) {
    if (error instanceof ArgumentError) return { kind: 'bad-arguments', name, message: error.message };
    throw error;
  }
}

function findCommand(words: readonly string[]): CommandSpec | undefined {
  let found: CommandSpec | undefined;
  for (const spec of COMMAND_SPECS) {
    const matches = spec.words.every((w, i) => words[i] === w);
    if (matches && (!found || spec.words.length > found.words.length)) found = spec;
  }
  return found;
}

function parseArguments(spec: CommandSpec, tokens: readonly string[]): Arguments {
  const accepted = spec.options ?? {};
  const options = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('--')) {
      positionals.push(token);
      continue;
    }
    const equals = token.indexOf('=');
    const spelling = equals === -1 ? token : token.slice(0, equals);
    const key = accepted[spelling];
    if (key === undefined) throw new ArgumentError(`unrecognized arguments: ${token}`);
    let value: string | undefined;
    if (equals !== -1) {
      value = token.slice(equals + 1);
    } else {
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === '') throw new ArgumentError(`argument ${spelling}: expected one argument`);
    options.set(key, value);
  }
  if (spec.positional === undefined) {
    if (positionals.length > 0) throw new ArgumentError(`unrecognized arguments: ${positionals.join(' ')}`);
    return { positional: undefined, options };
  }
  if (positionals.length === 0) throw new ArgumentError(`the following arguments are required: ${spec.positional}`);
  if (positionals.length > 1) throw new ArgumentError(`unrecognized arguments: ${positionals.slice(1).join(' ')}`);
  return { positional: positionals[0], options };
}

function withoutUndefined(body: CommandBody): CommandBody {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as unknown as CommandBody;
}

/** The path's segments, URL-decoded one by one (so `%2F` stays inside its segment), empty ones dropped. */
export function pathWords(rawPath: string): string[] {
  return rawPath
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => decodeURIComponent(segment));
}

export function createAdminApp(deps: AdminDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(deps.logger));
  if (deps.adminToken !== undefined) app.use(requireToken(deps.adminToken, isConsoleFile));
  if (deps.console) app.use(deps.console);

  const reads = express.Router();
  getRoute(reads, '/v1/resources', (_req, res) => {
    // Clustered, the list is this member's share: the group's members say where the rest is.
    const { cluster } = deps.control.workers();
    sendJson(res, 200, { resources: deps.control.listResources(), ...(cluster?.enabled ? { cluster } : {}) });
  });
  getRoute(reads, '/v1/resources/:id', (req, res) => {
    const id = String(req.params.id);
    const resource = deps.control.getResource(id) ?? deps.control.getResource(id.toLowerCase());
    if (!resource) {
      sendError(res, 404, 'no such resource', [{ path: 'id', message: `${id} is not a resource the orchestrator manages` }]);
      return;
    }
    sendJson(res, 200, { resource });
  });
  getRoute(reads, '/v1/workers', (_req, res) => {
    sendJson(res, 200, { workers: deps.control.workers() });
  });
  getRoute(reads, '/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.text());
  });
  app.use(reads);
  app.use((req: Request, res: Response, next: NextFunction) => runCommand(deps, req, res).catch(next));

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err: error }, 'unhandled error');
    sendError(res, 500, UNKNOWN_ERROR);
  });
  return app;
}

async function runCommand(deps: AdminDependencies, req: Request, res: Response): Promise<void> {
  let words: string[];
  try {
    words = pathWords(req.path);
  } catch {
    sendError(res, 400, 'bad arguments', [{ message: `the path ${req.path} is not valid URL encoding` }]);
    return;
  }
  const parsed = parseCommandWords(words);
  if (parsed.kind === 'unknown') {
    sendError(res, 404, 'not found', [{ message: req.method === 'PUT' ? parsed.message : `no route ${req.method} ${req.path}` }]);
    return;
  }
  if (req.method !== 'PUT') {
    res.set('Allow', 'PUT');
    sendError(res, 405, 'method not allowed', [{ message: `${req.method} is not allowed on a command; use PUT` }]);
    return;
  }
  switch (parsed.kind) {
    case 'interactive':
      sendError(res, 501, 'not implemented', [{ message: `${parsed.name} is interactive: run astara-ctl ${parsed.name} in a terminal` }]);
      return;
    case 'bad-arguments':
      sendError(res, 400, 'bad arguments', [{ path: parsed.name, message: parsed.message }]);
      return;
    case 'command':
      break;
  }
  try {
    await deps.control.command(parsed.body);
  } catch (error) {
    if (error instanceof UnknownTargetError) {
      sendError(res, 404, 'unknown target', [{ message: error.message }]);
    } else if (error instanceof BadCommandError) {
      sendError(res, 400, 'bad command', [{ message: error.message }]);
    } else {
      deps.logger.error({ err: error, command: parsed.body }, 'command failed');
      sendError(res, 500, UNKNOWN_ERROR);
    }
    return;
  }
  // The original answered with the CLI's exit status.
  res.status(200).type('text/plain').send('0');
}

/** The console's page and bundles: they hold no data, and a browser navigating to them sends no header. */
function isConsoleFile(req: Request): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.path === '/ui' || req.path.startsWith('/ui/'));
}

type Handler = (req: Request, res: Response) => unknown;

function getRoute(router: express.Router, path: string, handler: Handler): void {
  router
    .route(path)
    .get(handler)
    .all((req: Request, res: Response) => {
      res.set('Allow', 'GET, HEAD');
      sendError(res, 405, 'method not allowed', [{ message: `${req.method} is not allowed on ${path}; use GET` }]);
    });
}

function requestLogger(logger: Logger): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      logger.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    next();
  };
}
