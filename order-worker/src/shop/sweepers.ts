/**
 * The worker's sweepers for the shop hand-off, each a small loop any number of workers run
 * at once (each step is safe to run twice at the same time):
 * - payment deadlines (~1 s): confirmed orders whose payment window passed are cancelled
 *   (`payment_timeout`) and their units go back on sale (contracts' `cancelLapsed`: FOR
 *   UPDATE SKIP LOCKED, so each order is cancelled once);
 * - due returns (~5 s): cancelled orders whose units did not reach Redis yet (Redis away, a
 *   crash between the two) are returned (`applyDueReturns`: once per order by Redis's set);
 * - ended sales (~1 s): `sale.ended` announced once per sale, in the transaction that marks
 *   it announced.
 * The deadlines live in PostgreSQL, so they fire on time whichever process restarts.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  applyDueReturns,
  cancelLapsed,
  inTransaction,
  recordSaleEvent,
  sleep,
  type OrderEventData,
  type RedisClient,
} from '@velvet-rope/contracts';
import type { WorkerMetrics } from '../metrics.js';

export interface SweeperIntervals {
  readonly deadlinesMs: number;
  readonly returnsMs: number;
  readonly endedMs: number;
}

export const DEFAULT_SWEEPER_INTERVALS: SweeperIntervals = { deadlinesMs: 1_000, returnsMs: 5_000, endedMs: 1_000 };

export class ShopSweepers {
  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly intervals: SweeperIntervals = DEFAULT_SWEEPER_INTERVALS,
  ) {}

  /** Runs the three loops until `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([
      this.loop('payment deadlines', this.intervals.deadlinesMs, signal, () => this.sweepPaymentDeadlines()),
      this.loop('unit returns', this.intervals.returnsMs, signal, () => this.sweepReturns()),
      this.loop('ended sales', this.intervals.endedMs, signal, () => this.announceEndedSales()),
    ]);
  }

  private async loop(what: string, intervalMs: number, signal: AbortSignal, step: () => Promise<unknown>): Promise<void> {
    while (!signal.aborted) {
      try {
        await step();
      } catch (err) {
        // PostgreSQL or Redis away: the next round tries again; nothing is lost meanwhile
        this.logger.warn({ err }, `sweeping ${what} failed; retrying next round`);
      }
      await sleep(intervalMs, signal);
    }
  }

  /** Cancels the orders whose payment window passed, and returns their units. Returns them. */
  async sweepPaymentDeadlines(): Promise<OrderEventData[]> {
    const cancelled = await cancelLapsed(this.pool, this.redis, 500, this.keyPrefix);
    if (cancelled.length === 0) return cancelled;
    this.metrics.ordersCancelled.inc({ reason: 'payment_timeout' }, cancelled.length);
    // cancelLapsed returned what reached Redis; the rest is left to sweepReturns
    const { rows } = await this.pool.query<{ units: number }>(
      'SELECT coalesce(sum(quantity), 0)::int AS units FROM orders WHERE order_id = ANY($1::uuid[]) AND units_returned_at IS NOT NULL',
      [cancelled.map((o) => o.orderId)],
    );
    this.metrics.unitsReturned.inc(rows[0]?.units ?? 0);
    this.logger.info({ orders: cancelled.length }, 'orders cancelled: payment window over; their units are back on sale');
    return cancelled;
  }

  /** Puts back the units of cancelled orders that did not reach Redis. Returns the units returned. */
  async sweepReturns(): Promise<number> {
    const result = await applyDueReturns(this.pool, this.redis, 5_000, this.keyPrefix);
    if (result.returned > 0) this.metrics.unitsReturned.inc(result.returned);
    if (result.left > 0) this.logger.warn({ left: result.left }, 'cancelled orders whose units could not go back to Redis yet');
    return result.returned;
  }

  /** Announces `sale.ended` once for each sale that ended. Returns their ids. */
  async announceEndedSales(): Promise<string[]> {
    return inTransaction(this.pool, async (client) => {
      // rows locked in id order, as the commits take them, so the two never deadlock
      const { rows } = await client.query<{ id: string }>(
        `UPDATE sales SET ended_announced = true
          WHERE id IN (SELECT id FROM sales WHERE ends_at <= now() AND NOT ended_announced ORDER BY id FOR UPDATE)
            AND NOT ended_announced
          RETURNING id`,
      );
      const ids = rows.map((r) => r.id).sort();
      for (const id of ids) await recordSaleEvent(client, 'sale.ended', id);
      return ids;
    });
  }
}
