/**
 * Telling the shop (issue 14), the worker's half: the dispatcher (outbox -> events exchange
 * and webhook deliveries), the deliverer (signed POSTs, retries) and the sweepers (payment
 * deadlines, unit returns, sale.ended), started and stopped together beside the order
 * consumer. On a PostgreSQL pool of its own, so that none of it can take a connection the
 * order commits wait for.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { loadLifecycleScripts, type BackoffOptions, type RedisClient } from '@velvet-rope/contracts';
import type { ShopConfig } from '../config.js';
import type { WorkerMetrics } from '../metrics.js';
import { CommitPriority } from './commit-priority.js';
import { WebhookDeliverer } from './deliverer.js';
import { ShopEventDispatcher } from './dispatcher.js';
import { ExchangePublisher } from './event-publisher.js';
import { DEFAULT_SWEEPER_INTERVALS, ShopSweepers, type SweeperIntervals } from './sweepers.js';

export interface ShopHandOffConfig {
  readonly amqpUrls: readonly string[];
  readonly redisKeyPrefix: string;
  readonly shop: ShopConfig;
}

export interface ShopHandOffOptions {
  readonly backoff?: BackoffOptions;
  readonly sweeperIntervals?: SweeperIntervals;
  /** poll interval of the dispatcher and the deliverer when idle (ms) */
  readonly idleMs?: number;
  /** true while the worker's commit pipeline is saturated: the dispatcher and deliverer give way */
  readonly commitsSaturated?: () => boolean;
}

export class ShopHandOff {
  readonly publisher: ExchangePublisher;
  readonly dispatcher: ShopEventDispatcher;
  readonly deliverer: WebhookDeliverer;
  readonly sweepers: ShopSweepers;
  private readonly stopController = new AbortController();
  private loops: Promise<unknown> | undefined;

  constructor(
    config: ShopHandOffConfig,
    pool: pg.Pool,
    redis: RedisClient,
    metrics: WorkerMetrics,
    private readonly logger: Logger,
    options: ShopHandOffOptions = {},
  ) {
    loadLifecycleScripts(redis);
    const idle = options.idleMs === undefined ? {} : { idleMs: options.idleMs };
    const backoff = options.backoff === undefined ? {} : { backoff: options.backoff };
    this.publisher = new ExchangePublisher(
      { amqpUrls: config.amqpUrls, exchange: config.shop.eventsExchange, ...backoff },
      logger.child({ component: 'shop-events' }),
    );
    const saturated = options.commitsSaturated;
    // one each: they count their waits apart, so each runs a round at least every maxDeferMs
    const priority = () => (saturated ? { priority: new CommitPriority(saturated, config.shop.maxDeferMs) } : {});
    this.dispatcher = new ShopEventDispatcher(pool, this.publisher, metrics, logger.child({ component: 'dispatcher' }), {
      ...idle,
      ...backoff,
      ...priority(),
    });
    this.deliverer = new WebhookDeliverer(pool, config.shop, metrics, logger.child({ component: 'deliverer' }), {
      ...idle,
      ...backoff,
      ...priority(),
    });
    this.sweepers = new ShopSweepers(
      pool,
      redis,
      config.redisKeyPrefix,
      metrics,
      logger.child({ component: 'sweepers' }),
      options.sweeperIntervals ?? DEFAULT_SWEEPER_INTERVALS,
    );
  }

  /** Connects the events channel (throws when RabbitMQ cannot be reached) and starts the loops. */
  async start(): Promise<void> {
    await this.publisher.start();
    const signal = this.stopController.signal;
    this.loops = Promise.all([this.dispatcher.run(signal), this.deliverer.run(signal), this.sweepers.run(signal)]);
    this.logger.info('telling the shop: dispatcher, deliverer and sweepers running');
  }

  /** Stops the loops (a delivery in flight finishes, within its timeout), then the events channel. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loops;
    await this.publisher.close();
  }
}
