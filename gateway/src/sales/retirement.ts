/**
 * Finished sales leave Redis (issue 16 item 2). A sale is over once it has ended, or sold out
 * for good (every unit committed, and for a sale handing orders to a shop every unit paid:
 * no unit can come back). SALE_RETENTION after that, and once nothing of it is only in Redis
 * any more, one gateway retires it:
 *
 * 1. its outbox is empty (every order committed in PostgreSQL) and no admission is live;
 * 2. it leaves the active-sales set, and the retirer takes the sale's admission lock (the
 *    leader lock, under an owner of its own): no gateway ticks it meanwhile;
 * 3. its report counters are flushed to PostgreSQL (`flushBeforeRetire`) and the hash is empty;
 * 4. one transaction, on the sale's row locked (`SKIP LOCKED`: another gateway retiring it
 *    is left to it), checks again that it is over and not retired, archives the final live
 *    figures and the fairness audit exactly as Redis gives them (sale-archive.ts), and sets
 *    `sales.retired_at`;
 * 5. retire.lua removes every key of the sale at once, then a SCAN removes what no script
 *    can name (proof-of-work nonces, which expire anyway), and the archive row is marked so.
 *
 * A crash before the COMMIT leaves everything as it was (the lock expires, the next sweep
 * starts again); after it, the sale is retired and the next sweep finishes step 5. From the
 * COMMIT on, PostgreSQL answers for the sale: its figures, its audit, joins refused as ended.
 */
import { dataNodes, inTransaction } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';
import type { FairnessAudit } from './fairness-audit.js';
import { ArchiveWriter, type FinalFigures, type SaleArchive } from './sale-archive.js';
import { fromRow, type SaleRecord, type SaleRow } from './sale.js';

/**
 * The retirer's flush when none is given: moves nothing. The gateway passes its report recorder
 * (plugins/admission.ts); without one, a sale whose `report` hash still holds counters stays in
 * Redis (logged, `report-not-flushed`) rather than lose them.
 */
export async function flushBeforeRetire(saleId: string): Promise<void> {
  void saleId;
}

/** why a sale is not retired on this pass */
export type NotYet = 'orders-in-flight' | 'admission-live' | 'locked' | 'report-not-flushed' | 'not-over';

export interface RetirerOptions {
  readonly pool: pg.Pool;
  readonly redis: Redis;
  readonly keyspace: KeySpace;
  readonly audit: FairnessAudit;
  readonly archive: SaleArchive;
  readonly logger: FastifyBaseLogger;
  /** SALE_RETENTION */
  readonly retentionMs: number;
  /** this gateway's owner id; the retirer holds the sale's lock as `<ownerId>:retire` */
  readonly ownerId: string;
  /** how often to look for sales to retire (default: a tenth of the retention, 1 s to 60 s) */
  readonly everyMs?: number;
  /** moves the sale's report counters to PostgreSQL (the gateway's report recorder); default: nothing moved */
  readonly flush?: (saleId: string) => Promise<void>;
}

/** sales looked at per pass, at most (the next pass takes the rest) */
const BATCH = 20;
/** how long the retirer's hold on a sale's lock lives: long enough to archive a big audit */
const LOCK_MS = 120_000;

/**
 * The sale is over, SALE_RETENTION ($1, ms) ago, and nothing of it can still change: no order
 * waits for a payment and no cancelled order's units are still on their way back.
 */
const OVER = `s.retired_at IS NULL
  AND (
    (s.ends_at IS NOT NULL AND s.ends_at <= now() - $1 * interval '1 millisecond')
    OR (s.sold >= s.stock AND (s.checkout_url IS NULL OR s.paid >= s.stock)
        AND s.starts_at <= now() - $1 * interval '1 millisecond'
        AND COALESCE((SELECT max(GREATEST(o.created_at, o.confirmed_at, o.paid_at)) FROM orders o WHERE o.sale_id = s.id), s.starts_at)
            <= now() - $1 * interval '1 millisecond'))
  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.sale_id = s.id
        AND ((o.status = 'confirmed' AND o.payment_due_at IS NOT NULL) OR (o.status = 'cancelled' AND o.units_returned_at IS NULL)))`;

export class SaleRetirer {
  readonly #o: RetirerOptions;
  readonly #commands: RedisCommands;
  readonly #owner: string;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #current: Promise<unknown> = Promise.resolve();
  /** what was logged last per sale, so a sale that waits is not logged every pass */
  readonly #lastNotYet = new Map<string, NotYet>();
  /** where the next pass's page of candidates starts (sale ids in order; '' from the first) */
  #after = '';
  /** sales retired by this gateway (for tests and logs) */
  retired = 0;

  constructor(options: RetirerOptions) {
    this.#o = options;
    this.#commands = new RedisCommands(options.redis, options.keyspace);
    this.#owner = `${options.ownerId}:retire`;
  }

  get everyMs(): number {
    return this.#o.everyMs ?? Math.min(60_000, Math.max(1_000, Math.round(this.#o.retentionMs / 10)));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(this.everyMs);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#current = this.sweep()
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'sale retirement pass failed; tried again next pass'))
        .finally(() => this.#schedule(this.everyMs));
    }, delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#current;
  }

  /** One pass: finishes retirements a crash interrupted, then retires what is due. Returns the sales retired. */
  async sweep(): Promise<string[]> {
    // Redis lost its data and the sales are being re-published: not now
    if ((await this.#o.redis.exists(this.#o.keyspace.generation)) === 0) return [];
    for (const saleId of await this.#o.archive.keysLeft(BATCH)) await this.#removeKeys(saleId);
    // a page of candidates after the last one looked at: a sale that waits long (orders stuck
    // in an outbox) must not keep the others from their turn
    const { rows } = await this.#o.pool.query<{ id: string }>(
      `SELECT s.id FROM sales s WHERE ${OVER} AND s.id > $2 ORDER BY s.id LIMIT ${BATCH}`,
      [this.#o.retentionMs, this.#after],
    );
    this.#after = rows.length < BATCH ? '' : rows[rows.length - 1]!.id;
    const done: string[] = [];
    for (const { id } of rows) {
      const outcome = await this.retire(id);
      if (outcome === 'retired') done.push(id);
      else if (this.#lastNotYet.get(id) !== outcome) {
        this.#lastNotYet.set(id, outcome);
        this.#o.logger.info({ saleId: id, reason: outcome }, 'finished sale not retired yet');
      }
    }
    return done;
  }

  /** Retires one sale whose retention has passed, if nothing of it is only in Redis any more. */
  async retire(saleId: string): Promise<'retired' | NotYet> {
    const { redis, keyspace } = this.#o;
    const k = keyspace.sale(saleId);
    if ((await redis.hlen(k.pending)) > 0) return 'orders-in-flight';
    const now = Date.now();
    if ((await redis.zrangebyscore(k.admitted, `(${now}`, '+inf', 'LIMIT', 0, 1)).length > 0) return 'admission-live';
    // the admission loop lets it go; its leader's lock then expires and passes to the retirer
    await redis.srem(keyspace.activeSales, saleId);
    const lock = await this.#commands.leader({ saleId, owner: this.#owner, ttlMs: LOCK_MS, release: false });
    if (!lock.held && !lock.missing) return 'locked';
    let outcome: NotYet | 'retired' | undefined;
    try {
      await (this.#o.flush ?? flushBeforeRetire)(saleId);
      if ((await redis.hlen(k.report)) > 0) outcome = 'report-not-flushed';
      else outcome = (await this.#archive(saleId)) ? 'retired' : 'not-over';
    } finally {
      // not retired (or failed before the COMMIT): the lock goes back at once, for the loop
      // (a raised stock reopens a sale) or whoever tries next; retired, retire.lua removes it
      if (outcome !== 'retired') {
        await this.#commands.leader({ saleId, owner: this.#owner, ttlMs: 1, release: true }).catch(() => undefined);
      }
      // not over after all (a raised stock committed meanwhile): the loop looks after it again
      if (outcome === 'not-over') await redis.sadd(keyspace.activeSales, saleId).catch(() => undefined);
    }
    if (outcome !== 'retired') return outcome;
    this.retired += 1;
    this.#lastNotYet.delete(saleId);
    await this.#removeKeys(saleId);
    this.#o.logger.info({ saleId }, 'finished sale retired: archived in PostgreSQL, its Redis keys removed');
    return 'retired';
  }

  /** step 4: the archive and `retired_at`, in one transaction; false when it is not due after all */
  async #archive(saleId: string): Promise<boolean> {
    return inTransaction(this.#o.pool, async (client) => {
      const { rows } = await client.query<SaleRow>(
        `SELECT s.* FROM sales s WHERE s.id = $2 AND ${OVER} FOR NO KEY UPDATE OF s SKIP LOCKED`,
        [this.#o.retentionMs, saleId],
      );
      if (!rows[0]) return false;
      const sale = fromRow(rows[0]);
      const writer = new ArchiveWriter(client, saleId);
      await writer.begin(await this.#finalFigures(client, sale));
      const audit = await this.#o.audit.archiveFromRedis(
        { id: sale.id, startsAt: sale.startsAt, windowSeconds: sale.windowSeconds, seed: sale.seed },
        (text, lines) => writer.chunk(text, lines),
      );
      await writer.finish(audit);
      return true;
    });
  }

  /** what `GET /api/sales/:id` answered last: Redis's figures, or PostgreSQL's when Redis had lost the sale */
  async #finalFigures(client: pg.PoolClient, sale: SaleRecord): Promise<FinalFigures> {
    const info = await this.#commands.saleInfo(sale.id);
    if (info) {
      const { status, waiting, admitted, remaining, pending, admittedTotal, effectiveRatePerMinute } = info;
      return { status, waiting, admitted, remaining, pending, admittedTotal, effectiveRatePerMinute };
    }
    const { rows } = await client.query<{ n: string | null }>('SELECT max(seq) AS n FROM admissions WHERE sale_id = $1', [sale.id]);
    const ended = sale.endsAt !== null && sale.endsAt <= Date.now();
    return {
      status: ended ? 'ended' : 'sold_out',
      waiting: 0,
      admitted: 0,
      remaining: Math.max(0, sale.stock - sale.sold),
      pending: 0,
      admittedTotal: Number(rows[0]?.n ?? 0),
      effectiveRatePerMinute: sale.ratePerMinute,
    };
  }

  /** every key matching `pattern` on every master; `oneByOne` when they span several slots */
  async #unlinkMatching(pattern: string, oneByOne: boolean): Promise<void> {
    const { redis } = this.#o;
    for (const node of dataNodes(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (oneByOne) for (const key of keys) await node.unlink(key);
        else if (keys.length) await node.unlink(...keys);
      } while (cursor !== '0');
    }
  }

  /** step 5: every key of a retired sale, then the mark that they are gone */
  async #removeKeys(saleId: string): Promise<void> {
    const { redis, keyspace, logger } = this.#o;
    await (this.#o.flush ?? flushBeforeRetire)(saleId);
    const removed = await this.#commands.retire(saleId);
    if ('refused' in removed) {
      logger.warn({ saleId, ...removed }, 'retired sale: its Redis keys stay until this is empty; tried again next pass');
      return;
    }
    // what no script can name: the proof-of-work nonces (`<config>:pow:<nonce>`, minutes to live)
    await this.#unlinkMatching(`${keyspace.prefix}:{sale:${saleId}}:*`, false);
    // a sale over several shards: its sub-queues' keys (`{sale:<id>:q<k>}`: several slots on one
    // node, so removed one by one)
    await this.#unlinkMatching(`${keyspace.prefix}:{sale:${saleId}:q*}:*`, true);
    await redis.srem(keyspace.activeSales, saleId);
    await this.#o.archive.markKeysRemoved(saleId);
  }
}
