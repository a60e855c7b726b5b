import { describe, expect, it } from 'vitest';
import { outcomesOf, parseSaleEvent } from '../../src/events.js';

const batch = {
  type: 'order:updates',
  saleId: 's1',
  orders: [
    { visitorId: 'v1', orderId: 'o1', status: 'confirmed' },
    { visitorId: 'v2', orderId: 'o2', status: 'rejected' },
  ],
};

describe('parseSaleEvent', () => {
  it('reads the batch confirm-orders.lua publishes and the single event of older workers', () => {
    const e = parseSaleEvent(JSON.stringify(batch));
    expect(e).toEqual(batch);
    expect(outcomesOf(e!)).toEqual(batch.orders);
    const single = { type: 'order:update', saleId: 's1', visitorId: 'v1', orderId: 'o1', status: 'rejected' };
    expect(outcomesOf(parseSaleEvent(JSON.stringify(single))!)).toEqual([single]);
  });

  it('drops what is not an order event, never throwing', () => {
    const bad = [
      'not json',
      'null',
      '[]',
      '"order:updates"',
      JSON.stringify({ ...batch, type: 'sale:update' }),
      JSON.stringify({ ...batch, saleId: 7 }),
      JSON.stringify({ ...batch, orders: 'o1' }),
      JSON.stringify({ ...batch, orders: [...batch.orders, null] }),
      JSON.stringify({ ...batch, orders: [{ visitorId: 'v1', orderId: 'o1', status: 'pending' }] }),
      JSON.stringify({ ...batch, orders: [{ visitorId: 'v1', status: 'confirmed' }] }),
      JSON.stringify({ ...batch, orders: [{ visitorId: ['v1'], orderId: 'o1', status: 'confirmed' }] }),
      JSON.stringify({ type: 'order:update', saleId: 's1', visitorId: 'v1', orderId: 1, status: 'confirmed' }),
    ];
    for (const message of bad) expect(parseSaleEvent(message), message).toBeUndefined();
  });
});
