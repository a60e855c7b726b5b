/**
 * The dispatcher: takes the shop's events out of the outbox (`shop_events`, written in the
 * transactions of the changes they report), publishes them to the events exchange, fans them
 * out to the webhook endpoints (one `webhook_deliveries` row per live endpoint that wants the
 * type; the deliverer sends them) and deletes the outbox rows, in one transaction.
 *
 * - One dispatcher at a time across every worker: a transaction-level advisory lock
 *   (`pg_try_advisory_xact_lock`), so the events of one order are fanned out in outbox order.
 *   A worker that does not get it just polls again later.
 * - At least once: the rows are deleted only in the transaction that inserted the
 *   deliveries, after RabbitMQ confirmed the messages. A crash in between publishes them
 *   again (same `messageId`) and inserts no delivery twice (`ON CONFLICT DO NOTHING`).
 * - Never holds up the order commits: its own pool, and no lock the commit path takes (the
 *   commits only insert outbox rows; the claim skips rows still being written).
 * - RabbitMQ away: the publish fails, the transaction rolls back, the outbox keeps every
 *   event. PostgreSQL away: likewise. Both are retried with backoff.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  isShopEventType,
  ORDER_EVENT_COLUMNS,
  orderEventData,
  shopEventId,
  sleep,
  withClient,
  type BackoffOptions,
  type OrderEventRow,
  type OrderEventType,
  type SaleEventData,
  type ShopEventBody,
  type ShopEventType,
} from '@velvet-rope/contracts';
import type { WorkerMetrics } from '../metrics.js';
import { GIVE_WAY_POLL_MS, type CommitPriority } from './commit-priority.js';
import type { EventPublisher } from './event-publisher.js';

/** arbitrary, fixed: the advisory lock that makes one dispatcher run at a time ("vrsd") */
export const DISPATCH_LOCK_ID = 0x76_72_73_64;

export interface DispatcherOptions {
  /** outbox rows claimed at once */
  readonly claimRows?: number;
  /** events dispatched at once at most (an order row names up to a batch's orders); at least one row */
  readonly maxEvents?: number;
  /** wait between polls of an empty outbox (ms) */
  readonly idleMs?: number;
  /** backoff while PostgreSQL or RabbitMQ fail */
  readonly backoff?: BackoffOptions;
  /** gives way to the order commits while they are saturated */
  readonly priority?: CommitPriority;
}

export type DispatchOutcome =
  /** another worker holds the dispatcher's lock */
  | { readonly kind: 'busy' }
  /** `rows` outbox rows, `events` events; `more`: the claim was full, go again at once */
  | { readonly kind: 'dispatched'; readonly rows: number; readonly events: number; readonly more: boolean };

/** One event as dispatched: what the exchange and the deliveries get. */
interface DispatchedEvent {
  readonly id: string;
  readonly type: ShopEventType;
  readonly seq: string;
  readonly pos: number;
  readonly orderingKey: string;
  readonly body: string;
}

interface OutboxRow {
  readonly seq: string;
  readonly type: string;
  readonly sale_id: string;
  readonly order_ids: string[] | null;
  readonly data: SaleEventData | null;
  readonly created_at: Date;
}

export class ShopEventDispatcher {
  private readonly claimRows: number;
  private readonly maxEvents: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly publisher: EventPublisher,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly opts: DispatcherOptions = {},
  ) {
    this.claimRows = opts.claimRows ?? 100;
    this.maxEvents = opts.maxEvents ?? 5_000;
  }

  /** Polls and dispatches until `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const turn = this.opts.priority?.next() ?? 'run';
      if (turn === 'wait') {
        await sleep(GIVE_WAY_POLL_MS, signal);
        continue;
      }
      let wait: number;
      try {
        // in a burst: the oldest outbox row only (one batch's events), the rest once it is over
        const outcome = await this.dispatchOnce(turn === 'trickle' ? 1 : this.maxEvents);
        failures = 0;
        wait = outcome.kind === 'dispatched' && outcome.more ? 0 : (this.opts.idleMs ?? 200);
      } catch (err) {
        wait = backoffDelay(failures++, this.opts.backoff ?? DEFAULT_BACKOFF);
        this.logger.warn({ err, attempt: failures, delayMs: wait }, 'dispatching shop events failed; the outbox keeps them, retrying');
      }
      if (wait > 0) await sleep(wait, signal);
    }
  }

  /** One claim: publishes, fans out and deletes up to a claim's worth of outbox rows. */
  async dispatchOnce(maxEvents = this.maxEvents): Promise<DispatchOutcome> {
    return withClient(this.pool, async (client) => {
      await client.query('BEGIN');
      try {
        const outcome = await this.dispatchIn(client, maxEvents);
        await client.query('COMMIT');
        return outcome;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async dispatchIn(client: pg.PoolClient, maxEvents: number): Promise<DispatchOutcome> {
    const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [DISPATCH_LOCK_ID]);
    if (!lock[0]?.ok) return { kind: 'busy' };

    // Claim first, reading only each row's size: an order row names a whole batch's orders, and
    // parsing the order ids of rows this round will not send cost more than sending the rest
    // (ORDER BY the bigint column, not the text alias, which sorts '10' before '2').
    const { rows: claimed } = await client.query<{ seq: string; events: number }>(
      `SELECT seq::text AS seq, coalesce(cardinality(order_ids), 1) AS events
         FROM shop_events ORDER BY shop_events.seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [this.claimRows],
    );
    if (claimed.length === 0) return { kind: 'dispatched', rows: 0, events: 0, more: false };
    // a prefix of the claim, within maxEvents (at least one row); the rest stay for the next
    const taken: string[] = [];
    let count = 0;
    for (const r of claimed) {
      if (taken.length > 0 && count + r.events > maxEvents) break;
      taken.push(r.seq);
      count += r.events;
    }
    const { rows } = await client.query<OutboxRow>(
      `SELECT seq::text AS seq, type, sale_id, order_ids::text[] AS order_ids, data, created_at
         FROM shop_events WHERE seq = ANY($1::bigint[]) ORDER BY shop_events.seq`,
      [taken],
    );

    const events = await this.expand(client, rows);
    if (events.length > 0) await this.publisher.publish(events);
    await this.fanOut(client, events);
    await client.query('DELETE FROM shop_events WHERE seq = ANY($1::bigint[])', [rows.map((r) => r.seq)]);

    const byType = new Map<ShopEventType, number>();
    for (const e of events) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
    for (const [type, n] of byType) this.metrics.shopEvents.inc({ type }, n);
    return {
      kind: 'dispatched',
      rows: rows.length,
      events: events.length,
      more: taken.length < claimed.length || claimed.length === this.claimRows,
    };
  }

  /** The outbox rows as events, in (seq, position) order: one per order of an order row. */
  private async expand(client: pg.PoolClient, rows: readonly OutboxRow[]): Promise<DispatchedEvent[]> {
    const orderIds = [...new Set(rows.flatMap((r) => r.order_ids ?? []))];
    const orders = new Map<string, OrderEventRow & { account: string | null }>();
    if (orderIds.length > 0) {
      // the shop's account behind the visitor id, when a gateway verified one (migration 0014);
      // the rows' sales prune orders to their partitions (0015), not one probe per sale ever run
      const saleIds = [...new Set(rows.filter((r) => r.order_ids).map((r) => r.sale_id))];
      const { rows: found } = await client.query<OrderEventRow & { account: string | null }>(
        `SELECT ${ORDER_EVENT_COLUMNS},
                (SELECT subject FROM shop_accounts a WHERE a.visitor_id = orders.visitor_id) AS account
           FROM orders WHERE order_id = ANY($1::uuid[]) AND sale_id = ANY($2::text[])`,
        [orderIds, saleIds],
      );
      for (const o of found) orders.set(o.order_id, o);
    }
    const events: DispatchedEvent[] = [];
    for (const row of rows) {
      if (!isShopEventType(row.type)) {
        // the table's CHECK allows only known types; a newer writer's type is dropped, said loudly
        this.logger.error({ seq: row.seq, type: row.type }, 'outbox row of an unknown event type dropped');
        continue;
      }
      const timestamp = row.created_at.toISOString();
      if (row.order_ids === null) {
        const body: ShopEventBody = { type: row.type, timestamp, data: row.data! };
        events.push({
          id: shopEventId(row.type, { saleId: row.sale_id, seq: row.seq }),
          type: row.type,
          seq: row.seq,
          pos: 0,
          orderingKey: `sale:${row.sale_id}`,
          body: JSON.stringify(body),
        });
        continue;
      }
      const type = row.type as OrderEventType;
      row.order_ids.forEach((orderId, pos) => {
        const order = orders.get(orderId);
        if (!order) {
          // orders are never deleted: a missing one is a bug, not a reason to stop the outbox
          this.logger.error({ seq: row.seq, type, orderId }, 'outbox names an order that is not stored; its event is dropped');
          return;
        }
        const body: ShopEventBody = { type, timestamp, data: { ...orderEventData(order, type), account: order.account } };
        events.push({
          id: shopEventId(type, { orderId }),
          type,
          seq: row.seq,
          pos,
          orderingKey: orderId,
          body: JSON.stringify(body),
        });
      });
    }
    return events;
  }

  /** One delivery per live endpoint that wants the type; a re-dispatch inserts nothing twice. */
  private async fanOut(client: pg.PoolClient, events: readonly DispatchedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { rows: endpoints } = await client.query<{ id: string; event_types: string[] | null }>(
      'SELECT id, event_types FROM webhooks WHERE deleted_at IS NULL',
    );
    if (endpoints.length === 0) return;
    const cols = {
      webhook: [] as string[],
      id: [] as string[],
      type: [] as string[],
      seq: [] as string[],
      pos: [] as number[],
      key: [] as string[],
      body: [] as string[],
    };
    for (const e of events) {
      for (const w of endpoints) {
        if (w.event_types !== null && !w.event_types.includes(e.type)) continue;
        cols.webhook.push(w.id);
        cols.id.push(e.id);
        cols.type.push(e.type);
        cols.seq.push(e.seq);
        cols.pos.push(e.pos);
        cols.key.push(e.orderingKey);
        cols.body.push(e.body);
      }
    }
    if (cols.id.length === 0) return;
    await client.query(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, event_seq, event_pos, ordering_key, body)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::text[], $7::text[])
       ON CONFLICT (webhook_id, event_id) DO NOTHING`,
      [cols.webhook, cols.id, cols.type, cols.seq, cols.pos, cols.key, cols.body],
    );
  }
}
