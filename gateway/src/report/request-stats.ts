/**
 * Per-sale request figures for the sale report: each gateway counts its answers per sale and
 * route in memory (a count, 4xx, 5xx and a latency histogram) and writes them to PostgreSQL
 * once a second (`sale_report_requests`, one row per sale, route and second of this gateway).
 * The hot path is an increment: the (sale, route) entry and its buckets are made once per
 * second, the route's label once per process.
 *
 * It also carries the join refusals decided outside the Lua scripts (the per-address new-place
 * limit, an invalid proof of work, the in-memory rate limiter): counted here, added to the
 * sale's Redis report counters (`refused`) with the same flush.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { isSaleId, type RedisClient } from '@velvet-rope/contracts';
import type { KeySpace } from '../redis/keyspace.js';
import { bucketOf } from './log-histogram.js';

/** latency buckets (µs): bucket 255 is past 2^31.75 µs, about 40 minutes */
const LATENCY_BUCKETS = 256;
/** at most this many (sale, route) entries per second: unknown sale ids must not grow memory */
const MAX_ENTRIES_PER_SECOND = 2_000;
/** rows kept for the next flush while PostgreSQL is away, at most */
const MAX_UNWRITTEN = 50_000;

interface RouteCounts {
  requests: number;
  errors4xx: number;
  errors5xx: number;
  readonly latency: Uint32Array;
}

export interface RequestRow {
  readonly saleId: string;
  /** the second's start (ms) */
  readonly second: number;
  readonly route: string;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  /** {"<bucket>": n}, µs buckets of log-histogram.ts */
  readonly latency: Record<string, number>;
}

export class RequestStats {
  /** sale -> route label -> counts of the current second */
  #current = new Map<string, Map<string, RouteCounts>>();
  #entries = 0;
  #secondStart = Date.now();
  #lastSecond = 0;
  /** url -> method -> label ("POST /api/sales/:saleId/queue"), made once */
  readonly #labels = new Map<string, Map<string, string>>();
  #refused = new Map<string, number>();
  #unwritten: RequestRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: RedisClient,
    private readonly keyspace: KeySpace,
    private readonly gateway: string,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** onResponse: counts one answer of a shopper route of a sale. */
  observe(req: FastifyRequest, reply: FastifyReply): void {
    const url = req.routeOptions.url;
    if (url === undefined || !url.startsWith('/api/sales/:saleId')) return;
    const saleId = (req.params as { saleId?: unknown } | undefined)?.saleId;
    if (typeof saleId !== 'string') return;
    let byRoute = this.#current.get(saleId);
    if (byRoute === undefined) {
      if (this.#entries >= MAX_ENTRIES_PER_SECOND || !isSaleId(saleId)) return;
      byRoute = new Map();
      this.#current.set(saleId, byRoute);
    }
    const label = this.#label(url, req.method);
    let counts = byRoute.get(label);
    if (counts === undefined) {
      if (this.#entries >= MAX_ENTRIES_PER_SECOND) return;
      counts = { requests: 0, errors4xx: 0, errors5xx: 0, latency: new Uint32Array(LATENCY_BUCKETS) };
      byRoute.set(label, counts);
      this.#entries++;
    }
    counts.requests++;
    const status = reply.statusCode;
    if (status >= 500) counts.errors5xx++;
    else if (status >= 400) counts.errors4xx++;
    counts.latency[Math.min(LATENCY_BUCKETS - 1, bucketOf(reply.elapsedTime * 1000))]!++;
  }

  /** a join refused outside the Lua scripts (they count their own refusals) */
  refused(saleId: string): void {
    if (!isSaleId(saleId)) return;
    if (!this.#refused.has(saleId) && this.#refused.size >= MAX_ENTRIES_PER_SECOND) return;
    this.#refused.set(saleId, (this.#refused.get(saleId) ?? 0) + 1);
  }

  #label(url: string, method: string): string {
    let byMethod = this.#labels.get(url);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#labels.set(url, byMethod);
    }
    let label = byMethod.get(method);
    if (label === undefined) {
      label = `${method} ${url}`;
      byMethod.set(method, label);
    }
    return label;
  }

  /** Flushes at every second's boundary until stop(). */
  start(): void {
    const next = () => {
      this.#timer = setTimeout(
        () => {
          this.#flushing = this.flush().finally(next);
        },
        1000 - (Date.now() % 1000),
      );
      this.#timer.unref();
    };
    next();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    await this.flush();
  }

  /** The rows of the second that just ended (and those a failed write left over). */
  takeRows(now = Date.now()): RequestRow[] {
    // strictly increasing: a row is keyed by its second (a flush at close may share a second)
    const second = Math.max(Math.floor(this.#secondStart / 1000) * 1000, this.#lastSecond + 1000);
    this.#lastSecond = second;
    const rows: RequestRow[] = this.#unwritten;
    for (const [saleId, byRoute] of this.#current) {
      for (const [route, c] of byRoute) {
        const latency: Record<string, number> = {};
        c.latency.forEach((n, b) => {
          if (n > 0) latency[b] = n;
        });
        rows.push({ saleId, second, route, requests: c.requests, errors4xx: c.errors4xx, errors5xx: c.errors5xx, latency });
      }
    }
    this.#current = new Map();
    this.#entries = 0;
    this.#secondStart = now;
    this.#unwritten = [];
    return rows;
  }

  /** Writes what was counted since the last flush; never throws. */
  async flush(): Promise<void> {
    const rows = this.takeRows();
    const refused = this.#refused;
    this.#refused = new Map();
    if (refused.size > 0) {
      try {
        await Promise.all([...refused].map(([saleId, n]) => this.redis.hincrby(this.keyspace.sale(saleId).report, 'refused', n)));
      } catch (err) {
        this.logger.warn({ err }, 'report: refusals not counted in Redis');
      }
    }
    if (rows.length === 0) return;
    try {
      // rows of sales that do not exist are dropped by the join
      await this.pool.query(
        `INSERT INTO sale_report_requests (sale_id, gateway, second, route, requests, errors_4xx, errors_5xx, latency)
         SELECT r.sale_id, $1, to_timestamp(r.second / 1000.0), r.route, r.requests, r.e4, r.e5, r.latency
           FROM unnest($2::text[], $3::float8[], $4::text[], $5::int[], $6::int[], $7::int[], $8::jsonb[])
                AS r (sale_id, second, route, requests, e4, e5, latency)
           JOIN sales s ON s.id = r.sale_id
         ON CONFLICT DO NOTHING`,
        [
          this.gateway,
          rows.map((r) => r.saleId),
          rows.map((r) => r.second),
          rows.map((r) => r.route),
          rows.map((r) => r.requests),
          rows.map((r) => r.errors4xx),
          rows.map((r) => r.errors5xx),
          rows.map((r) => JSON.stringify(r.latency)),
        ],
      );
    } catch (err) {
      this.#unwritten = [...rows.slice(-MAX_UNWRITTEN), ...this.#unwritten];
      this.logger.warn({ err, rows: rows.length }, 'report: request figures not written to PostgreSQL yet; retried next second');
    }
  }
}
