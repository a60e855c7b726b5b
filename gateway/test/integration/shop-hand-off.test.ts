/**
 * A sale that hands its orders to the shop (issue 14): the sale's checkout fields, `held`
 * while every unit is in someone's checkout, the order as its owner reads it (state, deadline,
 * the checkout link and an order token the shop verifies with the JWKS), the shop's API with
 * each of its refusals, and a cancelled order's unit going back to the next shopper in line.
 *
 * The order worker is not running here: a commit is what the worker writes (the order row with
 * its payment deadline, `sold`, the outbox entry cleared), done by `commit` below.
 */
import { randomUUID } from 'node:crypto';
import { saleKeys, parseOrderMessage } from '@velvet-rope/contracts';
import { createLocalJWKSet, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, buy, createHarness, createSale, join, me, testRedis, until, type Harness } from '../support/harness.js';

const SHOP_KEY = 'test-shop-key-0123456789';
const shopHeaders = { authorization: `Bearer ${SHOP_KEY}` };
const CHECKOUT = 'https://shop.example/checkout?lang=en';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ SHOP_API_KEY: SHOP_KEY });
});
afterAll(async () => {
  await h?.close();
});

/** what the worker does for a sale that hands off: commits the outbox's orders, each with its payment deadline (the sale's paymentSeconds) */
async function commit(saleId: string, orderIds: readonly string[]): Promise<void> {
  const app = h.app();
  const k = app.keyspace.sale(saleId);
  for (const orderId of orderIds) {
    const raw = await app.redis.hget(k.pending, orderId);
    const parsed = raw ? parseOrderMessage(raw) : undefined;
    if (!parsed?.ok) throw new Error(`order ${orderId} is not in the outbox`);
    const o = parsed.value;
    await h.db.pool.query(
      `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at)
       SELECT $1, $2, $3, $4, 'confirmed', to_timestamp($5 / 1000.0), now(), now() + payment_seconds * interval '1 second'
         FROM sales WHERE id = $2`,
      [orderId, saleId, o.visitorId, o.quantity, o.createdAt],
    );
    await h.db.pool.query('UPDATE sales SET sold = sold + $2 WHERE id = $1', [saleId, o.quantity]);
    await app.redis.hdel(k.pending, orderId);
    await app.redis.zrem(k.pendingDue, orderId);
  }
}

/** a sale that hands off: created, then given its checkout fields live (PATCH) */
async function checkoutSale(stock: number): Promise<string> {
  const app = h.app();
  const saleId = await createSale(app, { stock, ratePerMinute: 60_000, queueMode: 'fifo', maxActive: 100 });
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/admin/sales/${saleId}`,
    headers: adminHeaders,
    payload: { checkoutUrl: CHECKOUT, paymentSeconds: 300 },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ checkoutUrl: CHECKOUT, paymentSeconds: 300 });
  return saleId;
}

/** ticks the sale's admission loop until each of these shoppers is admitted */
/** `vr_shop_settlements_total` as "<action> <outcome>" → count */
async function settlements(app: ReturnType<typeof h.app>): Promise<Map<string, number>> {
  const { values } = await app.metrics.shopSettlements.get();
  return new Map(values.map((v) => [`${String(v.labels.action)} ${String(v.labels.outcome)}`, v.value]));
}

async function admit(saleId: string, tickets: readonly string[]): Promise<void> {
  await until(
    'shoppers admitted',
    async () => {
      await h.app().admissionLoop.tickSale(saleId);
      const states = await Promise.all(tickets.map(async (t) => (await me(h.app(), saleId, t)).body.status as string));
      return states.every((s) => s === 'admitted');
    },
    50,
    30,
  );
}

const saleInfo = async (saleId: string) => (await h.app().inject({ url: `/api/sales/${saleId}` })).json();
const shop = (method: 'GET' | 'POST', path: string, headers: Record<string, string> = shopHeaders) =>
  h.app().inject({ method, url: `/api/shop/orders/${path}`, headers });
const order = async (orderId: string, ticket: string) =>
  (await h.app().inject({ url: `/api/orders/${orderId}`, headers: { authorization: `Bearer ${ticket}` } })).json();

/** a confirmed order put straight in PostgreSQL (another sale's figures stay apart) */
async function storedOrder(saleId: string, dueInSeconds: number | null): Promise<string> {
  const orderId = randomUUID();
  await h.db.pool.query(
    `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at)
     VALUES ($1, $2, 'visitor-aaaaaaaaaaaaaaaa', 1, 'confirmed', now(), now(),
             CASE WHEN $3::int IS NULL THEN NULL ELSE now() + $3::int * interval '1 second' END)`,
    [orderId, saleId, dueInSeconds],
  );
  await h.db.pool.query('UPDATE sales SET sold = sold + 1 WHERE id = $1', [saleId]);
  return orderId;
}

describe('sale fields', () => {
  it('are optional: a sale without them hands nothing off and has a 600 s payment window by default', async () => {
    const saleId = await createSale(h.app());
    const admin = (await h.app().inject({ url: `/api/admin/sales/${saleId}`, headers: adminHeaders })).json();
    expect(admin).toMatchObject({ checkoutUrl: null, paymentSeconds: 600 });
    expect(await saleInfo(saleId)).toMatchObject({ handsOff: false });
  });

  it('refuses a checkout URL that is not absolute http(s) or carries credentials, and a payment window out of range', async () => {
    const saleId = await createSale(h.app());
    for (const checkoutUrl of ['/checkout', 'ftp://shop.example/', 'https://user:pw@shop.example/checkout']) {
      const res = await h
        .app()
        .inject({ method: 'PATCH', url: `/api/admin/sales/${saleId}`, headers: adminHeaders, payload: { checkoutUrl } });
      expect(res.statusCode, checkoutUrl).toBe(422);
      expect(res.json().code).toBe('INVALID_SALE_CONFIG');
    }
    for (const paymentSeconds of [0, 86_401, 1.5]) {
      const res = await h
        .app()
        .inject({ method: 'PATCH', url: `/api/admin/sales/${saleId}`, headers: adminHeaders, payload: { paymentSeconds } });
      expect(res.statusCode, String(paymentSeconds)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    expect(await saleInfo(saleId)).toMatchObject({ handsOff: false });
  });
});

describe('a sale that hands its orders to the shop', () => {
  it('is held while every unit is in a checkout, takes joins, and admits again when a cancel returns a unit', async () => {
    const app = h.app();
    const settledBefore = await settlements(app);
    const saleId = await checkoutSale(2);
    expect(await saleInfo(saleId)).toMatchObject({ handsOff: true, paymentSeconds: 300, status: 'open' });
    const [a, b, c] = [await join(app, saleId), await join(app, saleId), await join(app, saleId)];
    await admit(saleId, [a!.ticket, b!.ticket]);
    const tokenOf = async (ticket: string) => (await me(app, saleId, ticket)).body.admission?.token as string | undefined;
    const [tokenA, tokenB] = [await tokenOf(a!.ticket), await tokenOf(b!.ticket)];
    expect(tokenA && tokenB).toBeTruthy();
    expect((await me(app, saleId, c!.ticket)).body.status).toBe('queued');
    const orderA = (await buy(app, saleId, tokenA!)).body.orderId as string;
    const orderB = (await buy(app, saleId, tokenB!)).body.orderId as string;

    // every unit reserved, none paid: held, not sold out; the last in line keeps their place and a newcomer may join
    expect(await saleInfo(saleId)).toMatchObject({ status: 'held', remaining: 0 });
    expect((await me(app, saleId, c!.ticket)).body).toMatchObject({ status: 'queued', position: 1 });
    const late = await join(app, saleId);
    expect(late.statusCode).toBe(201);
    expect(late.status).toBe('queued');
    // while units are held, the line does wait for them
    const whileHeld = (await app.inject({ url: `/api/admin/sales/${saleId}/stats`, headers: adminHeaders })).json();
    expect(whileHeld).toMatchObject({ status: 'held', waiting: 2, toldSoldOut: 0 });

    // the shop cannot settle an order the worker has not committed yet: retry
    const pending = await shop('POST', `${orderA}/paid`);
    expect(pending.statusCode).toBe(409);
    expect(pending.json().code).toBe('ORDER_PENDING');
    expect(pending.headers['retry-after']).toBe('1');
    expect((await order(orderA, a!.ticket)).status).toBe('pending');

    await commit(saleId, [orderA, orderB]);
    const confirmed = await order(orderA, a!.ticket);
    expect(confirmed).toMatchObject({ orderId: orderA, status: 'confirmed', paidAt: null, cancelledAt: null, cancelReason: null });
    expect(Date.parse(confirmed.paymentDueAt) - Date.parse(confirmed.confirmedAt)).toBe(300_000);
    const link = new URL(confirmed.checkout.url);
    expect(`${link.origin}${link.pathname}`).toBe('https://shop.example/checkout');
    expect([...link.searchParams]).toEqual([
      ['lang', 'en'],
      ['order', orderA],
      ['token', confirmed.checkout.token],
    ]);

    // the shop's view names the shopper
    const seen = await shop('GET', orderA);
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toMatchObject({ orderId: orderA, saleId, status: 'confirmed', shopperId: a!.visitorId });

    // paid: once, and the same answer again
    const paid = await shop('POST', `${orderA}/paid`);
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'paid', shopperId: a!.visitorId });
    const paidAgain = await shop('POST', `${orderA}/paid`);
    expect(paidAgain.statusCode).toBe(200);
    expect(paidAgain.json()).toEqual(paid.json());
    const afterPaid = await order(orderA, a!.ticket);
    expect(afterPaid).toMatchObject({ status: 'paid', paidAt: paid.json().paidAt });
    expect(afterPaid.checkout).toBeUndefined();
    expect((await shop('POST', `${orderA}/cancel`)).json().code).toBe('ORDER_FINAL');
    // one unit paid of two, the other still in a checkout
    expect(await saleInfo(saleId)).toMatchObject({ status: 'held' });

    // the buyer's pages hear of the cancel (through the sale's events channel)
    const sub = await testRedis();
    const heard = new Promise<string>((resolve) => sub.on('message', (_channel: string, message: string) => resolve(message)));
    await sub.subscribe(saleKeys(saleId, h.prefix).events);
    try {
      const cancelled = await shop('POST', `${orderB}/cancel`);
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({ status: 'cancelled', cancelReason: 'shop', shopperId: b!.visitorId });
      expect(JSON.parse(await heard)).toEqual({
        type: 'order:updates',
        saleId,
        orders: [{ visitorId: b!.visitorId, orderId: orderB, status: 'cancelled' }],
      });
    } finally {
      sub.disconnect();
    }
    const cancelledAgain = await shop('POST', `${orderB}/cancel`);
    expect(cancelledAgain.statusCode).toBe(200);
    expect(cancelledAgain.json().status).toBe('cancelled');
    expect((await shop('POST', `${orderB}/paid`)).json().code).toBe('ORDER_FINAL');
    expect((await order(orderB, b!.ticket)).status).toBe('cancelled');
    // the shop's calls, counted for the operator: each change once, each repeat and refusal by name
    const settled = await settlements(app);
    const delta = (key: string) => (settled.get(key) ?? 0) - (settledBefore.get(key) ?? 0);
    expect(
      ['paid changed', 'paid repeated', 'paid ORDER_FINAL', 'cancel changed', 'cancel repeated', 'cancel ORDER_FINAL'].map(delta),
    ).toEqual([1, 1, 1, 1, 1, 1]);

    // the unit is back on sale: open again, and the next in line is admitted and buys it
    expect(await saleInfo(saleId)).toMatchObject({ status: 'open', remaining: 1 });
    await admit(saleId, [c!.ticket]);
    const tokenC = await tokenOf(c!.ticket);
    expect(tokenC).toBeTruthy();
    const bought = await buy(app, saleId, tokenC!);
    expect(bought.statusCode).toBe(202);
    await commit(saleId, [bought.body.orderId as string]);
    expect(await saleInfo(saleId)).toMatchObject({ status: 'held', remaining: 0 });
    expect((await shop('POST', `${bought.body.orderId as string}/paid`)).statusCode).toBe(200);

    // every unit paid: sold out, and the console's figures say so
    expect(await saleInfo(saleId)).toMatchObject({ status: 'sold_out' });
    const stats = (await app.inject({ url: `/api/admin/sales/${saleId}/stats`, headers: adminHeaders })).json();
    expect(stats).toMatchObject({ status: 'sold_out', sold: 2, paid: 2, held: 0, returned: 1 });
    // the one still in line was told it sold out: not counted as waiting, anywhere (issue 16)
    expect(stats).toMatchObject({ waiting: 0, toldSoldOut: 1 });
    expect((await app.inject({ url: `/api/sales/${saleId}` })).json()).toMatchObject({ status: 'sold_out', waiting: 0 });
    expect((await me(app, saleId, late.ticket)).body).toMatchObject({ status: 'sold_out', waiting: 0 });
  });

  it('gives an order token the shop verifies with the JWKS, and jose refuses a forged or expired one', async () => {
    const app = h.app();
    const saleId = await checkoutSale(1);
    const shopper = await join(app, saleId);
    await admit(saleId, [shopper.ticket]);
    const token = (await me(app, saleId, shopper.ticket)).body.admission.token as string;
    const orderId = (await buy(app, saleId, token)).body.orderId as string;
    await commit(saleId, [orderId]);
    const { checkout, paymentDueAt, confirmedAt } = await order(orderId, shopper.ticket);

    const jwks = createLocalJWKSet((await app.inject({ url: '/.well-known/jwks.json' })).json() as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(checkout.token, jwks, {
      issuer: 'velvet-rope',
      audience: saleId,
      algorithms: ['EdDSA'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: app.keys.active.kid });
    expect(payload).toEqual({
      iss: 'velvet-rope',
      aud: saleId,
      sub: shopper.visitorId,
      order_id: orderId,
      qty: 1,
      iat: Math.floor(Date.parse(confirmedAt) / 1000),
      exp: Math.ceil(Date.parse(paymentDueAt) / 1000),
    });
    // the same order, the same token
    expect((await order(orderId, shopper.ticket)).checkout.token).toBe(checkout.token);

    const afterDeadline = new Date(Date.parse(paymentDueAt) + 1_000);
    await expect(jwtVerify(checkout.token, jwks, { audience: saleId, currentDate: afterDeadline })).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
    await expect(jwtVerify(checkout.token, jwks, { audience: 'another-sale' })).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
    // the same claims signed by a key that is not the ring's, under the ring's kid
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: app.keys.active.kid, typ: 'JWT' }).sign(privateKey);
    await expect(jwtVerify(forged, jwks, { audience: saleId })).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});

describe('the shop API refuses', () => {
  it('a missing, wrong or admin key (401), before it reads the order', async () => {
    const orderId = randomUUID();
    for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789' }, adminHeaders]) {
      for (const [method, path] of [
        ['GET', orderId],
        ['POST', `${orderId}/paid`],
        ['POST', `${orderId}/cancel`],
      ] as const) {
        const res = await shop(method, path, headers);
        expect(res.statusCode, `${method} ${path}`).toBe(401);
        expect(res.json().code).toBe('UNAUTHORIZED');
      }
    }
  });

  it('every call when SHOP_API_KEY is not set (401)', async () => {
    const off = await h.addGateway({ SHOP_API_KEY: '' });
    const res = await off.inject({ method: 'POST', url: `/api/shop/orders/${randomUUID()}/paid`, headers: shopHeaders });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('an order id that is not a uuid (400) and an unknown order (404)', async () => {
    const bad = await shop('POST', 'not-a-uuid/paid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    for (const [method, path] of [
      ['GET', ''],
      ['POST', '/paid'],
      ['POST', '/cancel'],
    ] as const) {
      const res = await shop(method, `${randomUUID()}${path}`);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('ORDER_NOT_FOUND');
    }
  });

  it('an order of a sale without a checkout URL (409 NO_CHECKOUT), changing nothing', async () => {
    const saleId = await createSale(h.app(), { stock: 5 });
    const orderId = await storedOrder(saleId, null);
    for (const [method, path] of [
      ['GET', orderId],
      ['POST', `${orderId}/paid`],
      ['POST', `${orderId}/cancel`],
    ] as const) {
      const res = await shop(method, path);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('NO_CHECKOUT');
    }
    const { rows } = await h.db.pool.query(
      'SELECT o.status, s.sold, s.paid FROM orders o JOIN sales s ON s.id = o.sale_id WHERE order_id = $1',
      [orderId],
    );
    expect(rows[0]).toEqual({ status: 'confirmed', sold: 1, paid: 0 });
  });

  it('paid after the payment deadline (409 PAYMENT_WINDOW_OVER); a cancel then still returns the unit', async () => {
    const saleId = await checkoutSale(3);
    const orderId = await storedOrder(saleId, -1);
    const late = await shop('POST', `${orderId}/paid`);
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('PAYMENT_WINDOW_OVER');
    expect((await shop('GET', orderId)).json().status).toBe('confirmed');
    const cancelled = await shop('POST', `${orderId}/cancel`);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', cancelReason: 'shop' });
    await until('the unit back in Redis', async () => Number(await h.app().redis.get(h.app().keyspace.sale(saleId).stock)) === 4, 20);
  });
});
