/**
 * Publishes order messages to RabbitMQ on a confirm channel: a purchase is answered `202`
 * only once the broker confirmed its message. Purchases go through `publishBatched`: the
 * orders accepted in one event-loop turn travel as one persistent message, confirmed once
 * (one message per purchase put the broker's message rate, and its CPU on the same cores,
 * on the purchase path). The connection heals itself with backoff (`AmqpConnection`);
 * while it is down, `publish` fails at once (the purchase answers `503` and the order stays
 * in the outbox for the reconciler). While the broker blocks the connection (a memory or
 * disk alarm), the publisher is not ready either: `publish` fails at once with the alarm
 * named, admission pauses, and `/readyz` says why, until the broker unblocks it.
 */
import { AmqpConnection, assertOrderTopology, encodeOrderBatch, warnDeadLetterQueue } from '@velvet-rope/contracts';
import type { ConfirmChannel } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { TurnBatcher } from '../lib/turn-batcher.js';

export class PublishUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishUnavailableError';
  }
}

export interface OrderPublisherOptions {
  /** the RabbitMQ node, or the nodes of one cluster (AmqpConnection tries them in turn) */
  readonly urls: readonly string[];
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
  readonly #amqp: AmqpConnection<{ readonly channel: ConfirmChannel }>;
  /** publishes since the last health sample: count, failures, summed confirm latency */
  #window = { count: 0, failed: 0, latencyMs: 0 };

  constructor(private readonly opts: OrderPublisherOptions) {
    const { logger } = opts;
    this.#amqp = new AmqpConnection({
      urls: opts.urls,
      // Nagle off: a publish and its confirm are small writes that must not wait for the
      // previous segment's ACK (with few purchases in flight, a confirm took ~40 ms instead of ~1)
      socketOptions: { noDelay: true },
      setup: async (connection, watch) => {
        const channel = await connection.createConfirmChannel();
        watch(channel);
        warnDeadLetterQueue(await assertOrderTopology(connection, channel, opts.queue), logger);
        return { channel };
      },
      onReady: () => logger.info({ url: this.#amqp.address, queue: opts.queue }, 'RabbitMQ publisher ready'),
      onLost: (_session, reason) => logger.warn({ reason, url: this.#amqp.address }, 'RabbitMQ publisher lost its channel; reconnecting'),
      // 250 ms doubling up to 5 s, each 50-150 % of it
      backoff: (attempt) => Math.min(250 * 2 ** attempt, 5_000) * (0.5 + Math.random()),
      logger,
      unref: true,
    });
  }

  /** connected, and not blocked by a resource alarm: a publish can be confirmed */
  get ready(): boolean {
    return this.#amqp.ready && this.#amqp.blocked === undefined;
  }

  /** the broker's reason while it blocks publishing (a resource alarm) */
  get blocked(): string | undefined {
    return this.#amqp.blocked;
  }

  get lastError(): string | undefined {
    const blocked = this.#amqp.blocked;
    return blocked !== undefined ? `RabbitMQ blocks publishing: ${blocked}` : this.#amqp.lastError;
  }

  /** Connects once; throws when the broker cannot be reached (boot fails loudly). */
  start(): Promise<void> {
    return this.#amqp.start();
  }

  /**
   * Resolves once the broker confirmed the persistent message; rejects with
   * PublishUnavailableError on nack, timeout or no channel.
   */
  publish(orderId: string, body: string): Promise<void> {
    const session = this.#amqp.session;
    const channel = session?.channel;
    if (!session || !channel) return Promise.reject(new PublishUnavailableError('order queue unavailable'));
    // the broker reads nothing from a blocked connection: no confirm could come
    const blocked = this.#amqp.blocked;
    if (blocked !== undefined) return Promise.reject(new PublishUnavailableError(`order queue blocked: ${blocked}`));
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
            if (!err) return resolve();
            reject(new PublishUnavailableError('broker refused the message'));
            // what was nacked or in flight was answered 503 and stays in the outbox; the
            // reconciler publishes it again
            this.#amqp.refusedPublish(session, { queue: this.opts.queue });
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
    if (!this.ready)
      return Promise.reject(new PublishUnavailableError(this.blocked ? `order queue blocked: ${this.blocked}` : 'order queue unavailable'));
    return this.#batches.add('', { orderId, body });
  }

  async #publishBatch(orders: readonly { orderId: string; body: string }[]): Promise<undefined[]> {
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
    const channel = this.#amqp.session?.channel;
    if (!channel) throw new PublishUnavailableError('order queue unavailable');
    const { messageCount } = await channel.checkQueue(this.opts.queue);
    return messageCount;
  }

  close(): Promise<void> {
    return this.#amqp.close();
  }
}
