/**
 * Redis restarted empty (here: every key of this test's prefix deleted, which is what a
 * restarted, empty Redis looks like to the gateway). PostgreSQL is the source of truth.
 */
import { connect as amqpConnect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, cleanupRedis, createHarness, createSale, join, me, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function purge(queue: string): Promise<void> {
  const conn = await amqpConnect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.purgeQueue(queue);
  await conn.close();
}

describe('after Redis lost its data', () => {
  it('re-publishes sales, keeps shoppers at their ticket scores, rebuilds stock from PostgreSQL, and never lets a buyer in twice', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 10, ratePerMinute: 0, queueMode: 'fifo' });
    const shoppers = [];
    for (let i = 0; i < 5; i++) shoppers.push(await join(app, sale));
    // shopper 0 bought before the loss: PostgreSQL holds the order and the sold unit
    const orderId = '0b5d6c2a-8f1e-4c3b-9a7d-2e4f6a8b0c1d';
    await h.db.pool.query(
      "INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at) VALUES ($1, $2, $3, 1, 'confirmed', now(), now())",
      [orderId, sale, shoppers[0]!.visitorId],
    );
    await h.db.pool.query('UPDATE sales SET sold = 1 WHERE id = $1', [sale]);

    await cleanupRedis(h.prefix); // the loss
    // the sale exists (PostgreSQL says so): until it is re-published, retry, not "no such sale"
    const during = await app.inject({ url: `/api/sales/${sale}` });
    expect(during.statusCode).toBe(503);
    expect(during.json().code).toBe('UNAVAILABLE');
    expect(during.headers['retry-after']).toBe('1');
    expect((await me(app, sale, shoppers[1]!.ticket)).statusCode).toBe(503);

    await app.admissionLoop.tickAll(); // finds the generation marker gone and re-publishes
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.status).toBe('paused');

    // shoppers come back with their tickets: same places, and the buyer is not queued again
    const buyer = await me(app, sale, shoppers[0]!.ticket);
    expect(buyer.body).toMatchObject({ status: 'ordered', orderId });
    const back = [];
    for (const s of shoppers.slice(1)) back.push(await me(app, sale, s.ticket));
    expect(back.map((b) => b.body.position)).toEqual([1, 2, 3, 4]);

    // orders in flight must be committed first: the test's queue holds none
    await purge(h.queue);
    const k = app.keyspace.sale(sale);
    await app.admissionLoop.tickSale(sale);
    expect(await app.redis.hget(k.config, 'recovering')).toBe('1');
    await sleep(2_100);
    await app.admissionLoop.tickSale(sale);
    expect(await app.redis.hget(k.config, 'recovering')).toBeNull();
    expect(Number(await app.redis.get(k.stock))).toBe(9);
    expect((await app.inject({ url: `/api/sales/${sale}` })).json().status).toBe('open');

    // a new shopper joins behind the restored ones
    const late = await join(app, sale);
    expect(late.position).toBe(5);
    expect((await me(app, sale, shoppers[0]!.ticket)).body.status).toBe('ordered');
  });
});
