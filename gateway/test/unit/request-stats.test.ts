import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { RedisClient } from '@velvet-rope/contracts';
import { KeySpace } from '../../src/redis/keyspace.js';
import { bucketOf } from '../../src/report/log-histogram.js';
import { RequestStats } from '../../src/report/request-stats.js';

// the counting is pure: the pool and Redis are only touched by flush(), not called here
const stats = () => new RequestStats({} as pg.Pool, {} as RedisClient, new KeySpace('t'), 'gw-1', {} as FastifyBaseLogger);

const req = (url: string | undefined, saleId: unknown, method = 'GET') =>
  ({ method, routeOptions: { url }, params: saleId === undefined ? {} : { saleId } }) as unknown as FastifyRequest;
const reply = (statusCode: number, elapsedTime: number) => ({ statusCode, elapsedTime }) as unknown as FastifyReply;

describe('per-second request figures', () => {
  it('counts answers per sale and route: requests, 4xx, 5xx and latency buckets', () => {
    const s = stats();
    s.observe(req('/api/sales/:saleId/queue', 'a', 'POST'), reply(201, 0.4));
    s.observe(req('/api/sales/:saleId/queue', 'a', 'POST'), reply(429, 2));
    s.observe(req('/api/sales/:saleId/queue/me', 'a'), reply(503, 12));
    s.observe(req('/api/sales/:saleId/queue/me', 'b'), reply(200, 1));
    const rows = s.takeRows(5_000);
    const byKey = Object.fromEntries(rows.map((r) => [`${r.saleId} ${r.route}`, r]));
    expect(byKey['a POST /api/sales/:saleId/queue']).toMatchObject({ requests: 2, errors4xx: 1, errors5xx: 0 });
    expect(byKey['a POST /api/sales/:saleId/queue']!.latency).toEqual({ [bucketOf(400)]: 1, [bucketOf(2000)]: 1 });
    expect(byKey['a GET /api/sales/:saleId/queue/me']).toMatchObject({ requests: 1, errors4xx: 0, errors5xx: 1 });
    expect(byKey['b GET /api/sales/:saleId/queue/me']).toMatchObject({ requests: 1 });
    // the next second starts empty
    expect(s.takeRows(6_000)).toEqual([]);
  });

  it('counts only the routes of a sale, with a valid sale id', () => {
    const s = stats();
    s.observe(req('/api/orders/:orderId', undefined), reply(200, 1));
    s.observe(req('/api/admin/sales/:saleId', 'a'), reply(200, 1));
    s.observe(req(undefined, 'a'), reply(404, 1));
    s.observe(req('/api/sales/:saleId', '{bad}'), reply(400, 1));
    expect(s.takeRows()).toEqual([]);
  });

  it('bounds the entries of a second, so made-up sale ids cannot grow memory', () => {
    const s = stats();
    for (let i = 0; i < 5_000; i++) s.observe(req('/api/sales/:saleId', `sale-${i}`), reply(404, 1));
    expect(s.takeRows()).toHaveLength(2_000);
  });

  it('gives every second its own key, even two flushes in one second', () => {
    const s = stats();
    s.observe(req('/api/sales/:saleId', 'a'), reply(200, 1));
    const [first] = s.takeRows(10_500);
    s.observe(req('/api/sales/:saleId', 'a'), reply(200, 1));
    const [second] = s.takeRows(10_700);
    expect(second!.second).toBeGreaterThan(first!.second);
  });
});
