/**
 * A latency histogram in the spirit of HdrHistogram: log-spaced buckets with a fixed relative
 * error (1 %), so a run of millions of requests keeps a few kilobytes per endpoint and still
 * answers any percentile. Exact count, min, max and sum are kept beside the buckets.
 *
 * Values are recorded in milliseconds; internally in microseconds, from 1 µs to ~100 s
 * (larger values land in the last bucket; max stays exact).
 */

/** bucket i holds values v (µs) with GROWTH^(i-1) < v <= GROWTH^i */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const MAX_US = 100_000_000;
const BUCKETS = Math.ceil(Math.log(MAX_US) / LOG_GROWTH) + 1;

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface HistogramBucket {
  /** upper bound of the bucket, ms */
  readonly upperMs: number;
  readonly count: number;
}

function bucketOf(us: number): number {
  if (us <= 1) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH - 1e-9));
}

function upperUs(bucket: number): number {
  return GROWTH ** bucket;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sumMs = 0;
  #minMs = Number.POSITIVE_INFINITY;
  #maxMs = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#counts[bucketOf(ms * 1000)]! += 1;
    this.#count++;
    this.#sumMs += ms;
    if (ms < this.#minMs) this.#minMs = ms;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#count === 0 ? 0 : this.#maxMs;
  }

  get min(): number {
    return this.#count === 0 ? 0 : this.#minMs;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sumMs / this.#count;
  }

  /**
   * The value at percentile `p` (0-100), in ms: the upper bound of the bucket that holds the
   * ceil(p% * count)-th smallest value, clamped to the exact min and max. At most 1 % high.
   */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    if (p <= 0) return this.#minMs;
    if (p >= 100) return this.#maxMs;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        // the last bucket also holds everything beyond the range: only max is right there
        if (i === BUCKETS - 1) return this.#maxMs;
        return Math.min(this.#maxMs, Math.max(this.#minMs, upperUs(i) / 1000));
      }
    }
    return this.#maxMs;
  }

  merge(other: LatencyHistogram): void {
    if (other.#count === 0) return;
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += other.#counts[i]!;
    this.#count += other.#count;
    this.#sumMs += other.#sumMs;
    this.#minMs = Math.min(this.#minMs, other.#minMs);
    this.#maxMs = Math.max(this.#maxMs, other.#maxMs);
  }

  summary(): LatencySummary {
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      count: this.#count,
      mean: round(this.mean),
      min: round(this.min),
      p50: round(this.percentile(50)),
      p90: round(this.percentile(90)),
      p99: round(this.percentile(99)),
      max: round(this.max),
    };
  }

  /** The non-empty buckets, smallest first. */
  buckets(): HistogramBucket[] {
    const out: HistogramBucket[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.#counts[i]!;
      if (c > 0) out.push({ upperMs: upperUs(i) / 1000, count: c });
    }
    return out;
  }

  /**
   * Buckets coarsened to `perDecade` log-spaced bins per factor of ten (for charts and the
   * report file: a few dozen points instead of hundreds).
   */
  coarseBuckets(perDecade = 10): HistogramBucket[] {
    const bins = new Map<number, number>();
    for (const b of this.buckets()) {
      const bin = Math.ceil(Math.log10(b.upperMs) * perDecade - 1e-9);
      bins.set(bin, (bins.get(bin) ?? 0) + b.count);
    }
    return [...bins.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([bin, count]) => ({ upperMs: Number((10 ** (bin / perDecade)).toPrecision(4)), count }));
  }
}
