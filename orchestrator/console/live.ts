// GET /v1/events: the fleet's changes as server-sent events, for the console.
// One timer for every open console: while at least one is connected, every
// tick compares each resource's view (and the workers') with what was last
// sent and sends what changed, so a state change reaches the page within a
// tick, and a resource that goes through several states within one tick
// costs one event. The number of clients is bounded, and so is what one may
// leave unread: a client that falls that far behind is disconnected (the page
// reconnects and starts again from a snapshot).
import type { Request, Response } from 'express';
import type { ResourceView, WorkersView } from '../core/control.js';

export interface LiveSource {
  listResources(): ResourceView[];
  workers(): WorkersView;
}

export interface LiveFeedOptions {
  readonly tickMs?: number;
  readonly maxClients?: number;
  /** Bytes a client may leave unread before it is disconnected. */
  readonly maxBufferedBytes?: number;
  /** Ticks between comment lines that keep idle connections open through proxies. */
  readonly heartbeatTicks?: number;
}

export const LIVE_TICK_MS = 500;
export const MAX_LIVE_CLIENTS = 32;
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

const frame = (event: string, json: string): string => `event: ${event}\ndata: ${json}\n\n`;

export class LiveFeed {
  readonly #clients = new Set<Response>();
  /** The JSON last sent of each resource, by id: the baseline every client shares. */
  #sent = new Map<string, string>();
  #workers = '';
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  readonly #tickMs: number;
  readonly #maxClients: number;
  readonly #maxBufferedBytes: number;
  readonly #heartbeatTicks: number;

  constructor(
    private readonly source: LiveSource,
    options: LiveFeedOptions = {},
  ) {
    this.#tickMs = options.tickMs ?? LIVE_TICK_MS;
    this.#maxClients = options.maxClients ?? MAX_LIVE_CLIENTS;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.#heartbeatTicks = options.heartbeatTicks ?? Math.max(1, Math.round(15_000 / this.#tickMs));
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Serve one client: a snapshot, then the changes. False (and nothing written) when there are already as many as allowed. */
  attach(req: Request, res: Response): boolean {
    if (this.#clients.size >= this.#maxClients) return false;
    if (this.#clients.size === 0) this.#refresh();
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // Proxies that buffer would hold the events back.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    this.#clients.add(res);
    const detach = () => this.#detach(res);
    req.on('close', detach);
    res.on('close', detach);
    res.on('error', detach);
    this.#write(res, `retry: 2000\n\n${frame('snapshot', `{"resources":[${[...this.#sent.values()].join(',')}],"workers":${this.#workers}}`)}`);
    this.#timer ??= setInterval(() => this.tick(), this.#tickMs).unref();
    return true;
  }

  /** Send what changed since the last tick to every client. */
  tick(): void {
    if (this.#clients.size === 0) return;
    const previous = this.#sent;
    const previousWorkers = this.#workers;
    this.#refresh();
    let chunk = '';
    for (const [id, json] of this.#sent) if (previous.get(id) !== json) chunk += frame('resource', json);
    for (const id of previous.keys()) if (!this.#sent.has(id)) chunk += frame('removed', JSON.stringify({ id }));
    if (this.#workers !== previousWorkers) chunk += frame('workers', this.#workers);
    this.#ticks++;
    if (chunk === '' && this.#ticks % this.#heartbeatTicks === 0) chunk = ': keep-alive\n\n';
    if (chunk === '') return;
    for (const client of [...this.#clients]) this.#write(client, chunk);
  }

  /** Disconnect every client and stop the timer. */
  close(): void {
    for (const client of [...this.#clients]) client.end();
    this.#clients.clear();
    this.#stop();
  }

  #refresh(): void {
    this.#sent = new Map(this.source.listResources().map((r) => [r.id, JSON.stringify(r)]));
    this.#workers = JSON.stringify(this.source.workers());
  }

  #write(client: Response, chunk: string): void {
    client.write(chunk);
    // A client that does not read keeps its backlog in this process: past the bound, it goes.
    if (client.writableLength > this.#maxBufferedBytes) {
      this.#detach(client);
      client.destroy();
    }
  }

  #detach(client: Response): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stop();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sent = new Map();
    this.#workers = '';
  }
}
