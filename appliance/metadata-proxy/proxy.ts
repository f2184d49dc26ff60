// The metadata proxy: one HTTP listener per tenant network, each forwarding a
// guest's GET to the orchestrator's metadata server with the identity headers
// set by the proxy itself (spec section 6). update() swaps the per-listener
// maps and the upstream synchronously, so a request sees either the old or the
// new configuration, never a mix, and in-flight requests keep theirs. Each
// listener accepts connections only from its own network's prefixes: the
// firewall already keeps other guests away, this holds even without it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { MetadataListenerState, MetadataProxyState } from './state.js';

export interface MetadataProxyOptions {
  readonly logger: Logger;
  /** Largest request header block accepted from a guest (431 beyond). Default 8 KiB. */
  readonly maxHeaderSize?: number;
  /** Whole upstream exchange, connect to last body byte (500 beyond). Default 10 s. */
  readonly upstreamTimeoutMs?: number;
  /** Concurrent requests per guest source address and listener (429 beyond). Default 16. */
  readonly maxPerSource?: number;
  /** Largest upstream 200 body passed through (500 beyond). Default 4 MiB. */
  readonly maxBodyBytes?: number;
  /** How long a removed listener may drain before its connections are cut. Default upstream timeout + 5 s. */
  readonly drainTimeoutMs?: number;
}

export interface MetadataListenerStatus {
  readonly networkId: string;
  readonly ifname: string;
  readonly address: string;
  /** The bound port (differs from the desired one only when that was 0). */
  readonly port: number;
  readonly inFlight: number;
}

export interface MetadataProxyUpdate {
  /** True when any listener was opened or closed or any map or the upstream changed. */
  readonly changed: boolean;
  readonly opened: readonly string[];
  readonly closed: readonly string[];
  /** Listeners that could not bind; not running, retried by the next update(). */
  readonly failed: readonly { readonly listener: string; readonly error: string }[];
}

interface Context {
  readonly networkId: string;
  readonly ifname: string;
  readonly tenantId: string;
  readonly instances: ReadonlyMap<string, string>;
  readonly sources: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
  readonly fingerprint: string;
}

interface Listener {
  readonly key: string;
  readonly server: Server;
  context: Context;
  closing: boolean;
  inFlight: number;
  readonly perSource: Map<string, number>;
}

const TEXT = 'text/plain; charset=utf-8';

export class MetadataProxy {
  readonly #logger: Logger;
  readonly #maxHeaderSize: number;
  readonly #timeoutMs: number;
  readonly #maxPerSource: number;
  readonly #maxBodyBytes: number;
  readonly #drainTimeoutMs: number;
  // undici is loaded on a guest's first request, not at start: about 5 MiB
  // of an idle agent's resident memory that a router without guests never needs.
  #agent: Promise<Agent> | undefined;
  readonly #listeners = new Map<string, Listener>();
  readonly #draining = new Set<Promise<void>>();
  #upstream = '';
  #desired: MetadataProxyState | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: MetadataProxyOptions) {
    this.#logger = options.logger.child({ component: 'metadata-proxy' });
    this.#maxHeaderSize = options.maxHeaderSize ?? 8192;
    this.#timeoutMs = options.upstreamTimeoutMs ?? 10_000;
    this.#maxPerSource = options.maxPerSource ?? 16;
    this.#maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? this.#timeoutMs + 5000;
  }

  /** The state last passed to update(), for an undo step. */
  get desired(): MetadataProxyState | undefined {
    return this.#desired;
  }

  listeners(): MetadataListenerStatus[] {
    return [...this.#listeners.values()].map((l) => {
      const bound = l.server.address();
      const [address] = l.key.split('|') as [string];
      return {
        networkId: l.context.networkId,
        ifname: l.context.ifname,
        address,
        port: typeof bound === 'object' && bound ? bound.port : 0,
        inFlight: l.inFlight,
      };
    });
  }

  /**
   * Make the running listeners match `desired`. Maps and upstream switch at
   * once; removed listeners stop accepting at once and drain in the
   * background; the promise settles when new listeners are bound (or failed).
   * Calls are serialised.
   */
  update(desired: MetadataProxyState): Promise<MetadataProxyUpdate> {
    const run = this.#queue.then(() => this.#update(desired));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stop every listener, wait for in-flight requests (bounded by the drain timeout), close upstream connections. */
  async close(): Promise<void> {
    await this.#queue;
    this.#stopped = true;
    for (const listener of [...this.#listeners.values()]) this.#retire(listener);
    await Promise.all([...this.#draining]);
    await (await this.#agent)?.close();
  }

  #upstreamAgent(): Promise<Agent> {
    this.#agent ??= import('undici').then(
      ({ Agent }) =>
        new Agent({
          keepAliveTimeout: 4000,
          // Bounds the sockets a burst of guests opens to the orchestrator; more requests queue (within the timeout).
          connections: 128,
          connect: { timeout: this.#timeoutMs },
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        }),
    );
    return this.#agent;
  }

  async #update(desired: MetadataProxyState): Promise<MetadataProxyUpdate> {
    if (this.#stopped) throw new Error('metadata proxy is closed');
    this.#desired = desired;
    let changed = desired.upstream !== this.#upstream;
    const wanted = new Map(desired.listeners.map((l) => [listenerKey(l), l]));
    const closed: string[] = [];
    const toOpen: [string, MetadataListenerState][] = [];

    // One synchronous section: no request can observe a half-applied update.
    this.#upstream = desired.upstream;
    for (const listener of [...this.#listeners.values()]) {
      const state = wanted.get(listener.key);
      if (state) {
        const context = contextOf(state);
        if (context.fingerprint !== listener.context.fingerprint) changed = true;
        listener.context = context;
      } else {
        this.#retire(listener);
        closed.push(listener.key);
      }
    }
    for (const [key, state] of wanted) if (!this.#listeners.has(key)) toOpen.push([key, state]);

    const opened: string[] = [];
    const failed: { listener: string; error: string }[] = [];
    await Promise.all(
      toOpen.map(async ([key, state]) => {
        try {
          this.#listeners.set(key, await this.#open(key, state));
          opened.push(key);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failed.push({ listener: key, error: message });
          this.#logger.error({ listener: key, ifname: state.ifname, err: error }, 'metadata listener failed to bind');
        }
      }),
    );
    changed ||= opened.length > 0 || closed.length > 0;
    if (changed) this.#logger.info({ upstream: desired.upstream, opened, closed, failed: failed.length }, 'metadata proxy updated');
    return { changed, opened, closed, failed };
  }

  #open(key: string, state: MetadataListenerState): Promise<Listener> {
    const server = createServer({ maxHeaderSize: this.#maxHeaderSize });
    server.headersTimeout = 10_000;
    server.requestTimeout = this.#timeoutMs + 10_000;
    server.keepAliveTimeout = 5000;
    const listener: Listener = { key, server, context: contextOf(state), closing: false, inFlight: 0, perSource: new Map() };
    // Read at each connection: an update may change the prefixes of a kept listener.
    server.on('connection', (socket: Socket) => {
      const source = canonicalSource(socket.remoteAddress);
      if (admits(listener.context.sources, source)) return;
      this.#logger.debug({ source, listener: key, networkId: listener.context.networkId }, 'metadata connection refused: source outside the network');
      socket.destroy();
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(listener, req, res);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: state.address, port: state.port, ipv6Only: state.address.includes(':') }, () => {
        server.off('error', reject);
        server.on('error', (error) => this.#logger.error({ listener: key, err: error }, 'metadata listener error'));
        this.#logger.info({ listener: key, ifname: state.ifname, networkId: state.networkId }, 'metadata listener open');
        resolve(listener);
      });
    });
  }

  /** Stop accepting now; let in-flight requests finish (their responses close the connection). */
  #retire(listener: Listener): void {
    this.#listeners.delete(listener.key);
    listener.closing = true;
    const done = new Promise<void>((resolve) => {
      const force = setTimeout(() => listener.server.closeAllConnections(), this.#drainTimeoutMs);
      force.unref();
      listener.server.close(() => {
        clearTimeout(force);
        this.#logger.info({ listener: listener.key }, 'metadata listener closed');
        resolve();
      });
      listener.server.closeIdleConnections();
    });
    this.#draining.add(done);
    void done.then(() => this.#draining.delete(done));
  }

  async #handle(listener: Listener, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Captured once: the whole request uses one configuration.
    const context = listener.context;
    const upstream = this.#upstream;
    const source = canonicalSource(req.socket.remoteAddress);
    const send = (status: number, body: string | Buffer, contentType = TEXT, extra: Record<string, string> = {}) => {
      if (res.headersSent || res.destroyed) return;
      const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra };
      if (listener.closing) headers.Connection = 'close';
      res.writeHead(status, headers).end(body);
    };
    req.resume();

    if (req.method !== 'GET') {
      send(405, 'Method Not Allowed\n', TEXT, { Allow: 'GET' });
      return;
    }
    const path = requestPath(req.url ?? '');
    if (!path) {
      send(400, 'Bad Request\n');
      return;
    }
    const active = listener.perSource.get(source) ?? 0;
    if (active >= this.#maxPerSource) {
      this.#logger.warn({ source, ifname: context.ifname }, 'metadata request refused: too many concurrent requests from this address');
      send(429, 'Too Many Requests\n', TEXT, { 'Retry-After': '1' });
      return;
    }
    listener.perSource.set(source, active + 1);
    listener.inFlight++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`upstream timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('guest closed the connection'));
    });
    const instanceId = context.instances.get(source) ?? '';
    try {
      const response = await (await this.#upstreamAgent()).request({
        origin: upstream,
        path,
        method: 'GET',
        signal: controller.signal,
        headers: {
          'X-Forwarded-For': source,
          'X-Instance-ID': instanceId,
          'X-Tenant-ID': context.tenantId,
          'X-Quantum-Network-ID': context.networkId,
          // Of the guest's own headers only Accept goes on, so no guest copy of the identity headers ever does.
          ...(typeof req.headers.accept === 'string' ? { Accept: req.headers.accept } : {}),
        },
      });
      if (response.statusCode === 200) {
        const body = await readBody(response.body, this.#maxBodyBytes);
        const type = response.headers['content-type'];
        send(200, body, typeof type === 'string' ? type : 'application/octet-stream');
      } else {
        await response.body.dump();
        if (response.statusCode === 404) {
          send(404, 'Not Found\n');
        } else {
          this.#logger.warn({ source, path, status: response.statusCode }, 'metadata upstream answered with an error');
          send(500, 'Internal Server Error\n');
        }
      }
      this.#logger.debug({ source, instanceId, path, status: res.statusCode }, 'metadata request');
    } catch (error) {
      if (res.destroyed) this.#logger.debug({ source, path }, 'metadata request abandoned by the guest');
      else this.#logger.warn({ source, path, upstream, err: error }, 'metadata upstream request failed');
      send(500, 'Internal Server Error\n');
    } finally {
      clearTimeout(timer);
      const left = (listener.perSource.get(source) ?? 1) - 1;
      if (left > 0) listener.perSource.set(source, left);
      else listener.perSource.delete(source);
      listener.inFlight--;
    }
  }
}

function listenerKey(state: MetadataListenerState): string {
  return `${state.address}|${state.port}`;
}

function contextOf(state: MetadataListenerState): Context {
  const instances = new Map(Object.entries(state.instances));
  const sources = state.sources.map((prefix) => ipaddr.parseCIDR(prefix));
  const fingerprint = JSON.stringify([state.networkId, state.ifname, state.tenantId, [...instances].sort(), state.sources]);
  return { networkId: state.networkId, ifname: state.ifname, tenantId: state.tenantId, instances, sources, fingerprint };
}

/** Whether a canonical source address lies in one of the prefixes. */
function admits(prefixes: Context['sources'], source: string): boolean {
  if (!ipaddr.isValid(source)) return false;
  const address = ipaddr.parse(source);
  return prefixes.some((prefix) => address.kind() === prefix[0].kind() && address.match(prefix));
}

/** Canonical text of the peer address (IPv4-mapped IPv6 folded to IPv4), matching the map's keys. */
function canonicalSource(address: string | undefined): string {
  if (!address || !ipaddr.isValid(address)) return address ?? '';
  return ipaddr.process(address).toString();
}

/** Path and query of the request target (origin or absolute form); undefined for anything else. */
function requestPath(target: string): string | undefined {
  if (target.startsWith('/')) {
    const hash = target.indexOf('#');
    return hash < 0 ? target : target.slice(0, hash);
  }
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return undefined;
  }
}

async function readBody(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new Error(`upstream body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
