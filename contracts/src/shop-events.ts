/**
 * What the shop is told (issue 14, promise I7): the events Velvet Rope sends to the shop's
 * webhook endpoints (Standard Webhooks: headers `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`; body `{ type, timestamp, data }`) and publishes on the RabbitMQ topic
 * exchange (`EVENTS_EXCHANGE`, routing key = the type, the same body, `messageId` = the
 * event's id). Written to PostgreSQL's `shop_events` in the transaction of the change they
 * report (migration 0006), delivered from there at least once; receivers de-duplicate by id.
 */
import type { OrderStatus } from './events.js';

export const SHOP_EVENT_TYPES = [
  'order.confirmed',
  'order.paid',
  'order.cancelled',
  'order.rejected',
  'sale.held',
  'sale.sold_out',
  'sale.ended',
] as const;
export type ShopEventType = (typeof SHOP_EVENT_TYPES)[number];

export function isShopEventType(value: unknown): value is ShopEventType {
  return typeof value === 'string' && (SHOP_EVENT_TYPES as readonly string[]).includes(value);
}

/** default name of the topic exchange the events are published on */
export const DEFAULT_EVENTS_EXCHANGE = 'velvet-rope.events';

/** An order event's data: the order as `GET /api/orders/:id` shows it (it carries its sale). */
export interface OrderEventData {
  readonly orderId: string;
  readonly saleId: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  /** ISO 8601, UTC, milliseconds */
  readonly createdAt: string;
  readonly confirmedAt: string | null;
}

/** A sale event's data. */
export interface SaleEventData {
  readonly saleId: string;
  readonly name: string;
  readonly stock: number;
  readonly sold: number;
  /** when it happened, ISO 8601 */
  readonly at: string;
}

/** The body of a webhook delivery and of an exchange message. */
export interface ShopEventBody<T extends ShopEventType = ShopEventType> {
  readonly type: T;
  /** when the event happened, ISO 8601 */
  readonly timestamp: string;
  readonly data: T extends `order.${string}` ? OrderEventData : SaleEventData;
}
