/**
 * How long until the shopper's turn, as a range that holds still.
 *
 * The admission rate is observed, not taken from the configuration: the cap on shoppers
 * admitted at once, stock and expiries all slow the line below the configured rate. Ticks
 * admit whole shoppers (2, 3, 2, 3 ... at 10 a second), so the observed rate is smoothed with
 * an exponentially weighted moving average whose weight follows the time between samples.
 * The configured rate is a ceiling the observation cannot beat for long, so when the marketer
 * lowers it the estimate drops at once instead of decaying.
 *
 * The displayed range changes only when the estimate leaves it (hysteresis): a range that
 * jumps on every tick reads as noise, and "4 to 6 minutes" that stays put for a while reads
 * as an honest estimate.
 */

/** seconds over which old observations fade (time constant of the average) */
const TAU_SECONDS = 12;
/** the configured rate counts as this many seconds of observation, until real ones outweigh it */
const PRIOR_SECONDS = 5;

export class RateEstimator {
  private _perSecond: number | null = null;
  private _last: { total: number; at: number } | null = null;
  private _ceiling: number | null = null;
  /** seconds observed since the last reset (a new configured rate, the line starting again) */
  private _observed = 0;

  /** the configured rate (shoppers per minute): a ceiling, and the first guess after a change */
  configure(ratePerMinute: number): void {
    const perSecond = ratePerMinute / 60;
    if (perSecond === this._ceiling) return;
    this._ceiling = perSecond;
    // a lower rate takes effect at once; a higher one is believed as it shows
    // (from a standstill, the new rate is the only guess there is)
    this._perSecond = !this._perSecond ? perSecond : Math.min(this._perSecond, perSecond);
    this._observed = 0;
  }

  /**
   * the line is not meant to move now (before the start, paused): learn nothing from the
   * standstill, and start averaging afresh when it moves again
   */
  hold(): void {
    this._last = null;
    this._observed = 0;
  }

  /** the sale's admittedTotal at server time `at` (ms), while the line is meant to move */
  observe(admittedTotal: number, at: number): void {
    const last = this._last;
    if (last === null || admittedTotal < last.total) {
      // the first sample, or a counter that went back (a rebuilt Redis): start over from here
      this._last = { total: admittedTotal, at };
      return;
    }
    const dt = (at - last.at) / 1000;
    if (dt < 0.05) return;
    this._last = { total: admittedTotal, at };
    const instant = (admittedTotal - last.total) / dt;
    this._observed += dt;
    // a running mean (with the prior as a few seconds' worth) until it is long enough for the
    // moving average, which then forgets at its own pace
    const weight = Math.max(1 - Math.exp(-dt / TAU_SECONDS), dt / (this._observed + (this._perSecond === null ? 0 : PRIOR_SECONDS)));
    const prev = this._perSecond ?? instant;
    let next = prev + weight * (instant - prev);
    // bursts (a tick that admits its accrued credit) may exceed the ceiling; the trend cannot
    if (this._ceiling !== null && next > this._ceiling) next = this._ceiling;
    this._perSecond = next;
  }

  /** shoppers admitted per second; null when nothing is known yet */
  get perSecond(): number | null {
    return this._perSecond;
  }
}

export interface Range {
  /** seconds */
  lo: number;
  hi: number;
}

/** rounding step for a range around `seconds`: coarser as the wait grows (one unit per range) */
function step(seconds: number): number {
  if (seconds < 90) return 15;
  if (seconds < 600) return 60;
  if (seconds < 3600) return 300;
  return 900;
}

export function rangeAround(seconds: number): Range {
  const st = step(seconds);
  const lo = Math.floor((seconds * 0.8) / st) * st;
  let hi = Math.ceil((seconds * 1.25) / st) * st;
  if (hi <= lo) hi = lo + st;
  return { lo, hi };
}

export class EtaRange {
  private _shown: Range | null = null;

  /** the estimate in seconds (null: unknown); answers the range to show */
  update(seconds: number | null): Range | null {
    if (seconds === null || !Number.isFinite(seconds)) {
      this._shown = null;
      return null;
    }
    const s = this._shown;
    if (s === null || seconds < s.lo || seconds > s.hi) this._shown = rangeAround(seconds);
    return this._shown;
  }

  get shown(): Range | null {
    return this._shown;
  }
}
