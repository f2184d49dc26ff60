// The v1 REST API (spec section 3), on Express 5. Paths answer with and
// without a trailing slash (Express's non-strict routing); wrong methods get
// 405 with an Allow header; every error is a JSON body naming what is wrong.
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { MAX_DOCUMENT_BYTES, unwrapDocument, validateDocument, type Problem, type ValidationMemo } from '../../contract/index.js';
import { ApplyFailedError, CheckFailedError, messageOf, type ApplyEngine } from '../engine/engine.js';
import type { CommandRunner } from '../host/exec.js';
import { toApiInterface, type InterfaceNames, type IpLinkOnly, type NamedLink } from '../host/interfaces.js';
import { SharedRead } from './cache.js';
import { jsonText, parseJsonBody, sendError, sendJson, sendJsonText } from './json.js';
import type { RepushGuard } from '../engine/repush.js';
import { guardedAddresses, lockoutProblems } from './lockout.js';
import { redactSecrets } from '../../contract/redact.js';
import type { VpnView } from './vpn-metrics.js';
import type { GatewayProbe } from './status.js';
import type { DaemonRegistry } from '../host/daemons.js';
import type { AgentMetrics, HaView, LoadBalancerView } from './metrics.js';
import { servicesProblems, type EnabledServices } from './services.js';
import type { StatsCollector } from './stats.js';
import { FIP_TABLE } from '../drivers/firewall/nft.js';

export interface ApiDependencies {
  readonly engine: ApplyEngine;
  readonly interfaces: InterfaceNames;
  readonly runner: CommandRunner;
  readonly probe: GatewayProbe;
  readonly daemons: DaemonRegistry;
  readonly stats: StatsCollector;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  /** Answers a re-push of the document the host is verified to hold without applying it. */
  readonly repush: RepushGuard;
  /** Addresses the API listens on; a document may not take them away. */
  readonly listenAddresses: readonly string[];
  /** What the image can run: a document asking for more is refused. */
  readonly services: EnabledServices;
  /** The load balancer's status (none on an agent without the subsystem). */
  readonly loadBalancer?: LoadBalancerView;
  /** The VRRP state of an HA pair member (none on an agent without the subsystem). */
  readonly ha?: HaView;
  /** The VPN connections' status (none on an agent without the subsystem). */
  readonly vpn?: VpnView;
  readonly version: string;
  readonly startedAt: number;
  /** The networks of the last valid document, so that a delta rebuilds only the networks it changed (contract's ValidationMemo). */
  readonly validationMemo?: ValidationMemo;
}

/**
 * PUT bodies held in memory at once (being received, parsed, validated or
 * applied: applies run one at a time, so two keep the next one ready). Up to
 * BODIES_WAITING more wait with their bodies unread in the kernel's socket
 * buffers, costing nothing; beyond that the answer is 503 with Retry-After.
 */
export const BODIES_AT_ONCE = 2;
export const BODIES_WAITING = 8;
const RETRY_AFTER_S = 1;
const LIMIT_TEXT = `${MAX_DOCUMENT_BYTES / (1024 * 1024)} MiB`;

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogger(deps.logger, deps.metrics));
  const gate = new BodyGate(BODIES_AT_ONCE, BODIES_WAITING);
  const readBody = express.raw({ type: () => true, limit: MAX_DOCUMENT_BYTES });

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
        // Set while the document is the desired state but not (all) on the host: a re-apply at start-up failed and is retried.
        degraded: deps.engine.degraded ?? null,
        // Whether the host still holds what the last apply left, as last verified (a re-push is reused only while verified).
        live_state: deps.repush.state,
        daemons: deps.daemons.status(),
        // An HA pair member's VRRP state (MASTER holds the pair's addresses); null on a single router.
        ha: haStatus(deps.ha),
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
      sendJson(res, 200, { configuration: redactSecrets(deps.engine.current?.document ?? {}) });
    },
    put: [requireJson, gate.enter, readBody, reuseRepush(deps), startHostRead(deps), parseBody, async (req, res) => putConfig(deps, req, res)],
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
  route(v1, '/v1/loadbalancer/status', {
    get: (_req, res) => {
      const status = deps.loadBalancer?.status();
      if (!status) {
        sendError(res, 404, 'no load balancer is configured', [{ path: '/services/loadbalancer', message: 'the applied configuration has no load balancer' }]);
        return;
      }
      sendJson(res, 200, { loadbalancer: status });
    },
  });
  route(v1, '/v1/vpn/status', {
    get: async (_req, res) => {
      const status = await deps.vpn?.status();
      if (!status) {
        sendError(res, 404, 'no VPN is configured', [{ path: '/vpn/ipsec', message: 'the applied configuration has no VPN service' }]);
        return;
      }
      sendJson(res, 200, { vpn: status });
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
    const [v4, v6, floatingIps] = await Promise.all([
      deps.runner.read(['iptables-save'], { allowFailure: true }),
      deps.runner.read(['ip6tables-save'], { allowFailure: true }),
      // The floating IPs' NAT and counters (drivers/firewall/nft.ts).
      deps.runner.read(['nft', 'list', 'table', 'inet', FIP_TABLE], { allowFailure: true }),
    ]);
    return `${v4.stdout}${v6.stdout}${floatingIps.stdout}`;
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
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const typed = error as { type?: string; status?: number; expose?: boolean; message?: string };
    if (typed.type === 'request.aborted') {
      // The client went away mid-body: nobody to answer, nothing wrong here.
      deps.logger.info({ method: req.method, url: req.originalUrl, remote: req.socket.remoteAddress }, 'the client aborted its request body');
    } else if (typed.type === 'entity.too.large') {
      sendError(res, 413, 'document too large', [{ message: `the limit is ${LIMIT_TEXT} (${MAX_DOCUMENT_BYTES} bytes)` }]);
    } else if (typed.expose === true && typed.status !== undefined && typed.status >= 400 && typed.status < 500) {
      // What the body reader refuses on its own (an unknown Content-Encoding, a body shorter than announced).
      sendError(res, typed.status, 'bad request body', [{ message: typed.message ?? 'cannot read the body' }]);
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
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    sendError(res, 415, 'unsupported media type', [{ message: `the body must be UTF-8, not ${charset}` }]);
    return;
  }
  next();
}

/**
 * A re-push of the body last applied, while the host is verified to hold it,
 * is answered as that apply was, before the body is even parsed (see
 * engine/repush.ts); `Cache-Control: no-cache` asks for a full apply.
 */
function reuseRepush(deps: ApiDependencies): Handler {
  return (req, res, next) => {
    const bytes = req.body as Buffer | undefined;
    const bodyHash = createHash('sha256')
      .update(bytes ?? Buffer.alloc(0))
      .digest('hex');
    res.locals.bodyHash = bodyHash;
    const answer = asksFullApply(req) ? undefined : deps.repush.answerFor(bodyHash);
    if (answer === undefined) {
      next();
      return;
    }
    deps.engine.reuse();
    sendJsonText(res, 200, answer);
  };
}

/** `Cache-Control: no-cache`: apply in full, whatever the host is verified to hold. */
function asksFullApply(req: Request): boolean {
  return /\bno-cache\b/i.test(req.get('cache-control') ?? '');
}

/** What a PUT reads of the host: the interfaces (generic names, MACs) and which of them holds each address the API listens on. */
interface HostFacts {
  readonly links: readonly NamedLink<IpLinkOnly>[];
  /** Guarded listen address -> generic name of the interface holding it. */
  readonly holders: ReadonlyMap<string, string>;
}

async function readHostFacts(deps: ApiDependencies): Promise<HostFacts> {
  const guarded = guardedAddresses(deps.listenAddresses);
  const [links, ...holders] = await Promise.all([deps.interfaces.links(), ...guarded.map((address) => deps.interfaces.holdersOf(address))]);
  const held = new Map<string, string>();
  guarded.forEach((address, i) => {
    const real = new Set(holders[i]);
    const holder = links.find((link) => real.has(link.real));
    if (holder) held.set(address, holder.generic);
  });
  return { links, holders: held };
}

/**
 * The host is read while the body is parsed and validated (the `ip`
 * processes run beside the agent), not after: the PUT waits for the longer
 * of the two instead of both.
 */
function startHostRead(deps: ApiDependencies): Handler {
  return (_req, res, next) => {
    const facts = readHostFacts(deps);
    // Awaited by putConfig; a body refused before that leaves the failure unobserved, not unhandled.
    void facts.catch(() => undefined);
    res.locals.hostFacts = facts;
    next();
  };
}

function parseBody(req: Request, res: Response, next: NextFunction): void {
  const parsed = parseJsonBody(req.body as Buffer | undefined);
  if (!parsed.ok) {
    sendError(res, parsed.status, parsed.error, parsed.details);
    return;
  }
  req.body = parsed.value;
  next();
}

/**
 * Bounds the PUT bodies held at once (see BODIES_AT_ONCE). A request holds
 * its place until its answer is sent or its connection closes.
 */
class BodyGate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly atOnce: number,
    private readonly maxWaiting: number,
  ) {}

  readonly enter = (_req: Request, res: Response, next: NextFunction): void => {
    const admit = () => {
      this.#active++;
      res.once('close', () => {
        this.#active--;
        this.#admitWaiting();
      });
      next();
    };
    if (this.#active < this.atOnce) {
      admit();
    } else if (this.#waiting.length < this.maxWaiting) {
      this.#waiting.push(admit);
      res.once('close', () => {
        const index = this.#waiting.indexOf(admit);
        if (index >= 0) this.#waiting.splice(index, 1);
      });
    } else {
      res.set('Retry-After', String(RETRY_AFTER_S));
      sendError(res, 503, 'busy', [{ message: `${this.atOnce} configurations are being received or applied and ${this.maxWaiting} more are waiting; retry in ${RETRY_AFTER_S} s` }]);
    }
  };

  #admitWaiting(): void {
    while (this.#active < this.atOnce) {
      const next = this.#waiting.shift();
      if (!next) return;
      next();
    }
  }
}

async function putConfig(deps: ApiDependencies, req: Request, res: Response): Promise<void> {
  const document = unwrapDocument(req.body as unknown);
  let facts: HostFacts;
  try {
    facts = await (res.locals.hostFacts as Promise<HostFacts>);
  } catch (error) {
    sendError(res, 500, 'cannot read the host interfaces', [{ message: messageOf(error) }]);
    return;
  }
  const host = { interfaces: new Map(facts.links.map((i) => [i.generic, i.link.address ?? ''])) };
  const result = validateDocument(document, host, deps.validationMemo);
  if (!result.ok) {
    sendError(res, 422, 'invalid configuration', withWarnings(result.errors, result.warnings));
    return;
  }
  const missing = servicesProblems(result.model, deps.services);
  if (missing.length > 0) {
    sendError(res, 422, 'the configuration needs a service this appliance does not run', missing);
    return;
  }
  const lockout = lockoutProblems(result.model, deps.listenAddresses, facts.holders);
  if (lockout.length > 0) {
    sendError(res, 422, 'the configuration would lock the agent out', lockout);
    return;
  }
  try {
    const report = await deps.engine.apply(result.document, result.model, { full: asksFullApply(req) });
    const answer = jsonText({ configuration: redactSecrets(result.document), generation: report.generation, warnings: result.warnings });
    sendJsonText(res, 200, answer);
    deps.repush.applied(res.locals.bodyHash as string, report.generation, answer);
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

function haStatus(view: HaView | undefined): { state: string; since: string; peer: string } | null {
  const status = view?.status();
  return status ? { state: status.state, since: status.since, peer: status.peer } : null;
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
