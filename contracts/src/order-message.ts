/**
 * The message the gateway publishes to RabbitMQ for every accepted order, and the worker
 * consumes. The gateway also keeps it, as JSON, in the sale's `pending` hash (the outbox),
 * so the reconciler can publish exactly the same bytes again.
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

/** Parses and checks a message body; never throws. */
export function parseOrderMessage(body: Buffer | string): ParseResult<OrderMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
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
