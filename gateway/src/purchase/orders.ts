/**
 * Every order read: an order as its owner sees it (PostgreSQL once committed, else the Redis
 * outbox), an order's status, and a sale's orders and order figures. Orders are written by
 * the purchase path (the outbox, reserve.lua) and the worker (PostgreSQL); this is where the
 * gateway reads them, so a new order state or field is read in one place.
 */
import { parseOrderMessage, type OrderStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type pg from 'pg';
import type { KeySpace } from '../redis/keyspace.js';

export interface OrderView {
  readonly orderId: string;
  readonly saleId: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  readonly createdAt: string;
  readonly confirmedAt: string | null;
}

export class Orders {
  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
  ) {}

  /** An accepted order's status: PostgreSQL's once the worker committed it, else pending. */
  async orderStatus(orderId: string): Promise<OrderStatus> {
    const stored = await this.pool.query<{ status: OrderStatus }>('SELECT status FROM orders WHERE order_id = $1', [orderId]);
    if (stored.rows[0]) return stored.rows[0].status;
    return 'pending';
  }

  /**
   * An order as its owner sees it: from PostgreSQL once committed, else from the outbox.
   * The worker commits before it clears the outbox, so PostgreSQL is asked again when both
   * missed: the order may have moved between the two reads.
   */
  async findOrder(orderId: string, visitorId: string, saleId: string | undefined): Promise<OrderView | undefined> {
    const committed = await this.#committedOrder(orderId);
    if (committed) return committed.visitorId === visitorId ? committed.view : undefined;
    if (saleId) {
      const raw = await this.redis.hget(this.keyspace.sale(saleId).pending, orderId);
      const parsed = raw ? parseOrderMessage(raw) : undefined;
      if (parsed?.ok) {
        if (parsed.value.visitorId !== visitorId) return undefined;
        return {
          orderId,
          saleId,
          quantity: parsed.value.quantity,
          status: 'pending',
          createdAt: new Date(parsed.value.createdAt).toISOString(),
          confirmedAt: null,
        };
      }
    }
    const late = await this.#committedOrder(orderId);
    return late && late.visitorId === visitorId ? late.view : undefined;
  }

  async #committedOrder(orderId: string): Promise<{ visitorId: string; view: OrderView } | undefined> {
    const { rows } = await this.pool.query<{
      order_id: string;
      sale_id: string;
      visitor_id: string;
      quantity: number;
      status: OrderStatus;
      created_at: Date;
      confirmed_at: Date | null;
    }>('SELECT order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at FROM orders WHERE order_id = $1', [orderId]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      visitorId: row.visitor_id,
      view: {
        orderId: row.order_id,
        saleId: row.sale_id,
        quantity: row.quantity,
        status: row.status,
        createdAt: row.created_at.toISOString(),
        confirmedAt: row.confirmed_at?.toISOString() ?? null,
      },
    };
  }

  /** Every order PostgreSQL holds for a sale, by visitor (for the end of a recovery). */
  async ordersByVisitor(saleId: string): Promise<{ visitorId: string; orderId: string }[]> {
    const { rows } = await this.pool.query<{ visitor_id: string; order_id: string }>(
      'SELECT visitor_id, order_id::text AS order_id FROM orders WHERE sale_id = $1',
      [saleId],
    );
    return rows.map((r) => ({ visitorId: r.visitor_id, orderId: r.order_id }));
  }

  async orderCount(saleId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE sale_id = $1', [saleId]);
    return Number(rows[0]!.n);
  }

  /** Confirmed quantity and orders from PostgreSQL, for the stats page. */
  async confirmedFigures(saleId: string): Promise<{ sold: number; confirmedOrders: number; rejectedOrders: number }> {
    const { rows } = await this.pool.query<{ sold: number; confirmed: string; rejected: string }>(
      `SELECT s.sold,
              count(*) FILTER (WHERE o.status = 'confirmed') AS confirmed,
              count(*) FILTER (WHERE o.status = 'rejected') AS rejected
         FROM sales s LEFT JOIN orders o ON o.sale_id = s.id
        WHERE s.id = $1 GROUP BY s.sold`,
      [saleId],
    );
    const r = rows[0];
    return { sold: r?.sold ?? 0, confirmedOrders: Number(r?.confirmed ?? 0), rejectedOrders: Number(r?.rejected ?? 0) };
  }
}
