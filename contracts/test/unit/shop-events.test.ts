import { describe, expect, it } from 'vitest';
import { eventTypeOfStatus, isShopEventType, orderEventData, shopEventId, type OrderEventRow } from '@velvet-rope/contracts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, s));
const paidRow: OrderEventRow = {
  order_id: '0b4f5a2e-9c1d-4f6e-8a7b-3c2d1e0f9a8b',
  sale_id: 'drop-1',
  quantity: 2,
  status: 'paid',
  created_at: at(0),
  confirmed_at: at(1),
  payment_due_at: at(601),
  paid_at: at(30),
  cancelled_at: null,
  cancel_reason: null,
};

describe('an order event built from the order as it is now', () => {
  it('says the state of its own event, not a later one: order.confirmed of a paid order has no paidAt', () => {
    const confirmed = orderEventData(paidRow, 'order.confirmed');
    expect(confirmed).toEqual({
      orderId: paidRow.order_id,
      saleId: 'drop-1',
      quantity: 2,
      status: 'confirmed',
      createdAt: at(0).toISOString(),
      confirmedAt: at(1).toISOString(),
      paymentDueAt: at(601).toISOString(),
      paidAt: null,
      cancelledAt: null,
      cancelReason: null,
    });
    expect(orderEventData(paidRow, 'order.paid')).toMatchObject({ status: 'paid', paidAt: at(30).toISOString() });
  });

  it('a cancelled order carries its reason; a rejected one never had a deadline', () => {
    const cancelled: OrderEventRow = {
      ...paidRow,
      status: 'cancelled',
      paid_at: null,
      cancelled_at: at(40),
      cancel_reason: 'payment_timeout',
    };
    expect(orderEventData(cancelled)).toMatchObject({
      status: 'cancelled',
      cancelledAt: at(40).toISOString(),
      cancelReason: 'payment_timeout',
    });
    const rejected: OrderEventRow = { ...paidRow, status: 'rejected', confirmed_at: null, payment_due_at: null, paid_at: null };
    expect(orderEventData(rejected)).toMatchObject({ status: 'rejected', confirmedAt: null, paymentDueAt: null, paidAt: null });
  });

  it('maps each stored status to its event type', () => {
    expect(eventTypeOfStatus('confirmed')).toBe('order.confirmed');
    expect(eventTypeOfStatus('cancelled')).toBe('order.cancelled');
    expect(isShopEventType('order.paid')).toBe(true);
    expect(isShopEventType('order.shipped')).toBe(false);
    expect(isShopEventType(42)).toBe(false);
  });
});

describe('event ids (webhook-id): the same for every delivery of one event, different between events', () => {
  it('names an order event by its order and type', () => {
    const id = shopEventId('order.paid', { orderId: paidRow.order_id });
    expect(id).toBe('evt_order_paid_0b4f5a2e9c1d4f6e8a7b3c2d1e0f9a8b');
    expect(shopEventId('order.paid', { orderId: paidRow.order_id })).toBe(id);
    expect(shopEventId('order.confirmed', { orderId: paidRow.order_id })).not.toBe(id);
  });

  it('names a sale event by its outbox row: a sale held twice gets two events', () => {
    expect(shopEventId('sale.held', { saleId: 'drop-1', seq: '17' })).not.toBe(shopEventId('sale.held', { saleId: 'drop-1', seq: '42' }));
  });
});
