/**
 * Gathers the joins and status requests that arrive in one event-loop turn (turn-batcher.ts)
 * and sends those of each sale to Redis as one `join` script call. Every request still costs
 * exactly one round trip (it waits for one script call), but the script call, the sale's
 * configuration, stock and queue length, and ioredis's own work per command are paid once per
 * batch: at a flash sale's peak that is most of a join's cost.
 */
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { KeySpace } from '../redis/keyspace.js';
import { TurnBatcher } from '../lib/turn-batcher.js';

/** One request for the join script (see redis/scripts/join.lua for the meaning of each). */
export interface QueueOp {
  readonly visitorId: string;
  readonly fraction: string;
  /** '' when none */
  readonly ticketScore: string;
  readonly op: 'join' | 'status';
  /** '' when none */
  readonly powNonce: string;
  readonly powBits: number;
  /** the rate-limit bucket, '' for none */
  readonly caller: string;
  /** requests per minute for that bucket, 0 for none */
  readonly limit: number;
}

/**
 * One request's answer, in the order of the script's single-request form:
 * [outcome, saleStatus, state, score, rank, waiting, remaining, startsAt, rate, jti, expiresAt,
 * admSeq, orderId, maxPerShopper, admittedTotal], or [code, detail] for the refusals
 * (RATE_LIMITED ms, UNKNOWN status, REFUSED status, POW_REQUIRED difficulty, POW_REUSED).
 */
export type QueueReply = (string | number)[];

/** The sale does not exist in Redis (the script answers this once for the whole batch). */
export const NOT_FOUND: QueueReply = Object.freeze(['NOT_FOUND']) as unknown as QueueReply;

/** 'OK' and the sale's figures come before the answers */
const SALE_FIELDS = 7;

/** at most this many requests in one script call: it runs atomically, blocking the shard */
export const MAX_BATCH = 256;

export class QueueBatcher {
  readonly #turns: TurnBatcher<QueueOp, QueueReply>;

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly observeBatch?: (size: number) => void,
  ) {
    this.#turns = new TurnBatcher((saleId, ops) => this.#send(saleId, ops), MAX_BATCH);
  }

  run(saleId: string, op: QueueOp): Promise<QueueReply> {
    return this.#turns.add(saleId, op);
  }

  async #send(saleId: string, batch: readonly QueueOp[]): Promise<QueueReply[]> {
    const k = this.keyspace.sale(saleId);
    const args: (string | number)[] = [k.config, k.queue, k.visitors, k.seq, k.stock, k.admitted, k.state, batch.length];
    for (const o of batch) args.push(o.visitorId, o.fraction, o.ticketScore, o.op, o.powNonce, o.powBits, o.caller, o.limit);
    this.observeBatch?.(batch.length);
    const reply = await this.redis.join(...args);
    if (reply[0] === 'NOT_FOUND') return batch.map(() => NOT_FOUND);
    const [, status, remaining, startsAt, rate, maxPerShopper, admittedTotal] = reply as (string | number)[];
    return batch.map((_, i) => {
      const answer = reply[SALE_FIELDS + i];
      if (typeof answer !== 'string') throw new Error(`join script: no answer for request ${i} of ${batch.length}`);
      const f = answer.split('|');
      const code = f[0]!;
      if (f.length < 9) return code === 'UNKNOWN' || code === 'REFUSED' ? [code, status!] : f;
      const [outcome, state, score, rank, waiting, jti, expiresAt, admSeq, orderId] = f as [string, ...string[]];
      return [outcome, status!, state!, score!, rank!, waiting!, remaining!, startsAt!, rate!, jti!, expiresAt!, admSeq!, orderId!, maxPerShopper!, admittedTotal!];
    });
  }
}
