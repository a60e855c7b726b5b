/**
 * The deliverer: sends the webhook deliveries the dispatcher fanned out, retries the failed
 * ones with backoff, and gives up on them (`failed`) after bounded attempts or age.
 *
 * - Claims with `FOR UPDATE SKIP LOCKED`: due `pending` deliveries, and `delivering` ones
 *   whose lease passed (a crashed worker's claim). Any number of workers deliver at once;
 *   each claim is one worker's until its lease ends.
 * - In order per order and endpoint: a delivery is claimed only when no earlier one of the
 *   same `(webhook_id, ordering_key)` is still pending or delivering; a `failed` one does not
 *   hold back those after it.
 * - Bounded concurrency, in all and per endpoint: a slow endpoint fills its own share and
 *   gets timeouts; the other endpoints' deliveries go on.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_BACKOFF, inTransaction, sleep, type BackoffOptions } from '@velvet-rope/contracts';
import type { ShopConfig } from '../config.js';
import type { WorkerMetrics } from '../metrics.js';
import { afterFailedAttempt, type RetryPolicy } from './retry-schedule.js';
import { sendWebhook, type SendResult } from './webhook-sender.js';
import { GIVE_WAY_POLL_MS, type CommitPriority } from './commit-priority.js';

export type DelivererConfig = Pick<
  ShopConfig,
  | 'webhookTimeoutMs'
  | 'webhookRetryBaseMs'
  | 'webhookRetryMaxMs'
  | 'webhookMaxAttempts'
  | 'webhookMaxAgeSeconds'
  | 'webhookConcurrency'
  | 'webhookConcurrencyPerEndpoint'
>;

export interface DelivererOptions {
  /** wait between polls when nothing is due (ms) */
  readonly idleMs?: number;
  /** backoff while PostgreSQL fails */
  readonly backoff?: BackoffOptions;
  /** gives way to the order commits while they are saturated (claims nothing new meanwhile) */
  readonly priority?: CommitPriority;
}

interface ClaimedDelivery {
  readonly id: string;
  readonly webhook_id: string;
  readonly event_id: string;
  readonly body: string;
  readonly attempts: number;
  readonly age_ms: number;
  readonly url: string;
  readonly secret: string;
}

// The partial index on (next_attempt_at) WHERE status IN ('pending', 'delivering') serves the
// scan; the NOT EXISTS probes the (webhook_id, ordering_key, event_seq, event_pos) one.
const CLAIM_CANDIDATES = `
  SELECT d.id::text AS id, d.webhook_id, d.event_id, d.body, d.attempts,
         (extract(epoch FROM now() - d.created_at) * 1000)::bigint::int AS age_ms, w.url, w.secret
    FROM webhook_deliveries d
    JOIN webhooks w ON w.id = d.webhook_id
   WHERE d.status IN ('pending', 'delivering')
     AND ((d.status = 'pending' AND d.next_attempt_at <= now()) OR (d.status = 'delivering' AND d.lease_until <= now()))
     AND d.webhook_id <> ALL($2::text[])
     AND NOT EXISTS (
           SELECT 1 FROM webhook_deliveries e
            WHERE e.webhook_id = d.webhook_id AND e.ordering_key = d.ordering_key
              AND e.status IN ('pending', 'delivering')
              AND (e.event_seq, e.event_pos) < (d.event_seq, d.event_pos))
   ORDER BY d.next_attempt_at, d.id
   LIMIT $1
   FOR UPDATE OF d SKIP LOCKED`;

export class WebhookDeliverer {
  private readonly policy: RetryPolicy;
  /** deliveries in flight from this deliverer, per endpoint */
  private readonly inFlight = new Map<string, number>();
  private inFlightTotal = 0;
  /** wakes the run loop when a delivery ends (capacity came back) */
  private wake: (() => void) | undefined;
  private readonly running = new Set<Promise<void>>();
  private lastCounted = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly config: DelivererConfig,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly opts: DelivererOptions = {},
  ) {
    this.policy = {
      baseMs: config.webhookRetryBaseMs,
      maxMs: config.webhookRetryMaxMs,
      maxAttempts: config.webhookMaxAttempts,
      maxAgeMs: config.webhookMaxAgeSeconds * 1000,
    };
  }

  /** the lease of a claim: longer than an attempt may take, so a live claim is never taken over */
  private get leaseMs(): number {
    return this.config.webhookTimeoutMs + 30_000;
  }

  /** Delivers until `signal` aborts, then waits for the attempts in flight; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      if (this.opts.priority?.next() === 'wait') {
        await sleep(GIVE_WAY_POLL_MS, signal);
        continue;
      }
      let wait: number;
      try {
        const started = await this.startDue();
        failures = 0;
        await this.countDue();
        // more may be due at once when this claim filled the free capacity
        wait = started > 0 && this.free() > 0 ? 0 : (this.opts.idleMs ?? 200);
      } catch (err) {
        wait = backoffDelay(failures++, this.opts.backoff ?? DEFAULT_BACKOFF);
        this.logger.warn({ err, attempt: failures, delayMs: wait }, 'claiming webhook deliveries failed; retrying');
      }
      if (wait > 0) {
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        await Promise.race([sleep(wait, signal), woken]);
        this.wake = undefined;
      }
    }
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Claims what is due and delivers it, waiting for every attempt (tests: one step). Returns the attempts made. */
  async deliverDue(): Promise<number> {
    const started = await this.startDue();
    while (this.running.size > 0) await Promise.all(this.running);
    return started;
  }

  private free(): number {
    return this.config.webhookConcurrency - this.inFlightTotal;
  }

  /** Claims up to the free capacity and starts the attempts (not awaited). Returns how many. */
  private async startDue(): Promise<number> {
    const free = this.free();
    if (free <= 0) return 0;
    const perEndpoint = this.config.webhookConcurrencyPerEndpoint;
    const full = [...this.inFlight].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
    const claimed = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ClaimedDelivery>(CLAIM_CANDIDATES, [free * 2, full]);
      // within the capacity left in all and per endpoint; the others stay for the next claim
      const taken: ClaimedDelivery[] = [];
      const counts = new Map(this.inFlight);
      for (const r of rows) {
        if (taken.length >= free) break;
        const n = counts.get(r.webhook_id) ?? 0;
        if (n >= perEndpoint) continue;
        counts.set(r.webhook_id, n + 1);
        taken.push(r);
      }
      if (taken.length > 0) {
        await client.query(
          `UPDATE webhook_deliveries SET status = 'delivering', lease_until = now() + $2 * interval '1 millisecond'
            WHERE id = ANY($1::bigint[])`,
          [taken.map((r) => r.id), this.leaseMs],
        );
      }
      return taken;
    });
    for (const d of claimed) {
      this.inFlight.set(d.webhook_id, (this.inFlight.get(d.webhook_id) ?? 0) + 1);
      this.inFlightTotal++;
      const attempt: Promise<void> = this.attempt(d).finally(() => {
        this.running.delete(attempt);
        const left = (this.inFlight.get(d.webhook_id) ?? 1) - 1;
        if (left > 0) this.inFlight.set(d.webhook_id, left);
        else this.inFlight.delete(d.webhook_id);
        this.inFlightTotal--;
        this.wake?.();
      });
      this.running.add(attempt);
    }
    return claimed.length;
  }

  /** One attempt and its record; a record that cannot be written is left to the lease. */
  private async attempt(d: ClaimedDelivery): Promise<void> {
    const result = await sendWebhook({ url: d.url, secret: d.secret, eventId: d.event_id, body: d.body }, this.config.webhookTimeoutMs);
    this.metrics.webhookDeliverySeconds.observe(result.latencyMs / 1000);
    try {
      await this.record(d, result);
    } catch (err) {
      // PostgreSQL away: the claim's lease passes and the delivery is tried again (at least once)
      this.logger.warn({ err, deliveryId: d.id }, 'recording a webhook delivery attempt failed; it is tried again when its lease ends');
    }
  }

  private async record(d: ClaimedDelivery, result: SendResult): Promise<void> {
    const attempts = d.attempts + 1;
    if (result.ok) {
      await this.pool.query(
        `UPDATE webhook_deliveries
            SET status = 'delivered', attempts = $2, delivered_at = now(), last_attempt_at = now(), lease_until = NULL,
                response_status = $3, latency_ms = $4, last_error = NULL
          WHERE id = $1 AND status = 'delivering'`,
        [d.id, attempts, result.status, result.latencyMs],
      );
      this.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
      return;
    }
    const next = afterFailedAttempt(this.policy, attempts, d.age_ms);
    await this.pool.query(
      `UPDATE webhook_deliveries
          SET status = $2, attempts = $3, next_attempt_at = now() + $4 * interval '1 millisecond', last_attempt_at = now(),
              lease_until = NULL, response_status = $5, latency_ms = $6, last_error = $7
        WHERE id = $1 AND status = 'delivering'`,
      [
        d.id,
        next.kind === 'failed' ? 'failed' : 'pending',
        attempts,
        next.kind === 'retry' ? next.delayMs : 0,
        result.status,
        result.latencyMs,
        result.error,
      ],
    );
    this.metrics.webhookDeliveries.inc({ outcome: next.kind === 'failed' ? 'failed' : 'retried' });
    const log = { deliveryId: d.id, webhookId: d.webhook_id, eventId: d.event_id, attempts, error: result.error };
    if (next.kind === 'failed') this.logger.warn(log, 'webhook delivery failed for good; retry it by hand from the delivery log');
    else this.logger.info({ ...log, retryInMs: next.delayMs }, 'webhook delivery attempt failed; retrying later');
  }

  /** Sets the pending-deliveries gauge, at most once a second. */
  private async countDue(): Promise<void> {
    if (Date.now() - this.lastCounted < 1_000) return;
    this.lastCounted = Date.now();
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'");
    this.metrics.webhookDeliveriesDue.set(rows[0]?.n ?? 0);
  }
}
