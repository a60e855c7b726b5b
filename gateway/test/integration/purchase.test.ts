import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admittedShoppers, buy, createHarness, createSale, drainOrders, join, me, queueDepth, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  // ten admitted shoppers per unit, so that the oversell race has 1,000 buyers for 100 units
  h = await createHarness({ OVERSUBSCRIPTION: '10' });
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function remaining(saleId: string): Promise<number> {
  return Number(await h.app().redis.get(h.app().keyspace.sale(saleId).stock));
}

describe('purchase', () => {
  it('answers 202 pending once the broker confirmed, and the same order for the same token', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    const depthBefore = await queueDepth(h.queue);
    const first = await buy(app, sale, s!.token);
    expect(first.statusCode).toBe(202);
    expect(first.body).toMatchObject({ status: 'pending' });
    expect(first.body.orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await queueDepth(h.queue)).toBe(depthBefore + 1);

    const again = await buy(app, sale, s!.token);
    expect(again.statusCode).toBe(200);
    expect(again.body.orderId).toBe(first.body.orderId);
    expect(await remaining(sale)).toBe(4);

    const status = await me(app, sale, s!.ticket);
    expect(status.body).toMatchObject({ status: 'ordered', orderId: first.body.orderId });

    const order = await app.inject({ url: `/api/orders/${first.body.orderId}`, headers: { authorization: `Bearer ${s!.ticket}` } });
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({ orderId: first.body.orderId, saleId: sale, quantity: 1, status: 'pending' });
    const byToken = await app.inject({ url: `/api/orders/${first.body.orderId}`, headers: { authorization: `Bearer ${s!.token}` } });
    expect(byToken.statusCode).toBe(200);

    const stranger = await join(app, sale);
    const hidden = await app.inject({ url: `/api/orders/${first.body.orderId}`, headers: { authorization: `Bearer ${stranger.ticket}` } });
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().code).toBe('ORDER_NOT_FOUND');
  });

  it('answers one order to a double click: the same token twice in one batch of the reserve script', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    const [a, b] = await Promise.all([buy(app, sale, s!.token), buy(app, sale, s!.token)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 202]);
    expect(a.body.orderId).toBe(b.body.orderId);
    expect(await remaining(sale)).toBe(4);
  });

  it('refuses bad quantities with 422 or 400 and changes nothing', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000, maxPerShopper: 2 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    for (const q of [0, -1, 1.5, 3, 1e9]) {
      const r = await buy(app, sale, s!.token, q);
      expect(r.statusCode, `quantity ${q}`).toBe(422);
      expect(r.body.code).toBe('QUANTITY_OUT_OF_RANGE');
    }
    for (const q of ['1', null, [1], { n: 1 }, true]) {
      const r = await buy(app, sale, s!.token, q);
      expect(r.statusCode, `quantity ${JSON.stringify(q)}`).toBe(400);
      expect(r.body.code).toBe('VALIDATION_FAILED');
    }
    const malformed = await app.inject({
      method: 'POST',
      url: `/api/sales/${sale}/purchases`,
      headers: { authorization: `Bearer ${s!.token}`, 'content-type': 'application/json' },
      payload: '{"quantity": 1',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('INVALID_JSON');
    expect(await remaining(sale)).toBe(5);
    // the admission is intact: a good request still buys
    const ok = await buy(app, sale, s!.token, 2);
    expect(ok.statusCode).toBe(202);
    expect(await remaining(sale)).toBe(3);
  });

  it('refuses missing, forged, tampered, other-sale and expired tokens with their own codes', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000, checkoutSeconds: 1 });
    const other = await createSale(app, { stock: 5, ratePerMinute: 600_000 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    const [o] = await admittedShoppers(h.app(), other, 1);

    const missing = await app.inject({ method: 'POST', url: `/api/sales/${sale}/purchases`, payload: { quantity: 1 } });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().code).toBe('INVALID_TOKEN');

    const [hd, pl, sig] = s!.token.split('.');
    const payload = JSON.parse(Buffer.from(pl!, 'base64url').toString());
    const tampered = `${hd}.${Buffer.from(JSON.stringify({ ...payload, max_qty: 50 })).toString('base64url')}.${sig}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${pl}.`;
    for (const [name, token] of [
      ['garbage', 'not-a-token'],
      ['tampered', tampered],
      ['alg none', none],
      ['a queue ticket', s!.ticket],
    ] as const) {
      const r = await buy(app, sale, token);
      expect(r.statusCode, name).toBe(401);
      expect(r.body.code, name).toBe('INVALID_TOKEN');
    }
    const wrong = await buy(app, sale, o!.token);
    expect(wrong.statusCode).toBe(403);
    expect(wrong.body.code).toBe('WRONG_SALE');

    await sleep(1_100);
    const expired = await buy(app, sale, s!.token);
    expect(expired.statusCode).toBe(401);
    expect(expired.body.code).toBe('TOKEN_EXPIRED');
    expect(await remaining(sale)).toBe(5);
    expect(await remaining(other)).toBe(5);
  });

  it('buys without verifying the signature only with the genuine jti and claims; a forged token gets the codes it always got', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000, maxPerShopper: 2 });
    const [s, t] = await admittedShoppers(h.app(), sale, 2);
    const depthBefore = await queueDepth(h.queue);
    const forge = (token: string, change: Record<string, unknown>) => {
      const [hd, pl, sig] = token.split('.');
      const payload = JSON.parse(Buffer.from(pl!, 'base64url').toString());
      return `${hd}.${Buffer.from(JSON.stringify({ ...payload, ...change })).toString('base64url')}.${sig}`;
    };
    const refusals = [
      ['a guessed jti', forge(s!.token, { jti: '1.0123456789abcdef01234567' })],
      ["another shopper's jti", forge(s!.token, { jti: JSON.parse(Buffer.from(t!.token.split('.')[1]!, 'base64url').toString()).jti })],
      ['a later exp', forge(s!.token, { exp: Math.floor(Date.now() / 1000) + 86_400 })],
      ['a larger max_qty', forge(s!.token, { max_qty: 2_000 })],
      ['another admission sequence', forge(s!.token, { adm: 999 })],
    ] as const;
    for (const [name, token] of refusals) {
      const r = await buy(app, sale, token);
      expect(r.statusCode, name).toBe(401);
      expect(r.body.code, name).toBe('INVALID_TOKEN');
    }
    // a damaged signature over the genuine claims: anything but a reservation is verified
    // first, so asking for more than the limit is refused as an invalid token
    const damage = (token: string) => {
      const [hd, pl, sig] = token.split('.');
      return `${hd}.${pl}.${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`;
    };
    const damaged = damage(s!.token);
    const more = await buy(app, sale, damaged, 3);
    expect(more.statusCode).toBe(401);
    expect(more.body.code).toBe('INVALID_TOKEN');
    expect(await remaining(sale)).toBe(5);
    expect(await queueDepth(h.queue)).toBe(depthBefore);

    const bought = await buy(app, sale, s!.token);
    expect(bought.statusCode).toBe(202);
    // a forged token of a shopper who bought learns nothing: not the order id, not that there is one
    for (const [name, token] of [...refusals, ['the damaged signature', damaged]] as const) {
      const r = await buy(app, sale, token);
      expect(r.statusCode, name).toBe(401);
      expect(r.body.code, name).toBe('INVALID_TOKEN');
      expect(JSON.stringify(r.body), name).not.toContain(bought.body.orderId);
    }
    const again = await buy(app, sale, s!.token);
    expect(again.statusCode).toBe(200);
    expect(again.body.orderId).toBe(bought.body.orderId);
    expect(await remaining(sale)).toBe(4);

    // Deliberate: a damaged signature over exactly the genuine claims does reserve. Whoever
    // holds those bytes holds the jti, which is the proof; the token can do nothing the
    // genuine one could not (quantity limit and expiry come from Redis).
    const byDamaged = await buy(app, sale, damage(t!.token), 2);
    expect(byDamaged.statusCode).toBe(202);
    expect(await remaining(sale)).toBe(2);
    expect((await buy(app, sale, t!.token)).body.orderId).toBe(byDamaged.body.orderId);
  });

  it('answers the same order to a retry that arrives after the checkout window closed', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000, checkoutSeconds: 1 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    const first = await buy(app, sale, s!.token);
    expect(first.statusCode).toBe(202);
    await sleep(1_100); // the answer was lost; the retry comes after the window
    const retry = await buy(app, sale, s!.token);
    expect(retry.statusCode).toBe(200);
    expect(retry.body.orderId).toBe(first.body.orderId);
    expect(await remaining(sale)).toBe(4);
  });

  it('reserves exactly the stock when 1,000 admitted shoppers buy 100 units at once', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 100, ratePerMinute: 6_000_000, maxActive: 1000 });
    const shoppers = await admittedShoppers(h.app(), sale, 1000);
    await drainOrders(h.queue);
    const answers = await Promise.all(shoppers.map((s) => buy(app, sale, s.token)));
    const accepted = answers.filter((a) => a.statusCode === 202);
    const soldOut = answers.filter((a) => a.statusCode === 409 && a.body.code === 'SOLD_OUT');
    expect(accepted.length).toBe(100);
    expect(soldOut.length).toBe(900);
    expect(new Set(accepted.map((a) => a.body.orderId)).size).toBe(100);
    expect(await remaining(sale)).toBe(0);
    // every accepted order published exactly once, in fewer messages than orders: purchases
    // that arrive together share one batch message and one broker confirm
    const messages = await queueDepth(h.queue);
    const published = await drainOrders(h.queue);
    expect(published.map((o) => o.orderId).sort()).toEqual(accepted.map((a) => a.body.orderId).sort());
    expect(messages).toBeLessThan(100);
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.status).toBe('sold_out');
    const late = await app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, payload: {} });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('SOLD_OUT');
  });

  it('re-publishes an order whose publish never happened (the outbox reconciler)', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 600_000 });
    const [s] = await admittedShoppers(h.app(), sale, 1);
    const r = await buy(app, sale, s!.token);
    expect(r.statusCode).toBe(202);
    const k = app.keyspace.sale(sale);
    // as if the gateway had died between reserve and publish: due now, never published
    await app.redis.zadd(k.pendingDue, 0, r.body.orderId);
    const depthBefore = await queueDepth(h.queue);
    await sleep(1_100); // the leader reconciles a sale's outbox once a second
    await app.admissionLoop.tickSale(sale);
    expect(await queueDepth(h.queue)).toBe(depthBefore + 1);
    // and pushed its next attempt into the future, so it is not re-sent every tick
    expect(Number(await app.redis.zscore(k.pendingDue, r.body.orderId))).toBeGreaterThan(Date.now());
  });

  it('re-publishes many due orders as one batch message, each of them once', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 20, ratePerMinute: 600_000 });
    const shoppers = await admittedShoppers(h.app(), sale, 12);
    const answers = await Promise.all(shoppers.map((s) => buy(app, sale, s.token)));
    expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 202));
    const orderIds = answers.map((a) => a.body.orderId as string);
    const k = app.keyspace.sale(sale);
    // as after a broker outage: every order of the sale is due again at once
    for (const id of orderIds) await app.redis.zadd(k.pendingDue, 0, id);
    const depthBefore = await queueDepth(h.queue);
    await sleep(1_100);
    await app.admissionLoop.tickSale(sale);
    expect(await queueDepth(h.queue)).toBe(depthBefore + 1);
    // the worker's view: each order twice in the queue, once from its purchase and once in
    // the one new message
    const inQueue = (await drainOrders(h.queue)).filter((o) => o.saleId === sale).map((o) => o.orderId);
    expect(orderIds.map((id) => inQueue.filter((x) => x === id).length)).toEqual(orderIds.map(() => 2));
    expect(new Set(inQueue.slice(-12))).toEqual(new Set(orderIds));
  });
});
