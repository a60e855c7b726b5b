/**
 * What PostgreSQL, the source of truth, says about a sale once its orders are committed:
 * stock and sold, orders by status, visitors with more than one order, and which of a list of
 * accepted order ids it does not hold as confirmed.
 */
import pg from 'pg';

export interface SaleLedger {
  readonly stock: number;
  readonly sold: number;
  readonly confirmedOrders: number;
  readonly confirmedQuantity: number;
  readonly rejectedOrders: number;
  readonly visitorsWithSeveralOrders: number;
  /** confirmed order ids */
  readonly confirmed: ReadonlySet<string>;
}

export async function readSaleLedger(pool: pg.Pool, saleId: string): Promise<SaleLedger> {
  const sale = await pool.query<{ stock: number; sold: number }>('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
  if (!sale.rows[0]) throw new Error(`sale ${saleId} is not in PostgreSQL`);
  const byStatus = await pool.query<{ status: string; n: string; qty: string }>(
    'SELECT status, count(*) AS n, coalesce(sum(quantity), 0) AS qty FROM orders WHERE sale_id = $1 GROUP BY status',
    [saleId],
  );
  const several = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM (SELECT visitor_id FROM orders WHERE sale_id = $1 GROUP BY visitor_id HAVING count(*) > 1) v',
    [saleId],
  );
  const ids = await pool.query<{ order_id: string }>(
    "SELECT order_id::text AS order_id FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
    [saleId],
  );
  const row = (status: string) => byStatus.rows.find((r) => r.status === status);
  return {
    stock: sale.rows[0].stock,
    sold: sale.rows[0].sold,
    confirmedOrders: Number(row('confirmed')?.n ?? 0),
    confirmedQuantity: Number(row('confirmed')?.qty ?? 0),
    rejectedOrders: Number(row('rejected')?.n ?? 0),
    visitorsWithSeveralOrders: Number(several.rows[0]?.n ?? 0),
    confirmed: new Set(ids.rows.map((r) => r.order_id)),
  };
}

/** Polls until PostgreSQL holds at least `expected` orders for the sale, or `timeoutMs` passed. */
export async function waitForOrders(pool: pg.Pool, saleId: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let stored: number;
  for (;;) {
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE sale_id = $1', [saleId]);
    stored = Number(rows[0]!.n);
    if (stored >= expected || Date.now() >= deadline) return stored;
    await new Promise((r) => setTimeout(r, 200));
  }
}
