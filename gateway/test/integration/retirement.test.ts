/**
 * Issue 16 item 2: finished sales leave Redis. After a sale ends (or sells out for good) and
 * SALE_RETENTION, one gateway archives its audit and final figures in PostgreSQL and removes
 * every key of it from Redis, but only once its orders are committed and its report counters
 * flushed; from then on PostgreSQL answers for it, the audit byte for byte, and nothing puts
 * it back in Redis.
 */
import { parseOrderMessage } from '@velvet-rope/contracts';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch } from '../../../order-worker/src/batch-committer.js';
import { RedisCommands } from '../../src/redis/commands.js';
import { SaleRetirer } from '../../src/sales/retirement.js';
import {
  adminHeaders,
  admittedShoppers,
  buy,
  createHarness,
  createSale,
  drainOrders,
  join,
  me,
  until,
  type Harness,
} from '../support/harness.js';
// @ts-expect-error: a plain .mjs script without types, run as the docs say
import { verifySale } from '../../../scripts/verify-fairness.mjs';

const SHOP_KEY = 'test-shop-key-0123456789';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ SALE_RETENTION: '1s', SHOP_API_KEY: SHOP_KEY });
});
afterAll(async () => {
  await h?.close();
});

/** what the worker does: commit the sale's orders in the queue, then clear them from the outbox */
async function commitOutbox(saleId: string): Promise<number> {
  const app = h.app();
  const orders = (await drainOrders(h.queue)).filter((o) => o.saleId === saleId);
  await commitBatch(h.db.pool, orders);
  const k = app.keyspace.sale(saleId);
  for (const o of orders) {
    await app.redis.hdel(k.pending, o.orderId);
    await app.redis.zrem(k.pendingDue, o.orderId);
  }
  return orders.length;
}

/** every key under the sale's hash tag, on every master */
async function keysOf(saleId: string): Promise<string[]> {
  const redis = h.app().redis;
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${h.prefix}:{sale:${saleId}}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** fetch for the verifier, answered by the gateway in-process */
function injectFetch(url: string) {
  const u = new URL(url);
  return h
    .app()
    .inject({ url: u.pathname + u.search })
    .then((res) => ({ ok: res.statusCode < 300, status: res.statusCode, json: async () => res.json(), text: async () => res.body }));
}

async function retiredAt(saleId: string): Promise<Date | null> {
  const { rows } = await h.db.pool.query<{ retired_at: Date | null }>('SELECT retired_at FROM sales WHERE id = $1', [saleId]);
  return rows[0]!.retired_at;
}

/** a sold-out sale's retention (1 s) counts from its last order */
async function retentionPassed(saleId: string): Promise<void> {
  await until('the retention passed', async () => {
    const { rows } = await h.db.pool.query<{ due: boolean }>(
      "SELECT max(GREATEST(created_at, confirmed_at)) < now() - interval '1.2 seconds' AS due FROM orders WHERE sale_id = $1",
      [saleId],
    );
    return rows[0]!.due;
  });
}

/** the admission loop's lock on the sale, which admittedShoppers' ticks took, has lapsed */
async function leaderGone(saleId: string): Promise<void> {
  await until('the admission lock lapsed', async () => (await h.app().redis.exists(h.app().keyspace.sale(saleId).leader)) === 0);
}

const withoutClock = (body: Record<string, unknown>) => ({ ...body, serverTime: undefined });

describe('issue 16 item 2: a finished sale leaves Redis for PostgreSQL', () => {
  it('an ended sale waits for its orders, then is archived, its keys removed, and PostgreSQL answers for it', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 3, endsInMs: 2_500, checkoutSeconds: 1, ratePerMinute: 600_000 });
    const [buyer, lapser] = await admittedShoppers(app, sale, 2);
    const bought = await buy(app, sale, buyer!.token);
    expect(bought.statusCode).toBe(202);
    void lapser;
    const waiter = await join(app, sale);

    await until('the sale ended', async () => (await app.inject({ url: `/api/sales/${sale}` })).json().status === 'ended');
    const before = (await app.inject({ url: `/api/sales/${sale}` })).json();
    const auditBefore = await app.inject({ url: `/api/sales/${sale}/fairness/audit` });
    expect(auditBefore.statusCode).toBe(200);
    expect(auditBefore.body.split('\n').filter(Boolean)).toHaveLength(3);

    // the retention passes, but the order is still in the outbox: not retired
    await until('the retention passed', async () => Date.now() > Date.parse(before.endsAt) + 1_200);
    expect(await app.retirer.sweep()).toEqual([]);
    expect(await retiredAt(sale)).toBeNull();
    expect((await keysOf(sale)).length).toBeGreaterThan(0);

    // committed: now it goes, with the keys no script names (a spent proof-of-work nonce, as join.lua writes it)
    await app.redis.set(`${app.keyspace.sale(sale).config}:pow:spent-nonce`, '1', 'PX', 180_000);
    expect(await commitOutbox(sale)).toBe(1);
    expect(await app.retirer.sweep()).toEqual([sale]);
    expect(await retiredAt(sale)).not.toBeNull();
    expect(await keysOf(sale)).toEqual([]);
    expect(await app.redis.sismember(app.keyspace.activeSales, sale)).toBe(0);
    // a page opened and closed on the retired sale (a socket with an old ticket) brings no key back
    const commands = new RedisCommands(app.redis, app.keyspace);
    await commands.presence(sale, [
      { op: '+', visitorId: 'late-page' },
      { op: '-', visitorId: 'late-page' },
    ]);
    expect(await keysOf(sale)).toEqual([]);

    // its final status and figures, from PostgreSQL
    const after = await app.inject({ url: `/api/sales/${sale}` });
    expect(after.statusCode).toBe(200);
    expect(withoutClock(after.json())).toEqual(withoutClock(before));
    const stats = await app.inject({ url: `/api/admin/sales/${sale}/stats`, headers: adminHeaders });
    expect(stats.statusCode).toBe(200);
    expect(stats.json()).toMatchObject({ status: 'ended', sold: 1, confirmedOrders: 1, pending: 0 });
    const admin = await app.inject({ url: `/api/admin/sales/${sale}`, headers: adminHeaders });
    expect(admin.json().retiredAt).toEqual(expect.any(String));

    // the audit, byte for byte, and still verifiable
    const auditAfter = await app.inject({ url: `/api/sales/${sale}/fairness/audit` });
    expect(auditAfter.statusCode).toBe(200);
    expect(auditAfter.body).toBe(auditBefore.body);
    expect(auditAfter.headers.etag).toBe(auditBefore.headers.etag);
    const verified = await verifySale('http://gateway.test', sale, { fetch: injectFetch });
    expect(verified.errors).toEqual([]);
    expect(verified.ok).toBe(true);

    // refused as an ended sale; the order is still there for its owner
    const late = await app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, payload: {} });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('SALE_ENDED');
    const polled = await me(app, sale, waiter.ticket);
    expect(polled.statusCode).toBe(409);
    expect(polled.body.code).toBe('SALE_ENDED');
    const order = await app.inject({ url: `/api/orders/${bought.body.orderId}`, headers: { authorization: `Bearer ${buyer!.ticket}` } });
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({ orderId: bought.body.orderId, status: 'confirmed' });
    const patch = await app.inject({ method: 'PATCH', url: `/api/admin/sales/${sale}`, headers: adminHeaders, payload: { name: 'again' } });
    expect(patch.statusCode).toBe(409);
    expect(patch.json().code).toBe('SALE_ENDED');

    // Redis restarts empty: the recovery re-publishes running sales, never a retired one
    await app.redis.del(app.keyspace.generation);
    await app.republisher.publishAll('after-loss');
    await app.admissionLoop.tickAll();
    expect(await app.retirer.sweep()).toEqual([]);
    expect(await keysOf(sale)).toEqual([]);
  });

  it('a sale sold out for good retires without an end, and its seed is revealed then', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 2, checkoutSeconds: 1, ratePerMinute: 600_000 });
    const buyers = await admittedShoppers(app, sale, 2);
    for (const b of buyers) expect((await buy(app, sale, b.token)).statusCode).toBe(202);
    const late = await join(app, sale);
    expect(late.statusCode).toBe(409);
    expect(await commitOutbox(sale)).toBe(2);
    expect((await app.inject({ url: `/api/sales/${sale}/fairness` })).json().seed).toBeNull();

    await until('retired once the retention passed', async () => (await app.retirer.sweep()).includes(sale));
    expect(await keysOf(sale)).toEqual([]);
    const view = await app.inject({ url: `/api/sales/${sale}` });
    expect(view.json()).toMatchObject({ status: 'sold_out', remaining: 0, stock: 2 });
    // (each gateway keeps its /fairness answer a few seconds)
    await until('the seed is revealed', async () => (await app.inject({ url: `/api/sales/${sale}/fairness` })).json().seed !== null);
    const fairness = (await app.inject({ url: `/api/sales/${sale}/fairness` })).json();
    expect(fairness.seed).toMatch(/^[0-9a-f]{64}$/);
    const verified = await verifySale('http://gateway.test', sale, { fetch: injectFetch });
    expect(verified).toMatchObject({ ok: true, places: 2, admissions: 2 });
    const again = await app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, payload: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('SOLD_OUT');
  });

  it('keeps the keys while the report counters are not flushed, and removes them once they are (a crash after the archive alike)', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 1, checkoutSeconds: 1, ratePerMinute: 600_000 });
    const [b] = await admittedShoppers(app, sale, 1);
    expect((await buy(app, sale, b!.token)).statusCode).toBe(202);
    await commitOutbox(sale);
    const report = app.keyspace.sale(sale).report;

    // counters not flushed before the archive: nothing happens
    await app.redis.hincrby(report, 'joined', 1);
    const stubborn = new SaleRetirer({
      pool: h.db.pool,
      redis: app.redis,
      keyspace: app.keyspace,
      audit: app.audit,
      archive: app.sales.archive,
      logger: app.log,
      retentionMs: 1_000,
      ownerId: 'test-retirer',
    });
    await retentionPassed(sale);
    await leaderGone(sale);
    expect(await stubborn.retire(sale)).toBe('report-not-flushed');
    expect(await retiredAt(sale)).toBeNull();

    // flushed, but a counter arrives between the archive and the removal (as if the process
    // had died there): the sale is retired, its keys stay until the next pass flushes again
    let calls = 0;
    const racing = new SaleRetirer({
      pool: h.db.pool,
      redis: app.redis,
      keyspace: app.keyspace,
      audit: app.audit,
      archive: app.sales.archive,
      logger: app.log,
      retentionMs: 1_000,
      ownerId: 'test-retirer-2',
      flush: async (id) => {
        calls += 1;
        if (calls === 1) await app.redis.del(app.keyspace.sale(id).report);
        else if (calls === 2) await app.redis.hincrby(app.keyspace.sale(id).report, 'refused', 1);
        else await app.redis.del(app.keyspace.sale(id).report);
      },
    });
    expect(await racing.retire(sale)).toBe('retired');
    expect(await retiredAt(sale)).not.toBeNull();
    expect((await keysOf(sale)).length).toBeGreaterThan(0);
    const { rows } = await h.db.pool.query('SELECT keys_removed_at FROM retired_sales WHERE sale_id = $1', [sale]);
    expect(rows[0].keys_removed_at).toBeNull();
    // the sale answers from PostgreSQL meanwhile
    expect((await app.inject({ url: `/api/sales/${sale}` })).json().status).toBe('sold_out');

    expect(await racing.sweep()).toEqual([]);
    expect(await keysOf(sale)).toEqual([]);
    const marked = await h.db.pool.query('SELECT keys_removed_at FROM retired_sales WHERE sale_id = $1', [sale]);
    expect(marked.rows[0].keys_removed_at).not.toBeNull();
  });

  it('exactly one of two gateways retires a sale', async () => {
    const app = h.app();
    const other = await h.addGateway();
    const sale = await createSale(app, { stock: 1, checkoutSeconds: 1, ratePerMinute: 600_000 });
    const [b] = await admittedShoppers(app, sale, 1);
    expect((await buy(app, sale, b!.token)).statusCode).toBe(202);
    await commitOutbox(sale);
    await retentionPassed(sale);
    await leaderGone(sale);
    const before = app.retirer.retired + other.retirer.retired;
    const [a, c] = await Promise.all([app.retirer.retire(sale), other.retirer.retire(sale)]);
    expect([a, c].filter((x) => x === 'retired')).toHaveLength(1);
    expect(app.retirer.retired + other.retirer.retired).toBe(before + 1);
    const { rows } = await h.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM retired_sale_audit WHERE sale_id = $1', [sale]);
    expect(Number(rows[0]!.n)).toBe(1);
    expect(await keysOf(sale)).toEqual([]);
  });

  it('a sale handing orders to a shop stays while a unit waits for its payment, and retires once every unit is paid', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 1, checkoutSeconds: 1, ratePerMinute: 600_000 });
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${sale}`,
      headers: adminHeaders,
      payload: { checkoutUrl: 'https://shop.example/checkout', paymentSeconds: 300 },
    });
    expect(patched.statusCode).toBe(200);
    const [b] = await admittedShoppers(app, sale, 1);
    const bought = await buy(app, sale, b!.token);
    expect(bought.statusCode).toBe(202);
    // what the worker does for a sale that hands off: the order committed with its payment deadline
    const k = app.keyspace.sale(sale);
    const parsed = parseOrderMessage((await app.redis.hget(k.pending, bought.body.orderId))!);
    if (!parsed.ok) throw new Error('no order in the outbox');
    await h.db.pool.query(
      `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at)
       VALUES ($1, $2, $3, 1, 'confirmed', now(), now(), now() + interval '300 seconds')`,
      [bought.body.orderId, sale, parsed.value.visitorId],
    );
    await h.db.pool.query('UPDATE sales SET sold = sold + 1 WHERE id = $1', [sale]);
    await app.redis.hdel(k.pending, bought.body.orderId);
    await app.redis.zrem(k.pendingDue, bought.body.orderId);
    expect((await app.inject({ url: `/api/sales/${sale}` })).json().status).toBe('held');

    // held: the unit may come back if the shop cancels, so the sale stays, whatever the time
    await retentionPassed(sale);
    await leaderGone(sale);
    expect(await app.retirer.sweep()).not.toContain(sale);
    expect(await retiredAt(sale)).toBeNull();

    const paid = await app.inject({
      method: 'POST',
      url: `/api/shop/orders/${bought.body.orderId}/paid`,
      headers: { authorization: `Bearer ${SHOP_KEY}` },
    });
    expect(paid.statusCode).toBe(200);
    await until('retired once the retention after the payment passed', async () => (await app.retirer.sweep()).includes(sale));
    expect(await keysOf(sale)).toEqual([]);
    expect((await app.inject({ url: `/api/sales/${sale}` })).json().status).toBe('sold_out');
  });
});
