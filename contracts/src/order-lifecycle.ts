/**
 * An order after its commit, for a sale that hands orders to the shop (a checkout URL): the
 * shop marks it paid or cancels it (the gateway's shop API), a lapsed payment window cancels
 * it (any worker's sweeper), and a cancelled order's units go back on sale, exactly once.
 *
 * One home for these state changes, so the gateway and the worker make them the same way:
 * - PostgreSQL first, in one transaction with the order's row locked: the new state, the
 *   sale's `sold` (a cancel gives the units back) or `paid`, and the outbox events
 *   (order.paid / order.cancelled, and sale.sold_out once every unit is paid);
 * - then Redis (settle-units.lua): a cancelled order's units back in the reservable stock,
 *   idempotent by order id (the `returned` set), after which `units_returned_at` is set. A
 *   return that did not reach Redis (Redis away, a crash between the two) is applied by
 *   `applyDueReturns`, which every worker runs; Redis's `paidUnits` (what tells `held` from
 *   `sold_out`) is set to PostgreSQL's count, never lowered;
 * - and the buyer's pages hear it: one `order:updates` event (events.ts) on the sale's events
 *   channel after the commit, which every gateway turns into a socket `order:update` (best
 *   effort, like the worker's: a page that missed it reads the order again).
 */
import type pg from 'pg';
import { inTransaction } from './database.js';
import { defineLuaScripts, type LuaScript } from './lua-scripts.js';
import type { OrderOutcome, OrderUpdatesEvent } from './events.js';
import type { RedisClient } from './redis-client.js';
import { DEFAULT_KEY_PREFIX, saleKeys } from './redis-keys.js';
import {
  ORDER_EVENT_COLUMNS,
  ORDER_SALE,
  orderEventData,
  recordOrderEvents,
  recordSaleEvent,
  type CancelReason,
  type OrderEventData,
  type OrderEventRow,
} from './shop-events.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** see contracts/lua/settle-units.lua */
    settleUnits(stock: RedisKey, returned: RedisKey, state: RedisKey, ...args: (string | number)[]): Result<[string, number], Context>;
  }
}
import type { RedisKey, Result } from 'ioredis';

const SCRIPTS: readonly LuaScript[] = [{ name: 'settleUnits', file: 'settle-units', numberOfKeys: 3 }];
/** contracts/lua, from src/ (vitest) and dist/ (built) alike */
const SCRIPTS_DIR = new URL('../lua/', import.meta.url);

/** Defines the lifecycle's scripts on a client; idempotent. Call once per client at boot. */
export function loadLifecycleScripts(redis: RedisClient): void {
  defineLuaScripts(redis, SCRIPTS_DIR, SCRIPTS);
}

/** Why a change was refused: the shop API's error codes. */
export type LifecycleRefusal =
  /** no such order (or the shop may not see it) */
  | 'ORDER_NOT_FOUND'
  /** the order's sale hands nothing to a shop (no checkout URL when it was committed) */
  | 'NO_CHECKOUT'
  /** paid after cancelled, cancelled after paid, either of a rejected order */
  | 'ORDER_FINAL'
  /** paid after the deadline */
  | 'PAYMENT_WINDOW_OVER';

export type LifecycleOutcome =
  | { readonly ok: true; readonly order: OrderEventData; readonly changed: boolean }
  | { readonly ok: false; readonly refused: LifecycleRefusal; readonly order?: OrderEventData };

type Queryable = Pick<pg.ClientBase, 'query'>;

interface LockedOrder extends OrderEventRow {
  readonly visitor_id: string;
  readonly due_passed: boolean;
}

/**
 * The order, locked. Its sale comes from `order_ids` first (ORDER_SALE): `orders` is
 * partitioned by sale, and a look-up by the order id alone probes every sale's partition.
 */
async function lockOrder(client: Queryable, orderId: string): Promise<LockedOrder | undefined> {
  const { rows } = await client.query<LockedOrder>(
    `SELECT ${ORDER_EVENT_COLUMNS}, visitor_id, payment_due_at <= now() AS due_passed
       FROM orders WHERE order_id = $1 AND sale_id = ${ORDER_SALE} FOR UPDATE`,
    [orderId],
  );
  return rows[0];
}

/**
 * The shop took the payment. Idempotent: an order already paid answers the same. Refused:
 * unknown order, no checkout, cancelled or rejected (ORDER_FINAL), the deadline passed
 * (PAYMENT_WINDOW_OVER; the sweeper cancels it, if it has not yet).
 */
export async function payOrder(
  pool: pg.Pool,
  redis: RedisClient,
  orderId: string,
  keyPrefix = DEFAULT_KEY_PREFIX,
): Promise<LifecycleOutcome> {
  const outcome = await inTransaction(pool, async (client): Promise<LifecycleOutcome & { paidUnits?: number; visitorId?: string }> => {
    const row = await lockOrder(client, orderId);
    if (!row) return { ok: false, refused: 'ORDER_NOT_FOUND' };
    if (row.status === 'paid') return { ok: true, order: orderEventData(row), changed: false };
    if (row.status !== 'confirmed') return { ok: false, refused: 'ORDER_FINAL', order: orderEventData(row) };
    if (row.payment_due_at === null) return { ok: false, refused: 'NO_CHECKOUT', order: orderEventData(row) };
    if (row.due_passed) return { ok: false, refused: 'PAYMENT_WINDOW_OVER', order: orderEventData(row) };
    const { rows } = await client.query<OrderEventRow>(
      `UPDATE orders SET status = 'paid', paid_at = now() WHERE order_id = $1 AND sale_id = $2 RETURNING ${ORDER_EVENT_COLUMNS}`,
      [orderId, row.sale_id],
    );
    const sale = await client.query<{ paid: number; stock: number }>(
      'UPDATE sales SET paid = paid + $2, updated_at = now() WHERE id = $1 RETURNING paid, stock',
      [row.sale_id, row.quantity],
    );
    await recordOrderEvents(client, 'order.paid', row.sale_id, [orderId]);
    const s = sale.rows[0]!;
    if (s.paid >= s.stock) await recordSaleEvent(client, 'sale.sold_out', row.sale_id);
    return { ok: true, order: orderEventData(rows[0]!), changed: true, paidUnits: s.paid, visitorId: row.visitor_id };
  });
  if (outcome.ok && outcome.changed && outcome.paidUnits !== undefined) {
    const keys = saleKeys(outcome.order.saleId, keyPrefix);
    // only tells `held` from `sold_out`; a miss is mended by the next paid answer or the sweeper
    await redis.settleUnits(keys.stock, keys.returned, keys.state, 'paid', outcome.paidUnits).catch(() => undefined);
    if (outcome.visitorId !== undefined) {
      await publishOutcomes(redis, outcome.order.saleId, [{ visitorId: outcome.visitorId, orderId, status: 'paid' }], keyPrefix);
    }
  }
  if (!outcome.ok) return outcome;
  return { ok: true, order: outcome.order, changed: outcome.changed };
}

/**
 * The shop cancelled the order (its payment failed, the shopper gave up). Idempotent: an
 * order already cancelled answers the same. Refused: unknown, no checkout, paid or rejected.
 * The units are on sale again when this returns, unless Redis was away (then the sweeper).
 */
export async function cancelOrder(
  pool: pg.Pool,
  redis: RedisClient,
  orderId: string,
  keyPrefix = DEFAULT_KEY_PREFIX,
): Promise<LifecycleOutcome> {
  const outcome = await inTransaction(pool, async (client): Promise<LifecycleOutcome & { visitorId?: string }> => {
    const row = await lockOrder(client, orderId);
    if (!row) return { ok: false, refused: 'ORDER_NOT_FOUND' };
    if (row.status === 'cancelled') return { ok: true, order: orderEventData(row), changed: false };
    if (row.status !== 'confirmed') return { ok: false, refused: 'ORDER_FINAL', order: orderEventData(row) };
    if (row.payment_due_at === null) return { ok: false, refused: 'NO_CHECKOUT', order: orderEventData(row) };
    const [cancelled] = await cancelLocked(client, [orderId], 'shop');
    return { ok: true, order: cancelled!.order, changed: true, visitorId: cancelled!.visitorId };
  });
  if (outcome.ok && outcome.changed) {
    await returnUnits(pool, redis, [outcome.order], keyPrefix);
    if (outcome.visitorId !== undefined) {
      await publishOutcomes(redis, outcome.order.saleId, [{ visitorId: outcome.visitorId, orderId, status: 'cancelled' }], keyPrefix);
    }
  }
  if (!outcome.ok) return outcome;
  return { ok: true, order: outcome.order, changed: outcome.changed };
}

/**
 * Cancels orders whose payment window has passed (`payment_timeout`), up to `limit`, and puts
 * their units back. Any number of workers may run it at once: each takes different orders
 * (FOR UPDATE SKIP LOCKED), and an order is cancelled once. Returns the orders cancelled.
 */
export async function cancelLapsed(
  pool: pg.Pool,
  redis: RedisClient,
  limit = 500,
  keyPrefix = DEFAULT_KEY_PREFIX,
): Promise<OrderEventData[]> {
  const cancelled = await inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ order_id: string }>(
      `SELECT order_id::text AS order_id FROM orders
        WHERE status = 'confirmed' AND payment_due_at IS NOT NULL AND payment_due_at <= now()
        ORDER BY payment_due_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return cancelLocked(
      client,
      rows.map((r) => r.order_id),
      'payment_timeout',
    );
  });
  if (cancelled.length === 0) return [];
  const orders = cancelled.map((c) => c.order);
  await returnUnits(pool, redis, orders, keyPrefix);
  const bySale = new Map<string, OrderOutcome[]>();
  for (const c of cancelled) {
    const outcomes = bySale.get(c.order.saleId) ?? [];
    outcomes.push({ visitorId: c.visitorId, orderId: c.order.orderId, status: 'cancelled' });
    bySale.set(c.order.saleId, outcomes);
  }
  for (const [saleId, outcomes] of bySale) await publishOutcomes(redis, saleId, outcomes, keyPrefix);
  return orders;
}

/**
 * Tells the buyers' pages (through every gateway) what became of their orders: one
 * `order:updates` event on the sale's events channel. After the commit, best effort: a lost
 * message leaves the page to read the order again, never a wrong state.
 */
async function publishOutcomes(redis: RedisClient, saleId: string, orders: readonly OrderOutcome[], keyPrefix: string): Promise<void> {
  const event: OrderUpdatesEvent = { type: 'order:updates', saleId, orders };
  await redis.publish(saleKeys(saleId, keyPrefix).events, JSON.stringify(event)).catch(() => undefined);
}

/**
 * Cancels confirmed orders whose rows the transaction holds locked: the state, the units off
 * `sold` (sales in a fixed order, as the worker's commit takes them, so the two never
 * deadlock), one order.cancelled event per order.
 */
async function cancelLocked(
  client: Queryable,
  orderIds: readonly string[],
  reason: CancelReason,
): Promise<{ order: OrderEventData; visitorId: string }[]> {
  if (orderIds.length === 0) return [];
  const { rows } = await client.query<OrderEventRow & { visitor_id: string }>(
    `UPDATE orders SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2
      WHERE order_id = ANY($1::uuid[]) AND status = 'confirmed'
      RETURNING ${ORDER_EVENT_COLUMNS}, visitor_id`,
    [orderIds, reason],
  );
  const bySale = new Map<string, (OrderEventRow & { visitor_id: string })[]>();
  for (const r of rows) bySale.set(r.sale_id, [...(bySale.get(r.sale_id) ?? []), r]);
  for (const saleId of [...bySale.keys()].sort()) {
    const orders = bySale.get(saleId)!;
    await client.query('UPDATE sales SET sold = sold - $2, updated_at = now() WHERE id = $1', [
      saleId,
      orders.reduce((n, o) => n + o.quantity, 0),
    ]);
    await recordOrderEvents(
      client,
      'order.cancelled',
      saleId,
      orders.map((o) => o.order_id),
    );
  }
  return rows.map((r) => ({ order: orderEventData(r), visitorId: r.visitor_id }));
}

export interface ReturnResult {
  /** units put back in Redis by this call */
  readonly returned: number;
  /** orders whose return was already applied (by another caller) */
  readonly already: number;
  /** orders left for the sweeper (Redis away, or its sale's stock missing pending a rebuild) */
  readonly left: number;
}

/** Puts cancelled orders' units back in Redis, each once, and marks them returned in PostgreSQL. */
export async function returnUnits(
  pool: pg.Pool,
  redis: RedisClient,
  orders: readonly Pick<OrderEventData, 'orderId' | 'saleId' | 'quantity'>[],
  keyPrefix = DEFAULT_KEY_PREFIX,
): Promise<ReturnResult> {
  let returned = 0;
  let already = 0;
  const done: string[] = [];
  for (const o of orders) {
    const keys = saleKeys(o.saleId, keyPrefix);
    try {
      const [answer] = await redis.settleUnits(keys.stock, keys.returned, keys.state, 'return', o.orderId, o.quantity);
      if (answer === 'MISSING') continue;
      if (answer === 'RETURNED') returned += o.quantity;
      else already++;
      done.push(o.orderId);
    } catch {
      // Redis away: the sweeper applies it later (the `returned` set keeps it to once)
    }
  }
  if (done.length > 0) {
    await pool
      .query('UPDATE orders SET units_returned_at = now() WHERE order_id = ANY($1::uuid[]) AND units_returned_at IS NULL', [done])
      .catch(() => undefined);
  }
  return { returned, already, left: orders.length - done.length };
}

/**
 * The sweeper's half of the returns: cancelled orders whose units have not reached Redis
 * (older than `minAgeMs`, so it does not race the caller that just cancelled them).
 */
export async function applyDueReturns(
  pool: pg.Pool,
  redis: RedisClient,
  minAgeMs = 5_000,
  keyPrefix = DEFAULT_KEY_PREFIX,
): Promise<ReturnResult> {
  const { rows } = await pool.query<{ order_id: string; sale_id: string; quantity: number }>(
    `SELECT order_id::text AS order_id, sale_id, quantity FROM orders
      WHERE status = 'cancelled' AND units_returned_at IS NULL AND cancelled_at <= now() - $1 * interval '1 millisecond'
      ORDER BY cancelled_at LIMIT 500`,
    [minAgeMs],
  );
  return returnUnits(
    pool,
    redis,
    rows.map((r) => ({ orderId: r.order_id, saleId: r.sale_id, quantity: r.quantity })),
    keyPrefix,
  );
}

/**
 * For a sale's Redis rebuild (the gateway's recovery): in the transaction that reads `sold`
 * to set the stock, mark every cancelled order's return applied (the rebuild counts those
 * units: the cancel took them off `sold`), so no sweeper adds them a second time. Returns
 * those orders' ids: the rebuild puts them in the `returned` set with the stock, so a return
 * still on its way from the cancel that made it (committed before the rebuild read `sold`,
 * in Redis after it) adds nothing either.
 */
export async function markReturnsCounted(client: Queryable, saleId: string): Promise<string[]> {
  const { rows } = await client.query<{ order_id: string }>(
    `UPDATE orders SET units_returned_at = now() WHERE sale_id = $1 AND status = 'cancelled' AND units_returned_at IS NULL
     RETURNING order_id::text AS order_id`,
    [saleId],
  );
  return rows.map((r) => r.order_id);
}

/**
 * Redis's `paidUnits` of a sale from PostgreSQL's `sales.paid` (a hot copy written anew, a
 * rebuild): only ever raised (settle-units.lua). Best effort, like the paid answer's.
 */
export async function syncPaidUnits(redis: RedisClient, saleId: string, paid: number, keyPrefix = DEFAULT_KEY_PREFIX): Promise<void> {
  if (paid <= 0) return;
  const keys = saleKeys(saleId, keyPrefix);
  await redis.settleUnits(keys.stock, keys.returned, keys.state, 'paid', paid);
}
