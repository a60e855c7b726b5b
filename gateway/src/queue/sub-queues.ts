/**
 * The pure rules of a sale over several shards (a sale's `shards` > 1; docs/architecture.md,
 * "One sale over K shards"): which sub-queue a visitor waits in, the order the admission
 * leader takes the sub-queues' heads in, and a position counted over every sub-queue.
 */
import type { SubQueueHead } from '../redis/commands.js';

/**
 * The sub-queue of a visitor: FNV-1a (32 bits) of the visitor id, mod `shards`. Stable, so a
 * refresh, a second tab or a restored ticket finds the same place; visitor ids are random
 * (tokens/visitor-id.ts) or HMACs (an account's), so the sub-queues fill evenly.
 */
export function subQueueOf(visitorId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < visitorId.length; i++) {
    h ^= visitorId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** a head with the sub-queue it came from */
export interface ShardHead extends SubQueueHead {
  readonly shard: number;
}

/**
 * The `n` lowest places over every sub-queue's heads (each list lowest first, as ZRANGE answers
 * it), lowest first: exactly the places one queue holding them all would pop (ZPOPMIN: by
 * score, equal scores by visitor id). Each list needs at most `n` heads: no place beyond a
 * list's n-th can be among the n lowest of all.
 */
export function mergeHeads(lists: readonly (readonly SubQueueHead[])[], n: number): ShardHead[] {
  const at = lists.map(() => 0);
  const out: ShardHead[] = [];
  while (out.length < n) {
    let best = -1;
    let bestScore = 0;
    for (let k = 0; k < lists.length; k++) {
      const head = lists[k]![at[k]!];
      if (!head) continue;
      const score = Number(head.score);
      if (best < 0 || score < bestScore || (score === bestScore && head.visitorId < lists[best]![at[best]!]!.visitorId)) {
        best = k;
        bestScore = score;
      }
    }
    if (best < 0) break;
    out.push({ ...lists[best]![at[best]!]!, shard: best });
    at[best]!++;
  }
  return out;
}

/**
 * A queued visitor's 0-based place over every sub-queue: their rank in their own sub-queue
 * plus, in each other one, the places scoring lower (shard-ranks.lua).
 */
export function rankOverall(ownRank: number, lowerElsewhere: readonly number[]): number {
  let rank = ownRank;
  for (const n of lowerElsewhere) rank += n;
  return rank;
}
