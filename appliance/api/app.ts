// The v1 REST API (spec section 3), on Express 5. Paths answer with and
// without a trailing slash (Express's non-strict routing); wrong methods get
// 405 with an Allow header; every error is a JSON body naming what is wrong.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { unwrapDocument, validateDocument, type Problem } from '../../contract/index.js';
import { ApplyFailedError, CheckFailedError, messageOf, type ApplyEngine } from '../engine/engine.js';
import type { CommandRunner } from '../host/exec.js';
import { toApiInterface, type InterfaceNames, type LiveInterface } from '../host/interfaces.js';
import { SharedRead } from './cache.js';
import { sendError, sendJson } from './json.js';
import { lockoutProblems } from './lockout.js';
import type { GatewayProbe } from './status.js';
import type { DaemonRegistry } from '../host/daemons.js';
import type { AgentMetrics } from './metrics.js';
import type { StatsCollector } from './stats.js';

export interface ApiDependencies {
  readonly engine: ApplyEngine;
  readonly interfaces: InterfaceNames;
  readonly runner: CommandRunner;
  readonly probe: GatewayProbe;
  readonly daemons: DaemonRegistry;
  readonly stats: StatsCollector;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  /** Addresses the API listens on; a document may not take them away. */
  readonly listenAddresses: readonly string[];
  readonly version: string;
  readonly startedAt: number;
}

/** Largest document accepted; a 5,000-allocation router is about 1 MB. */
const BODY_LIMIT = '32mb';

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(deps.logger, deps.metrics));

  const v1 = express.Router();
  route(v1, '/v1/base', {
    get: (_req, res) => {
      res.type('text/plain').send('Astara appliance API service is active\n');
    },
  });
  route(v1, '/v1/status', {
    get: async (_req, res) => {
      const current = deps.engine.current;
      const reachability = await deps.probe.reachability(current?.model);
      const last = deps.engine.lastReport;
      sendJson(res, 200, {
        ...reachability,
        version: deps.version,
        uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
        generation: current?.generation ?? 0,
        daemons: deps.daemons.status(),
        last_apply: last ? { ok: last.ok, generation: last.generation, started_at: last.started_at, duration_ms: last.duration_ms, failed_step: last.failed_step ?? null } : null,
      });
    },
  });
  route(v1, '/v1/system/interfaces', {
    get: async (_req, res) => {
      const live = await deps.interfaces.list();
      sendJson(res, 200, { interfaces: live.map((i) => toApiInterface(i.generic, i.link)) });
    },
  });
  route(v1, '/v1/system/interface/:ifname', {
    get: async (req, res) => {
      const live = await deps.interfaces.list();
      const found = live.find((i) => i.generic === req.params.ifname);
      if (!found) {
        sendError(res, 404, 'no such interface', [{ path: 'ifname', message: `${String(req.params.ifname)} is not an interface of this appliance` }]);
        return;
      }
      sendJson(res, 200, { interface: toApiInterface(found.generic, found.link) });
    },
  });
  route(v1, '/v1/system/config', {
    get: (_req, res) => {
      sendJson(res, 200, { configuration: deps.engine.current?.document ?? {} });
    },
    put: [requireJson, express.json({ type: () => true, limit: BODY_LIMIT, strict: false }), async (req, res) => putConfig(deps, req, res)],
  });
  route(v1, '/v1/system/apply', {
    get: (_req, res) => {
      const report = deps.engine.lastReport;
      if (!report) {
        sendError(res, 404, 'nothing has been applied yet');
        return;
      }
      sendJson(res, 200, { report });
    },
  });
  route(v1, '/v1/system/stats', {
    get: async (_req, res) => {
      sendJson(res, 200, await deps.stats.collect());
    },
  });
  route(v1, '/metrics', {
    get: async (_req, res) => {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.text());
    },
  });
  // The liveness probe of existing orchestrators: polled every few seconds,
  // often by several of them. Reads within a second share one pair of saves,
  // and every apply invalidates it, so the answer is never older than that.
  const rules = new SharedRead(1000, async () => {
    const [v4, v6] = await Promise.all([
      deps.runner.read(['iptables-save'], { allowFailure: true }),
      deps.runner.read(['ip6tables-save'], { allowFailure: true }),
    ]);
    return `${v4.stdout}${v6.stdout}`;
  });
  deps.engine.onReport(() => rules.invalidate());
  route(v1, '/v1/firewall/rules', {
    get: async (_req, res) => {
      res.type('text/plain').send(await rules.get());
    },
  });
  app.use(v1);

  app.use((req: Request, res: Response) => {
    sendError(res, 404, 'not found', [{ message: `no route ${req.method} ${req.path}` }]);
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const typed = error as { type?: string; status?: number; message?: string };
    if (typed.type === 'entity.parse.failed') {
      sendError(res, 400, 'malformed JSON', [{ message: typed.message ?? 'cannot parse the body' }]);
    } else if (typed.type === 'entity.too.large') {
      sendError(res, 413, 'document too large', [{ message: `the limit is ${BODY_LIMIT}` }]);
    } else {
      deps.logger.error({ err: error }, 'unhandled error');
      sendError(res, 500, 'internal error', [{ message: messageOf(error) }]);
    }
  });
  return app;
}

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

function route(router: express.Router, path: string, methods: { get?: Handler | Handler[]; put?: Handler | Handler[] }): void {
  const r = router.route(path);
  const allowed: string[] = [];
  if (methods.get) {
    r.get(methods.get);
    allowed.push('GET', 'HEAD');
  }
  if (methods.put) {
    r.put(methods.put);
    allowed.push('PUT');
  }
  r.all((req: Request, res: Response) => {
    res.set('Allow', allowed.join(', '));
    sendError(res, 405, 'method not allowed', [{ message: `${req.method} is not allowed on ${path}; use ${allowed.join(', ')}` }]);
  });
}

function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    sendError(res, 415, 'unsupported media type', [{ message: `Content-Type must be application/json, not ${req.get('content-type') ?? 'missing'}` }]);
    return;
  }
  next();
}

async function putConfig(deps: ApiDependencies, req: Request, res: Response): Promise<void> {
  const document = unwrapDocument(req.body as unknown);
  let live: LiveInterface[];
  try {
    live = await deps.interfaces.list();
  } catch (error) {
    sendError(res, 500, 'cannot read the host interfaces', [{ message: messageOf(error) }]);
    return;
  }
  const host = { interfaces: new Map(live.map((i) => [i.generic, i.link.address ?? ''])) };
  const result = validateDocument(document, host);
  if (!result.ok) {
    sendError(res, 422, 'invalid configuration', withWarnings(result.errors, result.warnings));
    return;
  }
  const lockout = lockoutProblems(result.model, deps.listenAddresses, live);
  if (lockout.length > 0) {
    sendError(res, 422, 'the configuration would lock the agent out', lockout);
    return;
  }
  try {
    const report = await deps.engine.apply(result.document, result.model);
    sendJson(res, 200, { configuration: result.document, generation: report.generation, warnings: result.warnings });
  } catch (error) {
    if (error instanceof CheckFailedError) {
      sendError(res, 422, 'a daemon refused its configuration', [{ path: error.subsystem, message: error.message }]);
    } else if (error instanceof ApplyFailedError) {
      sendError(res, 500, 'apply failed and was rolled back', [{ path: error.report.failed_step ?? '', message: error.report.error ?? error.message }]);
    } else {
      throw error;
    }
  }
}

function withWarnings(errors: Problem[], warnings: Problem[]): Problem[] {
  return [...errors, ...warnings.map((w) => ({ path: w.path, message: `warning: ${w.message}` }))];
}

function requestLogger(logger: Logger, metrics: AgentMetrics): Handler {
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.request(req.method, route, res.statusCode);
      logger.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(performance.now() - started), remote: req.socket.remoteAddress }, 'request');
    });
    (next as () => void)();
  };
}
