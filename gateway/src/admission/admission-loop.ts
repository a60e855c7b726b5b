/**
 * The admission loop. Every tick, for each active sale, this gateway tries to be (or stay)
 * the sale's leader: a Redis lock with an expiry, renewed each tick, that any gateway takes
 * over when its holder dies. The leader runs the `admit` script (which re-checks the lock
 * inside Redis, so two leaders can never both admit), hands the tick to `onTick` (the live
 * broadcast), and runs the outbox reconciler.
 */
import type { SaleStatus } from '@velvet-rope/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { OrderPublisher } from '../purchase/order-publisher.js';
import type { Reconciler } from '../purchase/reconciler.js';
import type { ClosedLoopController } from './closed-loop-controller.js';
import type { RedisRecovery } from './recovery.js';
import type { KeySpace } from '../redis/keyspace.js';
import { randomId128 } from '../tokens/visitor-id.js';

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
}

export interface AdmittedVisitor {
  readonly visitorId: string;
  readonly jti: string;
  readonly expiresAt: number;
  readonly sequence: number;
}

/** admissions kept for a retry while PostgreSQL does not take them, per sale, at most */
const MAX_UNRECORDED = 100_000;

export interface AdmissionTick {
  readonly saleId: string;
  readonly epoch: number;
  readonly status: SaleStatus;
  readonly waiting: number;
  readonly active: number;
  readonly remaining: number;
  readonly admittedTotal: number;
  readonly ratePerMinute: number;
  readonly expired: number;
  readonly maxPerShopper: number;
  /** the closed loop sets this sale's rate */
  readonly adaptive: boolean;
  /** the visitors admitted in this tick (`active` counts everyone holding an admission) */
  readonly admissions: readonly AdmittedVisitor[];
}

export class AdmissionLoop {
  readonly #o: AdmissionLoopOptions;
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
      const [generation, saleIds] = await Promise.all([redis.get(keyspace.generation), redis.smembers(keyspace.activeSales)]);
      if (generation === null) {
        await this.#o.recovery.check(generation);
        return [];
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
    const [held, epoch, changed] = await redis.leader(k.leader, k.leaderEpoch, this.#o.ownerId, Math.max(2_000, tickMs * 8), '0');
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

    const reply = await redis.admit(
      k.config,
      k.state,
      k.queue,
      k.admitted,
      k.stock,
      k.visitors,
      k.leader,
      k.tickLog,
      this.#o.ownerId,
      // the tick's secret for the admissions' jti (never leaves Redis and this call)
      randomId128(),
      this.#o.oversubscription,
      this.#o.maxBatch ?? 5_000,
      Math.max(1_000, tickMs * 4),
      epoch,
      this.#o.maxOversubscription,
    );
    if (reply[0] === 'RECOVERING') {
      await this.#o.recovery.finish(saleId);
      return undefined;
    }
    if (reply[0] === 'NOT_FOUND') {
      await redis.srem(this.#o.keyspace.activeSales, saleId);
      return undefined;
    }
    if (reply[0] !== 'OK') return undefined;
    const admitted: AdmittedVisitor[] = [];
    for (let i = 13; i + 3 < reply.length; i += 4) {
      admitted.push({
        visitorId: String(reply[i]),
        jti: String(reply[i + 1]),
        expiresAt: Number(reply[i + 2]),
        sequence: Number(reply[i + 3]),
      });
    }
    const tick: AdmissionTick = {
      saleId,
      epoch,
      status: reply[1] as SaleStatus,
      waiting: Number(reply[2]),
      active: Number(reply[3]),
      remaining: Number(reply[4]),
      admittedTotal: Number(reply[5]),
      ratePerMinute: Number(reply[6]),
      expired: Number(reply[7]),
      maxPerShopper: Number(reply[9]),
      adaptive: Number(reply[10]) === 1,
      admissions: admitted,
    };
    if (tick.adaptive && this.#o.closedLoop) {
      await this.#o.closedLoop.step(saleId, tick.ratePerMinute, { floor: Number(reply[11]), ceiling: Number(reply[12]) });
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
      const pending = await this.#o.reconciler.run(saleId);
      // an ended sale with nothing left in its outbox needs no more looking after
      if (tick.status === 'ended' && pending === 0 && (await redis.hlen(k.pending)) === 0) {
        await redis.srem(this.#o.keyspace.activeSales, saleId);
      }
    }
    return tick;
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
    const { redis, ownerId } = this.#o;
    await Promise.all(
      [...this.#leading.keys()].map((saleId) => {
        const k = this.#o.keyspace.sale(saleId);
        return redis.leader(k.leader, k.leaderEpoch, ownerId, 1, '1').catch(() => undefined);
      }),
    );
    this.#leading.clear();
  }
}
