import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/behaviour.js';
import type { BotIdentity } from '../../src/bots.js';
import { analyseFairness, orderKey } from '../../src/fairness-analysis.js';
import { newShopper, type ShopperRecord } from '../../src/shopper.js';

const traits = { abandon: 'none', retry: 'none', impatient: false, socket: false, closeAtTurn: false } as const;
const START = 1_000_000;

/** n shoppers: the first `pre` before the start, then one every 100 ms; admitted in score order up to `admit` */
function sale(n: number, pre: number, admit: number, windowMs = 1000, seed = 1): ShopperRecord[] {
  const rnd = seededRandom(seed);
  const shoppers = Array.from({ length: n }, (_, i) => {
    const s = newShopper(i, traits, i < pre);
    s.sentAt = i < pre ? START - 10_000 + i : START + (i - pre) * 100;
    s.answeredAt = s.sentAt + 5;
    const window = i < pre ? 0 : 1 + Math.floor((s.sentAt - START) / windowMs);
    s.score = window + rnd();
    s.visitorId = `v${i}`;
    s.end = 'sold_out';
    return s;
  });
  [...shoppers]
    .sort((a, b) => a.score! - b.score!)
    .slice(0, admit)
    .forEach((s, k) => {
      s.admission = k + 1;
      s.end = 'ordered';
    });
  return shoppers;
}

describe('analyseFairness', () => {
  it('finds a fair sale fair: random pre-queue, no inversions, windows as the clock says', () => {
    const f = analyseFairness({
      shoppers: sale(3000, 1000, 1500),
      bots: [],
      botCount: 0,
      mode: 'prequeue-random',
      windowSeconds: 1,
      startsAt: START,
    });
    expect(f.prequeueShoppers).toBe(1000);
    expect(Math.abs(f.prequeueRho)).toBeLessThan(0.13);
    expect(f.windows.inversions).toBe(0);
    expect(f.windows.admitted).toBe(1500);
    expect(f.windows.neverAdmitted).toBe(1500);
    expect(f.windowDisagreements).toBe(0);
    expect(f.duplicateIdentities).toBe(0);
  });

  it('sees a pre-queue served in arrival order', () => {
    const shoppers = sale(2000, 1000, 100);
    for (const s of shoppers) if (s.score! < 1) s.score = s.index / 1000;
    const f = analyseFairness({ shoppers, bots: [], botCount: 0, mode: 'prequeue-random', windowSeconds: 1, startsAt: START });
    expect(f.prequeueRho).toBeGreaterThan(0.99);
  });

  it('counts a later window let in before an earlier one', () => {
    const shoppers = sale(3000, 1000, 1500);
    const late = shoppers.find((s) => Math.floor(s.score!) === 100 && s.admission === undefined)!;
    late.admission = 0.5; // admitted before everybody
    const f = analyseFairness({ shoppers, bots: [], botCount: 0, mode: 'prequeue-random', windowSeconds: 1, startsAt: START });
    expect(f.windows.inversions).toBeGreaterThan(0);
  });

  it('flags a score whose window the client clock does not allow', () => {
    const shoppers = sale(1200, 1000, 10);
    shoppers[1100]!.score = 0.5; // joined long after the start, yet scored as pre-queue
    const f = analyseFairness({ shoppers, bots: [], botCount: 0, mode: 'prequeue-random', windowSeconds: 1, startsAt: START });
    expect(f.windowDisagreements).toBe(1);
  });

  it('sets bots against honest shoppers of the same window', () => {
    const shoppers = sale(2000, 1000, 10);
    const rnd = seededRandom(5);
    const bots: BotIdentity[] = Array.from({ length: 200 }, (_, i) => ({
      bot: i % 4,
      visitorId: `b${i}`,
      score: rnd(),
      position: null,
      sentAt: START - 20_000,
      status: 201,
    }));
    const f = analyseFairness({ shoppers, bots, botCount: 4, mode: 'prequeue-random', windowSeconds: 1, startsAt: START });
    expect(f.bots.distinctIdentities).toBe(200);
    expect(f.bots.meanNormalizedRank!).toBeGreaterThan(0.4);
    expect(f.bots.meanNormalizedRank!).toBeLessThan(0.6);
    expect(f.bots.shareInFrontTenth!).toBeLessThan(0.2);
  });

  it('keys admission order by window, by score in strict FIFO, by nothing in random mode', () => {
    expect(orderKey(3.7, 'prequeue-random', 10)).toBe(3);
    expect(orderKey(0.7, 'prequeue-random', 10)).toBe(0);
    expect(orderKey(42, 'fifo', 10)).toBe(42);
    expect(orderKey(0.3, 'prequeue-random', 0)).toBe(0);
    expect(orderKey(43, 'prequeue-random', 0)).toBe(43);
    expect(orderKey(0.3, 'random', 10)).toBe(0);
  });
});
