/**
 * Sales: PostgreSQL holds each sale's configuration (the source of truth); Redis holds a hot
 * copy in the sale's `config` hash that every gateway and every Lua script reads, so a
 * marketer's change is effective at the next tick on every gateway. The sale's shape and its
 * codecs are `sale.ts`; the re-publishing after a Redis loss is `republish.ts`.
 */
import { randomBytes } from 'node:crypto';
import { inTransaction, markReturnsCounted, syncPaidUnits, withClient } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { AppError, recoveringError } from '../errors.js';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';
import type { BehindReads } from '../postgres/read-pool.js';
import { SaleArchive } from './sale-archive.js';
import {
  assignment,
  checkChanges,
  checkSaleConfig,
  configHash,
  fromConfigHash,
  fromRow,
  insertSale,
  type LiveSale,
  type SaleChanges,
  type SaleConfig,
  type SaleRecord,
  type SaleRow,
  type SaleIdentity,
} from './sale.js';

interface Fixed {
  readonly seed: Buffer;
  readonly identity: SaleIdentity;
  /** sub-queues (set at creation only: sale.ts checkChanges) */
  readonly shards: number;
}

export class SaleStore {
  /** seeds never change, so a gateway keeps them once read */
  /** per sale: what never changes once it exists (`#fixedOf`) */
  readonly #fixed = new Map<string, Fixed>();
  readonly #commands: RedisCommands;
  /** what PostgreSQL keeps of the sales that left Redis (retirement.ts) */
  readonly archive: SaleArchive;

  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly log?: FastifyBaseLogger,
    /** the reads that may be a little behind (the archived audit): a replica's, or the primary's */
    reads?: BehindReads,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
    this.archive = new SaleArchive(pool, reads);
  }

  async create(config: SaleConfig): Promise<SaleRecord> {
    checkSaleConfig(config);
    const seed = randomBytes(32);
    let row: SaleRow;
    try {
      // the insert makes the sale's orders partition (migration 0015), whose foreign key needs
      // this lock on sales: taken first, so two creations queue instead of deadlocking (each
      // would hold the insert's ROW EXCLUSIVE and wait for the other's to go)
      row = await inTransaction(this.pool, async (client) => {
        await client.query('LOCK TABLE sales IN SHARE ROW EXCLUSIVE MODE');
        return (await client.query<SaleRow>(insertSale(config, seed))).rows[0]!;
      });
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
    // over an older version only: a change committed since this row was read stays
    await this.#commands
      .writeConfigIn(this.redis.multi(), {
        saleId: sale.id,
        version: sale.configVersion,
        fields: { ...configHash(sale), ...(recovering ? { recovering: '1' } : {}) },
      })
      .set(keys.stock, String(sale.stock - sale.sold), 'NX')
      // FIFO scores count up from the time (in µs-sized steps): a Redis that lost the counter
      // restarts it above every score issued before, so restored tickets stay ahead of new
      // arrivals (exact in a double until the year 2255)
      .set(keys.seq, String(Date.now() * 1000), 'NX')
      .exec();
    // what tells `held` from `sold_out`, from PostgreSQL (a Redis that lost it, a new hot copy)
    if (sale.checkoutUrl !== null) await syncPaidUnits(this.redis, sale.id, sale.paid, this.keyspace.prefix);
    // the active-sales set is not in the sale's hash slot: its own command
    await this.redis.sadd(this.keyspace.activeSales, sale.id);
    // the stock copy only tells a join whether units are left: the leader rewrites it each tick
    if (sale.shards > 1) await this.#copyToShards(sale, recovering, sale.stock - sale.sold);
    this.#fixed.set(sale.id, { seed: sale.seed, identity: sale.identity, shards: sale.shards });
  }

  /**
   * A sale over several shards: each sub-queue's copy of what a join reads, written with the
   * main tag's (the admission leader rewrites it every tick: admission/sharded-admission.ts).
   */
  async #copyToShards(sale: SaleRecord, recovering = false, remaining: number | null = null): Promise<void> {
    const config = {
      ...configHash(sale),
      configVersion: String(sale.configVersion),
      ...(recovering ? { recovering: '1' } : {}),
    };
    const shards = Array.from({ length: sale.shards }, (_, k) => k);
    await Promise.all(
      shards.map((shard) =>
        this.#commands.shardHeads({ saleId: sale.id, shard, n: 0, remaining, admittedTotal: null, paidUnits: null, config }),
      ),
    );
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
          // its Redis keys are gone and its audit archived: a retired sale is final
          if (before.retiredAt !== null) throw new AppError('SALE_ENDED', 'the sale is over and archived (retired): it cannot change');
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
            sets.push(assignment(field, p));
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
            const { outcome, remaining } = await this.#commands.adjustStock({ saleId, delta });
            if (outcome === 'REFUSED') {
              throw new AppError('INVALID_SALE_CONFIG', `stock can go down by at most ${remaining}: the rest is sold or reserved`);
            }
            if (outcome === 'MISSING') {
              // Redis lost its data and the rebuild may read the row before this COMMIT
              throw recoveringError();
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
        const { outcome } = await this.#commands.adjustStock({ saleId, delta: raise });
        // MISSING: Redis lost its data; the rebuild reads the committed stock
        if (outcome === 'MISSING') this.log?.warn({ saleId, raise }, 'stock raised while Redis had lost the sale');
      } catch (err) {
        this.log?.error({ saleId, units: raise, err }, 'stock raised in PostgreSQL but not in Redis: those units are not on sale');
        throw err;
      }
    }
    await this.#commands.writeConfig({ saleId, version: sale.configVersion, fields: configHash(sale) });
    if (sale.shards > 1) await this.#copyToShards(sale);
    // a sale the loop had let go (over, outbox empty: retirement.ts takes it out) is looked
    // after again: a raised stock reopens a sold-out sale
    await this.redis.sadd(this.keyspace.activeSales, saleId);
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
      await this.#commands.adjustStock({ saleId, delta: units });
    } catch (giveBackErr) {
      this.log?.error(
        { saleId, units, err: giveBackErr },
        'stock lowering rolled back but not given back in Redis: those units are not on sale',
      );
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
      return recoveringError();
    }
    // a retired sale left Redis: refused as its final status was, ended or sold out
    const retired = await this.archive.retired(saleId);
    if (retired?.final.status === 'sold_out') return new AppError('SOLD_OUT', 'this sale is sold out');
    if (retired) return new AppError('SALE_ENDED', 'this sale has ended');
    return new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
  }

  /**
   * A retired sale as `live()` showed it last (its final figures, from PostgreSQL); undefined
   * when the sale is not retired.
   */
  async retiredView(saleId: string): Promise<LiveSale | undefined> {
    const retired = await this.archive.retired(saleId);
    if (!retired) return undefined;
    const sale = await this.get(saleId);
    if (!sale) return undefined;
    return { ...sale, ...retired.final, now: Date.now() };
  }

  /** The sale's secret seed, for fairness fractions; undefined when there is no such sale. */
  async seed(saleId: string): Promise<Buffer | undefined> {
    return (await this.#fixedOf(saleId))?.seed;
  }

  /** The sale's sub-queues (1: one queue on the sale's own tag); undefined when Redis does not know the sale. */
  async shardsOf(saleId: string): Promise<number | undefined> {
    return (await this.#fixedOf(saleId))?.shards;
  }

  /** Who may join the sale (`identity`); undefined when Redis does not know the sale. */
  async identityOf(saleId: string): Promise<SaleIdentity | undefined> {
    return (await this.#fixedOf(saleId))?.identity;
  }

  /**
   * What never changes once a sale exists (its seed, and its identity: set at creation only),
   * read from the hot copy once per gateway in one command and kept.
   */
  async #fixedOf(saleId: string): Promise<Fixed | undefined> {
    const known = this.#fixed.get(saleId);
    if (known) return known;
    const [hex, identity, shards] = await this.redis.hmget(this.keyspace.sale(saleId).config, 'seed', 'identity', 'shards');
    if (!hex) return undefined;
    const fixed: Fixed = {
      seed: Buffer.from(hex, 'hex'),
      identity: identity === 'shop' ? 'shop' : 'anonymous',
      shards: Math.max(1, Number(shards ?? '1') || 1),
    };
    this.#fixed.set(saleId, fixed);
    return fixed;
  }

  /** A sale's live figures, or a retired sale's final ones from PostgreSQL (its Redis keys are gone). */
  async liveOrRetired(saleId: string): Promise<LiveSale | undefined> {
    return (await this.live(saleId)) ?? (await this.retiredView(saleId));
  }

  /** Configuration and live figures from Redis: one round trip (a sharded sale: and one per sub-queue, side by side). */
  async live(saleId: string): Promise<LiveSale | undefined> {
    const info = await this.#commands.saleInfo(saleId);
    if (!info) return undefined;
    const config = fromConfigHash(saleId, info.config);
    // a sale over several shards waits in its sub-queues (the main tag's queue stays empty)
    let waiting = info.waiting;
    if (config.shards > 1) {
      const shards = Array.from({ length: config.shards }, (_, shard) => this.#commands.shardRanks(saleId, shard, []));
      for (const ranks of await Promise.all(shards)) waiting += ranks.waiting;
    }
    return {
      ...config,
      status: info.status,
      now: info.now,
      waiting,
      admitted: info.admitted,
      remaining: info.remaining,
      pending: info.pending,
      admittedTotal: info.admittedTotal,
      effectiveRatePerMinute: info.effectiveRatePerMinute,
    };
  }

  /**
   * A sale's Redis stock rebuilt from PostgreSQL (recovery.ts): `write` gets stock - sold, the
   * paid units and the cancelled orders those figures count (contracts' `markReturnsCounted`),
   * and runs while the sale's row is locked `FOR UPDATE`, in the transaction that marked them;
   * a `write` that throws rolls the marks back. Undefined: no such sale.
   */
  async rebuildStock<T>(
    saleId: string,
    write: (figures: { remaining: number; paid: number; returnedOrderIds: string[] }) => Promise<T>,
  ): Promise<T | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ stock: number; sold: number; paid: number }>(
        'SELECT stock, sold, paid FROM sales WHERE id = $1 FOR UPDATE',
        [saleId],
      );
      const row = rows[0];
      if (!row) return undefined;
      const returnedOrderIds = await markReturnsCounted(client, saleId);
      return write({ remaining: row.stock - row.sold, paid: row.paid, returnedOrderIds });
    });
  }

  /** Every sale that is not over (their hot copies must be in Redis); never a retired one. */
  async running(): Promise<SaleRecord[]> {
    const { rows } = await this.pool.query<SaleRow>(
      'SELECT * FROM sales WHERE (ends_at IS NULL OR ends_at > now()) AND retired_at IS NULL',
    );
    return rows.map(fromRow);
  }
}
