// A small etcd v3 client over etcd's JSON gateway (`/v3/...`, served by
// every etcd 3.4 member on its client port) with undici, which the project
// already depends on: the handful of calls membership and the shared debug
// flags need, failing over between the configured endpoints. Keys and values
// travel base64-encoded and 64-bit integers as strings, as the gateway wants.
import { Pool } from 'undici';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The lease the key is bound to ('0' when none). */
  readonly lease: string;
}

export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly value: string;
}

export interface Watch {
  cancel(): void;
}

/** etcd answered, but not with what was asked (a failed compare, an unknown lease...). */
export class EtcdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdError';
  }
}

/** No endpoint answered. */
export class EtcdUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdUnavailableError';
  }
}

const encode = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const decode = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8');

/**
 * The end of the key range holding every key that starts with `prefix`: the
 * prefix with its last byte one higher (UTF-8 never has a 0xff byte to carry).
 */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  if (bytes.length === 0) throw new Error('a key prefix must not be empty');
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! + 1;
  return bytes.toString('base64');
}

interface RawKeyValue {
  key?: string;
  value?: string;
  lease?: string;
}

interface RawHeader {
  revision?: string;
}

export interface EtcdClientOptions {
  /** `http://host:port` of each etcd member the client may use. */
  readonly endpoints: readonly string[];
  /** How long one request may take before the next endpoint is tried. */
  readonly requestTimeoutMs: number;
}

export class EtcdClient {
  readonly #pools: Pool[];
  readonly #endpoints: readonly string[];
  readonly #timeoutMs: number;
  /** The endpoint that answered last: tried first next time. */
  #current = 0;
  readonly #watches = new Set<AbortController>();

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd needs at least one endpoint');
    this.#endpoints = options.endpoints;
    this.#pools = options.endpoints.map((endpoint) => new Pool(endpoint, { connections: 4, pipelining: 1 }));
    this.#timeoutMs = options.requestTimeoutMs;
  }

  async #call<T>(path: string, body: unknown): Promise<T> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.#pools.length; attempt++) {
      const index = (this.#current + attempt) % this.#pools.length;
      try {
        const response = await this.#pools[index]!.request({
          method: 'POST',
          path,
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        const text = await response.body.text();
        // A member that lost its quorum answers 503: another may still have one.
        if (response.statusCode >= 500) {
          failures.push(`${this.#endpoints[index]!}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
          continue;
        }
        this.#current = index;
        const parsed = JSON.parse(text) as T & { error?: string; message?: string };
        if (response.statusCode !== 200) throw new EtcdError(`etcd ${path}: ${parsed.message ?? parsed.error ?? text}`);
        return parsed;
      } catch (error) {
        if (error instanceof EtcdError) throw error;
        failures.push(`${this.#endpoints[index]!}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new EtcdUnavailableError(`no etcd endpoint answered ${path}: ${failures.join('; ')}`);
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.#call('/v3/kv/put', { key: encode(key), value: encode(value), ...(lease ? { lease } : {}) });
  }

  /** Put `key` only if it does not exist; false when it does. */
  async create(key: string, value: string, lease?: string): Promise<boolean> {
    const answer = await this.#call<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: [{ key: encode(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
      success: [{ request_put: { key: encode(key), value: encode(value), ...(lease ? { lease } : {}) } }],
    });
    return answer.succeeded === true;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const answer = await this.#call<{ kvs?: RawKeyValue[] }>('/v3/kv/range', { key: encode(key) });
    const kv = answer.kvs?.[0];
    return kv ? { key, value: decode(kv.value), lease: kv.lease ?? '0' } : undefined;
  }

  /** Every key under `prefix`, and the revision they were read at (a watch from the next one misses nothing). */
  async list(prefix: string): Promise<{ revision: bigint; kvs: KeyValue[] }> {
    const answer = await this.#call<{ header?: RawHeader; kvs?: RawKeyValue[] }>('/v3/kv/range', { key: encode(prefix), range_end: prefixEnd(prefix) });
    return {
      revision: BigInt(answer.header?.revision ?? '0'),
      kvs: (answer.kvs ?? []).map((kv) => ({ key: decode(kv.key), value: decode(kv.value), lease: kv.lease ?? '0' })),
    };
  }

  async delete(key: string): Promise<void> {
    await this.#call('/v3/kv/deleterange', { key: encode(key) });
  }

  /** A lease of `ttlSeconds`; returns its id. */
  async grant(ttlSeconds: number): Promise<string> {
    const answer = await this.#call<{ ID?: string; error?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) });
    if (!answer.ID) throw new EtcdError(`etcd granted no lease: ${answer.error ?? 'no id'}`);
    return answer.ID;
  }

  /** Renew a lease; returns its time-to-live, 0 when etcd no longer has it. */
  async keepAlive(lease: string): Promise<number> {
    const answer = await this.#call<{ result?: { TTL?: string }; error?: { message?: string } }>('/v3/lease/keepalive', { ID: lease });
    if (answer.error) throw new EtcdError(`etcd keepalive: ${answer.error.message ?? 'failed'}`);
    return Number(answer.result?.TTL ?? '0');
  }

  async revoke(lease: string): Promise<void> {
    await this.#call('/v3/lease/revoke', { ID: lease });
  }

  /**
   * Follow every change under `prefix` from `fromRevision` on, one endpoint
   * at a time; `onError` hears when the stream breaks (the caller resyncs
   * with list() and watches again). Changes come in revision order.
   */
  watch(prefix: string, fromRevision: bigint, onEvents: (events: WatchEvent[], revision: bigint) => void, onError: (error: Error) => void): Watch {
    const controller = new AbortController();
    this.#watches.add(controller);
    const index = this.#current;
    const pool = this.#pools[index]!;
    const stop = () => {
      this.#watches.delete(controller);
      controller.abort();
    };
    void (async () => {
      try {
        const response = await pool.request({
          method: 'POST',
          path: '/v3/watch',
          body: JSON.stringify({ create_request: { key: encode(prefix), range_end: prefixEnd(prefix), start_revision: fromRevision.toString() } }),
          headers: { 'content-type': 'application/json' },
          headersTimeout: this.#timeoutMs,
          // A quiet group sends nothing for as long as it stays quiet.
          bodyTimeout: 0,
          signal: controller.signal,
        });
        if (response.statusCode !== 200) throw new EtcdUnavailableError(`etcd watch on ${this.#endpoints[index]!}: HTTP ${response.statusCode}`);
        let buffered = '';
        for await (const chunk of response.body) {
          buffered += (chunk as Buffer).toString('utf8');
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) this.#watchLine(line, onEvents);
          }
          // The gateway may send a message without a newline after it.
          if (buffered.trim().endsWith('}')) {
            try {
              this.#watchLine(buffered.trim(), onEvents);
              buffered = '';
            } catch (error) {
              if (!(error instanceof SyntaxError)) throw error;
            }
          }
        }
        throw new EtcdUnavailableError(`etcd watch on ${this.#endpoints[index]!} ended`);
      } catch (error) {
        if (controller.signal.aborted) return;
        // The next attempt starts from another endpoint.
        this.#current = (index + 1) % this.#pools.length;
        stop();
        onError(error instanceof Error ? error : new Error(String(error)));
      }
    })();
    return { cancel: stop };
  }

  #watchLine(line: string, onEvents: (events: WatchEvent[], revision: bigint) => void): void {
    const message = JSON.parse(line) as { result?: { header?: RawHeader; events?: { type?: string; kv?: RawKeyValue }[]; canceled?: boolean; cancel_reason?: string }; error?: { message?: string } };
    if (message.error) throw new EtcdError(`etcd watch: ${message.error.message ?? 'failed'}`);
    const result = message.result;
    if (!result) return;
    if (result.canceled) throw new EtcdError(`etcd cancelled the watch: ${result.cancel_reason ?? 'no reason given'}`);
    const events = (result.events ?? []).map((e) => ({ type: e.type === 'DELETE' ? ('DELETE' as const) : ('PUT' as const), key: decode(e.kv?.key), value: decode(e.kv?.value) }));
    if (events.length > 0) onEvents(events, BigInt(result.header?.revision ?? '0'));
  }

  async close(): Promise<void> {
    for (const controller of this.#watches) controller.abort();
    this.#watches.clear();
    await Promise.all(this.#pools.map((pool) => pool.destroy()));
  }
}
