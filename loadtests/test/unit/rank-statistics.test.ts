import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countInversions, normalizedRanks, randomOrderRhoBound, ranks, spearman, windowInversions } from '../../src/rank-statistics.js';
import { seededRandom } from '../../src/behaviour.js';

function bruteInversions(v: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) for (let j = i + 1; j < v.length; j++) if (v[i]! > v[j]!) n++;
  return n;
}

describe('ranks and spearman', () => {
  it('gives ties their average rank', () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('is 1 for the same order, -1 for the reverse, whatever the scale', () => {
    const xs = [1, 2, 3, 4, 5, 6];
    expect(
      spearman(
        xs,
        xs.map((x) => x ** 3),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      spearman(
        xs,
        xs.map((x) => -Math.exp(x)),
      ),
    ).toBeCloseTo(-1, 12);
  });

  it('is near 0 for a shuffled order, within the bound used by I5', () => {
    const rnd = seededRandom(7);
    const n = 20_000;
    const order = Array.from({ length: n }, (_, i) => i);
    const scores = order.map(() => rnd());
    const rho = spearman(order, scores);
    expect(Math.abs(rho)).toBeLessThan(randomOrderRhoBound(n));
  });

  it('is NaN when undefined (too short, or a constant series)', () => {
    expect(spearman([1], [2])).toBeNaN();
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow();
  });

  it('bounds |rho| at 4 standard errors, never below the floor', () => {
    expect(randomOrderRhoBound(10_001)).toBeCloseTo(0.05, 10);
    expect(randomOrderRhoBound(1_001)).toBeCloseTo(4 / Math.sqrt(1000), 10);
    expect(randomOrderRhoBound(1_000_000)).toBe(0.05);
  });
});

describe('countInversions', () => {
  it('matches the quadratic count on any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }), (v) => {
        expect(countInversions(v)).toBe(bruteInversions(v));
      }),
    );
  });

  it('does not change its input', () => {
    const v = [3, 1, 2];
    countInversions(v);
    expect(v).toEqual([3, 1, 2]);
  });
});

describe('windowInversions', () => {
  it('is 0 when admission follows the windows, whatever the order inside a window', () => {
    const r = windowInversions([
      { window: 0, admission: 2 },
      { window: 0, admission: 1 },
      { window: 1, admission: 4 },
      { window: 1, admission: 3 },
      { window: 2, admission: null },
      { window: 1, admission: null },
    ]);
    expect(r).toEqual({ inversions: 0, admitted: 4, neverAdmitted: 2, windows: 3 });
  });

  it('counts each pair where a later window went first', () => {
    // window 2 admitted before two shoppers of window 1: two pairs
    const r = windowInversions([
      { window: 1, admission: 2 },
      { window: 2, admission: 1 },
      { window: 1, admission: 3 },
    ]);
    expect(r.inversions).toBe(2);
  });

  it('counts a later window admitted while an earlier shopper waited until the end', () => {
    const r = windowInversions([
      { window: 0, admission: null },
      { window: 1, admission: 1 },
      { window: 2, admission: 2 },
    ]);
    expect(r.inversions).toBe(2);
  });

  it('does not pair two shoppers who were both never admitted', () => {
    const r = windowInversions([
      { window: 3, admission: null },
      { window: 1, admission: null },
    ]);
    expect(r.inversions).toBe(0);
  });

  it('agrees with a pair-by-pair count', () => {
    const shopper = fc.record({ window: fc.integer({ min: 0, max: 4 }), admitted: fc.boolean() });
    fc.assert(
      fc.property(fc.array(shopper, { maxLength: 40 }), fc.infiniteStream(fc.integer()), (raw, keys) => {
        // distinct admission numbers, in a random order
        const order = raw.map((_, i) => [keys.next().value as number, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const admission = new Array<number>(raw.length);
        order.forEach(([, i], k) => (admission[i] = k + 1));
        const list = raw.map((s, i) => ({ window: s.window, admission: s.admitted ? admission[i]! : null }));
        let want = 0;
        for (const a of list) {
          for (const b of list) {
            // b of a later window went first: admitted before a, or admitted while a never was
            if (a.window < b.window && b.admission !== null && (a.admission === null || b.admission < a.admission)) want++;
          }
        }
        expect(windowInversions(list).inversions).toBe(want);
      }),
    );
  });
});

describe('normalizedRanks', () => {
  it('places the front at 0 and the back at 1', () => {
    expect(normalizedRanks([1, 5, 3], [1, 2, 3, 4, 5])).toEqual([0, 1, 0.5]);
  });

  it('averages about 0.5 for a group placed at random', () => {
    const rnd = seededRandom(11);
    const everyone = Array.from({ length: 10_000 }, () => rnd());
    const group = everyone.filter((_, i) => i % 10 === 0);
    const r = normalizedRanks(group, everyone);
    const m = r.reduce((a, b) => a + b, 0) / r.length;
    expect(m).toBeGreaterThan(0.45);
    expect(m).toBeLessThan(0.55);
  });
});
