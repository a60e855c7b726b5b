/**
 * Publishes order messages to RabbitMQ on a confirm channel: a purchase is answered `202`
 * only once the broker confirmed its message. Purchases go through `publishBatched`: the
 * orders accepted in one event-loop turn travel as one persistent message, confirmed once
 * (one message per purchase put the broker's message rate, and its CPU on the same cores,
 * on the purchase path). The connection heals itself with backoff;
 * while it is down, `publish` fails at once (the purchase answers `503` and the order stays
 * in the outbox for the reconciler).
 */
import { encodeOrderBatch, orderTopology, redactUrl } from '@velvet-rope/contracts';
import { connect as amqpConnect } from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { TurnBatcher } from '../lib/turn-batcher.js';

export class PublishUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishUnavailableError';
  }
}

export interface OrderPublisherOptions {
  readonly url: string;
  readonly queue: string;
  readonly confirmTimeoutMs: number;
  readonly logger: FastifyBaseLogger;
  /** observes each publish: seconds until the broker's answer, and how it ended */
  readonly onConfirm?: (seconds: number, result: 'confirmed' | 'refused' | 'timeout') => void;
}

/** orders in one batch message at most; more in one turn go out as several messages */
export const MAX_BATCH_ORDERS = 500;

export class OrderPublisher {
  // the orders one reserve call accepted go out together at once, not a turn later
  readonly #batches = new TurnBatcher<{ orderId: string; body: string }, void>(
    (_queue, orders) => this.#publishBatch(orders),
    MAX_BATCH_ORDERS,
    'microtask',
  );
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #closing = false;
  #backoffMs = 250;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  /** publishes since the last health sample: count, failures, summed confirm latency */
  #window = { count: 0, failed: 0, latencyMs: 0 };

  constructor(private readonly opts: OrderPublisherOptions) {}

  get ready(): boolean {
    return this.#channel !== undefined;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Connects once; throws when the broker cannot be reached (boot fails loudly). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    // Nagle off: a publish and its confirm are small writes that must not wait for the
    // previous segment's ACK (with few purchases in flight, a confirm took ~40 ms instead of ~1)
    const connection = await amqpConnect(this.opts.url, { noDelay: true });
    try {
      const channel = await connection.createConfirmChannel();
      const t = orderTopology(this.opts.queue);
      await channel.assertQueue(t.queue, { durable: true, arguments: { ...t.queueArguments } });
      await channel.assertQueue(t.deadLetterQueue, { durable: true });
      connection.on('error', (err: Error) => {
        this.#lastError = err.message;
        this.opts.logger.warn({ err }, 'RabbitMQ connection error');
      });
      connection.on('close', () => this.#lost('connection closed'));
      channel.on('error', (err: Error) => {
        this.#lastError = err.message;
        this.opts.logger.warn({ err }, 'RabbitMQ channel error');
      });
      channel.on('close', () => this.#lost('channel closed'));
      this.#connection = connection;
      this.#channel = channel;
      this.#backoffMs = 250;
      this.#lastError = undefined;
      this.opts.logger.info({ url: redactUrl(this.opts.url), queue: t.queue }, 'RabbitMQ publisher ready');
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  #lost(reason: string): void {
    if (this.#channel === undefined && this.#connection === undefined) return;
    this.#channel = undefined;
    const conn = this.#connection;
    this.#connection = undefined;
    conn?.close().catch(() => undefined);
    if (this.#closing) return;
    this.#lastError ??= reason;
    this.opts.logger.warn({ reason }, 'RabbitMQ publisher lost its channel; reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closing || this.#reconnectTimer) return;
    const delay = this.#backoffMs * (0.5 + Math.random());
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5_000);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().catch((err: Error) => {
        this.#lastError = err.message;
        this.opts.logger.warn({ err: err.message }, 'RabbitMQ reconnect failed');
        this.#scheduleReconnect();
      });
    }, delay);
    this.#reconnectTimer.unref();
  }

  /**
   * Resolves once the broker confirmed the persistent message; rejects with
   * PublishUnavailableError on nack, timeout or no channel.
   */
  publish(orderId: string, body: string): Promise<void> {
    const channel = this.#channel;
    if (!channel) return Promise.reject(new PublishUnavailableError('order queue unavailable'));
    const started = process.hrtime.bigint();
    const observe = (result: 'confirmed' | 'refused' | 'timeout') => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.#window.count++;
      this.#window.latencyMs += seconds * 1000;
      if (result !== 'confirmed') this.#window.failed++;
      this.opts.onConfirm?.(seconds, result);
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        observe('timeout');
        reject(new PublishUnavailableError('broker did not confirm in time'));
      }, this.opts.confirmTimeoutMs);
      try {
        channel.publish(
          '',
          this.opts.queue,
          Buffer.from(body),
          { persistent: true, messageId: orderId, contentType: 'application/json', timestamp: Date.now() },
          (err) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            observe(err ? 'refused' : 'confirmed');
            if (err) reject(new PublishUnavailableError('broker refused the message'));
            else resolve();
          },
        );
      } catch (err) {
        // amqplib throws synchronously when the channel is closing
        settled = true;
        clearTimeout(timer);
        reject(new PublishUnavailableError(`publish failed: ${(err as Error).message}`));
      }
    });
  }

  /**
   * Publishes one order (its outbox JSON) in the batch message of this event-loop turn;
   * settles as `publish` does, with that message's confirm: every order of a batch is
   * confirmed, or refused, together.
   */
  publishBatched(orderId: string, body: string): Promise<void> {
    if (!this.#channel) return Promise.reject(new PublishUnavailableError('order queue unavailable'));
    return this.#batches.add('', { orderId, body });
  }

  async #publishBatch(orders: readonly { orderId: string; body: string }[]): Promise<void[]> {
    // one order alone goes out in the single form, exactly as the outbox holds it
    const first = orders[0]!;
    if (orders.length === 1) await this.publish(first.orderId, first.body);
    else await this.publish(`${first.orderId}+${orders.length - 1}`, encodeOrderBatch(orders.map((o) => o.body)));
    return orders.map(() => undefined);
  }

  /** Publish health since the last call (average confirm latency, failure share), then resets. */
  takeHealthSample(): { publishes: number; confirmLatencyMs: number; errorRatio: number } {
    const w = this.#window;
    this.#window = { count: 0, failed: 0, latencyMs: 0 };
    return {
      publishes: w.count,
      confirmLatencyMs: w.count ? w.latencyMs / w.count : 0,
      errorRatio: w.count ? w.failed / w.count : 0,
    };
  }

  /** Messages waiting in the orders queue (not counting those a worker holds unacked). */
  async queueDepth(): Promise<number> {
    const channel = this.#channel;
    if (!channel) throw new PublishUnavailableError('order queue unavailable');
    const { messageCount } = await channel.checkQueue(this.opts.queue);
    return messageCount;
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const channel = this.#channel;
    const connection = this.#connection;
    this.#channel = undefined;
    this.#connection = undefined;
    await channel?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
  }
}
