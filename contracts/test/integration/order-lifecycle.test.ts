/**
 * The order lifecycle (contracts' order-lifecycle.ts) against the real PostgreSQL and Redis:
 * paying and cancelling are idempotent and final, a cancelled order's units go back to the
 * sale once (PostgreSQL `sold` and Redis stock together), and lapsed payment windows are
 * cancelled once however many sweepers run at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDueReturns,
  cancelLapsed,
  cancelOrder,
  createRedisClient,
  loadLifecycleScripts,
  markReturnsCounted,
  payOrder,
  returnUnits,
  saleKeys,
  type RedisClient,
} from '@velvet-rope/contracts';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';

let db: TestDatabase;
let redis: RedisClient;
const prefix = uniqueId('vrlc').toLowerCase();

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createRedisClient({ url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' }, { enableOfflineQueue: true });
  await redis.connect();
  loadLifecycleScripts(redis);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await db?.drop();
});

/** A sale that hands off (or not), `sold` of its `stock` units taken by confirmed orders of one unit each. */
async function saleWithOrders(opts: { stock: number; sold: number; checkout?: boolean; dueInSeconds?: number }) {
  const saleId = uniqueId('lc-');
  await db.pool.query(
    `INSERT INTO sales (id, name, stock, sold, starts_at, rate_per_minute, max_active, checkout_seconds, max_per_shopper,
                        queue_mode, window_seconds, fairness_seed, checkout_url, payment_seconds)
     VALUES ($1, $1, $2, $3, now(), 60, 10, 60, 1, 'fifo', 0, $4, $5, 600)`,
    [saleId, opts.stock, opts.sold, randomBytes(32), opts.checkout === false ? null : 'https://shop.example/checkout'],
  );
  const orderIds = Array.from({ length: opts.sold }, () => randomUUID());
  await db.pool.query(
    `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at)
     SELECT id, $2, 'v-' || ord, 1, 'confirmed', now(), now(), $3::timestamptz
       FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, ord)`,
    [orderIds, saleId, opts.checkout === false ? null : new Date(Date.now() + (opts.dueInSeconds ?? 600) * 1000)],
  );
  const keys = saleKeys(saleId, prefix);
  await redis.set(keys.stock, String(opts.stock - opts.sold));
  return { saleId, orderIds, keys };
}

async function soldAndPaid(saleId: string) {
  const { rows } = await db.pool.query<{ sold: number; paid: number }>('SELECT sold, paid FROM sales WHERE id = $1', [saleId]);
  return rows[0]!;
}

async function outbox(saleId: string) {
  const { rows } = await db.pool.query<{ type: string; order_ids: string[] | null }>(
    'SELECT type, order_ids FROM shop_events WHERE sale_id = $1 ORDER BY seq',
    [saleId],
  );
  return rows.map((r) => ({ type: r.type, orders: r.order_ids?.length ?? 0 }));
}

describe('paying an order', () => {
  it('marks it paid once, counts it in `paid`, writes order.paid, and sale.sold_out when every unit is paid', async () => {
    const { saleId, orderIds, keys } = await saleWithOrders({ stock: 2, sold: 2 });
    const first = await payOrder(db.pool, redis, orderIds[0]!, prefix);
    expect(first).toMatchObject({ ok: true, changed: true, order: { status: 'paid', saleId } });
    const again = await payOrder(db.pool, redis, orderIds[0]!, prefix);
    expect(again).toMatchObject({ ok: true, changed: false, order: { status: 'paid' } });
    expect(await soldAndPaid(saleId)).toEqual({ sold: 2, paid: 1 });
    expect(await redis.hget(keys.state, 'paidUnits')).toBe('1');

    await payOrder(db.pool, redis, orderIds[1]!, prefix);
    expect(await soldAndPaid(saleId)).toEqual({ sold: 2, paid: 2 });
    expect(await redis.hget(keys.state, 'paidUnits')).toBe('2');
    expect(await outbox(saleId)).toEqual([
      { type: 'order.paid', orders: 1 },
      { type: 'order.paid', orders: 1 },
      { type: 'sale.sold_out', orders: 0 },
    ]);
  });

  it('refuses a cancelled order (ORDER_FINAL), a lapsed one (PAYMENT_WINDOW_OVER), one without checkout, and an unknown one; nothing changes', async () => {
    const { saleId, orderIds } = await saleWithOrders({ stock: 3, sold: 2 });
    await cancelOrder(db.pool, redis, orderIds[0]!, prefix);
    expect(await payOrder(db.pool, redis, orderIds[0]!, prefix)).toMatchObject({ ok: false, refused: 'ORDER_FINAL' });
    await db.pool.query("UPDATE orders SET payment_due_at = now() - interval '1 second' WHERE order_id = $1", [orderIds[1]]);
    expect(await payOrder(db.pool, redis, orderIds[1]!, prefix)).toMatchObject({ ok: false, refused: 'PAYMENT_WINDOW_OVER' });
    expect(await payOrder(db.pool, redis, randomUUID(), prefix)).toEqual({ ok: false, refused: 'ORDER_NOT_FOUND' });
    expect(await soldAndPaid(saleId)).toEqual({ sold: 1, paid: 0 });

    const plain = await saleWithOrders({ stock: 1, sold: 1, checkout: false });
    expect(await payOrder(db.pool, redis, plain.orderIds[0]!, prefix)).toMatchObject({ ok: false, refused: 'NO_CHECKOUT' });
    expect(await cancelOrder(db.pool, redis, plain.orderIds[0]!, prefix)).toMatchObject({ ok: false, refused: 'NO_CHECKOUT' });
    expect(await soldAndPaid(plain.saleId)).toEqual({ sold: 1, paid: 0 });
    expect(await outbox(plain.saleId)).toEqual([]);
  });
});

describe('cancelling an order', () => {
  it('puts its units back on sale once: `sold` down, Redis stock up, order.cancelled written; a paid order cannot be cancelled', async () => {
    const { saleId, orderIds, keys } = await saleWithOrders({ stock: 2, sold: 2 });
    const first = await cancelOrder(db.pool, redis, orderIds[0]!, prefix);
    expect(first).toMatchObject({ ok: true, changed: true, order: { status: 'cancelled', cancelReason: 'shop' } });
    expect(await cancelOrder(db.pool, redis, orderIds[0]!, prefix)).toMatchObject({ ok: true, changed: false });
    expect(await redis.get(keys.stock)).toBe('1');
    expect(await soldAndPaid(saleId)).toEqual({ sold: 1, paid: 0 });
    // a retry of the return (a sweeper that did not see the mark) adds nothing
    expect(await returnUnits(db.pool, redis, [{ orderId: orderIds[0]!, saleId, quantity: 1 }], prefix)).toEqual({
      returned: 0,
      already: 1,
      left: 0,
    });
    expect(await redis.get(keys.stock)).toBe('1');

    await payOrder(db.pool, redis, orderIds[1]!, prefix);
    expect(await cancelOrder(db.pool, redis, orderIds[1]!, prefix)).toMatchObject({ ok: false, refused: 'ORDER_FINAL' });
    expect(await outbox(saleId)).toEqual([
      { type: 'order.cancelled', orders: 1 },
      { type: 'order.paid', orders: 1 },
    ]);
  });

  it('a return that could not reach Redis (its stock missing) is left to the sweeper, and a rebuild that counted it marks it done', async () => {
    const { saleId, orderIds, keys } = await saleWithOrders({ stock: 2, sold: 2 });
    await redis.del(keys.stock);
    await cancelOrder(db.pool, redis, orderIds[0]!, prefix);
    const { rows } = await db.pool.query('SELECT units_returned_at FROM orders WHERE order_id = $1', [orderIds[0]]);
    expect(rows[0].units_returned_at).toBeNull();
    // the rebuild sets stock - sold (= 1, the cancel already counted) and marks the return counted
    await markReturnsCounted(db.pool, saleId);
    await redis.set(keys.stock, '1');
    const swept = await applyDueReturns(db.pool, redis, 0, prefix);
    expect(swept.returned).toBe(0);
    expect(await redis.get(keys.stock)).toBe('1');
  });
});

describe('lapsed payment windows', () => {
  it('two sweepers at once cancel each lapsed order once and return each unit once', async () => {
    const { saleId, orderIds, keys } = await saleWithOrders({ stock: 40, sold: 40, dueInSeconds: -1 });
    const [a, b] = await Promise.all([cancelLapsed(db.pool, redis, 500, prefix), cancelLapsed(db.pool, redis, 500, prefix)]);
    // (other tests' lapsed orders in this database are taken too: the sweep is global)
    const all = [...a, ...b].filter((o) => o.saleId === saleId).map((o) => o.orderId);
    expect(new Set(all).size).toBe(all.length);
    // what one sweep missed (its rows were locked by the other) the next takes
    const rest = await cancelLapsed(db.pool, redis, 500, prefix);
    const mine = [...all, ...rest.filter((o) => o.saleId === saleId).map((o) => o.orderId)];
    expect(mine.sort()).toEqual([...orderIds].sort());
    expect(await redis.get(keys.stock)).toBe('40');
    expect(await soldAndPaid(saleId)).toEqual({ sold: 0, paid: 0 });
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'cancelled' AND cancel_reason = 'payment_timeout' AND units_returned_at IS NOT NULL",
      [saleId],
    );
    expect(Number(rows[0]!.n)).toBe(40);
    const events = await outbox(saleId);
    expect(events.every((e) => e.type === 'order.cancelled')).toBe(true);
    expect(events.reduce((n, e) => n + e.orders, 0)).toBe(40);
  });
});
