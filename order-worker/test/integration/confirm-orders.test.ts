import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderUpdatesOf, saleKeys, type SaleEvent } from '@velvet-rope/contracts';
import { confirmOrders } from '../../src/redis/confirm-orders.js';
import { loadScripts } from '../../src/redis/script-loader.js';
import { uniqueId } from '../../../test-support/databases.js';
import { waitFor } from '../helpers.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('confirm-orders.lua', () => {
  const saleId = uniqueId('sale-');
  const keys = saleKeys(saleId);
  let redis: Redis;
  let subscriber: Redis;
  const events: SaleEvent[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    loadScripts(redis);
    subscriber = new Redis(REDIS_URL);
    subscriber.on('message', (_channel: string, message: string) => events.push(JSON.parse(message)));
    await subscriber.subscribe(keys.events);
  });

  afterAll(async () => {
    await redis.del(keys.pending, keys.pendingDue);
    subscriber.disconnect();
    await redis.quit();
  });

  it('retires the orders from the outbox, counts what it removed, and publishes every outcome in one event', async () => {
    const [a, b, gone] = [randomUUID(), randomUUID(), randomUUID()];
    const untouched = randomUUID();
    for (const id of [a, b, untouched]) {
      await redis.hset(keys.pending, id, '{}');
      await redis.zadd(keys.pendingDue, 1, id);
    }

    const removed = await confirmOrders(redis, saleId, [
      { orderId: a, visitorId: 'visitor-aaaaaaaaaaaa', status: 'confirmed' },
      { orderId: b, visitorId: 'visitor-bbbbbbbbbbbb', status: 'rejected' },
      // no outbox entry any more (Redis lost it): the shopper must still hear the outcome
      { orderId: gone, visitorId: 'visitor-cccccccccccc', status: 'rejected' },
    ]);

    expect(removed).toBe(2);
    expect(await redis.hkeys(keys.pending)).toEqual([untouched]);
    expect(await redis.zrange(keys.pendingDue, 0, '-1')).toEqual([untouched]);
    await waitFor('the event', async () => (events.length >= 1 ? true : undefined));
    expect(events).toEqual([
      {
        type: 'order:updates',
        saleId,
        orders: [
          { visitorId: 'visitor-aaaaaaaaaaaa', orderId: a, status: 'confirmed' },
          { visitorId: 'visitor-bbbbbbbbbbbb', orderId: b, status: 'rejected' },
          { visitorId: 'visitor-cccccccccccc', orderId: gone, status: 'rejected' },
        ],
      },
    ]);
    // what a gateway makes of it: one order:update per shopper
    expect(orderUpdatesOf(events[0]!)).toEqual([
      { type: 'order:update', saleId, visitorId: 'visitor-aaaaaaaaaaaa', orderId: a, status: 'confirmed' },
      { type: 'order:update', saleId, visitorId: 'visitor-bbbbbbbbbbbb', orderId: b, status: 'rejected' },
      { type: 'order:update', saleId, visitorId: 'visitor-cccccccccccc', orderId: gone, status: 'rejected' },
    ]);
  });

  it('refuses arguments that are not whole triples', async () => {
    await expect(redis.confirmOrders(keys.pending, keys.pendingDue, keys.events, saleId, 'only-an-id')).rejects.toThrow(
      /confirm-orders: ARGV must be/,
    );
  });
});
