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

export type SaleEvent = SaleUpdateEvent | QueueAdmittedEvent | OrderUpdateEvent;
