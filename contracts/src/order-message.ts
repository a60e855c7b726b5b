/**
 * The message the gateway publishes to RabbitMQ for every accepted order, and the worker
 * consumes. The gateway also keeps it, as JSON, in the sale's `pending` hash (the outbox),
 * so the reconciler can publish exactly the same bytes again.
 *
 * A purchase publishes its order inside a batch message (`v: 2`, `orders`: the orders
 * accepted together, each exactly its outbox JSON), so that the broker confirms many orders
 * at once; the reconciler re-publishes single orders (`v: 1`). The worker reads both.
 */
import { isSaleId } from './redis-keys.js';

export const ORDER_MESSAGE_VERSION = 1;

export interface OrderMessage {
  readonly v: typeof ORDER_MESSAGE_VERSION;
  readonly orderId: string;
  readonly saleId: string;
  readonly visitorId: string;
  readonly quantity: number;
  /** when the gateway accepted the order, ms since the epoch */
  readonly createdAt: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VISITOR_RE = /^[A-Za-z0-9_-]{16,64}$/;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ORDER_BATCH_VERSION = 2;

/** the most orders one batch message may carry (a gateway sends far fewer) */
export const MAX_ORDERS_PER_MESSAGE = 10_000;

/** Parses and checks a single-order message body; never throws. */
export function parseOrderMessage(body: Buffer | string): ParseResult<OrderMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return checkOrder(raw);
}

/**
 * Parses a message body of either form: the orders it carries, in order. A batch is refused
 * as a whole when any of its orders is malformed (the message is then dead-lettered; the
 * good orders in it are still in their sales' outboxes and come back one by one).
 */
export function parseOrderMessages(body: Buffer | string): ParseResult<OrderMessage[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof raw === 'object' && raw !== null && (raw as Record<string, unknown>).v === ORDER_BATCH_VERSION) {
    const list = (raw as Record<string, unknown>).orders;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ORDERS_PER_MESSAGE) {
      return { ok: false, reason: 'bad orders list' };
    }
    const orders: OrderMessage[] = [];
    for (let i = 0; i < list.length; i++) {
      const one = checkOrder(list[i]);
      if (!one.ok) return { ok: false, reason: `order ${i}: ${one.reason}` };
      orders.push(one.value);
    }
    return { ok: true, value: orders };
  }
  const one = checkOrder(raw);
  return one.ok ? { ok: true, value: [one.value] } : one;
}

/** A batch message of already encoded single orders (their outbox JSON, not encoded again). */
export function encodeOrderBatch(encodedOrders: readonly string[]): string {
  return `{"v":${ORDER_BATCH_VERSION},"orders":[${encodedOrders.join(',')}]}`;
}

function checkOrder(raw: unknown): ParseResult<OrderMessage> {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'not an object' };
  const m = raw as Record<string, unknown>;
  if (m.v !== ORDER_MESSAGE_VERSION) return { ok: false, reason: `unknown version ${String(m.v)}` };
  if (typeof m.orderId !== 'string' || !UUID_RE.test(m.orderId)) return { ok: false, reason: 'bad orderId' };
  if (typeof m.saleId !== 'string' || !isSaleId(m.saleId)) return { ok: false, reason: 'bad saleId' };
  if (typeof m.visitorId !== 'string' || !VISITOR_RE.test(m.visitorId)) return { ok: false, reason: 'bad visitorId' };
  if (typeof m.quantity !== 'number' || !Number.isInteger(m.quantity) || m.quantity < 1 || m.quantity > 1000) {
    return { ok: false, reason: 'bad quantity' };
  }
  if (typeof m.createdAt !== 'number' || !Number.isFinite(m.createdAt) || m.createdAt <= 0) {
    return { ok: false, reason: 'bad createdAt' };
  }
  return {
    ok: true,
    value: {
      v: ORDER_MESSAGE_VERSION,
      orderId: m.orderId,
      saleId: m.saleId,
      visitorId: m.visitorId,
      quantity: m.quantity,
      createdAt: m.createdAt,
    },
  };
}

export function encodeOrderMessage(m: OrderMessage): string {
  return JSON.stringify(m);
}
