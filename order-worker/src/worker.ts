/**
 * The order worker: consumes the `orders` quorum queue, commits what arrives in batches to
 * PostgreSQL, acknowledges only after the commit, then retires the orders from the sale's
 * Redis outbox and tells their shoppers (one `order:updates` event per batch and sale, which
 * each gateway turns into an `order:update` for each shopper's page).
 *
 * A message carries one order or a batch of them (the gateway publishes the orders it accepted
 * together as one message); a batch message is acknowledged only once every order in it is
 * committed.
 *
 * What happens when things break:
 * - a malformed message is rejected without requeue, so RabbitMQ dead-letters it at once (a
 *   batch with one malformed order as a whole: its good orders are still in their sales'
 *   outboxes, which re-publish them one by one); a message with an order PostgreSQL refuses
 *   as data (unknown sale) likewise, after the batch isolates that order (the message's
 *   other orders are committed);
 * - PostgreSQL away (or any commit error that is not about the data): the same batch is
 *   retried with backoff, unacknowledged, and no new batch starts. Never nack-requeue: every
 *   requeue counts against the queue's delivery limit and would dead-letter good orders;
 * - RabbitMQ connection lost: reconnect with backoff; what was unacknowledged comes back and
 *   is a duplicate by order id if it was committed already;
 * - Redis away after a commit: logged only. The gateway's reconciler re-publishes the order,
 *   which commits as a duplicate, and that confirmation clears the outbox entry.
 */
import type { Server } from 'node:http';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  AmqpConnection,
  assertOrderTopology,
  warnDeadLetterQueue,
  backoffDelay,
  closeServer,
  DEFAULT_BACKOFF,
  parseOrderMessages,
  serveMetrics,
  sleep,
  type BackoffOptions,
  type OrderMessage,
  type RedisClient as Redis,
} from '@velvet-rope/contracts';
import { commitBatch, type CommitResult } from './batch-committer.js';
import type { WorkerConfig } from './config.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { confirmOrders, type OrderUpdate } from './redis/confirm-orders.js';
import { loadScripts } from './redis/script-loader.js';

export type OrderWorkerConfig = Pick<
  WorkerConfig,
  'amqpUrls' | 'ordersQueue' | 'batchMax' | 'batchMs' | 'prefetch' | 'metricsPort' | 'redisKeyPrefix'
> &
  Partial<Pick<WorkerConfig, 'commitsInFlight'>>;

export interface OrderWorkerOptions {
  /** backoff of commit retries and of RabbitMQ reconnects (`AmqpConnection`) */
  readonly backoff?: BackoffOptions;
  /** also collect the process's default metrics (CPU, memory, event loop) */
  readonly defaultMetrics?: boolean;
}

/** A delivery that parsed, waiting for its batch. */
interface Delivery {
  readonly msg: ConsumeMessage;
  /** one, or the orders of a batch message */
  readonly orders: readonly OrderMessage[];
  /** the channel it came on: only that channel can settle it */
  readonly channel: Channel;
}

export class OrderWorker {
  readonly metrics: WorkerMetrics;
  private readonly backoff: BackoffOptions;
  private readonly stopController = new AbortController();
  private stopping = false;
  private stopped: Promise<void> | undefined;

  private readonly amqp: AmqpConnection<{ readonly channel: Channel }>;
  private consumerTag: string | undefined;

  private buffer: Delivery[] = [];
  /** orders in `buffer` (a delivery may carry many) */
  private bufferedOrders = 0;
  /** orders in the batch taken last */
  private lastBatchOrders = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  /**
   * The batch loops running, at most `commitsInFlight`. Each commits one batch at a time; a
   * second loop starts only when a full batch waits, so that one batch's transaction runs
   * in PostgreSQL while the worker settles and prepares the next (one loop alone leaves
   * PostgreSQL idle for half the time under load).
   */
  private readonly loops = new Set<Promise<void>>();
  /**
   * Resolves once every batch taken so far is settled. Batches settle in the order they were
   * taken from the buffer, whichever commits first, so that one cumulative ack per batch
   * never acknowledges a delivery of an earlier batch still in flight.
   */
  private settledInOrder: Promise<void> = Promise.resolve();
  /** the last commit attempt failed (PostgreSQL away?) */
  private commitFailing = false;
  private metricsServer: Server | undefined;

  constructor(
    private readonly config: OrderWorkerConfig,
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: OrderWorkerOptions = {},
  ) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.metrics = createWorkerMetrics({ defaultMetrics: options.defaultMetrics ?? false });
    this.amqp = new AmqpConnection({
      urls: config.amqpUrls,
      socketOptions: { clientProperties: { connection_name: `order-worker ${process.pid}` } },
      setup: async (connection, watch) => {
        const channel = await connection.createChannel();
        watch(channel);
        warnDeadLetterQueue(await assertOrderTopology(connection, channel, config.ordersQueue), logger);
        await channel.prefetch(config.prefetch);
        return { channel };
      },
      onReady: (session, reconnected) => this.consume(session.channel, reconnected),
      onLost: (session) => this.onConnectionLost(session.channel),
      backoff: (attempt) => backoffDelay(attempt, this.backoff),
      logger,
    });
    loadScripts(redis);
    // An idle pooled connection that PostgreSQL drops emits 'error' on the pool; unheard,
    // it would crash the process. The next commit fails instead, and is retried.
    pool.on('error', (err) => this.logger.warn({ err }, 'idle PostgreSQL connection lost'));
  }

  /** Connects to RabbitMQ and starts consuming; rejects when the first connection fails. */
  async start(): Promise<void> {
    if (this.config.metricsPort !== undefined) {
      this.metricsServer = await serveMetrics(this.metrics.registry, this.config.metricsPort, this.logger);
      this.logger.info({ port: this.config.metricsPort }, 'metrics served at /metrics');
    }
    try {
      await this.amqp.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Graceful stop: cancel the consumer, finish the batch in flight (and the deliveries
   * already received) unless a commit fails, acknowledge, close channel and connection.
   * Whatever is left unacknowledged, RabbitMQ delivers again to another worker.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.stopController.abort();
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    // a reconnect wakes from its backoff at once; one already connecting finishes first,
    // so that its connection is closed below and not left behind
    await this.amqp.stopReconnecting();

    const channel = this.channel;
    if (channel && this.consumerTag) {
      await channel.cancel(this.consumerTag).catch((err: unknown) => {
        this.logger.warn({ err }, 'cancelling the consumer failed');
      });
    }
    while (this.loops.size > 0) await Promise.all(this.loops);
    // what was delivered but not batched yet: commit it too, unless PostgreSQL is failing
    if (this.buffer.length > 0 && this.channel && !this.commitFailing) await this.drain();
    this.buffer = [];
    this.bufferedOrders = 0;
    this.metrics.bufferedOrders.set(0);

    await this.amqp.close();
    if (this.metricsServer) await closeServer(this.metricsServer);
    this.logger.info('order worker stopped');
  }

  // --- RabbitMQ ------------------------------------------------------------------------

  /** the channel of the current connection: only it can settle what it delivered */
  private get channel(): Channel | undefined {
    return this.amqp.session?.channel;
  }

  /** the current RabbitMQ connection, undefined while it is down (a test closes it, as a broker restart would) */
  get connection(): ChannelModel | undefined {
    return this.amqp.connection;
  }

  /** Starts consuming on a new connection's channel (`setup` declared the topology). */
  private async consume(channel: Channel, reconnected: boolean): Promise<void> {
    const { consumerTag } = await channel.consume(this.config.ordersQueue, (msg) => this.onMessage(channel, msg), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
    if (reconnected) this.metrics.amqpReconnects.inc();
    this.logger.info({ queue: this.config.ordersQueue, prefetch: this.config.prefetch, amqp: this.amqp.address }, 'consuming orders');
  }

  private onConnectionLost(lost: Channel): void {
    this.consumerTag = undefined;
    // only the lost channel could settle these; RabbitMQ delivers them again
    const before = this.buffer.length;
    this.buffer = this.buffer.filter((d) => d.channel !== lost);
    this.bufferedOrders = this.buffer.reduce((n, d) => n + d.orders.length, 0);
    this.metrics.bufferedOrders.set(this.bufferedOrders);
    this.logger.warn({ dropped: before - this.buffer.length }, 'RabbitMQ connection lost; unacknowledged orders will be redelivered');
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // the broker cancelled the consumer (queue deleted): rebuild topology and consumer
      if (this.stopping || channel !== this.channel) return;
      this.logger.warn({ queue: this.config.ordersQueue }, 'consumer cancelled by RabbitMQ; reconnecting');
      this.amqp.drop('consumer cancelled');
      return;
    }
    const parsed = parseOrderMessages(msg.content);
    if (!parsed.ok) {
      this.deadLetter(channel, msg, `malformed: ${parsed.reason}`);
      return;
    }
    this.buffer.push({ msg, orders: parsed.value, channel });
    this.bufferedOrders += parsed.value.length;
    this.metrics.bufferedOrders.set(this.bufferedOrders);
    this.schedule();
  }

  /** Rejects without requeue: the queue's dead-letter routing moves it to `<queue>.dead`. */
  private deadLetter(channel: Channel, msg: ConsumeMessage, reason: string, orderId?: string): void {
    try {
      channel.nack(msg, false, false);
      this.metrics.orders.inc({ outcome: 'deadlettered' });
      this.logger.error(
        { reason, orderId, messageId: msg.properties.messageId, deliveryTag: msg.fields.deliveryTag },
        'order message dead-lettered',
      );
    } catch (err) {
      this.logger.warn({ err, reason }, 'dead-lettering failed (channel closed); it will be redelivered');
    }
  }

  // --- batching -------------------------------------------------------------------------

  /**
   * The commits are in a burst: a commit running whose batch was big (a quarter of
   * `batchMax` or more: at a sale's steady pace batches stay far smaller), or a full batch
   * waiting. The shop hand-off's background work gives way meanwhile.
   */
  get commitsSaturated(): boolean {
    return (this.loops.size > 0 && this.lastBatchOrders * 4 >= this.config.batchMax) || this.bufferedOrders >= this.config.batchMax;
  }

  private get commitsInFlight(): number {
    return this.config.commitsInFlight ?? 2;
  }

  private schedule(): void {
    if (this.stopping) return;
    if (this.loops.size > 0) {
      // the loops in flight take the buffer when their batch is done; another starts only
      // for a full batch, and never while commits fail (no new batch during an outage)
      if (this.bufferedOrders >= this.config.batchMax && this.loops.size < this.commitsInFlight && !this.commitFailing) {
        this.runLoop();
      }
      return;
    }
    if (this.bufferedOrders >= this.config.batchMax) {
      this.runLoop();
    } else {
      this.batchTimer ??= setTimeout(() => this.runLoop(), this.config.batchMs);
    }
  }

  private runLoop(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.stopping || this.loops.size >= this.commitsInFlight) return;
    const loop: Promise<void> = this.drain()
      .catch((err: unknown) => {
        // a bug, not an outage: drop the connection so RabbitMQ redelivers what is unsettled
        this.logger.error({ err }, 'batch loop failed; reconnecting');
        this.amqp.drop('batch loop failed');
      })
      .finally(() => {
        this.loops.delete(loop);
        this.metrics.commitsInFlight.set(this.loops.size);
        if (this.buffer.length > 0) this.schedule();
      });
    this.loops.add(loop);
    this.metrics.commitsInFlight.set(this.loops.size);
  }

  /**
   * Commits batches while deliveries wait. What arrived during a commit is the next batch
   * at once: under load, commit time does the batching. Returns early if a batch is
   * abandoned (shutdown or channel lost during retries).
   */
  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      if (!(await this.processBatch(this.takeBatch()))) return;
      // while commits fail, the other loops retry their own batch; no second loop takes more
      if (this.commitFailing && this.loops.size > 1) return;
      // a full batch waiting (e.g. after an outage) gets a loop of its own
      this.schedule();
    }
  }

  /** Deliveries from the front of the buffer, up to `batchMax` orders (at least one delivery). */
  private takeBatch(): Delivery[] {
    let n = 0;
    let orders = 0;
    while (n < this.buffer.length && (n === 0 || orders + this.buffer[n]!.orders.length <= this.config.batchMax)) {
      orders += this.buffer[n]!.orders.length;
      n++;
    }
    this.bufferedOrders -= orders;
    this.metrics.bufferedOrders.set(this.bufferedOrders);
    this.lastBatchOrders = orders;
    return this.buffer.splice(0, n);
  }

  /** Commits one batch (retrying), settles its messages, updates Redis. False: abandoned. */
  private async processBatch(batch: readonly Delivery[]): Promise<boolean> {
    // this batch's turn to settle comes after every batch taken before it (set up before
    // the first await, so turns follow the order of takeBatch)
    const earlier = this.settledInOrder;
    let settled!: () => void;
    const mine = new Promise<void>((resolve) => (settled = resolve));
    this.settledInOrder = earlier.then(() => mine);
    const channel = batch[0]!.channel;
    const orders = batch.flatMap((d) => d.orders);
    let results: CommitResult[] | undefined;
    try {
      for (let attempt = 0; results === undefined; attempt++) {
        if (channel !== this.channel) {
          this.logger.warn({ size: orders.length }, 'batch abandoned: its channel closed; RabbitMQ redelivers it');
          return false;
        }
        const endTimer = this.metrics.commitSeconds.startTimer();
        try {
          results = await commitBatch(this.pool, orders);
          endTimer();
          this.commitFailing = false;
        } catch (err) {
          this.metrics.commitRetries.inc();
          this.commitFailing = true;
          if (this.stopping) {
            this.logger.warn({ err, size: batch.length }, 'commit failed during shutdown; batch left for redelivery');
            return false;
          }
          const delay = backoffDelay(attempt, this.backoff);
          this.logger.warn({ err, attempt, delayMs: delay, size: batch.length }, 'commit failed; retrying the same batch');
          await sleep(delay, this.stopController.signal);
        }
      }
      await earlier;
      this.metrics.batchSize.observe(orders.length);
      // the channel may have closed while this batch waited for its turn
      if (channel === this.channel) this.settle(channel, batch, results);
    } finally {
      settled();
    }
    await this.publishOutcomes(results);
    return true;
  }

  /**
   * Dead-letters the poison messages, then acknowledges the rest: only after the commit. A
   * message is poison when any of its orders is (its other orders are committed: a message
   * taken from the dead-letter queue again commits nothing twice).
   */
  private settle(channel: Channel, batch: readonly Delivery[], results: readonly CommitResult[]): void {
    let lastGood: ConsumeMessage | undefined;
    let rejected = 0;
    let at = 0;
    for (const d of batch) {
      const mine = results.slice(at, at + d.orders.length);
      at += d.orders.length;
      for (const r of mine) {
        if (r.status === 'poison') continue;
        if (r.duplicate) this.metrics.orders.inc({ outcome: 'duplicate' });
        else {
          this.metrics.orders.inc({ outcome: r.status });
          if (r.status === 'rejected') rejected++;
        }
      }
      const bad = mine.find((r) => r.status === 'poison');
      if (bad?.status === 'poison') this.deadLetter(channel, d.msg, `refused by PostgreSQL: ${bad.reason}`, bad.orderId);
      else lastGood = d.msg;
    }
    if (rejected > 0) {
      this.logger.warn({ rejected }, 'orders rejected by the stock guard in PostgreSQL (Redis lost data?)');
    }
    if (!lastGood) return;
    try {
      // One ack for the batch. Safe: every earlier delivery on this channel is settled:
      // earlier batches were acked, malformed and poison messages were nacked above, and
      // batches are taken from the front of the buffer in delivery order.
      channel.ack(lastGood, true);
    } catch (err) {
      // committed, so the redelivery that follows is a duplicate: harmless
      this.logger.warn({ err }, 'ack failed (channel closed); committed orders will come back as duplicates');
    }
  }

  /** Retires committed orders from the Redis outbox and publishes their events, per sale. */
  private async publishOutcomes(results: readonly CommitResult[]): Promise<void> {
    const bySale = new Map<string, Map<string, OrderUpdate>>();
    for (const r of results) {
      if (r.status === 'poison') continue;
      let updates = bySale.get(r.saleId);
      if (!updates) bySale.set(r.saleId, (updates = new Map()));
      updates.set(r.orderId, { orderId: r.orderId, visitorId: r.visitorId, status: r.status });
    }
    await Promise.all(
      [...bySale].map(async ([saleId, updates]) => {
        try {
          await confirmOrders(this.redis, saleId, [...updates.values()], this.config.redisKeyPrefix);
        } catch (err) {
          this.metrics.redisConfirmErrors.inc();
          this.logger.warn(
            { err, saleId, orders: updates.size },
            'confirming orders in Redis failed; the outbox re-publishes them and the duplicate commit retries this',
          );
        }
      }),
    );
  }
}
