/**
 * One admission tick of a sale over several shards (`shards` > 1), run by its leader in place of
 * the one admit.lua call of a sale on one tag. The main tag keeps everything admission and
 * purchase must change atomically (stock, admitted, state, the visitor records of admitted
 * shoppers); the waiting places are in K sub-queues on other slots. Per tick:
 *
 * 1. admit.lua 'peek' on the main tag: the tick's budget (nothing written but the expiry sweep);
 * 2. shard-heads.lua on each sub-queue: writes its copy of the main tag (configuration, stock,
 *    admissions so far) and answers its `budget` lowest places, and hands over the report
 *    counters its joins counted (added to the main tag's report);
 * 3. the heads merged by score (sub-queues.ts mergeHeads): exactly the places one queue would pop;
 * 4. admit.lua 'given' on the main tag admits them in that order, up to the budget, skipping a
 *    place already admitted or ordered (answered as settled);
 * 5. shard-settle.lua on each sub-queue that had a place admitted or settled: those places leave
 *    it, their records marked handed over.
 *
 * A leader that dies between 4 and 5 leaves admitted places in their sub-queues; the next tick
 * (whoever leads) finds them at the heads, and admit.lua settles them instead of admitting them
 * again. So a place is admitted at most once, and nobody is lost between two slots.
 */
import type { RedisClient } from '@velvet-rope/contracts';
import type { AdmitReply, RedisCommands } from '../redis/commands.js';
import type { KeySpace } from '../redis/keyspace.js';
import { mergeHeads } from '../queue/sub-queues.js';

export async function shardedTick(
  commands: RedisCommands,
  redis: RedisClient,
  keyspace: KeySpace,
  shards: number,
  a: Parameters<RedisCommands['admit']>[0],
): Promise<AdmitReply> {
  const peek = await commands.admitBudget(a);
  if ('refused' in peek) return peek;
  const k = keyspace.sale(a.saleId);
  // the main tag's figures a join reads, for the sub-queues' copies
  const copy = await commands.mainCopy(a.saleId);
  const all = Array.from({ length: shards }, (_, shard) => shard);
  const heads = await Promise.all(all.map((shard) => commands.shardHeads({ saleId: a.saleId, shard, n: peek.budget, ...copy })));
  const candidates = mergeHeads(
    heads.map((h) => h.heads),
    peek.budget,
  );
  const waitingBefore = heads.reduce((sum, h) => sum + h.waiting, 0);
  // what joins counted in the sub-queues goes to the sale's report (a leader that dies right
  // here loses those counts: figures of the report, no promise)
  const counted = new Map<string, number>();
  for (const h of heads) for (const [field, n] of Object.entries(h.report)) counted.set(field, (counted.get(field) ?? 0) + n);
  if (counted.size > 0) await Promise.all([...counted].map(([field, n]) => redis.hincrby(k.report, field, n)));
  const reply = await commands.admitGiven(a, waitingBefore, candidates);
  if ('refused' in reply) return reply;
  const shardOf = new Map(candidates.map((c) => [c.visitorId, c.shard]));
  const leaving: { visitorId: string; sequence: string }[][] = all.map(() => []);
  for (const s of reply.admissions) leaving[shardOf.get(s.visitorId)!]!.push({ visitorId: s.visitorId, sequence: String(s.sequence) });
  for (const s of reply.settled) leaving[shardOf.get(s.visitorId)!]!.push(s);
  const waiting = await Promise.all(
    all.map((shard) =>
      leaving[shard]!.length > 0 ? commands.shardSettle(a.saleId, shard, leaving[shard]!) : Promise.resolve(heads[shard]!.waiting),
    ),
  );
  return { ...reply, waiting: waiting.reduce((sum, w) => sum + w, 0) };
}
