/**
 * Closed-loop admission: the admission rate follows the health of what comes after the
 * gateway (the orders queue, the broker's confirms), between a floor the marketer sets and
 * the marketer's own rate, so a struggling worker or broker is not handed more buyers than it
 * can take. Additive increase, multiplicative decrease (the way TCP finds a link's capacity):
 * back off hard when a signal says "too much", creep back up when all are calm.
 */

export interface DownstreamHealth {
  /** orders waiting in the queue */
  readonly queueDepth: number;
  /** recent publish-confirm latency, ms (an average over the last interval) */
  readonly confirmLatencyMs: number;
  /** share of publishes refused or timed out over the last interval, 0..1 */
  readonly publishErrorRatio: number;
}

export interface ClosedLoopLimits {
  /** above this queue depth the rate goes down */
  readonly queueHigh: number;
  /** below this queue depth (and with every other signal calm) the rate goes up */
  readonly queueLow: number;
  readonly confirmLatencyHighMs: number;
  readonly errorRatioHigh: number;
  /** multiplicative decrease */
  readonly decrease: number;
  /** additive increase, as a share of the marketer's rate, per step */
  readonly increaseShare: number;
}

export const DEFAULT_LIMITS: ClosedLoopLimits = {
  queueHigh: 5_000,
  queueLow: 500,
  confirmLatencyHighMs: 250,
  errorRatioHigh: 0.02,
  decrease: 0.7,
  increaseShare: 0.1,
};

export type Verdict = 'decrease' | 'increase' | 'hold';

export function verdict(h: DownstreamHealth, limits: ClosedLoopLimits = DEFAULT_LIMITS): Verdict {
  if (h.queueDepth > limits.queueHigh || h.confirmLatencyMs > limits.confirmLatencyHighMs || h.publishErrorRatio > limits.errorRatioHigh) {
    return 'decrease';
  }
  if (h.queueDepth < limits.queueLow) return 'increase';
  return 'hold';
}

/** The next effective rate, always within [floor, ceiling]. */
export function nextRate(
  current: number,
  h: DownstreamHealth,
  bounds: { readonly floor: number; readonly ceiling: number },
  limits: ClosedLoopLimits = DEFAULT_LIMITS,
): number {
  const floor = Math.min(bounds.floor, bounds.ceiling);
  const clamp = (r: number) => Math.min(bounds.ceiling, Math.max(floor, r));
  switch (verdict(h, limits)) {
    case 'decrease':
      return clamp(Math.floor(current * limits.decrease));
    case 'increase':
      return clamp(Math.ceil(current + Math.max(1, bounds.ceiling * limits.increaseShare)));
    case 'hold':
      return clamp(current);
  }
}
