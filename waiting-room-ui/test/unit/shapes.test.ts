/**
 * The console's boundary for issue 14's answers: the hand-off settings and figures, the webhook
 * endpoints and their delivery log parse as the gateway's schemas give them, and an answer
 * missing a field or carrying an unknown value throws ShapeError instead of reaching the page.
 */
import { describe, expect, it } from 'vitest';
import {
  handsOff,
  parseAdminSale,
  parseCreatedWebhook,
  parseDeliveries,
  parseNothing,
  parseSaleStats,
  parseWebhooks,
  ShapeError,
} from '../../src/shapes.js';

const sale = {
  id: 'drop-1',
  name: 'Drop',
  stock: 3,
  sold: 2,
  startsAt: '2026-12-02T12:00:00.000Z',
  prequeueOpensAt: null,
  endsAt: null,
  ratePerMinute: 600,
  maxActive: 3,
  checkoutSeconds: 120,
  maxPerShopper: 1,
  queueMode: 'fifo',
  windowSeconds: 0,
  paused: false,
  powDifficulty: 0,
  adaptiveRate: false,
  minRatePerMinute: 0,
  checkoutUrl: 'https://shop.example/checkout',
  paymentSeconds: 600,
  flow: 'queue',
  maxQueue: null,
  product: null,
  identity: 'anonymous',
  protectedPaths: [],
  inviteOnly: false,
  seedCommitment: 'ab',
  createdAt: '2026-12-02T11:00:00.000Z',
  updatedAt: '2026-12-02T11:00:00.000Z',
};

const stats = {
  id: 'drop-1',
  status: 'held',
  stock: 3,
  waiting: 0,
  toldSoldOut: 0,
  admitted: 0,
  admittedTotal: 3,
  remaining: 0,
  pending: 0,
  sold: 3,
  confirmedOrders: 3,
  rejectedOrders: 0,
  paid: 1,
  held: 2,
  returned: 0,
  ratePerMinute: 600,
  effectiveRatePerMinute: 600,
  adaptiveRate: false,
  maxActive: 3,
  paused: false,
  flow: 'queue',
  queueing: true,
  maxQueue: null,
  at: '2026-12-02T12:01:00.000Z',
};

const webhook = {
  id: 'wh_abc',
  url: 'https://shop.example/hooks',
  events: ['order.confirmed', 'order.paid'],
  source: 'api',
  createdAt: '2026-12-02T11:30:00.000Z',
};

const delivery = {
  id: 7,
  eventId: 'evt_1',
  eventType: 'order.confirmed',
  status: 'failed',
  attempts: 12,
  responseStatus: 500,
  lastError: 'HTTP 500',
  latencyMs: 31,
  createdAt: '2026-12-02T12:00:00.000Z',
  deliveredAt: null,
  nextAttemptAt: null,
};

describe('the sale flow and the queue cap (issue 16)', () => {
  it('reads the flow, the cap and whether the sale queues now, and refuses unknown flows', () => {
    const s = parseAdminSale({ ...sale, flow: 'standby', maxQueue: 500 });
    expect(s.flow).toBe('standby');
    expect(s.maxQueue).toBe(500);
    expect(parseAdminSale(sale).maxQueue).toBeNull();
    expect(() => parseAdminSale({ ...sale, flow: 'open' })).toThrow(ShapeError);
    const st = parseSaleStats({ ...stats, status: 'suspended', flow: 'suspended', queueing: false });
    expect(st.status).toBe('suspended');
    expect(st.queueing).toBe(false);
  });
});

describe('the hand-off to the shop', () => {
  it('reads the checkout settings of a sale and whether it hands off', () => {
    const s = parseAdminSale(sale);
    expect(s.checkoutUrl).toBe('https://shop.example/checkout');
    expect(s.paymentSeconds).toBe(600);
    expect(handsOff(s)).toBe(true);
    expect(handsOff(parseAdminSale({ ...sale, checkoutUrl: null }))).toBe(false);
    expect(() => parseAdminSale({ ...sale, paymentSeconds: '600' })).toThrow(ShapeError);
    expect(() => parseAdminSale({ ...sale, checkoutUrl: 42 })).toThrow(ShapeError);
  });

  it('reads paid, held and returned units and the held status', () => {
    const s = parseSaleStats(stats);
    expect([s.status, s.paid, s.held, s.returned]).toEqual(['held', 1, 2, 0]);
    const { held: _held, ...withoutHeld } = stats;
    expect(() => parseSaleStats(withoutHeld)).toThrow(ShapeError);
    expect(() => parseSaleStats({ ...stats, status: 'on_hold' })).toThrow(ShapeError);
  });
});

describe('webhook endpoints and deliveries', () => {
  it('reads the list, and the secret only from the answer to an add', () => {
    expect(parseWebhooks({ webhooks: [webhook] })).toEqual([{ ...webhook, createdAt: Date.parse(webhook.createdAt) }]);
    expect(parseCreatedWebhook({ ...webhook, secret: 'whsec_x' }).secret).toBe('whsec_x');
    expect(() => parseCreatedWebhook(webhook)).toThrow(ShapeError);
    expect(() => parseWebhooks({ webhooks: [{ ...webhook, events: ['order.shipped'] }] })).toThrow(ShapeError);
    expect(() => parseWebhooks({ webhooks: [{ ...webhook, source: 'ui' }] })).toThrow(ShapeError);
    expect(() => parseWebhooks({})).toThrow(ShapeError);
  });

  it('reads a delivery log', () => {
    const [d] = parseDeliveries({ deliveries: [delivery] });
    expect(d).toEqual({ ...delivery, createdAt: Date.parse(delivery.createdAt) });
    expect(() => parseDeliveries({ deliveries: [{ ...delivery, status: 'lost' }] })).toThrow(ShapeError);
    expect(() => parseDeliveries({ deliveries: [{ ...delivery, attempts: null }] })).toThrow(ShapeError);
    expect(() => parseDeliveries({ deliveries: [{ ...delivery, eventType: 'order.shipped' }] })).toThrow(ShapeError);
  });

  it('takes no body for a 204, and refuses one', () => {
    expect(parseNothing(undefined)).toBeNull();
    expect(() => parseNothing({ deleted: true })).toThrow(ShapeError);
  });
});

describe('issue 16 item 2: a retired sale in the console', () => {
  it('reads when a finished sale left Redis, and null while it has not', () => {
    expect(parseAdminSale(sale).retiredAt).toBeNull();
    expect(parseAdminSale({ ...sale, retiredAt: '2026-12-03T12:00:00.000Z' }).retiredAt).toBe(Date.parse('2026-12-03T12:00:00.000Z'));
    expect(() => parseAdminSale({ ...sale, retiredAt: 'yesterday' })).toThrow(ShapeError);
  });
});

describe('issue 15: what a sale sells and who may join, in the console', () => {
  it('reads the product (null: none), the identity and invite-only, and refuses what is not them', () => {
    const s = parseAdminSale(sale);
    expect([s.product, s.identity, s.inviteOnly]).toEqual([null, 'anonymous', false]);
    const product = { description: 'Velvet sneakers', imageUrl: '/img/s.jpg', price: '19.90', currency: 'EUR' };
    const shop = parseAdminSale({ ...sale, product, identity: 'shop', inviteOnly: true });
    expect([shop.product, shop.identity, shop.inviteOnly]).toEqual([product, 'shop', true]);
    expect(parseAdminSale({ ...sale, product: { description: 'Only words' } }).product).toEqual({ description: 'Only words' });
    expect(() => parseAdminSale({ ...sale, product: { price: 19.9, currency: 'EUR' } })).toThrow(ShapeError);
    expect(() => parseAdminSale({ ...sale, product: 'shoes' })).toThrow(ShapeError);
    expect(() => parseAdminSale({ ...sale, identity: 'oidc' })).toThrow(ShapeError);
    expect(() => parseAdminSale({ ...sale, inviteOnly: 'yes' })).toThrow(ShapeError);
  });
});
