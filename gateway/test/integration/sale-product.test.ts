/**
 * What a sale sells (issue 15 item 5) through the API: a product given at create is in
 * PostgreSQL, in the Redis hot copy and in the shopper's answer; PATCH changes it live and
 * null removes it; bad products are refused 422 INVALID_SALE_CONFIG and change nothing.
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

async function stored(saleId: string) {
  const app = h.app();
  const [row, hot, admin, shopper] = await Promise.all([
    h.db.pool.query('SELECT product FROM sales WHERE id = $1', [saleId]),
    app.redis.hget(app.keyspace.sale(saleId).config, 'product').then((v) => (v ? (JSON.parse(v) as unknown) : v)),
    app.inject({ url: `/api/admin/sales/${saleId}`, headers: adminHeaders }),
    app.inject({ url: `/api/sales/${saleId}` }),
  ]);
  return { row: row.rows[0]?.product ?? null, hot, admin: admin.json().product, shopper: shopper.json().product };
}

const patch = (saleId: string, payload: object) =>
  h.app().inject({ method: 'PATCH', url: `/api/admin/sales/${saleId}`, headers: adminHeaders, payload });

describe('a sale product', () => {
  it('is stored at create, shown to shoppers, changed and removed live with PATCH', async () => {
    const app = h.app();
    const saleId = `product-${Date.now().toString(36)}`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/admin/sales',
      headers: adminHeaders,
      payload: {
        id: saleId,
        name: 'Sneaker drop',
        stock: 5,
        startsAt: new Date(Date.now() - 1_000).toISOString(),
        ratePerMinute: 60,
        product: { description: 'Limited <b>run</b>\nof 5 pairs', imageUrl: 'https://cdn.example/s.png', price: 129.5, currency: 'EUR' },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const first = { description: 'Limited <b>run</b>\nof 5 pairs', imageUrl: 'https://cdn.example/s.png', price: '129.5', currency: 'EUR' };
    expect(res.json().product).toEqual(first);
    expect(await stored(saleId)).toEqual({ row: first, hot: first, admin: first, shopper: first });

    const changed = await patch(saleId, {
      product: { description: 'Now with laces', imageUrl: '/assets/shoe.png', price: '99.00', currency: 'USD' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const second = { description: 'Now with laces', imageUrl: '/assets/shoe.png', price: '99.00', currency: 'USD' };
    expect(await stored(saleId)).toEqual({ row: second, hot: second, admin: second, shopper: second });

    // a change to another field keeps the product
    expect((await patch(saleId, { ratePerMinute: 30 })).statusCode).toBe(200);
    expect((await stored(saleId)).shopper).toEqual(second);

    expect((await patch(saleId, { product: null })).statusCode).toBe(200);
    expect(await stored(saleId)).toEqual({ row: null, hot: '', admin: null, shopper: null });
  });

  it('refuses a bad product with 422 INVALID_SALE_CONFIG and changes nothing', async () => {
    const saleId = await createSale(h.app());
    const good = { description: 'Kept', price: '10', currency: 'GBP' };
    expect((await patch(saleId, { product: good })).statusCode).toBe(200);
    const before = await stored(saleId);
    const bad: object[] = [
      { description: 'x'.repeat(1001) },
      { description: 'bell\u0007' },
      { imageUrl: 'http://cdn.example/a.png' },
      { imageUrl: 'javascript:alert(1)' },
      { imageUrl: '//evil.example/a.png' },
      { imageUrl: `https://cdn.example/${'a'.repeat(2048)}` },
      { imageUrl: 'https://user:pw@cdn.example/a.png' },
      { price: '-1', currency: 'EUR' },
      { price: -1, currency: 'EUR' },
      { price: '1e3', currency: 'EUR' },
      { price: '12.5' },
      { price: '12.5', currency: 'eur' },
      { price: '12.5', currency: 'EURO' },
      { currency: 'EUR' },
    ];
    for (const product of bad) {
      const res = await patch(saleId, { product });
      expect(res.statusCode, JSON.stringify(product)).toBe(422);
      expect(res.json(), JSON.stringify(product)).toMatchObject({ statusCode: 422, code: 'INVALID_SALE_CONFIG' });
    }
    // the shape itself (an unknown key, a wrong type) is the schema's refusal
    for (const product of [{ html: '<b>' }, { price: true, currency: 'EUR' }]) {
      const res = await patch(saleId, { product });
      expect(res.statusCode, JSON.stringify(product)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    // exactly 1000 characters is allowed
    expect((await patch(saleId, { product: { description: 'é'.repeat(1000) } })).statusCode).toBe(200);
    await patch(saleId, { product: good });
    expect(await stored(saleId)).toEqual(before);
  });
});
