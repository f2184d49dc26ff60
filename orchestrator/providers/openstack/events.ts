// The OpenStack EventSource: Neutron's notifications from RabbitMQ (AMQP
// 0-9-1), through a durable queue of this orchestrator's own bound to the
// `neutron` exchange, so that notifications sent while the orchestrator is
// down or reconnecting wait for it. A message is acknowledged only once its
// event is queued; a lost connection is retried with backoff, and after a
// reconnect every resource is resynchronised, since RabbitMQ itself may have
// restarted and lost what was in flight.
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Event } from '../../core/events.js';
import type { EventSource } from '../types.js';
import { decodeNotification, eventOfNotification, type MappingOptions } from './notifications.js';
import { redactedUrl } from './transport.js';

/** Neutron's notification exchange and routing key (oslo.messaging: topic `notifications`, priority `info`). */
export const NEUTRON_EXCHANGE = 'neutron';
export const NOTIFICATIONS_KEY = 'notifications.info';

/** This orchestrator's queue: one per host, so that each orchestrator hears every notification once. */
export const notificationQueueName = (host: string): string => `astara.notifications.${host}`;

/** The wait before reconnect attempt `attempt` (0, 1, ...): doubling from `initialMs`, at most `maxMs`. */
export function reconnectDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

export interface Delivery {
  readonly target: string;
  readonly event: Event;
}

export interface NotificationSourceOptions {
  /** AMQP URLs (`[DEFAULT] transport_url`), tried in turn. */
  readonly urls: readonly string[];
  readonly queue: string;
  /** Read at each notification: a config reload may change them. */
  readonly mapping: () => MappingOptions;
  /** The events that bring every resource up to date, delivered after each reconnect. */
  readonly resync: () => Promise<readonly Delivery[]>;
  readonly log: Logger;
  readonly initialRetryMs?: number;
  readonly maxRetryMs?: number;
}

export class NeutronNotificationSource implements EventSource {
  #deliver: ((target: string, event: Event) => void) | undefined;
  #model: ChannelModel | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #attempt = 0;
  #connections = 0;

  constructor(private readonly options: NotificationSourceOptions) {}

  /** Connections made so far (a reconnect adds one). */
  get connections(): number {
    return this.#connections;
  }

  /** Connects once; when RabbitMQ cannot be reached, goes on trying in the background. */
  async start(deliver: (target: string, event: Event) => void): Promise<void> {
    this.#deliver = deliver;
    this.#stopped = false;
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const model = this.#model;
    this.#model = undefined;
    await model?.close().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const urls = this.options.urls;
    const url = urls[this.#attempt % urls.length]!;
    let model: ChannelModel | undefined;
    try {
      model = await amqp.connect(url, { timeout: 10_000 });
      const connected = model;
      model.on('error', (error: Error) => this.options.log.warn({ err: error }, 'AMQP connection error'));
      model.on('close', () => this.#lost(connected));
      const channel = await model.createChannel();
      channel.on('error', (error: Error) => this.options.log.warn({ err: error }, 'AMQP channel error'));
      // As oslo.messaging declares it: redeclaring with other parameters is refused (PRECONDITION_FAILED).
      await channel.assertExchange(NEUTRON_EXCHANGE, 'topic', { durable: false, autoDelete: false });
      await channel.assertQueue(this.options.queue, { durable: true, autoDelete: false });
      await channel.bindQueue(this.options.queue, NEUTRON_EXCHANGE, NOTIFICATIONS_KEY);
      await channel.prefetch(100);
      this.#model = model;
      const reconnected = this.#connections > 0;
      this.#connections += 1;
      this.#attempt = 0;
      await channel.consume(this.options.queue, (message) => this.#receive(channel, message), { noAck: false });
      this.options.log.info({ url: redactedUrl(url), queue: this.options.queue, reconnected }, 'listening to Neutron notifications');
      if (reconnected) await this.#resync();
    } catch (error) {
      this.options.log.warn({ err: error, url: redactedUrl(url) }, 'cannot listen to Neutron notifications');
      if (this.#model === model) this.#model = undefined;
      await model?.close().catch(() => undefined);
      this.#retry();
    }
  }

  #receive(channel: Channel, message: ConsumeMessage | null): void {
    // null: RabbitMQ cancelled the consumer (its queue was deleted); the channel's close brings a reconnect.
    if (message === null) {
      void this.#model?.close().catch(() => undefined);
      return;
    }
    const notification = decodeNotification(message.content.toString('utf8'));
    const mapped = notification === undefined ? undefined : eventOfNotification(notification, this.options.mapping());
    if (mapped) {
      this.options.log.debug({ event_type: notification?.event_type, resource: mapped.event.resource.id, crud: mapped.event.crud }, 'notification');
      this.#deliver?.(mapped.target, mapped.event);
    }
    channel.ack(message);
  }

  async #resync(): Promise<void> {
    try {
      const deliveries = await this.options.resync();
      for (const { target, event } of deliveries) this.#deliver?.(target, event);
      this.options.log.info({ resources: deliveries.length }, 'resynchronised every resource after reconnecting to RabbitMQ');
    } catch (error) {
      this.options.log.error({ err: error }, 'resynchronisation after reconnecting failed; the health checks will catch up');
    }
  }

  #lost(model: ChannelModel): void {
    if (this.#model !== model) return;
    this.#model = undefined;
    if (this.#stopped) return;
    this.options.log.warn('lost the connection to RabbitMQ; reconnecting');
    this.#retry();
  }

  #retry(): void {
    if (this.#stopped) return;
    const delay = reconnectDelay(this.#attempt, this.options.initialRetryMs ?? 500, this.options.maxRetryMs ?? 30_000);
    this.#attempt += 1;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
