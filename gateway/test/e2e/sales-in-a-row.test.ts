/**
 * Issue 16 item 2, "30 sales in a row": finished sales leave Redis. Thirty small sales run one
 * after another through the built gateway and order worker, on a Redis of the test's own (the
 * shared one's memory moves with everyone else's tests), with SALE_RETENTION two seconds: half
 * sell out (no end set), half end at their end time. Once every one is retired, none of their
 * keys is left, Redis's `used_memory` is back within 5 % of what it was before the first sale,
 * and every sale's fairness audit, now served from PostgreSQL, still passes the outside
 * verifier (scripts/verify-fairness.mjs) against the revealed seed.
 *
 * The baseline is taken after one warm-up sale that was itself retired: the first sale makes
 * Redis load the Lua scripts (EVALSHA, then EVAL on NOSCRIPT), which stay cached for good and
 * are not a sale's memory. Both the cold and the warm baseline are printed.
 */
import { createRedisClient, type RedisClient } from '@velvet-rope/contracts';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { chaosRunEnv, cleanupPrivateServices, startPrivateRedis, type PrivateRedis } from '../../../test-support/private-services.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { Gateways, joinShoppers, journey, sleep } from '../../../test-support/shopper-journey.js';
import { AMQP_URL, REDIS_CLUSTER_NODES, deleteQueues } from '../support/harness.js';
// @ts-expect-error: a plain .mjs script without types, run as the docs say
import { verifySale } from '../../../scripts/verify-fairness.mjs';

const SALES = 30;
const SHOPPERS = 10;
const ADMIN_KEY = 'e2e-admin-key-0123456789';

let redis: PrivateRedis;
let client: RedisClient;
let db: TestDatabase;
let gateway: Service;
let worker: Service;
let base: string;
let gw: Gateways;
const prefix = uniqueId('vrr').toLowerCase();
const queue = uniqueId('vr-e2e-retention-');

async function usedMemory(): Promise<number> {
  const info = await client.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error(`no used_memory in INFO memory:\n${info}`);
  return Number(m[1]);
}

/** where the bytes are: the dataset, the clients' buffers, the scripts' cache */
async function breakdown(): Promise<string> {
  const info = await client.info('memory');
  const field = (name: string) => new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? '?';
  return ['used_memory_dataset', 'used_memory_overhead', 'mem_clients_normal', 'used_memory_scripts', 'used_memory_vm_eval']
    .map((f) => `${f} ${field(f)}`)
    .join(', ');
}

/** MEMORY STATS' numeric fields (nested ones flattened with a dot) */
async function memoryStats(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = (flat: unknown[], at: string) => {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = `${at}${String(flat[i])}`;
      const v = flat[i + 1];
      if (Array.isArray(v)) walk(v, `${name}.`);
      else if (typeof v === 'number') out.set(name, v);
    }
  };
  walk((await client.call('MEMORY', 'STATS')) as unknown[], '');
  return out;
}

/** the MEMORY STATS fields that moved by more than 10 KB from `a` to `b` */
function moved(a: Map<string, number>, b: Map<string, number>): string {
  const parts: string[] = [];
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (Math.abs(d) > 10_000 && !k.startsWith('peak') && !k.includes('allocator') && !k.includes('rss'))
      parts.push(`${k} ${d > 0 ? '+' : ''}${d}`);
  }
  return parts.join(', ') || 'none';
}

/** every key of the test's prefix (the private Redis holds nothing else) */
async function keys(pattern = `${prefix}:*`): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await (client as Redis).scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found.sort();
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}\n${gateway.output().slice(-4000)}`);
    await sleep(200);
  }
}

async function keysRemoved(saleIds: readonly string[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM retired_sales WHERE keys_removed_at IS NOT NULL AND sale_id = ANY($1)',
    [saleIds],
  );
  return Number(rows[0]!.n);
}

type Kind = 'sold-out' | 'ended';

/** One small sale, start to finish: a pre-queue of SHOPPERS, each buying once admitted (one in five walks away). */
async function runSale(i: number, kind: Kind): Promise<string> {
  const saleId = uniqueId(`row-${i}-`);
  const startsAt = Date.now() + 400;
  const created = await gw.call('POST', '/api/admin/sales', ADMIN_KEY, {
    id: saleId,
    name: `Sale ${i} of a row`,
    // sold out: fewer units than buyers; ended: more units than shoppers, the end closes it
    stock: kind === 'sold-out' ? 4 : SHOPPERS * 2,
    startsAt: new Date(startsAt).toISOString(),
    ...(kind === 'ended' ? { endsAt: new Date(startsAt + 2_000).toISOString() } : {}),
    ratePerMinute: 6_000,
    checkoutSeconds: 2,
    maxPerShopper: 1,
    queueMode: 'prequeue-random',
    windowSeconds: 1,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const shoppers = await joinShoppers(gw, saleId, SHOPPERS, 10);
  const deadline = Date.now() + 60_000;
  await Promise.all(
    shoppers.map((s) => journey(gw, saleId, s, deadline, { abandons: (n) => n % 5 === 3, retries: () => false, maxPollMs: 200 })),
  );
  expect(shoppers.filter((s) => s.end === 'timed_out')).toEqual([]);
  return saleId;
}

describe.skipIf(REDIS_CLUSTER_NODES !== undefined)('issue 16 item 2: 30 sales in a row leave Redis as they found it', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = createRedisClient({ url: redis.url }, { enableOfflineQueue: true });
    await client.connect();
    db = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      ...chaosRunEnv(),
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
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
      SALE_RETENTION: '2s',
      RATE_LIMIT_PER_IP: '1000000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    await waitForHttp(`${base}/readyz`, gateway);
    await waitForOutput(worker, 'order-worker ready');
    gw = new Gateways([base], 16);
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([gateway?.stop(), worker?.stop()]);
    client?.disconnect();
    await deleteQueues([queue, `${queue}.dead`]).catch(() => undefined);
    await db?.drop();
    await cleanupPrivateServices();
  });

  it('retires every sale: no key left, used_memory back within 5 % of its baseline, every audit verifiable from PostgreSQL', async () => {
    const began = Date.now();
    const cold = await usedMemory();
    const coldBreakdown = await breakdown();
    const coldStats = await memoryStats();
    // the warm-up: the scripts get loaded; the sale itself leaves like any other
    const warmUp = await runSale(0, 'sold-out');
    await waitFor('the warm-up sale retired', async () => (await keysRemoved([warmUp])) === 1, 60_000);
    await waitFor('the warm-up sale keys gone', async () => (await keys(`${prefix}:{sale:*`)).length === 0, 30_000);
    const baseline = await usedMemory();
    const baselineBreakdown = await breakdown();
    const baselineStats = await memoryStats();

    let peak = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await usedMemory());
        await sleep(100);
      }
    })();
    const sales: { id: string; kind: Kind }[] = [];
    try {
      for (let i = 1; i <= SALES; i++) {
        const kind: Kind = i % 2 === 0 ? 'sold-out' : 'ended';
        sales.push({ id: await runSale(i, kind), kind });
      }
      const ids = sales.map((s) => s.id);
      await waitFor('every sale retired and its keys removed', async () => (await keysRemoved(ids)) === SALES, 90_000);
    } finally {
      sampling = false;
      await sampler;
    }

    // no key of any sale is left: everything under the prefix is the deployment's own
    const saleKeysLeft = await keys(`${prefix}:{sale:*`);
    expect(saleKeysLeft).toEqual([]);
    const left = await keys();
    for (const k of left) expect(k, 'only deployment-wide keys remain').not.toMatch(/\{sale:/);
    const after = await usedMemory();
    const afterBreakdown = await breakdown();
    const afterStats = await memoryStats();

    const pct = (n: number) => `${(((n - baseline) / baseline) * 100).toFixed(1)} %`;
    process.stdout.write(
      [
        `30 sales in a row (SALE_RETENTION 2s, ${SHOPPERS} shoppers each, private Redis ${redis.url}):`,
        `  used_memory cold (before any sale):          ${cold} B`,
        `  used_memory baseline (after the warm-up):    ${baseline} B`,
        `  used_memory peak (sampled every 100 ms):     ${peak} B (${pct(peak)})`,
        `  used_memory after (every sale retired):      ${after} B (${pct(after)})`,
        `  cold:     ${coldBreakdown}`,
        `  baseline: ${baselineBreakdown}`,
        `  after:    ${afterBreakdown}`,
        `  MEMORY STATS moved by the warm-up (cold -> baseline): ${moved(coldStats, baselineStats)}`,
        `  MEMORY STATS moved by the 30 sales (baseline -> after): ${moved(baselineStats, afterStats)}`,
        `  keys left under the prefix: ${left.length} (${left.join(', ')})`,
        `  run took ${Math.round((Date.now() - began) / 1000)} s`,
        '',
      ].join('\n'),
    );
    expect(Math.abs(after - baseline) / baseline).toBeLessThanOrEqual(0.05);

    // every sale: its final status from PostgreSQL, and its audit verifiable from the outside
    for (const { id, kind } of sales) {
      const view = await gw.call('GET', `/api/sales/${id}`);
      expect(view.status).toBe(200);
      expect(view.body.status).toBe(kind === 'sold-out' ? 'sold_out' : 'ended');
      const result = await verifySale(base, id);
      expect(result.errors, id).toEqual([]);
      expect(result).toMatchObject({ ok: true, places: SHOPPERS });
    }
    const { rows } = await db.pool.query<{ id: string; stock: number; sold: number }>(
      'SELECT id, stock, sold FROM sales WHERE id = ANY($1) AND stock = 4',
      [sales.filter((s) => s.kind === 'sold-out').map((s) => s.id)],
    );
    expect(rows).toHaveLength(SALES / 2);
    for (const r of rows) expect(r.sold, r.id).toBe(r.stock);
  });
});
