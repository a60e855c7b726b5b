/**
 * What the shop is told (issue 14, promise I7): the events Velvet Rope sends to the shop's
 * webhook endpoints (Standard Webhooks: headers `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`; body `{ type, timestamp, data }`) and publishes on the RabbitMQ topic
 * exchange (`EVENTS_EXCHANGE`, routing key = the type, the same body, `messageId` = the
 * event's id). Written to PostgreSQL's `shop_events` outbox in the transaction of the change
 * they report (migration 0006), delivered from there at least once; receivers de-duplicate by
 * the event's id, which is the same on every delivery of it.
 */
import type pg from 'pg';

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
export type OrderEventType = Extract<ShopEventType, `order.${string}`>;
export type SaleEventType = Extract<ShopEventType, `sale.${string}`>;

export function isShopEventType(value: unknown): value is ShopEventType {
  return typeof value === 'string' && (SHOP_EVENT_TYPES as readonly string[]).includes(value);
}

/** default name of the topic exchange the events are published on */
export const DEFAULT_EVENTS_EXCHANGE = 'velvet-rope.events';

/** A committed order's state (PostgreSQL's `orders.status`). */
export type StoredOrderStatus = 'confirmed' | 'rejected' | 'paid' | 'cancelled';
export type CancelReason = 'shop' | 'payment_timeout';

/**
 * An order as `GET /api/orders/:id` shows it (less the checkout token, which is the shopper's
 * to hand to the checkout) and as an order event's `data` carries it.
 */
export interface OrderEventData {
  readonly orderId: string;
  readonly saleId: string;
  readonly quantity: number;
  readonly status: StoredOrderStatus;
  /** ISO 8601 (UTC, milliseconds) from here on; null when the order has not reached that state */
  readonly createdAt: string;
  readonly confirmedAt: string | null;
  /** the end of the payment window (sales with a checkout URL), else null */
  readonly paymentDueAt: string | null;
  readonly paidAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancelReason: CancelReason | null;
  /**
   * In events the worker dispatches (webhooks, the events exchange): the shop's own account id
   * of a shopper it signed in (a sale with `identity: shop`, the order token's `acct`), null
   * for an anonymous shopper. Not in the shop API's answers, which carry it as `account` beside.
   */
  readonly account?: string | null;
}

/** A sale event's data. */
export interface SaleEventData {
  readonly saleId: string;
  readonly name: string;
  readonly stock: number;
  /** units confirmed or paid */
  readonly sold: number;
  /** units paid (a sale without a checkout URL: every sold unit counts as paid) */
  readonly paid: number;
  /** when it happened, ISO 8601 */
  readonly at: string;
}

/** The body of a webhook delivery and of an exchange message. */
export interface ShopEventBody<T extends ShopEventType = ShopEventType> {
  readonly type: T;
  /** when the event happened, ISO 8601 */
  readonly timestamp: string;
  readonly data: T extends OrderEventType ? OrderEventData : SaleEventData;
}

/** One event as the dispatcher hands it on: its id, what orders its deliveries, and its body. */
export interface ShopEvent {
  /** stable: the same for every delivery of this event (`webhook-id`, AMQP `messageId`) */
  readonly id: string;
  readonly type: ShopEventType;
  readonly saleId: string;
  /** (outbox seq, position in its row): events of one ordering key go out in this order */
  readonly seq: string;
  readonly pos: number;
  /** the order id, or `sale:<id>` */
  readonly orderingKey: string;
  readonly body: ShopEventBody;
}

/**
 * An event's id. An order reaches each state once, so (order, type) names an order event; a
 * sale may be held more than once (units came back, then were taken again), so a sale event
 * is named by its outbox row.
 */
export function shopEventId(
  type: ShopEventType,
  subject: { readonly orderId: string } | { readonly saleId: string; readonly seq: string },
): string {
  const kind = type.replace('.', '_');
  if ('orderId' in subject) return `evt_${kind}_${subject.orderId.replaceAll('-', '')}`;
  return `evt_${kind}_${subject.saleId}_${subject.seq}`;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Writes one order event per order (`type`) into the outbox: one row for all of them. Call it
 * inside the transaction that makes the change. No-op for no orders.
 */
export async function recordOrderEvents(
  client: Queryable,
  type: OrderEventType,
  saleId: string,
  orderIds: readonly string[],
): Promise<void> {
  if (orderIds.length === 0) return;
  await client.query('INSERT INTO shop_events (type, sale_id, order_ids) VALUES ($1, $2, $3::uuid[])', [type, saleId, orderIds]);
}

/**
 * Writes a sale event into the outbox, its data read from the sale's row as the transaction
 * sees it. Call it inside the transaction that makes the change.
 */
export async function recordSaleEvent(client: Queryable, type: SaleEventType, saleId: string): Promise<void> {
  await client.query(
    `INSERT INTO shop_events (type, sale_id, data)
     SELECT $1, id, jsonb_build_object('saleId', id, 'name', name, 'stock', stock, 'sold', sold,
              'paid', CASE WHEN checkout_url IS NULL THEN sold ELSE paid END,
              'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
       FROM sales WHERE id = $2`,
    [type, saleId],
  );
}

/** The columns `orderEventData` reads, for a SELECT from `orders`. */
/**
 * The sale of the order whose id is `$1`, as SQL: an order's sale from `order_ids` (migration
 * 0015), one primary-key probe. `orders` is partitioned by sale: `sale_id = ${ORDER_SALE}` next
 * to `order_id = $1` lets PostgreSQL prune every other sale's partition when the statement runs
 * (an initplan's value), where the order id alone probes one index per partition kept.
 */
export const ORDER_SALE = '(SELECT sale_id FROM order_ids WHERE order_id = $1)';

export const ORDER_EVENT_COLUMNS =
  'order_id::text AS order_id, sale_id, quantity, status, created_at, confirmed_at, payment_due_at, paid_at, cancelled_at, cancel_reason';

export interface OrderEventRow {
  readonly order_id: string;
  readonly sale_id: string;
  readonly quantity: number;
  readonly status: StoredOrderStatus;
  readonly created_at: Date;
  readonly confirmed_at: Date | null;
  readonly payment_due_at: Date | null;
  readonly paid_at: Date | null;
  readonly cancelled_at: Date | null;
  readonly cancel_reason: CancelReason | null;
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/**
 * An order's data as of the state `type` reports, from its row as it is now: a later state
 * only adds fields, so the fields of later states are left out (an `order.confirmed`
 * dispatched after the order was paid still says `confirmed`, with no `paidAt`).
 */
export function orderEventData(row: OrderEventRow, type: OrderEventType = eventTypeOfStatus(row.status)): OrderEventData {
  const status: StoredOrderStatus =
    type === 'order.confirmed' ? 'confirmed' : type === 'order.paid' ? 'paid' : type === 'order.cancelled' ? 'cancelled' : 'rejected';
  return {
    orderId: row.order_id,
    saleId: row.sale_id,
    quantity: row.quantity,
    status,
    createdAt: row.created_at.toISOString(),
    confirmedAt: status === 'rejected' ? null : iso(row.confirmed_at),
    paymentDueAt: status === 'rejected' ? null : iso(row.payment_due_at),
    paidAt: status === 'paid' ? iso(row.paid_at) : null,
    cancelledAt: status === 'cancelled' ? iso(row.cancelled_at) : null,
    cancelReason: status === 'cancelled' ? row.cancel_reason : null,
  };
}

export function eventTypeOfStatus(status: StoredOrderStatus): OrderEventType {
  return `order.${status}`;
}
