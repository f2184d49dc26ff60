// The admin API's routes for the console: its files under /ui/, the live
// feed (GET /v1/events), and the reads that ask the appliances
// (GET /v1/resources/ID/appliance, GET /v1/resources/ID/traffic).
import express, { type Request, type Response } from 'express';
import { sendError, sendJson } from '../api/json.js';
import type { OrchestratorControl, ResourceView } from '../core/control.js';
import type { ApplianceProbe } from './appliances.js';
import type { ConsoleAssets } from './assets.js';
import type { LiveFeed } from './live.js';
import type { TrafficHistory } from './traffic.js';

export interface ConsoleDependencies {
  readonly control: OrchestratorControl;
  readonly feed: LiveFeed;
  readonly probe: ApplianceProbe;
  readonly history: TrafficHistory;
  /** The built files; undefined when the package was not built. */
  readonly assets: ConsoleAssets | undefined;
}

type Handler = (req: Request, res: Response) => unknown;

function getOnly(router: express.Router, path: string, handler: Handler): void {
  router
    .route(path)
    .get(handler)
    .all((req: Request, res: Response) => {
      res.set('Allow', 'GET, HEAD');
      sendError(res, 405, 'method not allowed', [{ message: `${req.method} is not allowed on ${req.path}; use GET` }]);
    });
}

function findResource(control: OrchestratorControl, req: Request, res: Response): ResourceView | undefined {
  const id = String(req.params.id);
  const resource = control.getResource(id) ?? control.getResource(id.toLowerCase());
  if (!resource) sendError(res, 404, 'no such resource', [{ path: 'id', message: `${id} is not a resource the orchestrator manages` }]);
  return resource;
}

function serveAsset(assets: ConsoleAssets | undefined, name: string, req: Request, res: Response): void {
  if (!assets) {
    sendError(res, 503, 'console not built', [{ message: 'this installation has no console files: run `npm run build`' }]);
    return;
  }
  const asset = assets.get(name);
  if (!asset) {
    sendError(res, 404, 'not found', [{ message: `no console file ${name}` }]);
    return;
  }
  res.set({
    'Content-Type': asset.type,
    'Cache-Control': asset.cacheControl,
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
    // Everything the page needs comes from here; nothing else may run in it or frame it.
    'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'Referrer-Policy': 'no-referrer',
  });
  const gzip = asset.gzip !== undefined && req.acceptsEncodings('gzip', 'identity') === 'gzip';
  if (gzip) res.set('Content-Encoding', 'gzip');
  res.status(200).send(gzip ? asset.gzip : asset.body);
}

export function consoleRouter(deps: ConsoleDependencies): express.Router {
  const router = express.Router({ strict: true });
  router.get('/ui', (_req, res) => res.redirect(301, '/ui/'));
  getOnly(router, '/ui/', (req, res) => serveAsset(deps.assets, 'index.html', req, res));
  getOnly(router, '/ui/:file', (req, res) => serveAsset(deps.assets, String(req.params.file), req, res));
  getOnly(router, '/v1/events', (req, res) => {
    if (req.method === 'HEAD') {
      res.status(200).type('text/event-stream').end();
      return;
    }
    if (!deps.feed.attach(req, res)) {
      res.set('Retry-After', '10');
      sendError(res, 503, 'too many consoles', [{ message: `at most ${deps.feed.clients} consoles may follow the live feed at once` }]);
    }
  });
  getOnly(router, '/v1/resources/:id/appliance', async (req, res) => {
    const resource = findResource(deps.control, req, res);
    if (resource) sendJson(res, 200, { appliances: await deps.probe.status(resource) });
  });
  getOnly(router, '/v1/resources/:id/traffic', (req, res) => {
    const resource = findResource(deps.control, req, res);
    if (resource) sendJson(res, 200, { traffic: deps.history.series(resource.id) });
  });
  return router;
}
