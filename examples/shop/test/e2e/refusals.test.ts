/**
 * End to end, what is refused on the way to the shop, each with its code and nothing changed:
 * at the shop's checkout a forged, an expired and another order's token; at the shop's webhook
 * endpoint a bad signature; at Velvet Rope's shop API a wrong key, an unknown order, paid after
 * cancel, cancel after paid, paid after the deadline, and an order of a sale without a
 * checkout. The real gateway, worker and example shop as processes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyOne } from './support/paying-shopper.js';
import { shopFigures } from './support/shop-told.js';
import { startStack, waitFor, type Stack } from './support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const shopCall = (orderId: string, call: 'paid' | 'cancel', key = stack.shopKey) =>
  stack.api('POST', `/api/shop/orders/${orderId}/${call}`, key);

async function statusOf(orderId: string): Promise<{ status: string; cancel_reason: string | null } | undefined> {
  const { rows } = await stack.db.pool.query<{ status: string; cancel_reason: string | null }>(
    'SELECT status, cancel_reason FROM orders WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

function checkoutPath(order: any): string {
  const url = new URL(order.checkout.url);
  return `${url.pathname}${url.search}`;
}

describe('refusals on the way to the shop', () => {
  it('the shop API: wrong key, unknown order, paid after cancel, cancel after paid; repeats are idempotent', async () => {
    const saleId = await stack.createSale({ stock: 5 });
    const a = await buyOne(stack, saleId);
    const b = await buyOne(stack, saleId);
    expect([a.order.status, b.order.status]).toEqual(['confirmed', 'confirmed']);

    // a wrong key, no key, the admin key: 401, nothing changed
    for (const key of ['wrong-key-0123456789abcdef', undefined, stack.adminKey]) {
      const r = await stack.api('POST', `/api/shop/orders/${a.orderId}/paid`, key);
      expect(r.status, String(key)).toBe(401);
      expect(r.body.code).toBe('UNAUTHORIZED');
    }
    expect(await statusOf(a.orderId)).toEqual({ status: 'confirmed', cancel_reason: null });

    // an unknown order; not an order id at all
    const unknown = await shopCall(randomUUID(), 'paid');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    const garbage = await shopCall('not-a-uuid', 'cancel');
    expect([garbage.status, garbage.body.code]).toEqual([400, 'VALIDATION_FAILED']);

    // a paid; paid again answers the same; cancel after paid is final
    const paid = await shopCall(a.orderId, 'paid');
    expect([paid.status, paid.body.status]).toEqual([200, 'paid']);
    expect((await shopCall(a.orderId, 'paid')).body.status).toBe('paid');
    const cancelPaid = await shopCall(a.orderId, 'cancel');
    expect([cancelPaid.status, cancelPaid.body.code]).toEqual([409, 'ORDER_FINAL']);
    expect(await statusOf(a.orderId)).toEqual({ status: 'paid', cancel_reason: null });

    // b cancelled; cancel again the same; paid after cancel is final
    const cancelled = await shopCall(b.orderId, 'cancel');
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
    expect((await shopCall(b.orderId, 'cancel')).body.status).toBe('cancelled');
    const paidCancelled = await shopCall(b.orderId, 'paid');
    expect([paidCancelled.status, paidCancelled.body.code]).toEqual([409, 'ORDER_FINAL']);
    expect(await statusOf(b.orderId)).toEqual({ status: 'cancelled', cancel_reason: 'shop' });
    const { rows } = await stack.db.pool.query('SELECT sold, paid FROM sales WHERE id = $1', [saleId]);
    expect(rows[0]).toEqual({ sold: 1, paid: 1 });
  });

  it('an order of a sale without a checkout: 409 NO_CHECKOUT, nothing changed', async () => {
    const saleId = await stack.createSale({ stock: 2, checkoutUrl: undefined });
    const bought = await buyOne(stack, saleId);
    expect(bought.order.status).toBe('confirmed');
    expect(bought.order.checkout ?? undefined).toBeUndefined();
    for (const call of ['paid', 'cancel'] as const) {
      const r = await shopCall(bought.orderId, call);
      expect([r.status, r.body.code], call).toEqual([409, 'NO_CHECKOUT']);
    }
    expect(await statusOf(bought.orderId)).toEqual({ status: 'confirmed', cancel_reason: null });
  });

  it('at the checkout: a forged and another order’s token are refused, and paying with them calls nothing', async () => {
    const saleId = await stack.createSale({ stock: 3 });
    const a = await buyOne(stack, saleId);
    const b = await buyOne(stack, saleId);
    // the genuine link works
    const genuine = await stack.shopApi('GET', checkoutPath(a.order));
    expect(genuine.status, JSON.stringify(genuine.body)).toBe(200);
    expect(genuine.body).toMatchObject({ orderId: a.orderId, saleId, quantity: 1 });

    // forged: the same claims and kid, signed with a key that is not Velvet Rope's
    const claims = JSON.parse(Buffer.from(a.order.checkout.token.split('.')[1], 'base64url').toString());
    const { kid } = decodeProtectedHeader(a.order.checkout.token);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: kid! }).sign(privateKey);
    const q = (order: string, token: string) => `/checkout?order=${order}&token=${encodeURIComponent(token)}`;
    const f = await stack.shopApi('GET', q(a.orderId, forged));
    expect([f.status, f.body.code]).toEqual([401, 'INVALID_TOKEN']);
    const fp = await stack.shopApi('POST', '/checkout/pay', { order: a.orderId, token: forged, card: 'pay' });
    expect([fp.status, fp.body.code]).toEqual([401, 'INVALID_TOKEN']);
    // b's token on a's order
    const mixed = await stack.shopApi('POST', '/checkout/pay', { order: a.orderId, token: b.order.checkout.token, card: 'decline' });
    expect([mixed.status, mixed.body.code]).toEqual([400, 'ORDER_MISMATCH']);
    // a person gets a page saying so
    const page = await fetch(`${stack.shopBase}${q(a.orderId, forged)}`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('This checkout link is not valid');
    expect([await statusOf(a.orderId), await statusOf(b.orderId)]).toEqual([
      { status: 'confirmed', cancel_reason: null },
      { status: 'confirmed', cancel_reason: null },
    ]);
  });

  it('paid after the deadline: 409 PAYMENT_WINDOW_OVER, and the shop’s checkout calls the token expired', async () => {
    const saleId = await stack.createSale({ stock: 2, paymentSeconds: 2 });
    const bought = await buyOne(stack, saleId);
    expect(bought.order.status).toBe('confirmed');
    // no worker: nobody cancels the lapsed order before the shop's late call
    await stack.worker.stop('SIGTERM');
    // the order token's exp is the deadline rounded up to the second (JWT NumericDate), so a
    // little more than a second after the deadline both have passed (+500 ms failed half the time)
    await waitFor('the deadline', async () => Date.now() > new Date(bought.order.paymentDueAt).getTime() + 1_100, 10_000);
    const late = await shopCall(bought.orderId, 'paid');
    expect([late.status, late.body.code]).toEqual([409, 'PAYMENT_WINDOW_OVER']);
    expect(await statusOf(bought.orderId)).toEqual({ status: 'confirmed', cancel_reason: null });
    const expired = await stack.shopApi('GET', checkoutPath(bought.order));
    expect([expired.status, expired.body.code]).toEqual([401, 'TOKEN_EXPIRED']);
    const pay = await stack.shopApi('POST', '/checkout/pay', { order: bought.orderId, token: bought.order.checkout.token, card: 'pay' });
    expect([pay.status, pay.body.code]).toEqual([401, 'TOKEN_EXPIRED']);

    // the worker back: the sweeper cancels it, once; paid is then final
    await stack.startWorker();
    await waitFor('the lapsed order cancelled', async () => (await statusOf(bought.orderId))?.status === 'cancelled', 30_000);
    expect(await statusOf(bought.orderId)).toEqual({ status: 'cancelled', cancel_reason: 'payment_timeout' });
    const afterwards = await shopCall(bought.orderId, 'paid');
    expect([afterwards.status, afterwards.body.code]).toEqual([409, 'ORDER_FINAL']);
  });

  it('the shop’s webhook endpoint refuses a bad signature and records nothing', async () => {
    const before = await shopFigures(stack);
    const body = JSON.stringify({ type: 'order.paid', timestamp: new Date().toISOString(), data: { orderId: randomUUID(), saleId: 'x' } });
    const at = new Date();
    const other = new Webhook(`whsec_${randomBytes(24).toString('base64')}`);
    const send = (headers: Record<string, string>, payload = body) =>
      fetch(`${stack.shopBase}/webhooks/velvet-rope`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    const id = `evt_forged_${randomBytes(4).toString('hex')}`;
    const ts = String(Math.floor(at.getTime() / 1000));
    const forged = await send({ 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': other.sign(id, at, body) });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { code: string }).code).toBe('INVALID_SIGNATURE');
    // the right secret, but the body changed after signing
    const genuine = new Webhook(stack.webhookSecret);
    const altered = await send(
      { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': genuine.sign(id, at, body) },
      body.replace('order.paid', 'order.cancelled'),
    );
    expect(altered.status).toBe(400);
    const unsigned = await send({ 'webhook-id': id, 'webhook-timestamp': ts });
    expect(unsigned.status).toBe(400);
    const after = await shopFigures(stack);
    expect(after.badSignatures - before.badSignatures).toBe(3);
    expect(after.events.filter((e) => e.webhookId === id)).toEqual([]);
    // the same delivery signed with the shared secret goes in: the refusals were for the signature alone
    const ok = await send({ 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': genuine.sign(id, at, body) });
    expect(ok.status).toBe(200);
    expect((await shopFigures(stack)).events.filter((e) => e.webhookId === id).length).toBe(1);
  });
});
