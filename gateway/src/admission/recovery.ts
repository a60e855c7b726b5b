/**
 * Recovery after Redis lost its data (restarted empty, or flushed).
 *
 * PostgreSQL is the source of truth. Every gateway checks Redis's generation marker each
 * tick; the first to find it gone re-publishes every running sale from PostgreSQL with a
 * `recovering` flag (admission paused, the sale reads as paused). Orders accepted before the
 * loss may still be in RabbitMQ, so the stock cannot be known yet: each sale's leader waits
 * until the orders queue has been empty, and no new order of the sale was committed, for a
 * grace period; then it sets the remaining stock to
 * `stock - sold` from PostgreSQL, marks every visitor who has an order as ordered, puts every
 * visitor the admission loop had recorded as admitted (PostgreSQL `admissions`) back in that
 * admission's state, and lets admission resume. Meanwhile shoppers who present their signed
 * tickets are put back at their old scores (join.lua), unless PostgreSQL knows better
 * (restore.lua, from the queue service).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { OrderPublisher } from '../purchase/order-publisher.js';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';
import type { SaleStore } from '../sales/sale-store.js';
import type { SaleRepublisher } from '../sales/republish.js';
import type { Orders } from '../purchase/orders.js';
import type { AdmissionRecords } from './admission-records.js';

/** how long the orders queue must stay empty before the in-flight orders count as committed */
const DRAIN_GRACE_MS = 2_000;

export class RedisRecovery {
  /** since when the orders queue was seen empty, and how many orders PostgreSQL had then */
  readonly #drainedSince = new Map<string, { at: number; orders: number }>();
  readonly #commands: RedisCommands;

  constructor(
    redis: Redis,
    keyspace: KeySpace,
    private readonly sales: SaleStore,
    private readonly republisher: SaleRepublisher,
    private readonly orders: Orders,
    private readonly admissionRecords: AdmissionRecords,
    private readonly publisher: OrderPublisher,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
  }

  /** Called each tick with the generation marker's value; re-publishes when it is gone. */
  async check(generation: string | null): Promise<void> {
    if (generation !== null) return;
    const { sales, recovered } = await this.republisher.publishAll(randomUUID());
    if (recovered) {
      this.logger.warn(
        { sales },
        'Redis lost its data: sales re-published from PostgreSQL; admission paused until orders in flight are committed',
      );
    }
  }

  /** The leader's step for a sale in recovery; returns true when admission may resume. */
  async finish(saleId: string): Promise<boolean> {
    let depth: number;
    try {
      depth = await this.publisher.queueDepth();
    } catch {
      return false; // no broker, no way to know what is in flight
    }
    const now = Date.now();
    if (depth > 0) {
      this.#drainedSince.delete(saleId);
      return false;
    }
    // the queue's count leaves out what a worker holds unacknowledged: the grace period must
    // also see no new order committed for the sale
    const committed = await this.orders.orderCount(saleId);
    const since = this.#drainedSince.get(saleId);
    if (!since || since.orders !== committed) {
      this.#drainedSince.set(saleId, { at: now, orders: committed });
      return false;
    }
    if (now - since.at < DRAIN_GRACE_MS) return false;

    const orders = await this.orders.ordersByVisitor(saleId);
    // admissions made before the loss: whoever is back in the queue from a ticket but was let
    // in already is not let in a second time (lapsed: expired; live: admitted again)
    const { admissions, maxSequence } = await this.admissionRecords.lastAdmissions(saleId);
    // stock - sold read and written with the sale's row locked: a shop's cancel (which gives
    // units back through `sold` and then Redis) waits, and those cancelled before are marked
    // counted, so no unit comes back twice (contracts' order-lifecycle.ts)
    const rebuilt = await this.sales.rebuildStock(saleId, async ({ remaining, paid, returnedOrderIds }) => {
      const marked = await this.#commands.finishRecovery({
        saleId,
        remaining,
        paidUnits: paid,
        returnedOrderIds,
        maxSequence,
        orders,
        admissions,
      });
      return { remaining, marked };
    });
    if (!rebuilt) return false;
    this.#drainedSince.delete(saleId);
    this.logger.warn(
      { saleId, remaining: rebuilt.remaining, ordered: rebuilt.marked },
      'recovery finished: stock rebuilt from PostgreSQL, admission resumes',
    );
    return true;
  }
}
