import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admittedShoppers, buy, createHarness, createSale, me, queueDepth, type Harness } from '../support/harness.js';

/**
 * The purchase rate limit: counted inside the reserve script when the limits live in Redis (one
 * round trip), by the rate-limit plugin in front of the route when they live in memory.
 */
for (const store of ['redis', 'memory'] as const) {
  describe(`purchase rate limit (${store} store)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness({ RATE_LIMIT_PURCHASE_PER_VISITOR: '3', RATE_LIMIT_STORE: store });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('answers 429 RATE_LIMITED with Retry-After past the limit, for that visitor only, and a limited purchase changes nothing', async () => {
      const app = h.app();
      const sale = await createSale(app, { stock: 10, ratePerMinute: 600_000, maxPerShopper: 2 });
      const [a, b] = await admittedShoppers(h.app(), sale, 2);
      const k = app.keyspace.sale(sale);
      // three refused attempts (over the per-shopper limit) use up the visitor's minute
      for (let i = 0; i < 3; i++) expect((await buy(app, sale, a!.token, 5)).body.code).toBe('QUANTITY_OUT_OF_RANGE');
      const depthBefore = await queueDepth(h.queue);
      const limited = await buy(app, sale, a!.token, 1);
      expect(limited.statusCode).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      // nothing reserved, no order, the admission intact
      expect(Number(await app.redis.get(k.stock))).toBe(10);
      expect(await app.redis.hlen(k.pending)).toBe(0);
      expect(await app.redis.zscore(k.admitted, a!.visitorId)).not.toBeNull();
      expect((await me(app, sale, a!.ticket)).body.status).toBe('admitted');
      expect(await queueDepth(h.queue)).toBe(depthBefore);
      // another visitor is not limited
      const other = await buy(app, sale, b!.token, 1);
      expect(other.statusCode).toBe(202);
      expect(Number(await app.redis.get(k.stock))).toBe(9);
    });
  });
}
