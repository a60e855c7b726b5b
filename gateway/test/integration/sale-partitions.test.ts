/**
 * Creating a sale makes its partition of `orders` (migration 0015) in the same transaction.
 * The partition's foreign key locks `sales`, so creations side by side would deadlock on each
 * other without the lock SaleStore.create takes first: all of them must answer 201.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createHarness, createSale, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const partitionOf = async (saleId: string) => {
  const { rows } = await h.db.pool.query<{ part: string }>(
    `SELECT c.relname AS part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'orders'::regclass AND c.relname = orders_partition_name($1)`,
    [saleId],
  );
  return rows.map((r) => r.part);
};

describe("a sale's orders partition", () => {
  it('is made for every sale created side by side, and a refused duplicate id makes none', async () => {
    const app = h.app();
    const ids = await Promise.all(Array.from({ length: 8 }, () => createSale(app, { ratePerMinute: 0 })));
    for (const id of ids) expect(await partitionOf(id)).toHaveLength(1);

    const again = await app.inject({
      method: 'POST',
      url: '/api/admin/sales',
      headers: adminHeaders,
      payload: { id: ids[0], name: 'again', stock: 1, startsAt: new Date().toISOString(), ratePerMinute: 0 },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('SALE_EXISTS');
    expect(await partitionOf(ids[0]!)).toHaveLength(1);
  });
});
