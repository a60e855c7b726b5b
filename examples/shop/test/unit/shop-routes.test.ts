/**
 * The shop's routes through Fastify's inject, with order tokens signed here (and their JWK set
 * in place of Velvet Rope's) and a stand-in for Velvet Rope's shop API that records the calls:
 * the checkout shows a genuine order, refuses a forged, expired or mismatched link without
 * calling anything, settles a payment (paid, or cancel for a declined card) and sends the
 * shopper back; the webhook endpoint verifies the raw bytes; the test switches exist only when asked for.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, generateKeyPair } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildShop } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ShopCall, ShopCallOutcome, VelvetRopeClient } from '../../src/velvet-rope-client.js';
import { signWith, testSigner, type TestSigner } from '../support/signing.js';

const ORDER = '0b9f5c1e-6a43-4c1d-9d7e-1f3a2b4c5d6e';
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
let signer: TestSigner;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  signer = await testSigner();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

interface Stand {
  app: FastifyInstance;
  calls: { orderId: string; call: ShopCall }[];
}

async function shop(answer: (call: ShopCall) => ShopCallOutcome = okAnswer, env: Record<string, string> = {}): Promise<Stand> {
  const calls: Stand['calls'] = [];
  const velvetRope: VelvetRopeClient = {
    settle: async (orderId, call) => {
      calls.push({ orderId, call });
      return answer(call);
    },
  };
  const config = loadConfig({
    SHOP_API_KEY: 'shop-key-0123456789',
    WEBHOOK_SECRET: SECRET,
    SHOP_SALE_ID: 'drop-1',
    VELVET_ROPE_URL: 'http://vr.test',
    ...env,
  });
  const app = await buildShop(config, { keys: createLocalJWKSet(signer.jwks), velvetRope, logger: false });
  apps.push(app);
  return { app, calls };
}

function okAnswer(call: ShopCall): ShopCallOutcome {
  return { ok: true, order: { orderId: ORDER, status: call === 'paid' ? 'paid' : 'cancelled' } };
}

const link = (token: string, order = ORDER) => `/checkout?order=${encodeURIComponent(order)}&token=${encodeURIComponent(token)}`;
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

describe('the product page', () => {
  it('links to the sale’s waiting room', async () => {
    const { app } = await shop();
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('href="http://vr.test/sales/drop-1"');
    expect(res.body).toContain('Join the drop');
  });
});

describe('the checkout', () => {
  it('shows a genuine order: quantity, deadline, Pay and a declining card; JSON when asked', async () => {
    const { app, calls } = await shop();
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1', qty: 2, exp });
    const page = await app.inject(link(token));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`data-order="${ORDER}"`);
    expect(page.body).toContain('2 units');
    expect(page.body).toContain(new Date(exp * 1000).toISOString());
    expect(page.body).toContain('id="pay"');
    expect(page.body).toContain('value="decline"');
    const json = await app.inject({ url: link(token), headers: { accept: 'application/json' } });
    expect(json.json()).toEqual({
      orderId: ORDER,
      saleId: 'drop-1',
      shopperId: 'v_shopper',
      account: null,
      quantity: 2,
      paymentDueAt: new Date(exp * 1000).toISOString(),
    });
    expect(calls).toEqual([]);
  });

  it('refuses a forged, an expired and a mismatched link, as a page and as JSON, calling nothing', async () => {
    const { app, calls } = await shop();
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await signWith(privateKey, 'test-key-1', { orderId: ORDER, saleId: 'drop-1' });
    const expired = await signer.sign({ orderId: ORDER, saleId: 'drop-1', exp: Math.floor(Date.now() / 1000) - 1 });
    const genuine = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    const cases: [string, number, string][] = [
      [link(forged), 401, 'INVALID_TOKEN'],
      [link(expired), 401, 'TOKEN_EXPIRED'],
      [link(genuine, '11111111-2222-4333-8444-555555555555'), 400, 'ORDER_MISMATCH'],
      ['/checkout?order=' + ORDER, 400, 'VALIDATION_FAILED'],
    ];
    for (const [url, status, code] of cases) {
      const page = await app.inject(url);
      expect(page.statusCode, url).toBe(status);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain(`data-code="${code}"`);
      const json = await app.inject({ url, headers: { accept: 'application/json' } });
      expect(json.statusCode).toBe(status);
      expect(json.json()).toMatchObject({ statusCode: status, code });
      // paying with it is refused the same way
      const q = new URL(url, 'http://x').searchParams;
      const pay = await app.inject({
        method: 'POST',
        url: '/checkout/pay',
        ...form({ order: q.get('order') ?? '', token: q.get('token') ?? '' }),
      });
      expect(pay.statusCode).toBe(status);
    }
    expect(calls).toEqual([]);
  });

  it('a payment that goes through marks the order paid and sends the shopper back to the waiting room', async () => {
    const { app, calls } = await shop();
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    const res = await app.inject({ method: 'POST', url: '/checkout/pay', ...form({ order: ORDER, token, card: 'pay' }) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('http://vr.test/sales/drop-1');
    expect(calls).toEqual([{ orderId: ORDER, call: 'paid' }]);
  });

  it('a declined card cancels the order (its unit goes back on sale); JSON callers get the outcome', async () => {
    const { app, calls } = await shop();
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    const res = await app.inject({
      method: 'POST',
      url: '/checkout/pay',
      headers: { accept: 'application/json' },
      payload: { order: ORDER, token, card: 'decline' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      result: 'declined',
      order: { orderId: ORDER, status: 'cancelled' },
      returnUrl: 'http://vr.test/sales/drop-1',
    });
    expect(calls).toEqual([{ orderId: ORDER, call: 'cancel' }]);
  });

  it('PAYMENT_FAILS_EVERY makes every n-th payment fail', async () => {
    const { app, calls } = await shop(okAnswer, { PAYMENT_FAIL_EVERY: '2' });
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: '/checkout/pay', ...form({ order: ORDER, token }) });
    expect(calls.map((c) => c.call)).toEqual(['paid', 'cancel', 'paid', 'cancel']);
  });

  it.each([
    ['PAYMENT_WINDOW_OVER', 409, 409, 'Your payment window closed'],
    ['ORDER_FINAL', 409, 409, 'This order is already settled'],
    ['UNAUTHORIZED', 401, 502, 'Checkout could not finish'],
    ['UNAVAILABLE', 503, 503, 'Your payment is being confirmed'],
  ])('Velvet Rope answering %s is a clear page (%i → %i)', async (code, upstream, status, title) => {
    const { app } = await shop(() => ({ ok: false, status: upstream as 409, code, message: 'no' }));
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    const res = await app.inject({ method: 'POST', url: '/checkout/pay', ...form({ order: ORDER, token }) });
    expect(res.statusCode).toBe(status);
    expect(res.body).toContain(title);
    expect(res.body).toContain('href="http://vr.test/sales/drop-1"');
    if (status === 503) expect(res.headers['retry-after']).toBe('2');
  });
});

describe('the webhook endpoint', () => {
  const signer = new Webhook(SECRET);
  function delivery(id: string, body: string) {
    const at = new Date();
    return {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(id, at, body),
    };
  }

  it('verifies the exact bytes, records once per webhook-id, refuses a bad signature, and lists what it got', async () => {
    const { app } = await shop();
    // spacing a parser would not keep: the signature covers these bytes
    const body = '{ "type": "order.paid", "timestamp": "2026-12-02T08:00:00.000Z", "data": { "orderId": "o1" } }';
    const headers = delivery('evt_order_paid_o1', body);
    const first = await app.inject({ method: 'POST', url: '/webhooks/velvet-rope', headers, payload: body });
    expect(first.statusCode).toBe(200);
    const again = await app.inject({ method: 'POST', url: '/webhooks/velvet-rope', headers, payload: body });
    expect(again.json()).toEqual({ received: 'evt_order_paid_o1', duplicate: true });
    const bad = await app.inject({
      method: 'POST',
      url: '/webhooks/velvet-rope',
      headers: { ...headers, 'webhook-id': 'evt_other' },
      payload: body,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_SIGNATURE');
    const events = (await app.inject('/api/events')).json();
    expect(events).toMatchObject({ badSignatures: 1, duplicates: 1 });
    expect(events.events).toEqual([
      {
        webhookId: 'evt_order_paid_o1',
        type: 'order.paid',
        timestamp: '2026-12-02T08:00:00.000Z',
        data: { orderId: 'o1' },
        receivedAt: expect.any(String),
        duplicates: 1,
      },
    ]);
    const page = await app.inject('/events');
    expect(page.body).toContain('evt_order_paid_o1');
  });

  it('the outage switch exists only with SHOP_TEST_CONTROLS=1, and makes the endpoint answer 503', async () => {
    const plain = await shop();
    expect((await plain.app.inject({ method: 'POST', url: '/api/test/outage', payload: { seconds: 5 } })).statusCode).toBe(404);
    const { app } = await shop(okAnswer, { SHOP_TEST_CONTROLS: '1' });
    expect((await app.inject({ method: 'POST', url: '/api/test/outage', payload: { seconds: -1 } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/test/outage', payload: { seconds: 5 } })).statusCode).toBe(200);
    const body = '{"type":"order.confirmed","timestamp":"2026-12-02T08:00:00.000Z","data":{}}';
    const down = await app.inject({ method: 'POST', url: '/webhooks/velvet-rope', headers: delivery('evt_x', body), payload: body });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    await app.inject({ method: 'POST', url: '/api/test/outage', payload: { seconds: 0 } });
    const up = await app.inject({ method: 'POST', url: '/webhooks/velvet-rope', headers: delivery('evt_x', body), payload: body });
    expect(up.statusCode).toBe(200);
    expect((await app.inject('/api/events')).json()).toMatchObject({ refusedDuringOutage: 1 });
  });
});
