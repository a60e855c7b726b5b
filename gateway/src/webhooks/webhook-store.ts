/**
 * The shop's webhook endpoints and their delivery log in PostgreSQL (migration 0006's
 * `webhooks` and `webhook_deliveries`): what the admin API lists, adds, removes and retries,
 * and the endpoint WEBHOOK_URL registers at boot. The dispatcher that fills the log and the
 * deliverer that sends it are the worker's; this module only reads the log and puts a
 * delivery back in line.
 */
import { inTransaction, SHOP_EVENT_TYPES, type ShopEventType } from '@velvet-rope/contracts';
import type pg from 'pg';
import { newWebhookId, newWebhookSecret } from './webhook-input.js';

export interface Webhook {
  readonly id: string;
  readonly url: string;
  /** the event types it receives (every type when it was registered without a list) */
  readonly events: ShopEventType[];
  readonly source: 'api' | 'config';
  readonly createdAt: string;
}

export interface WebhookDelivery {
  readonly id: number;
  readonly eventId: string;
  readonly eventType: ShopEventType;
  readonly status: 'pending' | 'delivering' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly responseStatus: number | null;
  readonly lastError: string | null;
  readonly latencyMs: number | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  readonly nextAttemptAt: string | null;
}

export type RetryOutcome =
  | { readonly outcome: 'retried'; readonly delivery: WebhookDelivery }
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'not_retryable'; readonly status: WebhookDelivery['status'] };

interface WebhookRow {
  readonly id: string;
  readonly url: string;
  readonly event_types: ShopEventType[] | null;
  readonly secret: string;
  readonly source: 'api' | 'config';
  readonly created_at: Date;
}

interface DeliveryRow {
  readonly id: string;
  readonly event_id: string;
  readonly event_type: ShopEventType;
  readonly status: WebhookDelivery['status'];
  readonly attempts: number;
  readonly response_status: number | null;
  readonly last_error: string | null;
  readonly latency_ms: number | null;
  readonly created_at: Date;
  readonly delivered_at: Date | null;
  readonly next_attempt_at: Date;
}

const WEBHOOK_COLUMNS = 'id, url, event_types, secret, source, created_at';
const DELIVERY_COLUMNS =
  'id, event_id, event_type, status, attempts, response_status, last_error, latency_ms, created_at, delivered_at, next_attempt_at';
/** serialises boot-time registrations of WEBHOOK_URL across gateways starting together */
const CONFIG_LOCK_ID = 0x76_72_77_68; // "vrwh"

function webhookOf(r: WebhookRow): Webhook {
  return { id: r.id, url: r.url, events: r.event_types ?? [...SHOP_EVENT_TYPES], source: r.source, createdAt: r.created_at.toISOString() };
}

function deliveryOf(r: DeliveryRow): WebhookDelivery {
  const settled = r.status === 'delivered' || r.status === 'failed';
  return {
    id: Number(r.id),
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    responseStatus: r.response_status,
    lastError: r.last_error,
    latencyMs: r.latency_ms,
    createdAt: r.created_at.toISOString(),
    deliveredAt: r.delivered_at?.toISOString() ?? null,
    nextAttemptAt: settled ? null : r.next_attempt_at.toISOString(),
  };
}

export class WebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  /** A new endpoint; its secret is returned here and never again. */
  async create(url: string, events: readonly ShopEventType[] | undefined): Promise<Webhook & { secret: string }> {
    const { rows } = await this.pool.query<WebhookRow>(
      `INSERT INTO webhooks (id, url, event_types, secret) VALUES ($1, $2, $3, $4) RETURNING ${WEBHOOK_COLUMNS}`,
      [newWebhookId(), url, events ?? null, newWebhookSecret()],
    );
    const row = rows[0]!;
    return { ...webhookOf(row), secret: row.secret };
  }

  /** The endpoints in service, oldest first, without their secrets. */
  async list(): Promise<Webhook[]> {
    const { rows } = await this.pool.query<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at, id`,
    );
    return rows.map(webhookOf);
  }

  /** Whether an endpoint exists (`live`: and is still in service). */
  async exists(id: string, live: boolean): Promise<boolean> {
    const { rows } = await this.pool.query(`SELECT 1 FROM webhooks WHERE id = $1 ${live ? 'AND deleted_at IS NULL' : ''}`, [id]);
    return rows.length > 0;
  }

  /** Takes an endpoint out of service (its log stays readable); false when unknown or gone already. */
  async remove(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [id]);
    return (rowCount ?? 0) > 0;
  }

  /** An endpoint's delivery log, newest first. */
  async deliveries(webhookId: string, limit: number): Promise<WebhookDelivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`,
      [webhookId, limit],
    );
    return rows.map(deliveryOf);
  }

  /**
   * A failed (or pending) delivery back in line now, its attempts kept; a delivered one, or one
   * being delivered at this moment, is not retried.
   */
  async retry(webhookId: string, deliveryId: string): Promise<RetryOutcome> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL
        WHERE id = $1 AND webhook_id = $2 AND status IN ('failed', 'pending')
        RETURNING ${DELIVERY_COLUMNS}`,
      [deliveryId, webhookId],
    );
    if (rows[0]) return { outcome: 'retried', delivery: deliveryOf(rows[0]) };
    const found = await this.pool.query<{ status: WebhookDelivery['status'] }>(
      'SELECT status FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2',
      [deliveryId, webhookId],
    );
    const status = found.rows[0]?.status;
    return status === undefined ? { outcome: 'not_found' } : { outcome: 'not_retryable', status };
  }

  /**
   * The endpoint of WEBHOOK_URL + WEBHOOK_SECRET (source 'config'): kept when it is the same,
   * replaced (the old one taken out of service, its log kept) when the URL or secret changed.
   * Returns its id and whether it was (re)registered now.
   */
  async registerConfigured(url: string, secret: string): Promise<{ id: string; registered: boolean }> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_LOCK_ID]);
      const { rows } = await client.query<WebhookRow>(
        `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE source = 'config' AND deleted_at IS NULL FOR UPDATE`,
      );
      const current = rows[0];
      if (current && current.url === url && current.secret === secret) return { id: current.id, registered: false };
      if (current) await client.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1', [current.id]);
      const id = newWebhookId();
      await client.query(`INSERT INTO webhooks (id, url, event_types, secret, source) VALUES ($1, $2, NULL, $3, 'config')`, [
        id,
        url,
        secret,
      ]);
      return { id, registered: true };
    });
  }
}
