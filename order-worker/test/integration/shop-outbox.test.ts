import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch } from '../../src/batch-committer.js';
import { createTestDatabase, type TestDatabase } from '../../../test-support/databases.js';
import { insertSale, order } from '../helpers.js';

interface OutboxRow {
  type: string;
  order_ids: string[] | null;
  data: { saleId: string; stock: number; sold: number; paid: number } | null;
}

describe('the commit writes the shop outbox (issue 14)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('vr_test_worker_outbox_');
  });
  afterAll(() => db?.drop());

  async function outboxOf(saleId: string): Promise<OutboxRow[]> {
    const { rows } = await db.pool.query<OutboxRow>(
      'SELECT type, order_ids::text[] AS order_ids, data FROM shop_events WHERE sale_id = $1 ORDER BY seq',
      [saleId],
    );
    return rows;
  }

  it('holds an order of a checkout sale for payment, and writes one order.confirmed row per sale and batch', async () => {
    const shop = await insertSale(db.pool, { stock: 100, checkoutUrl: 'https://shop.example/checkout', paymentSeconds: 90 });
    const plain = await insertSale(db.pool, { stock: 100 });
    const batch = [order(shop), order(plain), order(shop, { quantity: 2 })];

    await commitBatch(db.pool, batch);

    const { rows } = await db.pool.query<{ order_id: string; window: number | null }>(
      `SELECT order_id::text AS order_id, extract(epoch FROM payment_due_at - confirmed_at)::int AS window
         FROM orders WHERE order_id = ANY($1::uuid[])`,
      [batch.map((o) => o.orderId)],
    );
    const windowOf = new Map(rows.map((r) => [r.order_id, r.window]));
    expect(batch.map((o) => windowOf.get(o.orderId))).toEqual([90, null, 90]);

    const shopRows = await outboxOf(shop);
    expect(shopRows).toHaveLength(1);
    expect(shopRows[0]!.type).toBe('order.confirmed');
    expect([...shopRows[0]!.order_ids!].sort()).toEqual([batch[0]!.orderId, batch[2]!.orderId].sort());
    expect(await outboxOf(plain)).toEqual([{ type: 'order.confirmed', order_ids: [batch[1]!.orderId], data: null }]);
  });

  it('writes nothing for a duplicate', async () => {
    const saleId = await insertSale(db.pool, { stock: 100, checkoutUrl: 'https://shop.example/checkout' });
    const batch = [order(saleId), order(saleId)];
    await commitBatch(db.pool, batch);
    const before = await outboxOf(saleId);

    const again = await commitBatch(db.pool, batch);

    expect(again.every((r) => 'duplicate' in r && r.duplicate)).toBe(true);
    expect(await outboxOf(saleId)).toEqual(before);
    expect(before).toHaveLength(1);
  });

  it('announces sale.held when a checkout sale is all taken, sale.sold_out when a plain one is', async () => {
    const shop = await insertSale(db.pool, { stock: 3, checkoutUrl: 'https://shop.example/checkout' });
    const plain = await insertSale(db.pool, { stock: 3 });

    await commitBatch(db.pool, [order(shop), order(plain)]);
    expect((await outboxOf(shop)).map((r) => r.type)).toEqual(['order.confirmed']);
    await commitBatch(db.pool, [order(shop, { quantity: 2 }), order(plain, { quantity: 2 })]);

    const held = await outboxOf(shop);
    expect(held.map((r) => r.type)).toEqual(['order.confirmed', 'order.confirmed', 'sale.held']);
    expect(held[2]!.data).toMatchObject({ saleId: shop, stock: 3, sold: 3, paid: 0 });
    const soldOut = await outboxOf(plain);
    expect(soldOut.map((r) => r.type)).toEqual(['order.confirmed', 'order.confirmed', 'sale.sold_out']);
    // a sale without a checkout counts every sold unit as paid
    expect(soldOut[2]!.data).toMatchObject({ saleId: plain, stock: 3, sold: 3, paid: 3 });
  });

  it('writes order.rejected for the orders the stock guard refused, and sale.sold_out for the units that fit', async () => {
    // Redis lost data and reserved more than PostgreSQL has left
    const saleId = await insertSale(db.pool, { stock: 5, sold: 3 });
    const fits = order(saleId, { quantity: 2 });
    const refused = order(saleId, { quantity: 2 });

    await commitBatch(db.pool, [fits, refused]);

    expect(await outboxOf(saleId)).toMatchObject([
      { type: 'order.confirmed', order_ids: [fits.orderId] },
      { type: 'order.rejected', order_ids: [refused.orderId] },
      { type: 'sale.sold_out', data: { sold: 5, stock: 5 } },
    ]);
  });

  it('still isolates an order of an unknown sale as poison (the join does not hide the foreign key)', async () => {
    const saleId = await insertSale(db.pool, { stock: 10 });
    const good = order(saleId);
    const unknown = order('no-such-sale');

    const results = await commitBatch(db.pool, [good, unknown]);

    expect(results.map((r) => r.status)).toEqual(['confirmed', 'poison']);
    expect(await outboxOf(saleId)).toEqual([{ type: 'order.confirmed', order_ids: [good.orderId], data: null }]);
    expect(await outboxOf('no-such-sale')).toEqual([]);
  });
});
