/** Test data for the order worker's tests: sale rows and order messages. */
import { waitFor as waitUntil } from '../../test-support/waiting.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { OrderMessage } from '@velvet-rope/contracts';
import { uniqueId } from '../../test-support/databases.js';

export interface TestSale {
  readonly stock: number;
  readonly sold?: number;
  readonly id?: string;
  /** the sale hands its orders to the shop (issue 14) */
  readonly checkoutUrl?: string;
  readonly paymentSeconds?: number;
  readonly endsAt?: Date;
}

export async function insertSale(pool: pg.Pool, opts: TestSale): Promise<string> {
  const id = opts.id ?? uniqueId('sale-');
  await pool.query(
    `INSERT INTO sales (id, name, stock, sold, starts_at, rate_per_minute, max_active, checkout_seconds,
                        max_per_shopper, queue_mode, window_seconds, fairness_seed, checkout_url, payment_seconds, ends_at)
     VALUES ($1, 'test sale', $2, $3, now() - interval '1 hour', 600, 100, 120, 2, 'fifo', 0, '\\x00'::bytea, $4, $5, $6)`,
    [id, opts.stock, opts.sold ?? 0, opts.checkoutUrl ?? null, opts.paymentSeconds ?? 600, opts.endsAt ?? null],
  );
  return id;
}

/** A Standard Webhooks signing secret, as the admin API makes them. */
export function webhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Registers a webhook endpoint directly (the admin API that makes them is the gateway's). */
export async function insertWebhook(
  pool: pg.Pool,
  url: string,
  eventTypes: readonly string[] | null = null,
): Promise<{ id: string; secret: string }> {
  const id = uniqueId('wh_');
  const secret = webhookSecret();
  await pool.query('INSERT INTO webhooks (id, url, secret, event_types) VALUES ($1, $2, $3, $4)', [id, url, secret, eventTypes]);
  return { id, secret };
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
export function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return waitUntil(what, check, timeoutMs, 50);
}
