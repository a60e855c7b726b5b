/**
 * Joins and status requests of a sale over several shards (its `shards` > 1): each goes to the
 * sub-queue its visitor hashes to (sub-queues.ts), batched per sub-queue and event-loop turn
 * like queue-batcher.ts does per sale, so a join is one script on one shard. Then:
 *
 * - a queued answer's rank and the queue's length are made whole: one shard-ranks.lua call on
 *   each other sub-queue per batch counts the places scoring lower there (exact positions);
 * - a place the main tag admitted (join.lua: HANDED) is answered from the main tag's visitor
 *   record: admitted (the same jti), ordered, or lapsed, when a join takes a new place at the
 *   back of the visitor's sub-queue ('rejoin'), as one shard's join.lua does after a lapse.
 */
import type { RedisClient } from '@velvet-rope/contracts';
import type { JoinAnswer, JoinPlace, JoinRequest, JoinSale, RedisCommands } from '../redis/commands.js';
import { MAX_SCRIPT_BATCH } from '../redis/commands.js';
import type { KeySpace } from '../redis/keyspace.js';
import { decodeVisitorRecord } from '../redis/visitor-record.js';
import { TurnBatcher } from '../lib/turn-batcher.js';
import { rankOverall, subQueueOf } from './sub-queues.js';

export class ShardedQueue {
  readonly #turns: TurnBatcher<JoinRequest, JoinAnswer>;
  readonly #shards = new Map<string, number>();

  constructor(
    private readonly commands: RedisCommands,
    private readonly redis: RedisClient,
    private readonly keyspace: KeySpace,
    private readonly observeBatch?: (size: number) => void,
  ) {
    this.#turns = new TurnBatcher((key, requests) => this.#send(key, requests), MAX_SCRIPT_BATCH);
  }

  run(saleId: string, shards: number, request: JoinRequest): Promise<JoinAnswer> {
    this.#shards.set(saleId, shards);
    // sale ids never hold ':' (contracts' SALE_ID_PATTERN)
    return this.#turns.add(`${saleId}:${subQueueOf(request.visitorId, shards)}`, request);
  }

  async #send(key: string, batch: readonly JoinRequest[]): Promise<JoinAnswer[]> {
    this.observeBatch?.(batch.length);
    const cut = key.lastIndexOf(':');
    const saleId = key.slice(0, cut);
    const shard = Number(key.slice(cut + 1));
    const shards = this.#shards.get(saleId) ?? 1;
    let { sale, answers } = await this.commands.joinShard(saleId, shard, batch);
    // the sub-queue lost its copy of the sale (its shard restarted empty) while the main tag
    // holds it: copied back here at once (the leader does it too, each tick), then asked again
    if (!sale && (await this.#copyFromMain(saleId, shard))) ({ sale, answers } = await this.commands.joinShard(saleId, shard, batch));
    if (sale) await this.#handedOver(saleId, shard, sale, batch, answers);
    await this.#wholeQueue(saleId, shard, shards, answers);
    return answers;
  }

  /** Writes sub-queue `shard`'s copy of the main tag; false when the main tag has no such sale. */
  async #copyFromMain(saleId: string, shard: number): Promise<boolean> {
    const copy = await this.commands.mainCopy(saleId);
    if (copy.config.startsAt === undefined) return false;
    await this.commands.shardHeads({ saleId, shard, n: 0, ...copy });
    return true;
  }

  /** HANDED answers, from the main tag's records (one HMGET); lapsed joins placed again. */
  async #handedOver(saleId: string, shard: number, sale: JoinSale, batch: readonly JoinRequest[], answers: JoinAnswer[]): Promise<void> {
    const handed: number[] = [];
    answers.forEach((a, i) => {
      if ('refused' in a && a.refused === 'HANDED') handed.push(i);
    });
    if (handed.length === 0) return;
    const records = await this.redis.hmget(this.keyspace.sale(saleId).visitors, ...handed.map((i) => batch[i]!.visitorId));
    const now = Date.now();
    const rejoins: number[] = [];
    handed.forEach((i, j) => {
      const answer = answers[i] as { readonly score: number };
      const raw = records[j];
      const r = raw ? decodeVisitorRecord(raw) : undefined;
      const place = (state: JoinPlace['state'], more: Partial<JoinPlace> = {}): JoinPlace => ({
        outcome: 'EXISTING',
        state,
        score: answer.score,
        rank: -1,
        waiting: 0,
        jti: null,
        expiresAt: null,
        admission: r?.admission ?? null,
        orderId: null,
        sale,
        ...more,
      });
      if (r?.kind === 'ordered') answers[i] = place('ordered', { score: null, orderId: r.orderId });
      else if (r?.kind === 'admitted' && (r.expiresAt ?? 0) > now) {
        answers[i] = place('admitted', { jti: r.jti, expiresAt: r.expiresAt });
      } else if (batch[i]!.op === 'join') rejoins.push(i);
      // lapsed (or the main tag lost it: Redis restarted empty there, and recovery rebuilds it)
      else answers[i] = place('expired');
    });
    if (rejoins.length === 0) return;
    const again = await this.commands.joinShard(
      saleId,
      shard,
      rejoins.map((i) => ({ ...batch[i]!, op: 'rejoin' as const })),
    );
    rejoins.forEach((i, j) => {
      answers[i] = again.answers[j]!;
    });
  }

  /** Ranks and lengths over every sub-queue: one shard-ranks.lua call on each other sub-queue. */
  async #wholeQueue(saleId: string, shard: number, shards: number, answers: JoinAnswer[]): Promise<void> {
    const ranked: number[] = [];
    const placed: number[] = [];
    answers.forEach((a, i) => {
      if ('refused' in a) return;
      placed.push(i);
      if (a.state === 'queued' && a.rank >= 0 && a.score !== null) ranked.push(i);
    });
    if (placed.length === 0) return;
    const scores = ranked.map((i) => String((answers[i] as JoinPlace).score));
    const others: number[] = [];
    for (let k = 0; k < shards; k++) if (k !== shard) others.push(k);
    const counts = await Promise.all(others.map((k) => this.commands.shardRanks(saleId, k, scores)));
    const elsewhere = counts.reduce((sum, c) => sum + c.waiting, 0);
    const at = new Map(ranked.map((i, j) => [i, j]));
    for (const i of placed) {
      const a = answers[i] as JoinPlace;
      const j = at.get(i);
      answers[i] = {
        ...a,
        waiting: a.waiting + elsewhere,
        rank:
          j === undefined
            ? a.rank
            : rankOverall(
                a.rank,
                counts.map((c) => c.lower[j]!),
              ),
      };
    }
  }
}
