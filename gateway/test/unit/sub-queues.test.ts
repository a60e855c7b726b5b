import { describe, expect, it } from 'vitest';
import { mergeHeads, rankOverall, subQueueOf } from '../../src/queue/sub-queues.js';
import type { SubQueueHead } from '../../src/redis/commands.js';

const head = (visitorId: string, score: number): SubQueueHead => ({
  visitorId,
  score: String(score),
  joinedAt: '1',
  after: '0',
  rounds: '',
});

describe('sub-queues of a sale over several shards', () => {
  it('puts a visitor in the same sub-queue every time, and spreads visitors evenly', () => {
    expect(subQueueOf('visitor-a', 1)).toBe(0);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const id = `v${i.toString(36)}x${(i * 7919).toString(16)}`;
      const k = subQueueOf(id, 3);
      expect(subQueueOf(id, 3)).toBe(k);
      counts[k]!++;
    }
    // each within 5 % of a third
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('merges the heads into exactly the order one queue would pop', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const all: SubQueueHead[] = [];
      const lists: SubQueueHead[][] = [[], [], [], []];
      for (let i = 0; i < 200; i++) {
        // windows 1..3 with a fraction, some equal scores across lists
        const score = 1 + Math.floor(rand() * 3) + Math.floor(rand() * 50) / 50;
        const h = head(`v${round}-${i}`, score);
        all.push(h);
        lists[Math.floor(rand() * 4)]!.push(h);
      }
      const byPop = (a: SubQueueHead, b: SubQueueHead) =>
        Number(a.score) - Number(b.score) || (a.visitorId < b.visitorId ? -1 : a.visitorId > b.visitorId ? 1 : 0);
      for (const l of lists) l.sort(byPop);
      const n = Math.floor(rand() * 220);
      const merged = mergeHeads(lists, n);
      expect(merged.map((m) => m.visitorId)).toEqual(
        [...all]
          .sort(byPop)
          .slice(0, n)
          .map((h) => h.visitorId),
      );
      // each knows the sub-queue it came from
      for (const m of merged) expect(lists[m.shard]!.some((h) => h.visitorId === m.visitorId)).toBe(true);
    }
  });

  it('takes no more than it is asked for, nor more than there is', () => {
    expect(mergeHeads([[head('a', 1)], [], [head('b', 0.5)]], 5).map((h) => h.visitorId)).toEqual(['b', 'a']);
    expect(mergeHeads([[head('a', 1)], [head('b', 0.5)]], 1).map((h) => h.visitorId)).toEqual(['b']);
    expect(mergeHeads([[], []], 3)).toEqual([]);
  });

  it('counts a position over every sub-queue', () => {
    expect(rankOverall(4, [10, 0, 3])).toBe(17);
    expect(rankOverall(0, [])).toBe(0);
  });
});
