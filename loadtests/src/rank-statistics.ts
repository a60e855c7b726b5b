/**
 * The statistics behind the fairness promise (I5): rank correlation of arrival and queue
 * order in the pre-queue, inversions across arrival windows, and where a group of
 * identities (bots) landed among everyone else.
 */

/** 1-based ranks, ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = avg;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation of two equally long series; NaN when undefined (n < 2 or a constant series). */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error('spearman: series of different lengths');
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mean = (n + 1) / 2;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    const a = rx[i]! - mean;
    const b = ry[i]! - mean;
    num += a * b;
    dx += a * a;
    dy += b * b;
  }
  return dx === 0 || dy === 0 ? Number.NaN : num / Math.sqrt(dx * dy);
}

/**
 * The largest |rho| that a uniformly random order of n items reaches by chance in a test
 * that should practically never fail: four standard errors (1/sqrt(n-1)), and never below
 * `floor`.
 */
export function randomOrderRhoBound(n: number, floor = 0.05): number {
  if (n < 2) return 1;
  return Math.max(floor, 4 / Math.sqrt(n - 1));
}

/** Pairs i < j with values[i] > values[j] (strictly), in O(n log n). */
export function countInversions(values: readonly number[]): number {
  const a = [...values];
  const tmp = new Array<number>(a.length);
  let inversions = 0;
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length - width; lo += 2 * width) {
      const mid = lo + width;
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[i]! <= a[j]!) tmp[k++] = a[i++]!;
        else {
          // a[j] is smaller than every remaining a[i..mid): each is an inversion
          inversions += mid - i;
          tmp[k++] = a[j++]!;
        }
      }
      while (i < mid) tmp[k++] = a[i++]!;
      while (j < hi) tmp[k++] = a[j++]!;
      for (let m = lo; m < hi; m++) a[m] = tmp[m]!;
    }
  }
  return inversions;
}

export interface WindowedShopper {
  /** the arrival window (0 = pre-queue); strict FIFO: the arrival sequence itself */
  readonly window: number;
  /** admission sequence number (the admission token's `adm` claim); null: never admitted while waiting */
  readonly admission: number | null;
}

export interface InversionResult {
  /** pairs where a shopper of a later window was admitted before one of an earlier window */
  readonly inversions: number;
  readonly admitted: number;
  /** shoppers still waiting when the sale sold out: anyone admitted from a later window skipped them */
  readonly neverAdmitted: number;
  readonly windows: number;
}

/**
 * Counts inversions across arrival windows: pairs (a, b) where a arrived in an earlier window
 * than b, yet b was admitted before a, or b was admitted and a never was (a waited until the
 * sale sold out). Two shoppers who were both never admitted are not a pair.
 */
export function windowInversions(shoppers: readonly WindowedShopper[]): InversionResult {
  const admitted = shoppers.filter((s) => s.admission !== null).sort((a, b) => a.admission! - b.admission!);
  const never = shoppers.filter((s) => s.admission === null);
  const sequence = [...admitted.map((s) => s.window), ...never.map((s) => s.window)];
  const inversions = countInversions(sequence) - countInversions(never.map((s) => s.window));
  return {
    inversions,
    admitted: admitted.length,
    neverAdmitted: never.length,
    windows: new Set(shoppers.map((s) => s.window)).size,
  };
}

/**
 * Where each of `group` stands among `everyone` (which includes the group), as the fraction of
 * `everyone` strictly in front of it (0 = front, about 1 = back), ties counting half. A group
 * placed without bias averages about 0.5.
 */
export function normalizedRanks(group: readonly number[], everyone: readonly number[]): number[] {
  if (everyone.length === 0) return [];
  const sorted = [...everyone].sort((a, b) => a - b);
  const lowerBound = (v: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const upperBound = (v: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return group.map((v) => {
    const below = lowerBound(v);
    const ties = upperBound(v) - below - 1; // not counting itself
    return (below + Math.max(0, ties) / 2) / Math.max(1, sorted.length - 1);
  });
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
