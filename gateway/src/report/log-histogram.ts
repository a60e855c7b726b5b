/**
 * The sale report's log-scale histograms: time in queue (ms, counted by admit.lua, whose
 * `report_wait_field` in includes/common.lua is the Lua twin of `bucketOf`: change both
 * together) and request latency (µs, counted by request-stats.ts).
 *
 * Bucket 0 holds values under 1; bucket i >= 1 holds [2^((i-1)/8), 2^(i/8)): eight buckets per
 * doubling, each about 9 % wide. A percentile is answered as the geometric middle of the bucket
 * holding the nearest-rank value, so it is within about 4.4 % of the exact value (and 0.5 below 1).
 */

export const BUCKETS_PER_DOUBLING = 8;

export function bucketOf(value: number): number {
  if (!(value >= 1)) return 0;
  return 1 + Math.floor((BUCKETS_PER_DOUBLING * Math.log(value)) / Math.log(2));
}

/** [lower, upper) of a bucket */
export function bucketBounds(bucket: number): { lower: number; upper: number } {
  if (bucket <= 0) return { lower: 0, upper: 1 };
  return { lower: 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING), upper: 2 ** (bucket / BUCKETS_PER_DOUBLING) };
}

/** the value a bucket stands for: its geometric middle (0.5 for bucket 0) */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) return 0.5;
  return 2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING);
}

/** counts per bucket (sparse) */
export type Histogram = Map<number, number>;

export function addInto(into: Histogram, bucket: number, count: number): void {
  if (count > 0) into.set(bucket, (into.get(bucket) ?? 0) + count);
}

export function merge(histograms: Iterable<Histogram>): Histogram {
  const out: Histogram = new Map();
  for (const h of histograms) for (const [b, n] of h) addInto(out, b, n);
  return out;
}

export function total(h: Histogram): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

/**
 * The q-quantile (0 < q <= 1) by nearest rank: the bucket of the ceil(q * n)-th smallest value,
 * answered as that bucket's value; undefined for an empty histogram.
 */
export function quantile(h: Histogram, q: number): number | undefined {
  const n = total(h);
  if (n === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const b of [...h.keys()].sort((x, y) => x - y)) {
    seen += h.get(b)!;
    if (seen >= rank) return bucketValue(b);
  }
  return undefined;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** p50, p90, p99 of a histogram, each scaled by `scale` (e.g. 1/1000 from ms to s) */
export function percentiles(h: Histogram, scale = 1): Percentiles {
  const at = (q: number) => {
    const v = quantile(h, q);
    return v === undefined ? null : v * scale;
  };
  return { count: total(h), p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** A histogram stored as JSON ({"<bucket>": n}), as PostgreSQL keeps it. */
export function fromJson(value: unknown): Histogram {
  const h: Histogram = new Map();
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const b = Number(k);
      if (Number.isInteger(b) && typeof v === 'number') addInto(h, b, v);
    }
  }
  return h;
}
