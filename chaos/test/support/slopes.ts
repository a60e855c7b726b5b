/**
 * Is a figure sampled over a long run flat? A leak shows as a steady climb; a healthy process
 * wobbles (garbage collection, a sale starting) around a level. The first fifth of the run (at
 * least 30 s) is left out as warm-up; over the rest, the least-squares slope times the window
 * is the growth the run shows, and the figure is flat when that growth stays within
 * `absolute` or `relative` × its median level, whichever is larger.
 */

export type Series = readonly { readonly t: number; readonly v: number }[];

export interface Flatness {
  readonly flat: boolean;
  /** units per minute over the measured window */
  readonly slopePerMinute: number;
  /** slope × window: how much the figure grew over the measured window */
  readonly growth: number;
  readonly allowed: number;
  readonly median: number;
  readonly points: number;
  readonly windowMs: number;
  readonly describe: string;
}

/** least-squares slope of v over t (units per ms); 0 with fewer than two distinct times */
export function slope(points: Series): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function flatness(all: Series, limits: { absolute: number; relative: number }): Flatness {
  const start = all[0]?.t ?? 0;
  const end = all.at(-1)?.t ?? 0;
  const warmUp = Math.max(30_000, (end - start) / 5);
  const points = all.filter((p) => p.t >= start + warmUp);
  const windowMs = points.length ? points.at(-1)!.t - points[0]!.t : 0;
  const perMs = slope(points);
  const growth = perMs * windowMs;
  const level = median(points.map((p) => p.v));
  const allowed = Math.max(limits.absolute, limits.relative * level);
  // too few points to tell: not a pass
  const flat = points.length >= 5 && growth <= allowed;
  const fmt = (x: number) => (Math.abs(x) >= 2 ** 20 ? `${(x / 2 ** 20).toFixed(2)} MiB` : x.toFixed(2));
  return {
    flat,
    slopePerMinute: perMs * 60_000,
    growth,
    allowed,
    median: level,
    points: points.length,
    windowMs,
    describe:
      `${fmt(perMs * 60_000)}/min (${fmt(perMs * 3_600_000)}/h) over ${Math.round(windowMs / 1000)} s, ` +
      `growth ${fmt(growth)} (allowed ${fmt(allowed)}), median ${fmt(level)}, ${points.length} points`,
  };
}
