/**
 * The outbox reconciler: re-publishes pending orders the worker has not confirmed in time
 * (a gateway died between reserve and publish, a broker lost a message, a publish answered
 * 503), those of one run together in batch messages. The worker de-duplicates by order id,
 * so publishing again is always safe.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { OrderPublisher } from './order-publisher.js';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';

export class Reconciler {
  readonly #commands: RedisCommands;

  constructor(
    redis: Redis,
    keyspace: KeySpace,
    private readonly publisher: OrderPublisher,
    private readonly logger: FastifyBaseLogger,
    private readonly republishAfterMs: number,
    private readonly batch = 500,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
  }

  /** Publishes what is due for one sale; returns how many it published. */
  async run(saleId: string): Promise<number> {
    if (!this.publisher.ready) return 0;
    const due = await this.#commands.claimDuePending({ saleId, limit: this.batch, retryAfterMs: this.republishAfterMs });
    if (due.length === 0) return 0;
    // in one turn: they travel as one batch message (up to the publisher's batch size),
    // confirmed once, as purchases do; after a broker outage thousands may be due at once
    const results = await Promise.allSettled(due.map((d) => this.publisher.publishBatched(d.orderId, d.message)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.logger.info({ saleId, republished: results.length - failed, failed }, 'outbox reconciled');
    return results.length - failed;
  }
}
