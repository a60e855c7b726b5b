/**
 * Issue 12 item 4: two stock changes at once, through two gateways, left Redis and
 * PostgreSQL disagreeing (each computed its delta from a row read outside its transaction),
 * and purchases answered 202 were later rejected by the database's guard.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch } from '../../../../order-worker/src/batch-committer.js';
import { adminHeaders, admittedShoppers, buy, createHarness, createSale, drainOrders, join, type Harness } from '../../support/harness.js';

let h: Harness;
let gateways: FastifyInstance[];
beforeAll(async () => {
  h = await createHarness();
  gateways = [h.app(), await h.addGateway()];
});
afterAll(async () => {
  await h?.close();
});

const patchStock = (app: FastifyInstance, saleId: string, stock: number) =>
  app.inject({ method: 'PATCH', url: `/api/admin/sales/${saleId}`, headers: adminHeaders, payload: { stock } });

async function pgSale(saleId: string): Promise<{ stock: number; sold: number }> {
  const { rows } = await h.db.pool.query<{ stock: number; sold: number }>('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
  return rows[0]!;
}

describe('issue 12 item 4: concurrent stock changes left Redis and PostgreSQL disagreeing', () => {
  it('keeps Redis remaining equal to PostgreSQL stock - sold - in flight, and every 202 ends confirmed', async () => {
    const saleId = await createSale(h.app(), { stock: 2, ratePerMinute: 600_000, maxActive: 1_000 });
    const keys = h.app().keyspace.sale(saleId);
    const redis = h.app().redis;

    // many rounds of changes up and down, sent at once through both gateways
    let seed = 12_345;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const statuses: number[] = [];
    for (let round = 0; round < 25; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => patchStock(gateways[i % 2]!, saleId, 1 + random(8))));
      statuses.push(...answers.map((a) => a.statusCode));
      for (const a of answers) if (a.statusCode !== 200) expect(a.json().code, a.body).toBe('INVALID_SALE_CONFIG');
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);

    const settled = await pgSale(saleId);
    expect(settled.sold).toBe(0);
    expect(Number(await redis.get(keys.stock))).toBe(settled.stock);
    // the hot copy shows the configuration PostgreSQL committed last
    expect(Number(await redis.hget(keys.config, 'stock'))).toBe(settled.stock);
    const shown = await h.app().inject({ method: 'GET', url: `/api/admin/sales/${saleId}/stats`, headers: adminHeaders });
    expect(shown.json()).toMatchObject({ stock: settled.stock, remaining: settled.stock });

    // sell it out: every unit PostgreSQL has, and no more
    const shoppers = await admittedShoppers(h.app(), saleId, settled.stock);
    const answers = await Promise.all(shoppers.map((s, i) => buy(gateways[i % 2]!, saleId, s.token)));
    expect(answers.map((a) => a.statusCode)).toEqual(shoppers.map(() => 202));
    expect(Number(await redis.get(keys.stock))).toBe(0);
    const late = await join(h.app(), saleId);
    expect(late).toMatchObject({ statusCode: 409, code: 'SOLD_OUT' });

    // the worker's commit: every accepted order confirmed, none rejected, sold == stock
    const orders = await drainOrders(h.queue);
    const ids = new Set(answers.map((a) => a.body.orderId as string));
    const results = await commitBatch(
      h.db.pool,
      orders.filter((o) => ids.has(o.orderId)),
    );
    expect(new Set(results.map((r) => r.orderId))).toEqual(ids);
    expect(results.filter((r) => r.status !== 'confirmed')).toEqual([]);
    const final = await pgSale(saleId);
    expect(final.sold).toBe(final.stock);
    const { rows } = await h.db.pool.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY status',
      [saleId],
    );
    expect(rows).toEqual([{ status: 'confirmed', n: String(final.stock) }]);
  });

  it('lowers and raises stock under reservations without letting Redis offer more than PostgreSQL has', async () => {
    const saleId = await createSale(h.app(), { stock: 6, ratePerMinute: 600_000, maxActive: 1_000 });
    const keys = h.app().keyspace.sale(saleId);
    const [a, b] = await admittedShoppers(h.app(), saleId, 2);
    expect((await buy(h.app(), saleId, a!.token)).statusCode).toBe(202);
    expect((await buy(gateways[1]!, saleId, b!.token)).statusCode).toBe(202);
    // two orders in flight; changes race through both gateways
    for (let round = 0; round < 30; round++) {
      await Promise.all([patchStock(gateways[0]!, saleId, 2 + (round % 5)), patchStock(gateways[1]!, saleId, 3 + ((round * 3) % 5))]);
    }
    const { stock, sold } = await pgSale(saleId);
    const inFlight = await h.app().redis.hlen(keys.pending);
    expect(inFlight).toBe(2);
    expect(Number(await h.app().redis.get(keys.stock))).toBe(stock - sold - inFlight);
    // going below what is sold or reserved is refused, and changes nothing
    const refused = await patchStock(gateways[1]!, saleId, 1);
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe('INVALID_SALE_CONFIG');
    expect((await pgSale(saleId)).stock).toBe(stock);
    expect(Number(await h.app().redis.get(keys.stock))).toBe(stock - sold - inFlight);
  });

  it('gives a lowering back to Redis when PostgreSQL refuses its COMMIT, and never raises Redis before one', async () => {
    // a deferred check fails the COMMIT itself, after the UPDATE (and the Redis step) went through
    await h.db.pool.query(`
      CREATE FUNCTION refuse_stock_13() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.stock = 13 THEN RAISE EXCEPTION 'stock 13 refused at COMMIT'; END IF; RETURN NEW; END $$;
      CREATE CONSTRAINT TRIGGER refuse_stock_13 AFTER UPDATE ON sales DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_stock_13();`);
    for (const [stock, label] of [
      [20, 'lowering'],
      [10, 'raise'],
    ] as const) {
      const saleId = await createSale(h.app(), { stock });
      const keys = h.app().keyspace.sale(saleId);
      const res = await patchStock(gateways[1]!, saleId, 13);
      expect(res.statusCode, `${label}: ${res.body}`).toBeGreaterThanOrEqual(500);
      expect((await pgSale(saleId)).stock, label).toBe(stock);
      expect(Number(await h.app().redis.get(keys.stock)), label).toBe(stock);
      expect(Number(await h.app().redis.hget(keys.config, 'stock')), label).toBe(stock);
      // and the sale still changes normally afterwards
      expect((await patchStock(gateways[0]!, saleId, 12)).statusCode).toBe(200);
      expect(Number(await h.app().redis.get(keys.stock)), label).toBe(12);
    }
  });
});
