/**
 * Sales: PostgreSQL holds each sale's configuration (the source of truth); Redis holds a hot
 * copy in the sale's `config` hash that every gateway and every Lua script reads, so a
 * marketer's change is effective at the next tick on every gateway.
 */
import { randomBytes } from 'node:crypto';
import { withClient, type SaleStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { AppError } from '../errors.js';
import type { KeySpace } from '../redis/keyspace.js';
import type { QueueMode } from '../queue/fairness-score.js';

export interface SaleConfig {
  readonly id: string;
  readonly name: string;
  readonly stock: number;
  readonly startsAt: number;
  readonly prequeueOpensAt: number | null;
  readonly endsAt: number | null;
  readonly ratePerMinute: number;
  readonly maxActive: number;
  readonly checkoutSeconds: number;
  readonly maxPerShopper: number;
  readonly queueMode: QueueMode;
  readonly windowSeconds: number;
  readonly paused: boolean;
  /** leading zero bits a join's proof of work must have; 0: none asked */
  readonly powDifficulty: number;
  /** closed loop: the rate follows downstream health between minRatePerMinute and ratePerMinute */
  readonly adaptiveRate: boolean;
  readonly minRatePerMinute: number;
}

export interface SaleRecord extends SaleConfig {
  readonly sold: number;
  readonly seed: Buffer;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** counts the committed changes of the configuration: orders the Redis hot copy's writes */
  readonly configVersion: number;
}

/** one admission as the admission loop made it */
export interface RecordedAdmission {
  readonly visitorId: string;
  readonly sequence: number;
  readonly jti: string;
  readonly expiresAt: number;
}

/** what PostgreSQL knows of a visitor (see SaleStore.knownOf) */
export interface KnownVisitor {
  readonly orderId: string | undefined;
  readonly admission: Omit<RecordedAdmission, 'visitorId'> | undefined;
}

export type SaleChanges = Partial<Omit<SaleConfig, 'id'>>;

export interface LiveSale extends SaleConfig {
  readonly status: SaleStatus;
  readonly now: number;
  readonly waiting: number;
  readonly admitted: number;
  readonly remaining: number;
  readonly pending: number;
  readonly admittedTotal: number;
  /** the rate in force: the marketer's, or the closed loop's when it is on */
  readonly effectiveRatePerMinute: number;
}

interface SaleRow {
  id: string;
  name: string;
  stock: number;
  sold: number;
  starts_at: Date;
  prequeue_opens_at: Date | null;
  ends_at: Date | null;
  rate_per_minute: number;
  max_active: number;
  checkout_seconds: number;
  max_per_shopper: number;
  queue_mode: QueueMode;
  window_seconds: number;
  paused: boolean;
  pow_difficulty: number;
  adaptive_rate: boolean;
  min_rate_per_minute: number;
  fairness_seed: Buffer;
  created_at: Date;
  updated_at: Date;
  config_version: string;
}

const COLUMNS: Record<Exclude<keyof SaleConfig, 'id'>, string> = {
  name: 'name',
  stock: 'stock',
  startsAt: 'starts_at',
  prequeueOpensAt: 'prequeue_opens_at',
  endsAt: 'ends_at',
  ratePerMinute: 'rate_per_minute',
  maxActive: 'max_active',
  checkoutSeconds: 'checkout_seconds',
  maxPerShopper: 'max_per_shopper',
  queueMode: 'queue_mode',
  windowSeconds: 'window_seconds',
  paused: 'paused',
  powDifficulty: 'pow_difficulty',
  adaptiveRate: 'adaptive_rate',
  minRatePerMinute: 'min_rate_per_minute',
};
const TIME_FIELDS = new Set(['startsAt', 'prequeueOpensAt', 'endsAt']);

function fromRow(r: SaleRow): SaleRecord {
  return {
    id: r.id,
    name: r.name,
    stock: r.stock,
    sold: r.sold,
    startsAt: r.starts_at.getTime(),
    prequeueOpensAt: r.prequeue_opens_at?.getTime() ?? null,
    endsAt: r.ends_at?.getTime() ?? null,
    ratePerMinute: r.rate_per_minute,
    maxActive: r.max_active,
    checkoutSeconds: r.checkout_seconds,
    maxPerShopper: r.max_per_shopper,
    queueMode: r.queue_mode,
    windowSeconds: r.window_seconds,
    paused: r.paused,
    powDifficulty: r.pow_difficulty,
    adaptiveRate: r.adaptive_rate,
    minRatePerMinute: r.min_rate_per_minute,
    seed: r.fairness_seed,
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    configVersion: Number(r.config_version),
  };
}

/** The Redis config hash of a sale: everything the Lua scripts read. */
export function configHash(s: SaleConfig & { seed: Buffer }): Record<string, string> {
  return {
    name: s.name,
    stock: String(s.stock),
    startsAt: String(s.startsAt),
    prequeueOpensAt: s.prequeueOpensAt === null ? '' : String(s.prequeueOpensAt),
    endsAt: s.endsAt === null ? '' : String(s.endsAt),
    rate: String(s.ratePerMinute),
    maxActive: String(s.maxActive),
    checkoutMs: String(s.checkoutSeconds * 1000),
    maxPerShopper: String(s.maxPerShopper),
    mode: s.queueMode,
    windowMs: String(s.windowSeconds * 1000),
    paused: s.paused ? '1' : '0',
    powDifficulty: String(s.powDifficulty),
    adaptive: s.adaptiveRate ? '1' : '0',
    minRate: String(s.minRatePerMinute),
    seed: s.seed.toString('hex'),
  };
}

function fromConfigHash(id: string, h: Record<string, string>): SaleConfig {
  const optTime = (v: string | undefined) => (v ? Number(v) : null);
  return {
    id,
    name: h.name ?? id,
    stock: Number(h.stock),
    startsAt: Number(h.startsAt),
    prequeueOpensAt: optTime(h.prequeueOpensAt),
    endsAt: optTime(h.endsAt),
    ratePerMinute: Number(h.rate),
    maxActive: Number(h.maxActive),
    checkoutSeconds: Number(h.checkoutMs) / 1000,
    maxPerShopper: Number(h.maxPerShopper),
    queueMode: h.mode as QueueMode,
    windowSeconds: Number(h.windowMs) / 1000,
    paused: h.paused === '1',
    powDifficulty: Number(h.powDifficulty ?? 0),
    adaptiveRate: h.adaptive === '1',
    minRatePerMinute: Number(h.minRate ?? 0),
  };
}

/** Cross-field rules a schema cannot express; throws INVALID_SALE_CONFIG. */
export function checkSaleConfig(s: SaleConfig): void {
  if (s.endsAt !== null && s.endsAt <= s.startsAt) {
    throw new AppError('INVALID_SALE_CONFIG', 'endsAt must be after startsAt');
  }
  if (s.prequeueOpensAt !== null && s.prequeueOpensAt > s.startsAt) {
    throw new AppError('INVALID_SALE_CONFIG', 'prequeueOpensAt must not be after startsAt');
  }
}

/**
 * The columns a change writes, after checking it against the sale as it is: the merged sale
 * obeys the same rules as a new one; the fairness rules bind once the sale has started; and
 * once it has ended (its seed is public) its end cannot move, so it can never reopen.
 * Throws INVALID_SALE_CONFIG, SALE_STARTED or SALE_ENDED.
 */
export function checkChanges(before: SaleRecord, given: SaleChanges, now: number): [keyof typeof COLUMNS, unknown][] {
  const entries = (Object.entries(given) as [keyof typeof COLUMNS, unknown][]).filter(([, v]) => v !== undefined);
  const after: SaleConfig = { ...before, ...(Object.fromEntries(entries) as SaleChanges) };
  checkSaleConfig(after);
  if (now >= before.startsAt) {
    for (const f of ['queueMode', 'windowSeconds', 'startsAt', 'prequeueOpensAt'] as const) {
      if (after[f] !== before[f]) throw new AppError('SALE_STARTED', `${f} cannot change once the sale has started`);
    }
  }
  if (before.endsAt !== null && now >= before.endsAt && after.endsAt !== before.endsAt) {
    throw new AppError('SALE_ENDED', 'the sale has ended and its fairness seed is public: endsAt cannot change');
  }
  return entries;
}

export class SaleStore {
  /** seeds never change, so a gateway keeps them once read */
  readonly #seeds = new Map<string, Buffer>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly log?: FastifyBaseLogger,
  ) {}

  async create(config: SaleConfig): Promise<SaleRecord> {
    checkSaleConfig(config);
    const seed = randomBytes(32);
    let row: SaleRow;
    try {
      const res = await this.pool.query<SaleRow>(
        `INSERT INTO sales (id, name, stock, starts_at, prequeue_opens_at, ends_at, rate_per_minute, max_active,
           checkout_seconds, max_per_shopper, queue_mode, window_seconds, paused, fairness_seed, pow_difficulty,
           adaptive_rate, min_rate_per_minute)
         VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), to_timestamp($5 / 1000.0), to_timestamp($6 / 1000.0), $7, $8,
           $9, $10, $11, $12, $13, $14, $15, $16, $17)
         RETURNING *`,
        [
          config.id,
          config.name,
          config.stock,
          config.startsAt,
          config.prequeueOpensAt,
          config.endsAt,
          config.ratePerMinute,
          config.maxActive,
          config.checkoutSeconds,
          config.maxPerShopper,
          config.queueMode,
          config.windowSeconds,
          config.paused,
          seed,
          config.powDifficulty,
          config.adaptiveRate,
          config.minRatePerMinute,
        ],
      );
      row = res.rows[0]!;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new AppError('SALE_EXISTS', `sale ${config.id} exists already`);
      throw err;
    }
    const sale = fromRow(row);
    await this.publish(sale);
    return sale;
  }

  /**
   * Writes a sale's hot copy to Redis; the remaining stock only when Redis has none.
   * `recovering`: Redis lost its data, so orders accepted before the loss may still be in
   * flight; admission stays paused until the recovery finishes (recovery.ts).
   */
  async publish(sale: SaleRecord, recovering = false): Promise<void> {
    const keys = this.keyspace.sale(sale.id);
    await this.redis
      .multi()
      // over an older version only: a change committed since this row was read stays
      .writeConfig(keys.config, sale.configVersion, ...Object.entries({ ...configHash(sale), ...(recovering ? { recovering: '1' } : {}) }).flat())
      .set(keys.stock, String(sale.stock - sale.sold), 'NX')
      // FIFO scores count up from the time (in µs-sized steps): a Redis that lost the counter
      // restarts it above every score issued before, so restored tickets stay ahead of new
      // arrivals (exact in a double until the year 2255)
      .set(keys.seq, String(Date.now() * 1000), 'NX')
      .exec();
    // the active-sales set is not in the sale's hash slot: its own command
    await this.redis.sadd(this.keyspace.activeSales, sale.id);
    this.#seeds.set(sale.id, sale.seed);
  }

  async get(saleId: string): Promise<SaleRecord | undefined> {
    const { rows } = await this.pool.query<SaleRow>('SELECT * FROM sales WHERE id = $1', [saleId]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async list(): Promise<SaleRecord[]> {
    const { rows } = await this.pool.query<SaleRow>('SELECT * FROM sales ORDER BY starts_at DESC, id');
    return rows.map(fromRow);
  }

  /**
   * Changes a sale. Everything is decided on the sale's row locked in PostgreSQL (`FOR NO KEY
   * UPDATE`: the worker's order inserts, which lock the row for its key, are not held up), so
   * two changes at once, through one gateway or two, are applied one after the other, each to
   * what the other committed (issue 12 item 4):
   * - the stock's delta comes from the locked row, and moves Redis's reservable units so that
   *   Redis never offers a unit PostgreSQL does not have: a lowering is taken out of Redis
   *   before the COMMIT (refused there when those units are reserved already) and given back
   *   if the COMMIT is refused; a raise is added after the COMMIT. A fault between the two
   *   steps leaves Redis short (units unsold, logged), never long (orders later rejected).
   * - the hot copy is written with the row's `config_version`, over older versions only.
   * Keys absent from `changes` (or undefined) keep their value; the merged sale is checked
   * as a new one is (issue 12 item 7), and an ended sale's end cannot move (its seed is public).
   */
  async update(saleId: string, changes: SaleChanges): Promise<SaleRecord> {
    const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as SaleChanges;
    const keys = this.keyspace.sale(saleId);
    /** units taken out of Redis before the COMMIT, given back when it is refused */
    let lowered = 0;
    let committing = false;
    let result: { sale: SaleRecord; raise: number; changed: boolean };
    try {
      result = await withClient(this.pool, async (client) => {
        await client.query('BEGIN');
        try {
          const locked = await client.query<SaleRow>('SELECT * FROM sales WHERE id = $1 FOR NO KEY UPDATE', [saleId]);
          if (!locked.rows[0]) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
          const before = fromRow(locked.rows[0]);
          const entries = checkChanges(before, given, Date.now());
          if (entries.length === 0) {
            await client.query('ROLLBACK');
            return { sale: before, raise: 0, changed: false };
          }
          const sets: string[] = [];
          const values: unknown[] = [saleId];
          for (const [field, value] of entries) {
            values.push(value);
            const p = `$${values.length}`;
            sets.push(`${COLUMNS[field]} = ${TIME_FIELDS.has(field) ? `to_timestamp(${p} / 1000.0)` : p}`);
          }
          const res = await client.query<SaleRow>(
            `UPDATE sales SET ${sets.join(', ')}, updated_at = now(), config_version = config_version + 1
              WHERE id = $1 RETURNING *`,
            values,
          );
          const sale = fromRow(res.rows[0]!);
          const delta = sale.stock - before.stock;
          if (delta < 0) {
            // units already reserved in Redis cannot be taken back
            const [outcome, remaining] = await this.redis.adjustStock(keys.stock, delta);
            if (outcome === 'REFUSED') {
              throw new AppError('INVALID_SALE_CONFIG', `stock can go down by at most ${remaining}: the rest is sold or reserved`);
            }
            if (outcome === 'MISSING') {
              // Redis lost its data and the rebuild may read the row before this COMMIT
              throw new AppError('UNAVAILABLE', 'the waiting room is recovering its state; retry in a moment', undefined, 1);
            }
            lowered = -delta;
          }
          committing = true;
          await client.query('COMMIT');
          committing = false;
          return { sale, raise: Math.max(0, delta), changed: true };
        } catch (err) {
          if (!committing) await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      if (lowered > 0) await this.#giveBack(saleId, lowered, committing, err);
      if ((err as { code?: string }).code === '23514') {
        const constraint = (err as { constraint?: string }).constraint ?? '';
        throw new AppError(
          'INVALID_SALE_CONFIG',
          constraint.startsWith('sales_') ? `the sale's dates are out of order (${constraint})` : 'stock cannot go below what is sold',
        );
      }
      throw err;
    }
    const { sale, raise, changed } = result;
    if (!changed) return sale;
    if (raise > 0) {
      try {
        const [outcome] = await this.redis.adjustStock(keys.stock, raise);
        // MISSING: Redis lost its data; the rebuild reads the committed stock
        if (outcome === 'MISSING') this.log?.warn({ saleId, raise }, 'stock raised while Redis had lost the sale');
      } catch (err) {
        this.log?.error({ saleId, units: raise, err }, 'stock raised in PostgreSQL but not in Redis: those units are not on sale');
        throw err;
      }
    }
    await this.redis.writeConfig(keys.config, sale.configVersion, ...Object.entries(configHash(sale)).flat());
    return sale;
  }

  /**
   * A lowering took units out of Redis and its COMMIT failed. When PostgreSQL answered the
   * COMMIT (an error with a SQLSTATE), the transaction is rolled back for certain and the units
   * go back. When the connection failed under it, the outcome is unknown: they stay out (a
   * shortfall, logged, rather than units PostgreSQL may not have).
   */
  async #giveBack(saleId: string, units: number, duringCommit: boolean, err: unknown): Promise<void> {
    const rolledBack = !duringCommit || typeof (err as { code?: unknown }).code === 'string';
    if (!rolledBack) {
      this.log?.error({ saleId, units, err }, 'stock lowering: COMMIT outcome unknown; Redis keeps the lower figure');
      return;
    }
    try {
      await this.redis.adjustStock(this.keyspace.sale(saleId).stock, units);
    } catch (giveBackErr) {
      this.log?.error({ saleId, units, err: giveBackErr }, 'stock lowering rolled back but not given back in Redis: those units are not on sale');
    }
  }

  /**
   * The refusal for a sale Redis does not know: SALE_NOT_FOUND, unless Redis has just lost its
   * data (the generation marker is gone) and the sale is about to be re-published from
   * PostgreSQL; then the sale exists, and the answer is a 503 to retry in a moment.
   */
  async missing(saleId: string): Promise<AppError> {
    const generation = await this.redis.exists(this.keyspace.generation).catch(() => 0);
    if (generation === 0) {
      return new AppError('UNAVAILABLE', 'the waiting room is recovering its state; retry in a moment', undefined, 1);
    }
    return new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
  }

  /** The sale's secret seed, for fairness fractions; undefined when there is no such sale. */
  async seed(saleId: string): Promise<Buffer | undefined> {
    const known = this.#seeds.get(saleId);
    if (known) return known;
    const hex = await this.redis.hget(this.keyspace.sale(saleId).config, 'seed');
    if (!hex) return undefined;
    const seed = Buffer.from(hex, 'hex');
    this.#seeds.set(saleId, seed);
    return seed;
  }

  /** Configuration and live figures from Redis, one round trip. */
  async live(saleId: string): Promise<LiveSale | undefined> {
    const k = this.keyspace.sale(saleId);
    const reply = await this.redis.saleInfo(k.config, k.state, k.queue, k.admitted, k.stock, k.pending);
    if (reply[0] !== 'OK') return undefined;
    const h: Record<string, string> = {};
    for (let i = 9; i < reply.length; i += 2) h[String(reply[i])] = String(reply[i + 1]);
    return {
      ...fromConfigHash(saleId, h),
      status: reply[1] as SaleStatus,
      now: Number(reply[2]),
      waiting: Number(reply[3]),
      admitted: Number(reply[4]),
      remaining: Number(reply[5]),
      pending: Number(reply[6]),
      admittedTotal: Number(reply[7]),
      effectiveRatePerMinute: Number(reply[8]),
    };
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

  /**
   * Makes sure every sale that is not over has its hot copy in Redis: at boot, and whenever
   * Redis turns out to have lost its data (the generation marker is gone). Sales that already
   * started then go into recovery: their orders in flight must be committed before the stock
   * can be known. Returns whether this call found Redis empty (and did the recovery).
   */
  async publishAll(generationId: string): Promise<{ sales: number; recovered: boolean }> {
    const recovered = (await this.redis.get(this.keyspace.generation)) === null;
    if (recovered) {
      // one gateway re-publishes; the marker is set only once every sale is back, so until
      // then requests about a sale Redis does not know are told to retry (see missing())
      const lock = `${this.keyspace.generation}:recovering`;
      if ((await this.redis.set(lock, generationId, 'PX', 30_000, 'NX')) !== 'OK') return { sales: 0, recovered: false };
      try {
        const sales = await this.#publishRunning(true);
        await this.redis.set(this.keyspace.generation, generationId);
        return { sales, recovered: true };
      } finally {
        await this.redis.del(lock);
      }
    }
    return { sales: await this.#publishRunning(false), recovered: false };
  }

  async #publishRunning(recovering: boolean): Promise<number> {
    const { rows } = await this.pool.query<SaleRow>('SELECT * FROM sales WHERE ends_at IS NULL OR ends_at > now()');
    const now = Date.now();
    for (const row of rows) {
      const sale = fromRow(row);
      await this.publish(sale, recovering && sale.startsAt <= now);
    }
    return rows.length;
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
   * Records the admissions of one tick of a sale, one multi-row INSERT: a Redis data loss must
   * not make anyone forget who was already let in (the restore path reads them back).
   */
  async recordAdmissions(saleId: string, admitted: readonly RecordedAdmission[]): Promise<void> {
    if (admitted.length === 0) return;
    await this.pool.query(
      `INSERT INTO admissions (sale_id, seq, visitor_id, jti, expires_at)
       SELECT $1, a.seq, a.visitor_id, a.jti, to_timestamp(a.expires_at / 1000.0)
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::float8[]) AS a (seq, visitor_id, jti, expires_at)
       ON CONFLICT DO NOTHING`,
      [
        saleId,
        admitted.map((a) => a.sequence),
        admitted.map((a) => a.visitorId),
        admitted.map((a) => a.jti),
        admitted.map((a) => a.expiresAt),
      ],
    );
  }

  /**
   * What PostgreSQL knows of visitors Redis had forgotten: each one's order and last recorded
   * admission, for many visitors in one query (the restore path batches the visitors of one
   * event-loop turn: after a Redis loss, thousands come back within seconds).
   */
  async knownOf(saleId: string, visitorIds: readonly string[]): Promise<KnownVisitor[]> {
    const { rows } = await this.pool.query<{ visitor_id: string; order_id: string | null; seq: string | null; jti: string | null; expires_at: Date | null }>(
      `SELECT v.visitor_id, o.order_id, a.seq::text AS seq, a.jti, a.expires_at
         FROM unnest($2::text[]) AS v (visitor_id)
         LEFT JOIN LATERAL (SELECT order_id::text AS order_id FROM orders
                             WHERE sale_id = $1 AND visitor_id = v.visitor_id LIMIT 1) o ON true
         LEFT JOIN LATERAL (SELECT seq, jti, expires_at FROM admissions
                             WHERE sale_id = $1 AND visitor_id = v.visitor_id ORDER BY seq DESC LIMIT 1) a ON true`,
      [saleId, visitorIds],
    );
    const byId = new Map(rows.map((r) => [r.visitor_id, r]));
    return visitorIds.map((id) => {
      const r = byId.get(id);
      return {
        orderId: r?.order_id ?? undefined,
        admission: r?.seq ? { sequence: Number(r.seq), jti: r.jti!, expiresAt: r.expires_at!.getTime() } : undefined,
      };
    });
  }

  /** Each visitor's last recorded admission (those without an order), and the highest sequence. */
  async lastAdmissions(saleId: string): Promise<{ admissions: RecordedAdmission[]; maxSequence: number }> {
    const [last, max] = await Promise.all([
      this.pool.query<{ visitor_id: string; seq: string; jti: string; expires_at: Date }>(
        `SELECT DISTINCT ON (a.visitor_id) a.visitor_id, a.seq::text AS seq, a.jti, a.expires_at
           FROM admissions a
          WHERE a.sale_id = $1
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.sale_id = $1 AND o.visitor_id = a.visitor_id)
          ORDER BY a.visitor_id, a.seq DESC`,
        [saleId],
      ),
      this.pool.query<{ max: string | null }>('SELECT max(seq)::text AS max FROM admissions WHERE sale_id = $1', [saleId]),
    ]);
    return {
      admissions: last.rows.map((r) => ({ visitorId: r.visitor_id, sequence: Number(r.seq), jti: r.jti, expiresAt: r.expires_at.getTime() })),
      maxSequence: Number(max.rows[0]?.max ?? 0),
    };
  }
}

