/**
 * The admission loop. Every tick, for each active sale, this gateway tries to be (or stay)
 * the sale's leader: a Redis lock with an expiry, renewed each tick, that any gateway takes
 * over when its holder dies. The leader runs the `admit` script (which re-checks the lock
 * inside Redis, so two leaders can never both admit), hands the tick to `onTick` (the live
 * broadcast), and runs the outbox reconciler.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { OrderPublisher } from '../purchase/order-publisher.js';
import type { Reconciler } from '../purchase/reconciler.js';
import type { ClosedLoopController } from './closed-loop-controller.js';
import type { RedisRecovery } from './recovery.js';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands, type Admission, type AdmitTick } from '../redis/commands.js';
import { randomId128 } from '../tokens/visitor-id.js';
import { shardedTick } from './sharded-admission.js';

export interface AdmissionLoopOptions {
  readonly redis: Redis;
  readonly keyspace: KeySpace;
  readonly publisher: OrderPublisher;
  readonly reconciler: Reconciler;
  readonly recovery: RedisRecovery;
  readonly closedLoop?: ClosedLoopController;
  readonly logger: FastifyBaseLogger;
  readonly tickMs: number;
  readonly oversubscription: number;
  /** how far the abandonment-matched oversubscription may go */
  readonly maxOversubscription: number;
  /** unique per process: the lock's owner id */
  readonly ownerId: string;
  /**
   * a turn whose pages have all been closed this long is freed, before each tick's admissions
   * (release-gone.lua); 0 or absent: never
   */
  readonly abandonGraceMs?: number;
  /** most admitted in one tick, whatever the rate */
  readonly maxBatch?: number;
  readonly reconcileEveryMs?: number;
  /** called when this gateway takes (true) or loses (false) the lead of a sale */
  readonly onLeadership?: (saleId: string, leading: boolean) => void;
  /** called by the leader after each tick; errors are the caller's to log */
  readonly onTick?: (tick: AdmissionTick) => Promise<void> | void;
  /**
   * keeps a tick's admissions where a Redis data loss cannot take them (PostgreSQL): one call
   * per tick and sale with admissions; what fails is tried again with the next tick's
   */
  readonly recordAdmissions?: (saleId: string, admitted: readonly AdmittedVisitor[]) => Promise<void>;
  /**
   * moves the sale's report counters to PostgreSQL (report/report-recorder.ts), about once a
   * second, and once more before an ended sale is let go; a fault is retried the next time
   */
  readonly recordReport?: (saleId: string, figures: { ratePerMinute: number; waiting: number; remaining: number }) => Promise<unknown>;
  /**
   * a sale's sub-queues (fixed at creation: the sale store's cached hot copy); > 1 ticks as
   * sharded-admission.ts. Absent, or undefined for a sale Redis does not know: one queue
   */
  readonly shardsOf?: (saleId: string) => Promise<number | undefined>;
}

/** one admission a tick made (admit.lua) */
export type AdmittedVisitor = Admission;

/** admissions kept for a retry while PostgreSQL does not take them, per sale, at most */
const MAX_UNRECORDED = 100_000;

/**
 * One tick of a sale, as the leader hands it on (broadcast, metrics): admit.lua's figures
 * (`AdmitTick`: `active` counts everyone holding an admission, `admissions` lists the visitors
 * admitted in this tick) without the closed loop's bounds, with the sale and the lock's epoch.
 */
export interface AdmissionTick extends Omit<AdmitTick, 'outcome' | 'minRate' | 'maxRate'> {
  readonly saleId: string;
  readonly epoch: number;
}

export class AdmissionLoop {
  readonly #o: AdmissionLoopOptions;
  readonly #commands: RedisCommands;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = true;
  /** sales this process leads, with their fencing epoch */
  readonly #leading = new Map<string, number>();
  readonly #lastReconcile = new Map<string, number>();
  #current: Promise<void> = Promise.resolve();
  /** admissions PostgreSQL has not taken yet (it was down), per sale */
  readonly #unrecorded = new Map<string, AdmittedVisitor[]>();

  constructor(options: AdmissionLoopOptions) {
    this.#o = options;
    this.#commands = new RedisCommands(options.redis, options.keyspace);
  }

  /** Sales this gateway currently leads (for readiness and tests). */
  get leading(): ReadonlyMap<string, number> {
    return this.#leading;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#current = this.tickAll()
        .then(() => undefined)
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'admission tick failed'))
        .finally(() => this.#schedule(this.#o.tickMs));
    }, delay);
  }

  /** One tick over every active sale. Exposed for tests. */
  async tickAll(): Promise<AdmissionTick[]> {
    if (this.#running) return [];
    this.#running = true;
    try {
      const { redis, keyspace } = this.#o;
      // is this still the Redis we published to, and which sales are active (two keys in two
      // cluster slots: two commands, sent together by auto-pipelining)
      const [generation, saleIds] = await Promise.all([this.#commands.generation(), redis.smembers(keyspace.activeSales)]);
      if (generation.id === null) {
        if (generation.failover) {
          this.#o.logger.warn(
            { replicationIdBefore: generation.failover.from, replicationIdNow: generation.failover.to },
            'Redis failed over to a replica that may lack the last writes: recovering the sales from PostgreSQL',
          );
        }
        await this.#o.recovery.check(null);
        return [];
      }
      // a sale taken out of the set (over, or retired: sales/retirement.ts) is led no more
      for (const id of this.#leading.keys()) {
        if (!saleIds.includes(id)) {
          this.#leading.delete(id);
          this.#o.onLeadership?.(id, false);
        }
      }
      const ticks = await Promise.all(saleIds.map((id) => this.tickSale(id)));
      return ticks.filter((t): t is AdmissionTick => t !== undefined);
    } finally {
      this.#running = false;
    }
  }

  async tickSale(saleId: string): Promise<AdmissionTick | undefined> {
    const { redis, logger, tickMs } = this.#o;
    const k = this.#o.keyspace.sale(saleId);
    // the lock outlives several ticks: a busy event loop must not hand the lead around, while a
    // dead leader is still replaced within a couple of seconds
    const { held, epoch, changed, missing } = await this.#commands.leader({
      saleId,
      owner: this.#o.ownerId,
      ttlMs: Math.max(2_000, tickMs * 8),
      release: false,
    });
    // Redis does not know the sale (retired: sales/retirement.ts): nothing to look after
    if (missing) await redis.srem(this.#o.keyspace.activeSales, saleId);
    if (!held) {
      if (this.#leading.delete(saleId)) {
        logger.info({ saleId }, 'admission leadership lost');
        this.#o.onLeadership?.(saleId, false);
      }
      return undefined;
    }
    if (changed || !this.#leading.has(saleId)) {
      logger.info({ saleId, epoch }, 'admission leader for sale');
      this.#o.onLeadership?.(saleId, true);
    }
    this.#leading.set(saleId, epoch);

    // with no way to accept orders, admitting shoppers would only burn their checkout window
    if (!this.#o.publisher.ready) return undefined;

    const graceMs = this.#o.abandonGraceMs ?? 0;
    if (graceMs > 0) {
      const gone = await this.#commands.releaseGone({ saleId, graceMs, limit: 1_000 });
      if ('outcome' in gone && gone.freed + gone.walkedAway > 0) {
        logger.debug({ saleId, freed: gone.freed, walkedAway: gone.walkedAway }, 'pages gone: turns freed');
      }
    }

    const admit = {
      saleId,
      owner: this.#o.ownerId,
      jtiKey: randomId128(),
      oversubscription: this.#o.oversubscription,
      maxBatch: this.#o.maxBatch ?? 5_000,
      maxElapsedMs: Math.max(1_000, tickMs * 4),
      epoch,
      maxOversubscription: this.#o.maxOversubscription,
    };
    const shards = (await this.#o.shardsOf?.(saleId)) ?? 1;
    const reply =
      shards > 1 ? await shardedTick(this.#commands, redis, this.#o.keyspace, shards, admit) : await this.#commands.admit(admit);
    if ('refused' in reply) {
      if (reply.refused === 'RECOVERING') await this.#o.recovery.finish(saleId);
      if (reply.refused === 'NOT_FOUND') await redis.srem(this.#o.keyspace.activeSales, saleId);
      return undefined;
    }
    const { outcome: _ok, minRate, maxRate, ...figures } = reply;
    const tick: AdmissionTick = { saleId, epoch, ...figures };
    const admitted = tick.admissions;
    if (tick.adaptive && this.#o.closedLoop) {
      await this.#o.closedLoop.step(saleId, tick.ratePerMinute, { floor: minRate, ceiling: maxRate });
    }
    // recorded while the tick is broadcast (one message to the sale's room, one per admitted visitor)
    const recorded = this.#record(saleId, admitted);
    try {
      await this.#o.onTick?.(tick);
    } finally {
      await recorded;
    }

    const now = Date.now();
    if (now - (this.#lastReconcile.get(saleId) ?? 0) >= (this.#o.reconcileEveryMs ?? 1_000)) {
      this.#lastReconcile.set(saleId, now);
      const reported = await this.#report(tick);
      const pending = await this.#o.reconciler.run(saleId);
      // an ended sale with nothing left in its outbox (or its report) needs no more looking after
      if (tick.status === 'ended' && reported && pending === 0 && (await redis.hlen(k.pending)) === 0) {
        await redis.srem(this.#o.keyspace.activeSales, saleId);
      }
    }
    return tick;
  }

  /** Moves the report counters to PostgreSQL; false when that failed (kept in Redis for the next try). Never throws. */
  async #report(tick: AdmissionTick): Promise<boolean> {
    const record = this.#o.recordReport;
    if (!record) return true;
    try {
      await record(tick.saleId, { ratePerMinute: tick.ratePerMinute, waiting: tick.waiting, remaining: tick.remaining });
      return true;
    } catch (err) {
      this.#o.logger.warn({ err, saleId: tick.saleId }, 'report counters not moved to PostgreSQL yet; retried next second');
      return false;
    }
  }

  /** Records a tick's admissions (and those a failed call left over); never throws. */
  async #record(saleId: string, admitted: readonly AdmittedVisitor[]): Promise<void> {
    const record = this.#o.recordAdmissions;
    if (!record) return;
    const backlog = this.#unrecorded.get(saleId);
    const rows = backlog ? [...backlog, ...admitted] : admitted;
    if (rows.length === 0) return;
    try {
      await record(saleId, rows);
      this.#unrecorded.delete(saleId);
    } catch (err) {
      // admission goes on (PostgreSQL down must not stop the sale); until the rows are in, a
      // Redis data loss would let these shoppers in once more
      this.#unrecorded.set(saleId, rows.slice(-MAX_UNRECORDED));
      this.#o.logger.warn({ err, saleId, unrecorded: rows.length }, 'admissions not recorded in PostgreSQL yet; retried next tick');
    }
  }

  /** Stops ticking and hands leadership over at once instead of letting locks expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#current;
    const { ownerId } = this.#o;
    await Promise.all(
      [...this.#leading.keys()].map((saleId) =>
        this.#commands.leader({ saleId, owner: ownerId, ttlMs: 1, release: true }).catch(() => undefined),
      ),
    );
    this.#leading.clear();
  }
}
