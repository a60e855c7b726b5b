import { describe, expect, it } from 'vitest';
import { bucketBounds, bucketOf, bucketValue, percentiles, quantile, type Histogram } from '../../src/report/log-histogram.js';
import { RELATIVE_PRECISION } from '../../src/report/report-model.js';

/** nearest-rank quantile of exact values */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function histogramOf(values: number[]): Histogram {
  const h: Histogram = new Map();
  for (const v of values) h.set(bucketOf(v), (h.get(bucketOf(v)) ?? 0) + 1);
  return h;
}

/** a small deterministic generator (mulberry32) */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the report histogram', () => {
  it('puts every value in the bucket whose bounds hold it', () => {
    const rnd = random(1);
    for (let i = 0; i < 10_000; i++) {
      const v = Math.exp(rnd() * 20);
      const { lower, upper } = bucketBounds(bucketOf(v));
      expect(v).toBeGreaterThanOrEqual(lower * (1 - 1e-12));
      expect(v).toBeLessThan(upper * (1 + 1e-12));
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.99)).toBe(0);
    expect(bucketOf(1)).toBe(1);
    expect(bucketOf(2)).toBe(9);
    expect(bucketOf(Number.NaN)).toBe(0);
  });

  it('answers percentiles within its stated precision of the exact nearest-rank value', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = random(seed);
      // waits from 50 ms to about 20 minutes, skewed like a queue's
      const values = Array.from({ length: 1 + Math.floor(rnd() * 3000) }, () => 50 + Math.exp(rnd() * 14));
      const h = histogramOf(values);
      for (const q of [0.5, 0.9, 0.99]) {
        const exact = exactQuantile(values, q);
        const answer = quantile(h, q)!;
        expect(Math.abs(answer - exact) / exact).toBeLessThanOrEqual(RELATIVE_PRECISION);
      }
    }
  });

  it('scales percentiles and has none when empty', () => {
    expect(percentiles(new Map())).toEqual({ count: 0, p50: null, p90: null, p99: null });
    const h = histogramOf([1000, 1000, 1000]);
    const p = percentiles(h, 1 / 1000);
    expect(p.count).toBe(3);
    expect(p.p50).toBeCloseTo(bucketValue(bucketOf(1000)) / 1000, 9);
    expect(Math.abs(p.p50! - 1)).toBeLessThanOrEqual(RELATIVE_PRECISION);
  });
});
