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

export class Reconciler {
  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly publisher: OrderPublisher,
    private readonly logger: FastifyBaseLogger,
    private readonly republishAfterMs: number,
    private readonly batch = 500,
  ) {}

  /** Publishes what is due for one sale; returns how many it published. */
  async run(saleId: string): Promise<number> {
    if (!this.publisher.ready) return 0;
    const k = this.keyspace.sale(saleId);
    const due = await this.redis.claimDuePending(k.pending, k.pendingDue, this.batch, this.republishAfterMs);
    if (due.length === 0) return 0;
    // in one turn: they travel as one batch message (up to the publisher's batch size),
    // confirmed once, as purchases do; after a broker outage thousands may be due at once
    const publishes: Promise<void>[] = [];
    for (let i = 0; i + 1 < due.length; i += 2) publishes.push(this.publisher.publishBatched(due[i]!, due[i + 1]!));
    const results = await Promise.allSettled(publishes);
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.logger.info({ saleId, republished: results.length - failed, failed }, 'outbox reconciled');
    return results.length - failed;
  }
}
