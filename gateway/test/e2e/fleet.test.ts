/**
 * Velvet Rope as a fleet: three gateway processes and two workers sharing Redis, RabbitMQ
 * and PostgreSQL; shoppers spread over the gateways round robin. Mid-sale the gateway that
 * leads the admission loop is killed (SIGKILL): another takes over within a few ticks, the
 * shoppers it served carry on elsewhere with their tickets, and every promise holds.
 * The tick log (a Redis stream the admit script appends to, with the leader's fencing token)
 * proves there was exactly one leader at any time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { Gateways, joinShoppers, journey, sleep } from '../../../test-support/shopper-journey.js';
import type { RedisClient } from '@velvet-rope/contracts';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv, testRedis } from '../support/harness.js';

const countBy = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});
const SHOPPERS = 3_000;
const STOCK = 300;
const ADMIN_KEY = 'fleet-admin-key-0123456789';

let db: TestDatabase;
const gateways: Service[] = [];
const workers: Service[] = [];
const bases: string[] = [];
let gw: Gateways;
const prefix = uniqueId('vrf').toLowerCase();
const queue = uniqueId('vr-fleet-orders-');
let redis: RedisClient;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await testRedis();
  const env = { DATABASE_URL: db.url, ...redisEnv(), AMQP_URL, ORDERS_QUEUE: queue, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  for (let i = 0; i < 2; i++) workers.push(startService(`worker-${i}`, 'order-worker/dist/server.js', { ...env, LOG_LEVEL: 'info' }));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    bases.push(`http://127.0.0.1:${port}`);
    gateways.push(
      startService(`gateway-${i}`, 'gateway/dist/server.js', {
        ...env,
        PORT: String(port),
        ADMIN_API_KEY: ADMIN_KEY,
        TICK_MS: '100',
        // many joins from 127.0.0.1: the per-address new-place limit (default 300 a minute) set out of the way
        RATE_LIMIT_PER_IP: '1000000',
        REPUBLISH_AFTER_MS: '2000',
      }),
    );
  }
  await Promise.all(gateways.map((g, i) => waitForHttp(`${bases[i]}/readyz`, g)));
  await Promise.all(workers.map((w) => waitForOutput(w, 'order-worker ready')));
  gw = new Gateways(bases);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([...gateways, ...workers].map((s) => s.stop()));
  redis?.disconnect();
  await cleanupRedis(prefix);
  await deleteQueues([queue, `${queue}.dead`]);
  await db?.drop();
});

describe('a fleet of three gateways and two workers', () => {
  it('keeps every promise when the leading gateway is killed mid-sale, with one leader at any time', async () => {
    const saleId = uniqueId('fleet-');
    const created = await gw.call('POST', '/api/admin/sales', ADMIN_KEY, {
      id: saleId,
      name: 'Fleet',
      stock: STOCK,
      startsAt: new Date(Date.now() + 600_000).toISOString(),
      ratePerMinute: 3_000,
      checkoutSeconds: 3,
      queueMode: 'prequeue-random',
    });
    expect(created.status).toBe(201);
    const shoppers = await joinShoppers(gw, saleId, SHOPPERS);
    expect(
      (await gw.call('PATCH', `/api/admin/sales/${saleId}`, ADMIN_KEY, { startsAt: new Date(Date.now() + 1_000).toISOString() })).status,
    ).toBe(200);

    const deadline = Date.now() + 120_000;
    const journeys = Promise.all(
      shoppers.map((s) => journey(gw, saleId, s, deadline, { abandons: (i) => i % 10 === 3, retries: (i) => i % 5 === 0 })),
    );

    // once about a third is sold, kill whichever gateway leads the sale
    const leaderKey = `${prefix}:{sale:${saleId}}:leader`;
    let killed: number | undefined;
    while (killed === undefined && Date.now() < deadline) {
      const { rows } = await db.pool.query<{ sold: number }>('SELECT sold FROM sales WHERE id = $1', [saleId]);
      if (rows[0]!.sold >= STOCK / 3) {
        const owner = await redis.get(leaderKey);
        const pid = Number(owner?.split(':')[1]);
        killed = gateways.findIndex((g) => g.child.pid === pid);
        expect(killed).toBeGreaterThanOrEqual(0);
        gateways[killed]!.child.kill('SIGKILL');
      } else {
        await sleep(100);
      }
    }
    await journeys;

    // the workers commit what was accepted (the outbox re-publishes what the dead one held)
    const accepted = shoppers.flatMap((s) => s.accepted);
    let confirmed: { order_id: string; visitor_id: string; quantity: number; status: string }[] = [];
    for (let i = 0; i < 300; i++) {
      ({ rows: confirmed } = await db.pool.query('SELECT order_id, visitor_id, quantity, status FROM orders WHERE sale_id = $1', [saleId]));
      if (confirmed.length >= accepted.length) break;
      await sleep(100);
    }
    const { rows: sale } = await db.pool.query<{ stock: number; sold: number }>('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
    expect(sale[0]).toEqual({ stock: STOCK, sold: STOCK });
    expect(confirmed.filter((o) => o.status === 'confirmed').reduce((n, o) => n + o.quantity, 0)).toBe(STOCK);
    expect(new Set(confirmed.map((o) => o.visitor_id)).size).toBe(confirmed.length);
    const ids = new Set(confirmed.map((o) => o.order_id));
    expect(accepted.filter((id) => !ids.has(id))).toEqual([]);
    expect(shoppers.filter((s) => s.end === 'timed_out')).toEqual([]);
    const unhandled = gateways.flatMap((g) =>
      g
        .output()
        .split('\n')
        .filter((l) => l.includes('unhandled error')),
    );
    expect(unhandled.slice(0, 3)).toEqual([]);

    // one leader at any time: in the tick log's order, the fencing token never goes back, and
    // each token belongs to one gateway only
    const log = await redis.xrange(`${prefix}:{sale:${saleId}}:ticks`, '-', '+');
    const ticks = log.map(([, fields]) => {
      const f = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
      return { epoch: Number(f.epoch), owner: String(f.owner) };
    });
    const owners = new Map<number, Set<string>>();
    let overlaps = 0;
    for (let i = 0; i < ticks.length; i++) {
      if (i > 0 && ticks[i]!.epoch < ticks[i - 1]!.epoch) overlaps++;
      owners.set(ticks[i]!.epoch, (owners.get(ticks[i]!.epoch) ?? new Set()).add(ticks[i]!.owner));
    }
    expect(overlaps).toBe(0);
    expect([...owners.values()].every((o) => o.size === 1)).toBe(true);
    expect(owners.size).toBeGreaterThanOrEqual(2); // the lead moved when its holder died

    // every surviving gateway tells the same figures
    const views = await Promise.all(
      bases
        .filter((_, i) => i !== killed)
        .map(
          async (b) =>
            (await (await fetch(`${b}/api/sales/${saleId}`)).json()) as { admittedTotal: number; remaining: number; waiting: number },
        ),
    );
    expect(new Set(views.map((v) => JSON.stringify([v.admittedTotal, v.remaining, v.waiting]))).size).toBe(1);
    process.stdout.write(
      `fleet: 3 gateways (gateway-${killed} killed mid-sale) + 2 workers: shoppers=${SHOPPERS} stock=${STOCK} accepted=${accepted.length} ` +
        `confirmed=${confirmed.length} ticks=${ticks.length} leaders=${owners.size} overlapping ticks=${overlaps} failovers=${gw.failovers} ` +
        `5xx=${shoppers.reduce((n, s) => n + s.answers5xx, 0)} ${JSON.stringify(countBy(shoppers.flatMap((s) => s.codes5xx ?? [])))}\n`,
    );
  });
});
