import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch } from '../../src/batch-committer.js';
import { createTestDatabase, type TestDatabase } from '../../../test-support/databases.js';
import { insertSale, order, ordersOf, soldOf } from '../helpers.js';

describe('commitBatch', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('vr_test_worker_commit_');
  });
  afterAll(() => db?.drop());

  it('commits a whole batch as confirmed and adds its quantity to sold', async () => {
    const saleId = await insertSale(db.pool, { stock: 100 });
    const batch = [order(saleId), order(saleId, { quantity: 2 }), order(saleId, { quantity: 3 })];

    const results = await commitBatch(db.pool, batch);

    expect(results).toEqual(
      batch.map((o) => ({ orderId: o.orderId, saleId, visitorId: o.visitorId, status: 'confirmed', duplicate: false })),
    );
    const rows = await ordersOf(db.pool, saleId);
    expect(rows.map((r) => r.order_id)).toEqual(batch.map((o) => o.orderId));
    expect(rows.every((r) => r.status === 'confirmed' && r.confirmed_at instanceof Date)).toBe(true);
    expect(await soldOf(db.pool, saleId)).toBe(6);
  });

  it('commits the same message twice in one batch once, and counts it once', async () => {
    const saleId = await insertSale(db.pool, { stock: 100 });
    const twice = order(saleId, { quantity: 2 });
    const other = order(saleId);

    const results = await commitBatch(db.pool, [twice, other, twice]);

    expect(results.map((r) => [r.orderId, r.status, 'duplicate' in r && r.duplicate])).toEqual([
      [twice.orderId, 'confirmed', false],
      [other.orderId, 'confirmed', false],
      [twice.orderId, 'confirmed', true],
    ]);
    expect(await ordersOf(db.pool, saleId)).toHaveLength(2);
    expect(await soldOf(db.pool, saleId)).toBe(3);
  });

  it('commits a message redelivered in a later batch once, and answers its stored status', async () => {
    const saleId = await insertSale(db.pool, { stock: 100 });
    const redelivered = order(saleId, { quantity: 2 });
    await commitBatch(db.pool, [redelivered]);

    const fresh = order(saleId);
    const results = await commitBatch(db.pool, [redelivered, fresh]);

    expect(results[0]).toMatchObject({ orderId: redelivered.orderId, status: 'confirmed', duplicate: true });
    expect(results[1]).toMatchObject({ orderId: fresh.orderId, status: 'confirmed', duplicate: false });
    expect(await ordersOf(db.pool, saleId)).toHaveLength(2);
    expect(await soldOf(db.pool, saleId)).toBe(3);
  });

  it('refuses an oversell: the earliest orders that fit are confirmed, the rest rejected', async () => {
    const saleId = await insertSale(db.pool, { stock: 10, sold: 8 });
    const batch = [1, 2, 3, 4, 5].map(() => order(saleId));
    // arrival order, not batch order, decides who gets the last units
    const shuffled = [batch[3]!, batch[1]!, batch[4]!, batch[0]!, batch[2]!];

    const results = await commitBatch(db.pool, shuffled);

    const statusOf = new Map(results.map((r) => [r.orderId, r.status]));
    expect(batch.map((o) => statusOf.get(o.orderId))).toEqual(['confirmed', 'confirmed', 'rejected', 'rejected', 'rejected']);
    expect(await soldOf(db.pool, saleId)).toBe(10);
    const rows = await ordersOf(db.pool, saleId);
    expect(rows.map((r) => [r.status, r.confirmed_at === null])).toEqual([
      ['confirmed', false],
      ['confirmed', false],
      ['rejected', true],
      ['rejected', true],
      ['rejected', true],
    ]);
    // the CHECK constraint holds on every sale of this database
    const { rows: over } = await db.pool.query('SELECT id FROM sales WHERE sold > stock');
    expect(over).toEqual([]);

    // a rejected order delivered again stays rejected and takes nothing
    const again = await commitBatch(db.pool, [batch[4]!]);
    expect(again[0]).toMatchObject({ status: 'rejected', duplicate: true });
    expect(await soldOf(db.pool, saleId)).toBe(10);
  });

  it('lets a smaller later order take what a larger earlier one cannot (no undersell)', async () => {
    const saleId = await insertSale(db.pool, { stock: 5, sold: 4 });
    const big = order(saleId, { quantity: 2 });
    const small = order(saleId, { quantity: 1 });

    const results = await commitBatch(db.pool, [big, small]);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'confirmed']);
    expect(await soldOf(db.pool, saleId)).toBe(5);
  });

  it('isolates a message for an unknown sale as poison while the rest of the batch commits', async () => {
    const saleId = await insertSale(db.pool, { stock: 100 });
    const good1 = order(saleId);
    const unknown = order('no-such-sale-anywhere');
    const good2 = order(saleId, { quantity: 4 });

    const results = await commitBatch(db.pool, [good1, unknown, good2]);

    expect(results[0]).toMatchObject({ orderId: good1.orderId, status: 'confirmed', duplicate: false });
    expect(results[1]).toMatchObject({ orderId: unknown.orderId, status: 'poison' });
    // an unknown sale has no partition of orders (migration 0015): refused before the foreign key
    expect((results[1] as { reason: string }).reason).toMatch(/^23514: no partition of relation "orders"/);
    expect(results[2]).toMatchObject({ orderId: good2.orderId, status: 'confirmed', duplicate: false });
    expect(await soldOf(db.pool, saleId)).toBe(5);
    const { rows } = await db.pool.query('SELECT 1 FROM orders WHERE order_id = $1', [unknown.orderId]);
    expect(rows).toEqual([]);
  });

  it('throws (for a retry) when PostgreSQL cannot be reached, instead of calling anything poison', async () => {
    const pg = await import('pg');
    const unreachable = new pg.default.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
    try {
      await expect(commitBatch(unreachable, [order('any-sale')])).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await unreachable.end();
    }
  });
});
