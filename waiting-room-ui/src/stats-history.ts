/**
 * The console's memory of one sale: stats polled every second, the series the charts draw
 * (admissions per minute derived from admittedTotal), and the changes marked on them.
 */
import type { Marker } from './chart.js';
import type { SaleStats } from './shapes.js';

/** how much the charts show */
export const WINDOW_MS = 5 * 60_000;
/** admissions per minute are measured over this long: per second they are mostly noise */
const RATE_SPAN_MS = 5_000;

type Point = readonly [number, number];

export class StatsHistory {
  private readonly _samples: SaleStats[] = [];
  private readonly _markers: (Marker & { key: string })[] = [];

  /** when the first sample still kept was taken */
  get firstAt(): number | undefined {
    return this._samples[0]?.at;
  }

  get latest(): SaleStats | undefined {
    return this._samples[this._samples.length - 1];
  }

  add(s: SaleStats): void {
    const prev = this.latest;
    if (prev && s.at <= prev.at) return;
    this._samples.push(s);
    while (this._samples.length > 2 && this._samples[0]!.at < s.at - WINDOW_MS - RATE_SPAN_MS) this._samples.shift();
    while (this._markers.length > 0 && this._markers[0]!.at < s.at - WINDOW_MS) this._markers.shift();
    if (prev) {
      // changes made elsewhere (another console, the API) are marked too
      if (s.ratePerMinute !== prev.ratePerMinute) this.mark('ratePerMinute', `rate ${prev.ratePerMinute}→${s.ratePerMinute}/min`, s.at);
      if (s.maxActive !== prev.maxActive) this.mark('maxActive', `max active ${prev.maxActive}→${s.maxActive}`, s.at);
      if (s.paused !== prev.paused) this.mark('paused', s.paused ? 'paused' : 'resumed', s.at);
    }
  }

  /** a change: marked once, whether we made it (and said so first) or saw it in the stats */
  mark(key: string, label: string, at: number): void {
    if (this._markers.some((m) => m.key === key && Math.abs(m.at - at) < 5_000)) return;
    this._markers.push({ key, label, at });
  }

  get markers(): readonly Marker[] {
    return this._markers;
  }

  series(pick: (s: SaleStats) => number): Point[] {
    return this._samples.map((s) => [s.at, pick(s)] as const);
  }

  /** shoppers admitted per minute, over the last few seconds at each sample */
  admissionsPerMinute(): Point[] {
    const out: Point[] = [];
    let j = 0;
    for (let i = 1; i < this._samples.length; i++) {
      const s = this._samples[i]!;
      while (j < i - 1 && this._samples[j + 1]!.at <= s.at - RATE_SPAN_MS) j++;
      const base = this._samples[j]!;
      const dt = s.at - base.at;
      if (dt <= 0) continue;
      out.push([s.at, Math.max(0, ((s.admittedTotal - base.admittedTotal) / dt) * 60_000)]);
    }
    return out;
  }
}
