/**
 * End to end: the built gateway and order worker as real processes, against the real Redis,
 * RabbitMQ and PostgreSQL. A sale of 200 units; 2,000 shoppers join in the pre-queue, then
 * each polls as the server advises and buys one unit as soon as admitted, some abandoning.
 * Afterwards PostgreSQL must show exactly the stock sold, once per shopper, every 202
 * confirmed, and the queue order must be as fair as the sale's mode promises.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { Gateways, joinShoppers, journey, sleep, type Shopper } from '../../../test-support/shopper-journey.js';
import { spearman } from '../../../test-support/statistics.js';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv } from '../support/harness.js';

const SHOPPERS = 2_000;
const STOCK = 200;
const ADMIN_KEY = 'e2e-admin-key-0123456789';
/** one shopper in ten walks away once admitted: their share must come back */
const abandons = (i: number) => i % 10 === 3;
/** one buyer in five sends the purchase twice: the second must answer the same order */
const retries = (i: number) => i % 5 === 0;

let db: TestDatabase;
let gateway: Service;
let worker: Service;
let base: string;
let gw: Gateways;
const prefix = uniqueId('vre').toLowerCase();
const queue = uniqueId('vr-e2e-orders-');

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: db.url,
    ...redisEnv(),
    AMQP_URL,
    ORDERS_QUEUE: queue,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  };
  worker = startService('order-worker', 'order-worker/dist/server.js', { ...env, LOG_LEVEL: 'info' });
  gateway = startService('gateway', 'gateway/dist/server.js', {
    ...env,
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
    TICK_MS: '100',
    // many joins from 127.0.0.1: the per-address new-place limit (default 300 a minute) set out of the way
    RATE_LIMIT_PER_IP: '1000000',
  });
  await waitForHttp(`${base}/readyz`, gateway);
  await waitForOutput(worker, 'order-worker ready');
  gw = new Gateways([base]);
});

afterAll(async () => {
  await gw?.close();
  const codes = await Promise.all([gateway?.stop(), worker?.stop()]);
  // both drain and exit cleanly on SIGTERM
  expect(codes).toEqual([0, 0]);
  await cleanupRedis(prefix);
  await deleteQueues([queue, `${queue}.dead`]);
  await db?.drop();
});

async function runSale(queueMode: 'prequeue-random' | 'fifo') {
  const saleId = uniqueId(`e2e-${queueMode === 'fifo' ? 'fifo' : 'rand'}-`);
  const call = gw.call.bind(gw);
  const created = await call('POST', '/api/admin/sales', ADMIN_KEY, {
    id: saleId,
    name: `E2E ${queueMode}`,
    stock: STOCK,
    startsAt: new Date(Date.now() + 600_000).toISOString(),
    ratePerMinute: 6_000,
    checkoutSeconds: 2,
    maxPerShopper: 1,
    queueMode,
    windowSeconds: 10,
  });
  expect(created.status).toBe(201);

  // the pre-queue: everyone arrives before the start, in a known order
  const shoppers = await joinShoppers(gw, saleId, SHOPPERS);
  expect(new Set(shoppers.map((s) => s.visitorId)).size).toBe(SHOPPERS);

  // the marketer brings the start forward: the sale opens in a second
  const moved = await call('PATCH', `/api/admin/sales/${saleId}`, ADMIN_KEY, {
    startsAt: new Date(Date.now() + 1_000).toISOString(),
  });
  expect(moved.status).toBe(200);

  const deadline = Date.now() + 90_000;
  await Promise.all(shoppers.map((s) => journey(gw, saleId, s, deadline, { abandons, retries })));

  // the worker commits what was accepted
  const accepted = shoppers.flatMap((s) => s.accepted);
  let confirmed = 0;
  for (let i = 0; i < 300 && confirmed < accepted.length; i++) {
    const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'", [
      saleId,
    ]);
    confirmed = Number(rows[0]!.n);
    if (confirmed < accepted.length) await sleep(100);
  }
  return { saleId, shoppers, accepted };
}

function fairnessFigures(shoppers: Shopper[]) {
  // the queue's order: admission takes the lowest score first (checked below on real admissions)
  const rhoAll = spearman(
    shoppers.map((s) => s.arrival),
    shoppers.map((s) => s.score),
  );
  const admitted = shoppers.filter((s) => s.admission !== undefined);
  const byAdmission = [...admitted].sort((a, b) => a.admission! - b.admission!);
  const rhoAdmitted = spearman(
    admitted.map((s) => s.arrival),
    admitted.map((s) => s.admission!),
  );
  return { rhoAll, rhoAdmitted, admitted: admitted.length, byAdmission };
}

async function checkPromises(run: Awaited<ReturnType<typeof runSale>>) {
  const { saleId, shoppers, accepted } = run;
  const { rows: sale } = await db.pool.query<{ stock: number; sold: number }>('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
  const { rows: orders } = await db.pool.query<{ order_id: string; visitor_id: string; quantity: number; status: string }>(
    'SELECT order_id, visitor_id, quantity, status FROM orders WHERE sale_id = $1',
    [saleId],
  );
  const confirmed = orders.filter((o) => o.status === 'confirmed');
  const confirmedQty = confirmed.reduce((n, o) => n + o.quantity, 0);

  // I1 and I4: exactly the stock, never more
  expect(sale[0]).toEqual({ stock: STOCK, sold: STOCK });
  expect(confirmedQty).toBe(STOCK);
  // I3: one order per shopper, none doubled; a repeated purchase answered the same order
  expect(new Set(confirmed.map((o) => o.visitor_id)).size).toBe(STOCK);
  expect(new Set(orders.map((o) => o.order_id)).size).toBe(orders.length);
  expect(orders.filter((o) => o.status === 'rejected')).toEqual([]);
  // I2: every 202 ended confirmed
  expect(accepted.length).toBe(STOCK);
  const confirmedIds = new Set(confirmed.map((o) => o.order_id));
  expect(accepted.filter((id) => !confirmedIds.has(id))).toEqual([]);
  // nobody left hanging: every journey ended, and no 5xx came back
  expect(shoppers.filter((s) => s.end === 'timed_out').length).toBe(0);
  expect(shoppers.reduce((n, s) => n + s.answers5xx, 0)).toBe(0);
  expect(
    gateway
      .output()
      .split('\n')
      .filter((l) => l.includes('unhandled error')),
  ).toEqual([]);
  // abandoned admissions gave their share back: more admitted than sold
  const abandoned = shoppers.filter((s) => s.abandoned).length;
  expect(abandoned).toBeGreaterThan(0);

  const f = fairnessFigures(shoppers);
  // every admission ended one way: bought, walked away, lapsed (too slow on a loaded machine),
  // or found the last unit gone; and exactly the stock's worth bought
  const admittedShoppers = shoppers.filter((s) => s.admission !== undefined);
  expect(admittedShoppers.length).toBe(f.admitted);
  expect(admittedShoppers.filter((s) => !['ordered', 'abandoned', 'expired', 'sold_out'].includes(s.end ?? ''))).toEqual([]);
  expect(admittedShoppers.filter((s) => s.end === 'ordered').length).toBe(STOCK);
  // admission really followed the queue's order: scores rise with the admission sequence
  for (let i = 1; i < f.byAdmission.length; i++) {
    expect(f.byAdmission[i]!.score).toBeGreaterThan(f.byAdmission[i - 1]!.score);
  }
  return { ...f, abandoned, orders: orders.length, soldOutTold: shoppers.filter((s) => s.end === 'sold_out').length };
}

describe('a flash sale end to end (built gateway and worker processes)', () => {
  it('prequeue-random: sells exactly the stock, once per shopper, in a uniformly random order', async () => {
    const run = await runSale('prequeue-random');
    const f = await checkPromises(run);
    // |rho| < 0.1 over all 2,000: the standard error of rho is 1/sqrt(1999) = 0.022
    expect(Math.abs(f.rhoAll)).toBeLessThan(0.1);
    process.stdout.write(
      `e2e prequeue-random: shoppers=${SHOPPERS} stock=${STOCK} admitted=${f.admitted} abandoned=${f.abandoned} ` +
        `orders=${f.orders} toldSoldOut=${f.soldOutTold} rho(arrival, queue order)=${f.rhoAll.toFixed(4)} ` +
        `rho(arrival, admission) over admitted=${f.rhoAdmitted.toFixed(4)}\n`,
    );
  });

  it('fifo: sells exactly the stock, once per shopper, in arrival order', async () => {
    const run = await runSale('fifo');
    const f = await checkPromises(run);
    expect(f.rhoAll).toBeGreaterThan(0.99);
    expect(f.rhoAdmitted).toBeGreaterThan(0.99);
    process.stdout.write(
      `e2e fifo: shoppers=${SHOPPERS} stock=${STOCK} admitted=${f.admitted} abandoned=${f.abandoned} ` +
        `orders=${f.orders} toldSoldOut=${f.soldOutTold} rho(arrival, queue order)=${f.rhoAll.toFixed(4)} ` +
        `rho(arrival, admission) over admitted=${f.rhoAdmitted.toFixed(4)}\n`,
    );
  });
});
