/**
 * When shoppers arrive, and which fairness window an arrival falls in.
 *
 * A flash sale is a spike: most shoppers come in the first seconds after the start and fewer
 * and fewer later. `spike` spreads n arrivals so that the arrival rate falls like 1/sqrt(t)
 * (half of them in the first quarter of the period); `flat` spreads them evenly.
 */
export type ArrivalProfile = 'spike' | 'flat';

/** Offsets (ms from the start of the period) of n arrivals, ascending. */
export function arrivalOffsetsMs(n: number, periodMs: number, profile: ArrivalProfile): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const q = n === 1 ? 0 : i / n;
    out[i] = Math.round(periodMs * (profile === 'spike' ? q * q : q));
  }
  return out;
}

/**
 * The fairness window of an arrival at `t` (ms): 0 before the start (the pre-queue), then
 * 1 + floor((t - start) / W). The gateway applies the same rule with Redis's clock.
 */
export function arrivalWindow(t: number, startsAt: number, windowMs: number): number {
  if (t < startsAt) return 0;
  if (windowMs <= 0) return Number.POSITIVE_INFINITY;
  return 1 + Math.floor((t - startsAt) / windowMs);
}

/**
 * Whether the window the server gave (from the ticket's score) is one the client's own clock
 * allows: between the window of when the join was sent and of when its answer came, widened
 * by `toleranceMs` for clock granularity.
 */
export function windowAgrees(
  serverWindow: number,
  sentAt: number,
  answeredAt: number,
  startsAt: number,
  windowMs: number,
  toleranceMs = 50,
): boolean {
  const lo = arrivalWindow(sentAt - toleranceMs, startsAt, windowMs);
  const hi = arrivalWindow(answeredAt + toleranceMs, startsAt, windowMs);
  return serverWindow >= lo && serverWindow <= hi;
}
