/**
 * Every order read: an order as its owner sees it (PostgreSQL once committed, else the Redis
 * outbox), an order's status, and a sale's orders and order figures. Orders are written by
 * the purchase path (the outbox, reserve.lua) and the worker (PostgreSQL); this is where the
 * gateway reads them, so a new order state or field is read in one place.
 *
 * What a shopper or marketer only looks at (an order, an account's orders, a sale's figures)
 * may come from a read replica (`reads`, postgres/read-pool.ts); what the purchase path and
 * the shop's settlement decide on (an order's status, the shop's look-up) reads the primary.
 */
import { ORDER_SALE, parseOrderMessage, type CancelReason, type OrderStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type pg from 'pg';
import { readsOf, type BehindReads } from '../postgres/read-pool.js';
import type { KeySpace } from '../redis/keyspace.js';
import type { Checkout, OrderTokens } from '../tokens/order-token.js';

/** An order as its owner (and the shop) sees it: contracts' `OrderEventData`, `pending` included. */
export interface OrderView {
  readonly orderId: string;
  readonly saleId: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  readonly createdAt: string;
  readonly confirmedAt: string | null;
  readonly paymentDueAt: string | null;
  readonly paidAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancelReason: CancelReason | null;
}

/** An order read with whose it is and where its sale hands it to (the checkout link is built from these). */
export interface OrderRead {
  readonly view: OrderView;
  /** the shopper (visitor id) */
  readonly visitorId: string;
  /** the shop's account behind the visitor id (`sub` of its identity; accounts/shop-accounts.ts), null for an anonymous shopper */
  readonly account: string | null;
  /** its sale's checkout URL now (null: the sale hands nothing to a shop) */
  readonly checkoutUrl: string | null;
}

/** What the shop API reads: a committed order, or an order still pending in a sale that hands off. */
export type ShopOrderRead =
  | { readonly found: 'committed'; readonly order: OrderRead; readonly handsOff: boolean }
  | { readonly found: 'pending' }
  | { readonly found: 'none' };

interface OrderRow {
  readonly order_id: string;
  readonly sale_id: string;
  readonly visitor_id: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  readonly created_at: Date;
  readonly confirmed_at: Date | null;
  readonly payment_due_at: Date | null;
  readonly paid_at: Date | null;
  readonly cancelled_at: Date | null;
  readonly cancel_reason: CancelReason | null;
  readonly checkout_url: string | null;
  readonly account: string | null;
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/**
 * An order as `GET /api/orders/:id` answers it: the view, and the hand-off to the shop's
 * checkout (the link and the order token) while it is confirmed, has a payment window, and its
 * sale has a checkout URL.
 */
export async function orderAnswer(read: OrderRead, tokens: OrderTokens): Promise<OrderView & { checkout?: Checkout }> {
  const { view, checkoutUrl, visitorId, account } = read;
  if (view.status !== 'confirmed' || checkoutUrl === null || view.paymentDueAt === null || view.confirmedAt === null) return view;
  const checkout = await tokens.checkout(checkoutUrl, {
    orderId: view.orderId,
    saleId: view.saleId,
    visitorId,
    account,
    quantity: view.quantity,
    confirmedAt: Date.parse(view.confirmedAt),
    paymentDueAt: Date.parse(view.paymentDueAt),
  });
  return { ...view, checkout };
}

const SELECT_ORDER = `SELECT o.order_id::text AS order_id, o.sale_id, o.visitor_id, o.quantity, o.status, o.created_at, o.confirmed_at,
         o.payment_due_at, o.paid_at, o.cancelled_at, o.cancel_reason, s.checkout_url, a.subject AS account
    FROM orders o JOIN sales s ON s.id = o.sale_id LEFT JOIN shop_accounts a ON a.visitor_id = o.visitor_id
   WHERE o.order_id = $1 AND o.sale_id = ${ORDER_SALE}`;

const SELECT_ORDERS_OF_VISITOR = `SELECT o.order_id::text AS order_id, o.sale_id, o.visitor_id, o.quantity, o.status, o.created_at,
         o.confirmed_at, o.payment_due_at, o.paid_at, o.cancelled_at, o.cancel_reason, s.checkout_url, s.name AS sale_name,
         a.subject AS account
    FROM orders o JOIN sales s ON s.id = o.sale_id LEFT JOIN shop_accounts a ON a.visitor_id = o.visitor_id
   WHERE o.visitor_id = $1 ORDER BY o.created_at DESC LIMIT $2`;

function readOf(row: OrderRow): OrderRead {
  return {
    visitorId: row.visitor_id,
    account: row.account,
    checkoutUrl: row.checkout_url,
    view: {
      orderId: row.order_id,
      saleId: row.sale_id,
      quantity: row.quantity,
      status: row.status,
      createdAt: row.created_at.toISOString(),
      confirmedAt: iso(row.confirmed_at),
      paymentDueAt: iso(row.payment_due_at),
      paidAt: iso(row.paid_at),
      cancelledAt: iso(row.cancelled_at),
      cancelReason: row.cancel_reason,
    },
  };
}

export class Orders {
  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    /** the reads that may be a little behind: a replica's, or the primary's */
    private readonly reads: BehindReads = readsOf(pool),
  ) {}

  /** An accepted order's status: PostgreSQL's once the worker committed it, else pending. */
  async orderStatus(orderId: string): Promise<OrderStatus> {
    const stored = await this.pool.query<{ status: OrderStatus }>(
      `SELECT status FROM orders WHERE order_id = $1 AND sale_id = ${ORDER_SALE}`,
      [orderId],
    );
    if (stored.rows[0]) return stored.rows[0].status;
    return 'pending';
  }

  /**
   * An order as its owner sees it: from PostgreSQL once committed, else from the outbox.
   * The worker commits before it clears the outbox, so PostgreSQL (the primary) is asked
   * again when both missed: the order may have moved between the two reads. Its state may
   * be a replica's, a little behind (confirmed where the primary already says paid); a
   * "not found" is always the primary's.
   */
  async findOrder(orderId: string, visitorId: string, saleId: string | undefined): Promise<OrderRead | undefined> {
    // a replica that has not replayed the commit yet is not believed: the primary is asked
    const { rows } = await this.reads.queryFound<OrderRow>(SELECT_ORDER, [orderId]);
    const committed = rows[0] ? readOf(rows[0]) : undefined;
    if (committed) return committed.visitorId === visitorId ? committed : undefined;
    if (saleId) {
      const raw = await this.redis.hget(this.keyspace.sale(saleId).pending, orderId);
      const parsed = raw ? parseOrderMessage(raw) : undefined;
      if (parsed?.ok) {
        if (parsed.value.visitorId !== visitorId) return undefined;
        return {
          visitorId,
          account: null,
          checkoutUrl: null,
          view: {
            orderId,
            saleId,
            quantity: parsed.value.quantity,
            status: 'pending',
            createdAt: new Date(parsed.value.createdAt).toISOString(),
            confirmedAt: null,
            paymentDueAt: null,
            paidAt: null,
            cancelledAt: null,
            cancelReason: null,
          },
        };
      }
    }
    const late = await this.committedOrder(orderId);
    return late && late.visitorId === visitorId ? late : undefined;
  }

  /** A committed order (PostgreSQL), whoever's it is. */
  async committedOrder(orderId: string): Promise<OrderRead | undefined> {
    const { rows } = await this.pool.query<OrderRow>(SELECT_ORDER, [orderId]);
    return rows[0] ? readOf(rows[0]) : undefined;
  }

  /**
   * A visitor's committed orders across sales, newest first (a shop account's: `GET
   * /api/me/orders`), each with its sale's name; from a replica, so an order committed a
   * moment ago may be missing from the list until the replica replays it.
   */
  async ordersOf(visitorId: string, limit = 100): Promise<(OrderRead & { readonly saleName: string })[]> {
    const { rows } = await this.reads.query<OrderRow & { sale_name: string }>(SELECT_ORDERS_OF_VISITOR, [visitorId, limit]);
    return rows.map((row) => ({ ...readOf(row), saleName: row.sale_name }));
  }

  /**
   * An order for the shop API, which knows only its id: committed (with whether it is the
   * shop's to settle: it was given a payment window, or its sale hands off now), else still in
   * the outbox of a running sale that hands off (`pending`: the worker has not committed it
   * yet; one HEXISTS per such sale), else none.
   */
  async findForShop(orderId: string): Promise<ShopOrderRead> {
    const committed = await this.committedOrder(orderId);
    if (committed) {
      return { found: 'committed', order: committed, handsOff: committed.view.paymentDueAt !== null || committed.checkoutUrl !== null };
    }
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM sales WHERE checkout_url IS NOT NULL AND (ends_at IS NULL OR ends_at > now() - interval '1 day')",
    );
    const held = await Promise.all(rows.map((r) => this.redis.hexists(this.keyspace.sale(r.id).pending, orderId)));
    if (held.some((n) => n === 1)) {
      // committed between the two reads?
      const late = await this.committedOrder(orderId);
      if (late) return { found: 'committed', order: late, handsOff: true };
      return { found: 'pending' };
    }
    return { found: 'none' };
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

  /**
   * Committed figures from PostgreSQL (a replica, when there is one), for the stats page:
   * units sold (confirmed or paid) and paid, units of cancelled orders (back on sale), and
   * orders confirmed (awaiting payment, or paid: every order that reached the shop) and
   * rejected.
   */
  async confirmedFigures(
    saleId: string,
  ): Promise<{ sold: number; paid: number; returned: number; confirmedOrders: number; rejectedOrders: number }> {
    const { rows } = await this.reads.query<{ sold: number; paid: number; confirmed: string; rejected: string; returned: string }>(
      `SELECT s.sold, s.paid,
              count(*) FILTER (WHERE o.status IN ('confirmed', 'paid')) AS confirmed,
              count(*) FILTER (WHERE o.status = 'rejected') AS rejected,
              coalesce(sum(o.quantity) FILTER (WHERE o.status = 'cancelled'), 0) AS returned
         FROM sales s LEFT JOIN orders o ON o.sale_id = s.id
        WHERE s.id = $1 GROUP BY s.sold, s.paid`,
      [saleId],
    );
    const r = rows[0];
    return {
      sold: r?.sold ?? 0,
      paid: r?.paid ?? 0,
      returned: Number(r?.returned ?? 0),
      confirmedOrders: Number(r?.confirmed ?? 0),
      rejectedOrders: Number(r?.rejected ?? 0),
    };
  }
}
