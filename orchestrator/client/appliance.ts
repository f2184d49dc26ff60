// The orchestrator's side of the appliance agent's REST API (the original's
// astara_client.py). Every method is one attempt within its own deadline; the
// caller decides about retries. One undici Agent keeps connections to the
// appliances alive between health polls.
import { Agent, type Dispatcher } from 'undici';

export interface ApplianceTls {
  /** PEM of the CA that issued the appliances' server certificates. */
  readonly ca: string | Buffer;
  /** PEM of the orchestrator's client certificate and its key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface ApplianceClientOptions {
  /** Deadline of a status request (`alive_timeout`). */
  readonly aliveTimeoutMs: number;
  /** Deadline of a configuration push (`config_timeout`): the agent applies before it answers. */
  readonly configTimeoutMs: number;
  /** Deadline of the other reads. Default 30 s, as the original. */
  readonly readTimeoutMs?: number;
  /** HTTPS with a client certificate; plain HTTP without. */
  readonly tls?: ApplianceTls;
}

/** An interface as `GET /v1/system/interfaces` lists it. */
export interface ApplianceInterface {
  readonly ifname: string;
  readonly lladdr: string;
  readonly mtu?: number;
  readonly state?: string;
  readonly addresses?: readonly string[];
  readonly [key: string]: unknown;
}

/** An HA member's VRRP state as its agent reports it in `GET /v1/status/` (`ha`). */
export interface AgentHaStatus {
  /** keepalived's state: `MASTER`, `BACKUP`, `FAULT`... */
  readonly state: string;
  /** When it entered that state, as the agent wrote it. */
  readonly since: string | null;
  readonly peer: string | null;
}

/** What `GET /v1/status/` tells the orchestrator. */
export interface AgentStatus {
  /** Documents applied (0: none); undefined while the agent does not hold its document. */
  readonly generation: number | undefined;
  /** The VRRP state of an HA member; absent when the agent reports none. */
  readonly ha?: AgentHaStatus;
}

export interface RejectionDetail {
  readonly path?: string;
  readonly message: string;
}

/** A request that got no usable answer: network error, timeout, unexpected status or body. Worth a retry. */
export class ApplianceRequestError extends Error {
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** The start of the answer's body, when there was one. */
  readonly bodyExcerpt: string | undefined;

  constructor(message: string, answer: { readonly status?: number; readonly bodyExcerpt?: string; readonly cause?: unknown } = {}) {
    super(message, answer.cause === undefined ? undefined : { cause: answer.cause });
    this.name = 'ApplianceRequestError';
    this.status = answer.status;
    this.bodyExcerpt = answer.bodyExcerpt;
  }
}

/** A configuration push that failed in a way a retry may fix. */
export class ConfigPushError extends ApplianceRequestError {
  override name = 'ConfigPushError';
}

/** The agent refused the document (422): the same document would be refused again, so no retry. */
export class ConfigRejectedError extends Error {
  constructor(
    /** The agent's own summary (`invalid configuration`, `a daemon refused its configuration`...). */
    readonly reason: string,
    /** Its path/message pairs. */
    readonly details: readonly RejectionDetail[],
  ) {
    super(`the appliance rejected the configuration: ${[reason, ...details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))].join('; ')}`);
    this.name = 'ConfigRejectedError';
  }
}

const DEFAULT_READ_TIMEOUT_MS = 30_000;
// Documents reach tens of MiB for the largest routers (the agent takes up to 32 MiB).
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const EXCERPT_CHARS = 200;

/** `http(s)://<address>:<port><path>`, IPv6 literals in brackets. */
export function applianceUrl(address: string, port: number, path: string, tls: boolean): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `${tls ? 'https' : 'http'}://${host}:${port}${path}`;
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

export class ApplianceClient {
  readonly #agent: Agent;
  readonly #tls: boolean;
  readonly #aliveTimeoutMs: number;
  readonly #configTimeoutMs: number;
  readonly #readTimeoutMs: number;

  constructor(options: ApplianceClientOptions) {
    this.#aliveTimeoutMs = options.aliveTimeoutMs;
    this.#configTimeoutMs = options.configTimeoutMs;
    this.#readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.#tls = options.tls !== undefined;
    // undici reads no proxy variables unless given a ProxyAgent: management
    // addresses must never go through a proxy, so none is made.
    this.#agent = new Agent({
      keepAliveTimeout: 10_000,
      // A poll and a push at most run at once per appliance; a few more cover overlaps.
      connections: 4,
      connect: options.tls
        ? {
            ca: options.tls.ca,
            cert: options.tls.cert,
            key: options.tls.key,
            rejectUnauthorized: true,
            // The deployment's private CA issues the appliances' certificates,
            // but their management addresses change whenever an appliance is
            // replaced: the chain is verified, the name in it is not.
            checkServerIdentity: () => undefined,
          }
        : {},
    });
  }

  /**
   * The agent's status, or undefined when it does not answer 200 with JSON in
   * time. `generation` counts the documents it applied (0: it holds none).
   */
  async status(address: string, port: number): Promise<AgentStatus | undefined> {
    let answer: Answer;
    try {
      answer = await this.#exchange('GET', applianceUrl(address, port, '/v1/status/', this.#tls), this.#aliveTimeoutMs, MAX_BODY_BYTES);
    } catch {
      return undefined;
    }
    if (answer.status !== 200) return undefined;
    const body = parseJson(answer.body);
    if (body === undefined) return undefined;
    const generation = isRecord(body) ? body.generation : undefined;
    // An agent still re-applying its persisted document after a failure
    // (`degraded`) does not hold it yet, whatever its generation says.
    const degraded = isRecord(body) && body.degraded !== undefined && body.degraded !== null;
    const ha = isRecord(body) ? haStatusOf(body.ha) : undefined;
    return {
      generation: !degraded && typeof generation === 'number' && Number.isInteger(generation) && generation >= 0 ? generation : undefined,
      ...(ha ? { ha } : {}),
    };
  }

  /** The appliance's interfaces (`geN` names and MACs). */
  async interfaces(address: string, port: number): Promise<ApplianceInterface[]> {
    const url = applianceUrl(address, port, '/v1/system/interfaces', this.#tls);
    const body = await this.#getJson(url);
    const interfaces = isRecord(body) ? body.interfaces : undefined;
    if (!Array.isArray(interfaces) || !interfaces.every(isApplianceInterface)) {
      throw new ApplianceRequestError(`GET ${url}: the answer is not a list of interfaces`, { status: 200, bodyExcerpt: excerpt(JSON.stringify(body)) });
    }
    return interfaces;
  }

  /** The document the agent holds (`{}` when none). */
  async config(address: string, port: number): Promise<Record<string, unknown>> {
    const url = applianceUrl(address, port, '/v1/system/config', this.#tls);
    const body = await this.#getJson(url);
    const configuration = isRecord(body) ? body.configuration : undefined;
    if (!isRecord(configuration)) throw new ApplianceRequestError(`GET ${url}: the answer holds no configuration`, { status: 200, bodyExcerpt: excerpt(JSON.stringify(body)) });
    return configuration;
  }

  /**
   * Push a document. Throws ConfigRejectedError on a 422 (do not retry) and
   * ConfigPushError on anything else that is not a 200 with the new generation.
   */
  async pushConfig(address: string, port: number, document: unknown): Promise<{ generation: number }> {
    const url = applianceUrl(address, port, '/v1/system/config', this.#tls);
    let answer: Answer;
    try {
      answer = await this.#exchange('PUT', url, this.#configTimeoutMs, MAX_BODY_BYTES, JSON.stringify(document));
    } catch (error) {
      throw new ConfigPushError(`PUT ${url}: ${describeFailure(error, this.#configTimeoutMs)}`, { cause: error });
    }
    const text = answer.body.toString('utf8');
    const body = parseJson(answer.body);
    if (answer.status === 422) {
      const reason = isRecord(body) && typeof body.error === 'string' ? body.error : excerpt(text);
      const details = isRecord(body) && Array.isArray(body.details) ? body.details.filter(isRejectionDetail) : [];
      throw new ConfigRejectedError(reason, details);
    }
    if (answer.status !== 200) {
      throw new ConfigPushError(`PUT ${url}: HTTP ${answer.status}: ${excerpt(text)}`, { status: answer.status, bodyExcerpt: excerpt(text) });
    }
    const generation = isRecord(body) ? body.generation : undefined;
    if (typeof generation !== 'number') {
      throw new ConfigPushError(`PUT ${url}: the answer carries no generation`, { status: answer.status, bodyExcerpt: excerpt(text) });
    }
    return { generation };
  }

  /**
   * Any JSON read of the agent (`/v1/status`, `/v1/system/stats`...), for the
   * console: its status and body (undefined when not JSON), within the alive
   * timeout, since an operator is waiting. Throws ApplianceRequestError when
   * the agent does not answer.
   */
  async read(address: string, port: number, path: string): Promise<{ readonly status: number; readonly body: unknown }> {
    const url = applianceUrl(address, port, path, this.#tls);
    let answer: Answer;
    try {
      answer = await this.#exchange('GET', url, this.#aliveTimeoutMs, MAX_BODY_BYTES);
    } catch (error) {
      throw new ApplianceRequestError(`GET ${url}: ${describeFailure(error, this.#aliveTimeoutMs)}`, { cause: error });
    }
    return { status: answer.status, body: parseJson(answer.body) };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #getJson(url: string): Promise<unknown> {
    let answer: Answer;
    try {
      answer = await this.#exchange('GET', url, this.#readTimeoutMs, MAX_CONFIG_BYTES);
    } catch (error) {
      throw new ApplianceRequestError(`GET ${url}: ${describeFailure(error, this.#readTimeoutMs)}`, { cause: error });
    }
    const text = answer.body.toString('utf8');
    if (answer.status !== 200) throw new ApplianceRequestError(`GET ${url}: HTTP ${answer.status}: ${excerpt(text)}`, { status: answer.status, bodyExcerpt: excerpt(text) });
    const body = parseJson(answer.body);
    if (body === undefined) throw new ApplianceRequestError(`GET ${url}: the answer is not JSON`, { status: answer.status, bodyExcerpt: excerpt(text) });
    return body;
  }

  /** One request, connect to last body byte within `timeoutMs`. */
  async #exchange(method: Dispatcher.HttpMethod, url: string, timeoutMs: number, maxBytes: number, body?: string): Promise<Answer> {
    const { origin, pathname, search } = new URL(url);
    const response = await this.#agent.request({
      origin,
      path: pathname + search,
      method,
      signal: AbortSignal.timeout(timeoutMs),
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        response.body.destroy();
        throw new Error(`the answer is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return { status: response.statusCode, body: Buffer.concat(chunks) };
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  // undici rejects with the signal's reason: a DOMException named TimeoutError.
  if ((error as { name?: unknown } | undefined)?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const excerpt = (text: string): string => (text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text).trim();

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

// What the agent reports reaches an operator's terminal: only short plain words pass.
const STATUS_WORD = /^[A-Za-z0-9_.:+-]{1,64}$/;
const statusWord = (value: unknown): string | null => (typeof value === 'string' && STATUS_WORD.test(value) ? value : null);

/** The `ha` of a status answer; undefined when absent or without a readable state. */
export function haStatusOf(value: unknown): AgentHaStatus | undefined {
  if (!isRecord(value)) return undefined;
  const state = statusWord(value.state);
  return state === null ? undefined : { state, since: statusWord(value.since), peer: statusWord(value.peer) };
}

const isApplianceInterface = (value: unknown): value is ApplianceInterface =>
  isRecord(value) && typeof value.ifname === 'string' && typeof value.lladdr === 'string';

const isRejectionDetail = (value: unknown): value is RejectionDetail =>
  isRecord(value) && typeof value.message === 'string' && (value.path === undefined || typeof value.path === 'string');
