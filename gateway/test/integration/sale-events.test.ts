/**
 * The worker's order events arrive on each sale's Redis events channel. Anything published
 * there is checked on arrival (contracts' parseSaleEvent), not cast: a message that is not an
 * order event is dropped and counted (valid ones reaching the buyer: e2e/realtime.test.ts).
 */
import { saleKeys } from '@velvet-rope/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, createSale, testRedis, until, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

async function malformedCount(): Promise<number> {
  const metric = await h.app().metrics.registry.getSingleMetric('vr_sale_events_malformed_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('order events from the worker are validated on arrival', () => {
  it('drops and counts messages that are not order events; the gateway keeps serving', async () => {
    const saleId = await createSale(h.app());
    const channel = saleKeys(saleId, h.prefix).events;
    const redis = await testRedis();
    try {
      const before = await malformedCount();
      const bad = [
        'not json',
        '{"type":"order:updates","saleId":"x"}',
        JSON.stringify({ type: 'order:updates', saleId, orders: [{ visitorId: 'v', orderId: 'o', status: 'shipped' }] }),
        JSON.stringify({ type: 'sale:update', saleId }),
        '[]',
      ];
      for (const message of bad) await redis.publish(channel, message);
      await until('every malformed message counted', async () => (await malformedCount()) >= before + bad.length);
      expect(await malformedCount()).toBe(before + bad.length);
      const health = await h.app().inject({ url: '/healthz' });
      expect(health.statusCode).toBe(200);
    } finally {
      redis.disconnect();
    }
  });
});
