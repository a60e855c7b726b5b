/**
 * The sale report of a driven sale (built gateway and worker processes, 2,000 shoppers who
 * poll, buy, some walk away) matches what PostgreSQL holds and what the shoppers themselves
 * saw: the funnel exactly, time in queue within the histogram's precision of the exact waits
 * (from each visitor's arrival in Redis and admission in PostgreSQL). Then the gateway stops,
 * Redis restarts empty (a private instance), the gateway starts again: the report is the same.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saleKeys } from '@velvet-rope/contracts';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { cleanupPrivateServices, startPrivateRedis, type PrivateRedis } from '../../../test-support/private-services.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { Gateways, joinShoppers, journey, sleep, type Shopper } from '../../../test-support/shopper-journey.js';
import { decodeVisitorRecord } from '../../src/redis/visitor-record.js';
import { RELATIVE_PRECISION } from '../../src/report/report-model.js';
import { AMQP_URL, REDIS_CLUSTER_NODES, deleteQueues } from '../support/harness.js';

const SHOPPERS = 2_000;
const STOCK = 200;
const CHECKOUT_SECONDS = 2;
const ADMIN_KEY = 'e2e-admin-key-0123456789';
const abandons = (i: number) => i % 10 === 3;
const retries = (i: number) => i % 7 === 0;

let db: TestDatabase;
let redis: PrivateRedis;
let worker: Service;
let gateway: Service;
let gatewayEnv: Record<string, string>;
let base: string;
let gw: Gateways;
const prefix = uniqueId('vrr').toLowerCase();
const queue = uniqueId('vr-report-orders-');

async function startGateway(): Promise<void> {
  gateway = startService('gateway', 'gateway/dist/server.js', gatewayEnv);
  await waitForHttp(`${base}/readyz`, gateway, 60_000);
}

// the test brings its own Redis: under the cluster project it would be the same run again
describe.skipIf(REDIS_CLUSTER_NODES !== undefined)('the sale report of a driven sale (built processes, private Redis)', () => {
  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      AMQP_URL,
      ORDERS_QUEUE: queue,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    gatewayEnv = { ...env, PORT: String(port), ADMIN_API_KEY: ADMIN_KEY, TICK_MS: '100', RATE_LIMIT_PER_IP: '1000000' };
    worker = startService('order-worker', 'order-worker/dist/server.js', { ...env, LOG_LEVEL: 'info' });
    await startGateway();
    await waitForOutput(worker, 'order-worker ready');
    gw = new Gateways([base]);
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([gateway?.stop(), worker?.stop()]);
    await deleteQueues([queue, `${queue}.dead`]);
    await db?.drop();
    await cleanupPrivateServices();
  });

  const report = async (saleId: string) => {
    const r = await gw.call('GET', `/api/admin/sales/${saleId}/report`, ADMIN_KEY);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  it('matches PostgreSQL and the shoppers’ own counts, and survives a gateway and Redis restart', async () => {
    const saleId = uniqueId('report-');
    const created = await gw.call('POST', '/api/admin/sales', ADMIN_KEY, {
      id: saleId,
      name: 'Report sale',
      stock: STOCK,
      startsAt: new Date(Date.now() + 600_000).toISOString(),
      ratePerMinute: 6_000,
      checkoutSeconds: CHECKOUT_SECONDS,
      maxPerShopper: 1,
      queueMode: 'prequeue-random',
      windowSeconds: 10,
    });
    expect(created.status).toBe(201);
    const shoppers: Shopper[] = await joinShoppers(gw, saleId, SHOPPERS);
    const moved = await gw.call('PATCH', `/api/admin/sales/${saleId}`, ADMIN_KEY, { startsAt: new Date(Date.now() + 1_000).toISOString() });
    expect(moved.status).toBe(200);
    const deadline = Date.now() + 120_000;
    await Promise.all(shoppers.map((s) => journey(gw, saleId, s, deadline, { abandons, retries })));
    expect(shoppers.filter((s) => s.end === 'timed_out')).toEqual([]);

    // what the shoppers saw: admitted (or told their admission had lapsed), told sold out while waiting
    const accepted = shoppers.flatMap((s) => s.accepted);
    const admittedSeen = shoppers.filter((s) => s.admission !== undefined || s.end === 'expired').length;
    const toldWhileWaiting = shoppers.filter((s) => s.admission === undefined && s.end === 'sold_out').length;
    expect(accepted).toHaveLength(STOCK);

    // every order committed, every admission ended (bought or lapsed), and the leader moved it all
    let r: any;
    for (let i = 0; i < 300; i++) {
      r = await report(saleId);
      const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'", [
        saleId,
      ]);
      if (Number(rows[0]!.n) === STOCK && r.funnel.admitted === r.funnel.bought + r.funnel.lapsed && r.sellOut.soldOutAt) break;
      await sleep(200);
    }
    // the request figures of the last second are flushed
    await sleep(2_500);
    const before = await report(saleId);

    const { rows: orders } = await db.pool.query('SELECT visitor_id FROM orders WHERE sale_id = $1', [saleId]);
    const { rows: admissions } = await db.pool.query<{ visitor_id: string; expires_at: Date }>(
      'SELECT visitor_id, expires_at FROM admissions WHERE sale_id = $1',
      [saleId],
    );
    expect(before.funnel).toEqual({
      joined: SHOPPERS,
      admitted: admittedSeen,
      bought: STOCK,
      walkedAway: 0,
      lapsed: admittedSeen - STOCK,
      toldSoldOut: toldWhileWaiting,
      refused: 0,
    });
    expect(before.orders).toBe(orders.length);
    expect(before.funnel.bought).toBe(orders.length);
    expect(before.funnel.admitted).toBe(admissions.length);
    expect(before.funnel.joined).toBe(before.funnel.admitted + before.funnel.toldSoldOut);
    expect(before.conversion).toBeCloseTo(STOCK / admittedSeen, 9);
    expect(before.sellOut.seconds).toBeGreaterThan(0);
    // 200 units at 6,000 a minute
    expect(before.sellOut.rateAllowsSeconds).toBe(2);

    // time in queue: the exact waits, from each arrival (Redis) and admission (PostgreSQL)
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await client.connect();
    const records = await client.hgetall(saleKeys(saleId, prefix).visitors);
    client.disconnect();
    const waits = admissions
      .map((a) => a.expires_at.getTime() - CHECKOUT_SECONDS * 1000 - decodeVisitorRecord(records[a.visitor_id]!)!.joinedAt!)
      .sort((x, y) => x - y);
    const exact = (q: number) => waits[Math.ceil(q * waits.length) - 1]! / 1000;
    const overall = before.timeInQueue.overall;
    expect(overall.count).toBe(admissions.length);
    for (const [q, got] of [
      [0.5, overall.p50],
      [0.9, overall.p90],
      [0.99, overall.p99],
    ] as const) {
      // PostgreSQL keeps the admission time to the microsecond: a hair of slack beyond the buckets'
      expect(Math.abs(got - exact(q)) / exact(q)).toBeLessThanOrEqual(RELATIVE_PRECISION + 1e-6);
    }
    // everyone arrived in the pre-queue
    expect(before.timeInQueue.byWindow.map((w: { window: unknown }) => w.window)).toEqual(['prequeue']);

    // the series adds up to the funnel; the shopper routes were counted, without a 5xx
    const sum = (k: string) => before.series.reduce((n: number, p: Record<string, number>) => n + p[k]!, 0);
    expect(sum('arrivals')).toBe(SHOPPERS);
    expect(sum('admissions')).toBe(admittedSeen);
    expect(sum('bought')).toBe(STOCK);
    const routes = Object.fromEntries(before.endpoints.map((e: { route: string }) => [e.route, e]));
    expect(routes['POST /api/sales/:saleId/queue'].requests).toBe(SHOPPERS);
    expect(routes['POST /api/sales/:saleId/purchases'].requests).toBeGreaterThanOrEqual(STOCK);
    expect(before.endpoints.every((e: { errors5xx: number }) => e.errors5xx === 0)).toBe(true);
    expect(before.peakRequestsPerSecond.requests).toBeGreaterThan(0);

    // the gateway stops, Redis comes back empty, the gateway starts again
    expect(await gateway.stop()).toBe(0);
    await redis.restartEmpty();
    await startGateway();
    // the recovery re-publishes the sale; give its leader a few ticks
    await sleep(3_000);
    const after = await report(saleId);
    expect({ ...after, generatedAt: undefined }).toEqual({ ...before, generatedAt: undefined });

    process.stdout.write(
      `sale report: ${JSON.stringify(before.funnel)} conversion=${before.conversion.toFixed(3)} ` +
        `queue p50/p90/p99=${overall.p50.toFixed(2)}/${overall.p90.toFixed(2)}/${overall.p99.toFixed(2)} s ` +
        `(exact ${exact(0.5).toFixed(2)}/${exact(0.9).toFixed(2)}/${exact(0.99).toFixed(2)}) ` +
        `sold out in ${before.sellOut.seconds} s (rate allows ${before.sellOut.rateAllowsSeconds} s), peak ${before.peakRequestsPerSecond.requests} req/s\n`,
    );
  });
});
