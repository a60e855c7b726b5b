/**
 * What the shop was told (promise I7), read two ways: the example shop's own record of the
 * webhooks it verified (`GET /api/events`), and Velvet Rope's delivery log in PostgreSQL
 * (`webhook_deliveries`, the `shop_events` outbox). Shared by the journey's end-to-end tests.
 */
import { expect } from 'vitest';
import { waitFor, type Stack } from './stack.js';

export interface ShopEventSeen {
  webhookId: string;
  type: string;
  data: any;
  receivedAt: string;
  duplicates: number;
}

export interface ShopFigures {
  events: ShopEventSeen[];
  badSignatures: number;
  refusedDuringOutage: number;
  duplicates: number;
}

export async function shopFigures(stack: Stack): Promise<ShopFigures> {
  const r = await stack.shopApi('GET', '/api/events');
  expect(r.status).toBe(200);
  return r.body as ShopFigures;
}

/** the events of one sale, in the order the shop received them */
export function eventsOfSale(f: ShopFigures, saleId: string): ShopEventSeen[] {
  return f.events.filter((e) => e.data?.saleId === saleId);
}

/** Waits until Velvet Rope has nothing left to deliver: the outbox empty, no delivery pending or in flight. */
export async function waitUntilAllDelivered(stack: Stack, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'every event dispatched and delivered',
    async () => {
      const { rows } = await stack.db.pool.query<{ outbox: string; due: string }>(
        `SELECT (SELECT count(*) FROM shop_events) AS outbox,
                (SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'delivering')) AS due`,
      );
      return rows[0]!.outbox === '0' && rows[0]!.due === '0';
    },
    timeoutMs,
    250,
  );
}

/**
 * Per order, the events arrived in the order they happened: `order.confirmed` before its
 * `order.paid` or `order.cancelled`, and at most one final event. Answers the problems found.
 */
export function outOfOrder(events: readonly ShopEventSeen[]): string[] {
  const seen = new Map<string, string[]>();
  for (const e of events) {
    if (!e.type.startsWith('order.')) continue;
    const id = e.data?.orderId as string;
    seen.set(id, [...(seen.get(id) ?? []), e.type]);
  }
  const problems: string[] = [];
  for (const [id, types] of seen) {
    const ok =
      (types.length === 1 && ['order.confirmed', 'order.rejected'].includes(types[0]!)) ||
      (types.length === 2 && types[0] === 'order.confirmed' && ['order.paid', 'order.cancelled'].includes(types[1]!));
    if (!ok) problems.push(`${id}: ${types.join(' → ')}`);
  }
  return problems;
}

export interface DeliveryFigures {
  deliveries: number;
  delivered: number;
  failed: number;
  /** attempts beyond the first, over all deliveries */
  retries: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Velvet Rope's delivery log for one sale's events (the `data.saleId` of the body sent). */
export async function deliveryFigures(stack: Stack, saleId: string): Promise<DeliveryFigures> {
  const { rows } = await stack.db.pool.query<{
    deliveries: string;
    delivered: string;
    failed: string;
    retries: string | null;
    p50: number | null;
    p99: number | null;
  }>(
    `SELECT count(*) AS deliveries,
            count(*) FILTER (WHERE status = 'delivered') AS delivered,
            count(*) FILTER (WHERE status = 'failed') AS failed,
            sum(greatest(attempts - 1, 0)) AS retries,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'delivered') AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'delivered') AS p99
       FROM webhook_deliveries WHERE (body::jsonb -> 'data' ->> 'saleId') = $1`,
    [saleId],
  );
  const r = rows[0]!;
  return {
    deliveries: Number(r.deliveries),
    delivered: Number(r.delivered),
    failed: Number(r.failed),
    retries: Number(r.retries ?? 0),
    p50Ms: r.p50,
    p99Ms: r.p99,
  };
}

/** The deliveries of one sale's events as Velvet Rope logged them: event id and type. */
export async function loggedEvents(stack: Stack, saleId: string): Promise<{ event_id: string; event_type: string; status: string }[]> {
  const { rows } = await stack.db.pool.query<{ event_id: string; event_type: string; status: string }>(
    `SELECT event_id, event_type, status FROM webhook_deliveries WHERE (body::jsonb -> 'data' ->> 'saleId') = $1 ORDER BY id`,
    [saleId],
  );
  return rows;
}
