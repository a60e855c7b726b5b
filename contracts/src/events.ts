/**
 * Events that cross process boundaries over Redis pub/sub (the sale's `events` channel),
 * and that gateways forward to browsers over socket.io.
 */

export type SaleStatus = 'scheduled' | 'prequeue' | 'open' | 'paused' | 'sold_out' | 'ended';
export type OrderStatus = 'pending' | 'confirmed' | 'rejected';

/** One per admission tick, to the sale's room. */
export interface SaleUpdateEvent {
  readonly type: 'sale:update';
  readonly saleId: string;
  readonly status: SaleStatus;
  readonly waiting: number;
  readonly admitted: number;
  readonly remaining: number;
  readonly ratePerMinute: number;
  /** admitted in this tick */
  readonly admittedNow: number;
  /** total admitted since the sale began: the front of the queue has moved this far */
  readonly admittedTotal: number;
  readonly at: number;
}

/** To one visitor's room when the admission loop lets them in. */
export interface QueueAdmittedEvent {
  readonly type: 'queue:admitted';
  readonly saleId: string;
  readonly visitorId: string;
  readonly token: string;
  readonly expiresAt: number;
}

/** From the worker, once an order is committed or refused. */
export interface OrderUpdateEvent {
  readonly type: 'order:update';
  readonly saleId: string;
  readonly visitorId: string;
  readonly orderId: string;
  readonly status: Exclude<OrderStatus, 'pending'>;
}

/**
 * From the worker: the outcomes of one committed batch of a sale, in one message (one
 * publish and one parse per batch instead of per order, at thousands of orders a second).
 */
export interface OrderUpdatesEvent {
  readonly type: 'order:updates';
  readonly saleId: string;
  readonly orders: readonly Pick<OrderUpdateEvent, 'visitorId' | 'orderId' | 'status'>[];
}

export type SaleEvent = SaleUpdateEvent | QueueAdmittedEvent | OrderUpdateEvent | OrderUpdatesEvent;

/**
 * The order outcomes an event carries, one per order: a batch, or a single `order:update`
 * (what workers before batching published; still understood). None for other events.
 */
export function orderUpdatesOf(event: SaleEvent): OrderUpdateEvent[] {
  if (event.type === 'order:update') return [event];
  if (event.type !== 'order:updates' || !Array.isArray(event.orders)) return [];
  return event.orders.map((o) => ({ type: 'order:update', saleId: event.saleId, visitorId: o.visitorId, orderId: o.orderId, status: o.status }));
}
