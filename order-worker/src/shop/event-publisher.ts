/**
 * Publishes the shop's events to the RabbitMQ topic exchange (`EVENTS_EXCHANGE`), for shop
 * services that bind a queue rather than run an HTTP endpoint: persistent messages, routing
 * key = the event type, `messageId` = the event's id (the same on every dispatch of it), the
 * same JSON body the webhooks get. On a confirm channel of its own connection: `publish`
 * resolves once the broker confirmed every message, and rejects while RabbitMQ is away (the
 * dispatcher then keeps the events in the outbox and tries again).
 */
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { AmqpConnection, assertEventsExchange, backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '@velvet-rope/contracts';

/** One message: what the dispatcher made of an outbox event. */
export interface PublishedEvent {
  readonly id: string;
  readonly type: string;
  /** the JSON body, exactly as the webhook deliveries carry it */
  readonly body: string;
}

/** What the dispatcher needs of a publisher (a test can count what it is handed). */
export interface EventPublisher {
  publish(events: readonly PublishedEvent[]): Promise<void>;
}

export interface ExchangePublisherOptions {
  /** the RabbitMQ node, or the nodes of one cluster */
  readonly amqpUrls: readonly string[];
  readonly exchange: string;
  readonly backoff?: BackoffOptions;
  /** longest wait for the broker's confirms of one dispatch (ms) */
  readonly confirmTimeoutMs?: number;
}

export class ExchangePublisher implements EventPublisher {
  private readonly amqp: AmqpConnection<{ readonly channel: ConfirmChannel }>;

  constructor(
    private readonly opts: ExchangePublisherOptions,
    logger: Logger,
  ) {
    const backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.amqp = new AmqpConnection({
      urls: opts.amqpUrls,
      socketOptions: { clientProperties: { connection_name: `order-worker ${process.pid} shop events` } },
      setup: async (connection, watch) => {
        const channel = await connection.createConfirmChannel();
        watch(channel);
        await assertEventsExchange(channel, opts.exchange);
        return { channel };
      },
      backoff: (attempt) => backoffDelay(attempt, backoff),
      logger,
    });
  }

  /** Connects once; throws when the broker cannot be reached (as the worker's own connection does). */
  start(): Promise<void> {
    return this.amqp.start();
  }

  close(): Promise<void> {
    return this.amqp.close();
  }

  async publish(events: readonly PublishedEvent[]): Promise<void> {
    const session = this.amqp.session;
    if (!session) throw new Error(`RabbitMQ is away: ${this.amqp.lastError ?? 'not connected'}`);
    const { channel } = session;
    const timestamp = Math.floor(Date.now() / 1000);
    for (const e of events) {
      // a full write buffer only delays: waitForConfirms below waits for every message
      channel.publish(this.opts.exchange, e.type, Buffer.from(e.body), {
        persistent: true,
        messageId: e.id,
        type: e.type,
        contentType: 'application/json',
        timestamp,
      });
    }
    const timeoutMs = this.opts.confirmTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        channel.waitForConfirms().catch((err: unknown) => {
          // a nack (or the channel closing under it): the dispatch is tried again later, and
          // a nack drops the connection once so the retry gets a fresh channel
          this.amqp.refusedPublish(session, { exchange: this.opts.exchange });
          throw err;
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`RabbitMQ did not confirm ${events.length} events within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
