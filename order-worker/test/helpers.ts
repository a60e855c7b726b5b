/** Test data for the order worker's tests: sale rows and order messages. */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { OrderMessage } from '@velvet-rope/contracts';
import { uniqueId } from '../../test-support/databases.js';

export async function insertSale(pool: pg.Pool, opts: { stock: number; sold?: number; id?: string }): Promise<string> {
  const id = opts.id ?? uniqueId('sale-');
  await pool.query(
    `INSERT INTO sales (id, name, stock, sold, starts_at, rate_per_minute, max_active, checkout_seconds,
                        max_per_shopper, queue_mode, window_seconds, fairness_seed)
     VALUES ($1, 'test sale', $2, $3, now(), 600, 100, 120, 2, 'fifo', 0, '\\x00'::bytea)`,
    [id, opts.stock, opts.sold ?? 0],
  );
  return id;
}

let clock = Date.UTC(2030, 0, 1);

/** A valid order message; each call is one millisecond later than the previous one. */
export function order(saleId: string, overrides: Partial<OrderMessage> = {}): OrderMessage {
  return {
    v: 1,
    orderId: randomUUID(),
    saleId,
    visitorId: randomBytes(12).toString('base64url'),
    quantity: 1,
    createdAt: clock++,
    ...overrides,
  };
}

export async function soldOf(pool: pg.Pool, saleId: string): Promise<number> {
  const { rows } = await pool.query<{ sold: number }>('SELECT sold FROM sales WHERE id = $1', [saleId]);
  return rows[0]!.sold;
}

export async function ordersOf(
  pool: pg.Pool,
  saleId: string,
): Promise<{ order_id: string; status: string; confirmed_at: Date | null; quantity: number }[]> {
  const { rows } = await pool.query(
    'SELECT order_id::text AS order_id, status, confirmed_at, quantity FROM orders WHERE sale_id = $1 ORDER BY created_at',
    [saleId],
  );
  return rows;
}

/**
 * Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`: a
 * bound on a wait for an event, never a claim about speed (a commit retried with backoff up to
 * 5 s behind a database that is still migrating took longer than 10 s once in CI).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
