import { describe, expect, it } from 'vitest';
import {
  encodeOrderBatch,
  encodeOrderMessage,
  ORDER_BATCH_VERSION,
  ORDER_MESSAGE_VERSION,
  parseOrderMessage,
  parseOrderMessages,
  type OrderMessage,
} from '../../src/order-message.js';

const valid: OrderMessage = {
  v: ORDER_MESSAGE_VERSION,
  orderId: '3b241101-e2bb-4255-8caf-4136c566a962',
  saleId: 'drop-1',
  visitorId: 'AbCdEfGhIjKlMnOpQrStUv',
  quantity: 2,
  createdAt: 1_750_000_000_000,
};

function withField(field: string, value: unknown): string {
  return JSON.stringify({ ...valid, [field]: value });
}

function without(field: keyof OrderMessage): string {
  const { [field]: _omitted, ...copy } = valid;
  return JSON.stringify(copy);
}

describe('encodeOrderMessage / parseOrderMessage', () => {
  it('round-trips a message given as a string', () => {
    expect(parseOrderMessage(encodeOrderMessage(valid))).toEqual({ ok: true, value: valid });
  });

  it('round-trips a message given as a Buffer', () => {
    expect(parseOrderMessage(Buffer.from(encodeOrderMessage(valid), 'utf8'))).toEqual({ ok: true, value: valid });
  });

  it('accepts the bounds of quantity (1 and 1000) and visitor id length (16 and 64)', () => {
    for (const body of [
      withField('quantity', 1),
      withField('quantity', 1000),
      withField('visitorId', 'a'.repeat(16)),
      withField('visitorId', 'a'.repeat(64)),
    ]) {
      expect(parseOrderMessage(body).ok, body).toBe(true);
    }
  });

  it('drops unknown fields', () => {
    const result = parseOrderMessage(JSON.stringify({ ...valid, price: 0, admin: true }));
    expect(result).toEqual({ ok: true, value: valid });
  });

  it('encodes the same message to the same bytes (the reconciler republishes them)', () => {
    expect(encodeOrderMessage({ ...valid })).toBe(encodeOrderMessage(valid));
  });
});

describe('parseOrderMessage rejects', () => {
  const cases: [string, string | Buffer][] = [
    ['non-JSON', 'not json {'],
    ['an empty body', ''],
    ['an empty Buffer', Buffer.alloc(0)],
    ['invalid UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x7b])],
    ['an array', JSON.stringify([valid])],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"order"'],
    ['version 2', withField('v', 2)],
    ['version "1" (a string)', withField('v', '1')],
    ['no version', without('v')],
    ['a malformed orderId', withField('orderId', 'not-a-uuid')],
    ['an upper-case orderId', withField('orderId', valid.orderId.toUpperCase())],
    ['a numeric orderId', withField('orderId', 123)],
    ['no orderId', without('orderId')],
    ['a saleId with braces', withField('saleId', 'a{b}')],
    ['an empty saleId', withField('saleId', '')],
    ['a numeric saleId', withField('saleId', 1)],
    ['a short visitorId (15 chars)', withField('visitorId', 'a'.repeat(15))],
    ['a long visitorId (65 chars)', withField('visitorId', 'a'.repeat(65))],
    ['a visitorId with a dot', withField('visitorId', 'AbCdEfGhIjKlMnOp.rStUv')],
    ['quantity 0', withField('quantity', 0)],
    ['quantity -1', withField('quantity', -1)],
    ['quantity 1.5', withField('quantity', 1.5)],
    ['quantity "1"', withField('quantity', '1')],
    ['quantity 1001', withField('quantity', 1001)],
    ['quantity null', withField('quantity', null)],
    ['no quantity', without('quantity')],
    ['quantity 1e999 (Infinity)', encodeOrderMessage(valid).replace('"quantity":2', '"quantity":1e999')],
    ['no createdAt', without('createdAt')],
    ['a negative createdAt', withField('createdAt', -1)],
    ['createdAt 0', withField('createdAt', 0)],
    ['createdAt null (what JSON.stringify makes of NaN)', withField('createdAt', Number.NaN)],
    ['createdAt "1750000000000" (a string)', withField('createdAt', '1750000000000')],
    ['createdAt 1e999 (Infinity)', encodeOrderMessage(valid).replace('"createdAt":1750000000000', '"createdAt":1e999')],
  ];

  it.each(cases)('%s, with a reason and without throwing', (_label, body) => {
    let result: ReturnType<typeof parseOrderMessage> | undefined;
    expect(() => {
      result = parseOrderMessage(body);
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result && !result.ok) {
      expect(typeof result.reason).toBe('string');
      expect(result.reason.length).toBeGreaterThan(0);
    }
  });

  it('the Infinity cases really contain 1e999 (guards the fixtures above)', () => {
    const inf = cases.filter(([label]) => label.includes('1e999'));
    expect(inf).toHaveLength(2);
    for (const [, body] of inf) expect(String(body)).toContain('1e999');
  });
});

describe('parseOrderMessages (a single order or a batch)', () => {
  const other: OrderMessage = { ...valid, orderId: '9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f', quantity: 1 };

  it('reads a single-order message as one order', () => {
    expect(parseOrderMessages(encodeOrderMessage(valid))).toEqual({ ok: true, value: [valid] });
  });

  it('reads a batch of encoded orders back, in order, from a string or a Buffer', () => {
    const batch = encodeOrderBatch([encodeOrderMessage(valid), encodeOrderMessage(other)]);
    expect(JSON.parse(batch)).toEqual({ v: ORDER_BATCH_VERSION, orders: [valid, other] });
    expect(parseOrderMessages(batch)).toEqual({ ok: true, value: [valid, other] });
    expect(parseOrderMessages(Buffer.from(batch))).toEqual({ ok: true, value: [valid, other] });
  });

  it('refuses a whole batch when one of its orders is malformed, naming which', () => {
    const result = parseOrderMessages(encodeOrderBatch([encodeOrderMessage(valid), withField('quantity', 0)]));
    expect(result).toEqual({ ok: false, reason: 'order 1: bad quantity' });
  });

  it.each([
    ['an empty batch', '{"v":2,"orders":[]}'],
    ['orders not a list', '{"v":2,"orders":{}}'],
    ['a batch inside a batch', `{"v":2,"orders":[${encodeOrderBatch([encodeOrderMessage(valid)])}]}`],
    ['not JSON', '{"v":2,'],
    ['an unknown version', '{"v":3,"orders":[]}'],
  ])('refuses %s without throwing', (_label, body) => {
    expect(parseOrderMessages(body).ok).toBe(false);
  });

  it('parseOrderMessage (single only) does not take a batch', () => {
    expect(parseOrderMessage(encodeOrderBatch([encodeOrderMessage(valid)])).ok).toBe(false);
  });
});
