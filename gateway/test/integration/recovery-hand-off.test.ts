/**
 * Redis lost its data during a sale that hands orders to the shop: the rebuild takes the
 * stock from PostgreSQL (stock - sold) with the sale's row locked, counts the returns of the
 * orders cancelled before it (so a return still on its way adds nothing: no unit comes back
 * twice), and gets the paid units back, so the sale reads `held`, not sold out, while units
 * wait in checkouts.
 */
import { randomUUID } from 'node:crypto';
import { returnUnits } from '@velvet-rope/contracts';
import { connect as amqpConnect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, AMQP_URL, cleanupRedis, createHarness, createSale, sleep, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

async function purge(queue: string): Promise<void> {
  const conn = await amqpConnect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.purgeQueue(queue);
  await conn.close();
}

async function insertOrder(saleId: string, status: 'confirmed' | 'paid' | 'cancelled'): Promise<string> {
  const orderId = randomUUID();
  await h.db.pool.query(
    `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at, paid_at, cancelled_at, cancel_reason)
     VALUES ($1, $2, $3, 1, $4, now(), now(), now() + interval '10 minutes',
             CASE WHEN $4 = 'paid' THEN now() END, CASE WHEN $4 = 'cancelled' THEN now() END, CASE WHEN $4 = 'cancelled' THEN 'shop' END)`,
    [orderId, saleId, `visitor-${orderId.replaceAll('-', '').slice(0, 16)}`, status],
  );
  return orderId;
}

describe('after Redis lost the data of a sale that hands off', () => {
  it('rebuilds the stock once, counts the returns of cancelled orders, and reads held from the paid units', async () => {
    const app = h.app();
    const saleId = await createSale(app, { stock: 2, ratePerMinute: 0 });
    await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${saleId}`,
      headers: adminHeaders,
      payload: { checkoutUrl: 'https://shop.example/pay' },
    });
    // one unit paid, one in a checkout, one order cancelled whose return never reached Redis
    await insertOrder(saleId, 'paid');
    await insertOrder(saleId, 'confirmed');
    const cancelled = await insertOrder(saleId, 'cancelled');
    await h.db.pool.query('UPDATE sales SET sold = 2, paid = 1 WHERE id = $1', [saleId]);

    await cleanupRedis(h.prefix); // the loss
    await app.admissionLoop.tickAll(); // re-publishes, recovering
    await purge(h.queue);
    await app.admissionLoop.tickSale(saleId);
    await sleep(2_100);
    await app.admissionLoop.tickSale(saleId);
    const k = app.keyspace.sale(saleId);
    expect(await app.redis.hget(k.config, 'recovering')).toBeNull();

    expect(Number(await app.redis.get(k.stock))).toBe(0);
    expect(await app.redis.hget(k.state, 'paidUnits')).toBe('1');
    expect((await app.inject({ url: `/api/sales/${saleId}` })).json()).toMatchObject({ status: 'held', remaining: 0 });
    const { rows } = await h.db.pool.query('SELECT units_returned_at IS NOT NULL AS counted FROM orders WHERE order_id = $1', [cancelled]);
    expect(rows[0]).toEqual({ counted: true });
    // the cancel's own return, arriving late, adds nothing: the rebuild counted the unit already
    const late = await returnUnits(h.db.pool, app.redis, [{ orderId: cancelled, saleId, quantity: 1 }], h.prefix);
    expect(late).toEqual({ returned: 0, already: 1, left: 0 });
    expect(Number(await app.redis.get(k.stock))).toBe(0);
  });
});
