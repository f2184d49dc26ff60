// oslo.messaging RPC calls to neutron-server as a plain AMQP 0-9-1 client:
// the request on the `neutron` exchange with the topic as routing key, the
// reply on a queue of our own (`reply_<hex>`, reached through the default
// exchange). What stock Neutron offers an L3 agent and nothing else gives:
// floating IP statuses (`update_floatingip_statuses`).
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { NEUTRON_EXCHANGE } from './events.js';
import { redactedUrl } from './transport.js';

export const L3_PLUGIN_TOPIC = 'q-l3-plugin';

const hex = (): string => randomUUID().replace(/-/g, '');

/** The envelope of one call (`_msg_id` and `_reply_q` make it a call, not a cast). Pure. */
export function rpcRequest(method: string, args: Record<string, unknown>, version: string, msgId: string, replyQueue: string): string {
  const message = {
    method,
    args,
    namespace: null,
    version,
    _msg_id: msgId,
    _reply_q: replyQueue,
    _unique_id: hex(),
    _timeout: null,
    _context_is_admin: true,
    _context_roles: ['admin'],
    _context_request_id: `req-${randomUUID()}`,
  };
  return JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) });
}

export interface RpcReply {
  readonly msgId: string;
  readonly result: unknown;
  /** oslo's serialized exception (`class`, `message`...), when the call failed. */
  readonly failure: string | null;
  readonly ending: boolean;
}

/** A reply body; undefined for anything else. Pure. */
export function parseRpcReply(body: string): RpcReply | undefined {
  try {
    const outer = JSON.parse(body) as Record<string, unknown>;
    const inner = (typeof outer['oslo.message'] === 'string' ? JSON.parse(outer['oslo.message']) : outer) as Record<string, unknown>;
    if (typeof inner['_msg_id'] !== 'string') return undefined;
    return {
      msgId: inner['_msg_id'],
      result: inner['result'],
      failure: typeof inner['failure'] === 'string' ? inner['failure'] : null,
      ending: inner['ending'] === true,
    };
  } catch {
    return undefined;
  }
}

interface Pending {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** RPC to Neutron over one connection, opened on first use and again after it is lost. */
export class NeutronRpcClient {
  #connection: Promise<{ model: ChannelModel; channel: Channel; replyQueue: string }> | undefined;
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly urls: readonly string[],
    private readonly log: Logger,
    private readonly timeoutMs = 30_000,
  ) {}

  async call(topic: string, method: string, args: Record<string, unknown>, version: string): Promise<unknown> {
    const { channel, replyQueue } = await this.#connect();
    const msgId = hex();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(msgId);
        reject(new Error(`Neutron RPC ${method} on ${topic}: no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#pending.set(msgId, { resolve, reject, timer });
      channel.publish(NEUTRON_EXCHANGE, topic, Buffer.from(rpcRequest(method, args, version, msgId, replyQueue)), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
      });
    });
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#failAll(new Error('the RPC client was closed'));
    if (connection) await (await connection.catch(() => undefined))?.model.close().catch(() => undefined);
  }

  #connect(): Promise<{ model: ChannelModel; channel: Channel; replyQueue: string }> {
    this.#connection ??= this.#open().catch((error: unknown) => {
      this.#connection = undefined;
      throw error;
    });
    return this.#connection;
  }

  async #open(): Promise<{ model: ChannelModel; channel: Channel; replyQueue: string }> {
    let lastError: unknown;
    for (const url of this.urls) {
      try {
        const model = await amqp.connect(url, { timeout: 10_000 });
        model.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP (RPC) connection error'));
        model.on('close', () => {
          this.#connection = undefined;
          this.#failAll(new Error('the AMQP connection was lost'));
        });
        const channel = await model.createChannel();
        const replyQueue = `reply_${hex()}`;
        await channel.assertQueue(replyQueue, { durable: false, autoDelete: true, exclusive: true });
        await channel.consume(
          replyQueue,
          (message) => {
            if (message === null) return;
            const reply = parseRpcReply(message.content.toString('utf8'));
            const pending = reply === undefined ? undefined : this.#pending.get(reply.msgId);
            // oslo may send the result and then a separate `ending` message: the first one with a result or failure settles.
            if (reply === undefined || pending === undefined || (!reply.ending && reply.result === undefined && reply.failure === null)) return;
            this.#pending.delete(reply.msgId);
            clearTimeout(pending.timer);
            if (reply.failure !== null) pending.reject(new Error(`Neutron RPC failed: ${reply.failure.slice(0, 500)}`));
            else pending.resolve(reply.result);
          },
          { noAck: true },
        );
        return { model, channel, replyQueue };
      } catch (error) {
        lastError = error;
        this.log.warn({ err: error, url: redactedUrl(url) }, 'cannot open the Neutron RPC connection');
      }
    }
    throw lastError instanceof Error ? lastError : new Error('no AMQP URL to connect to');
  }

  #failAll(error: Error): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.#pending.delete(id);
    }
  }
}
