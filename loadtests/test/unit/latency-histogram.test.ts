import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/latency-histogram.js';

/** the exact percentile of sorted samples, by the same rank rule (ceil(p% * n)-th smallest) */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe('LatencyHistogram', () => {
  it('answers percentiles within 1 % of the exact value', () => {
    const h = new LatencyHistogram();
    const samples: number[] = [];
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      // a long-tailed mix: most around 5-50 ms, some up to seconds
      const v = (x % 1000 < 950 ? 5 + (x % 45) : 100 + (x % 3000)) + (x % 997) / 1000;
      samples.push(v);
      h.record(v);
    }
    samples.sort((a, b) => a - b);
    for (const p of [1, 50, 90, 99, 99.9]) {
      const want = exact(samples, p);
      const got = h.percentile(p);
      expect(got).toBeGreaterThanOrEqual(want * 0.999);
      expect(got).toBeLessThanOrEqual(want * 1.011);
    }
    expect(h.count).toBe(50_000);
    expect(h.max).toBe(samples[samples.length - 1]);
    expect(h.min).toBe(samples[0]);
    expect(h.percentile(100)).toBe(h.max);
  });

  it('summarises an empty histogram as zeros', () => {
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('ignores values that are not latencies', () => {
    const h = new LatencyHistogram();
    h.record(Number.NaN);
    h.record(-1);
    h.record(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(0);
  });

  it('merges as if every value had been recorded in one', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const both = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 3 === 0 ? a : b).record(i / 10);
      both.record(i / 10);
    }
    a.merge(b);
    expect(a.summary()).toEqual(both.summary());
    expect(a.buckets()).toEqual(both.buckets());
  });

  it('keeps values beyond its range in the last bucket with an exact max', () => {
    const h = new LatencyHistogram();
    h.record(1);
    h.record(500_000); // 500 s
    expect(h.max).toBe(500_000);
    expect(h.percentile(99)).toBe(500_000);
  });

  it('coarsens buckets without losing counts', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 100);
    const coarse = h.coarseBuckets(10);
    expect(coarse.reduce((n, b) => n + b.count, 0)).toBe(10_000);
    expect(coarse.length).toBeLessThanOrEqual(41);
    for (let i = 1; i < coarse.length; i++) expect(coarse[i]!.upperMs).toBeGreaterThan(coarse[i - 1]!.upperMs);
  });
});
