/**
 * The shopper's place in line, moved on every tick without asking the server.
 *
 * While one waits, `position + admittedTotal` stays constant: everyone admitted since the
 * measurement was ahead. So a measurement (from join or `/queue/me`) fixes that sum, and each
 * `sale:update` moves the position to `sum - admittedTotal now`. Re-measuring now and then
 * corrects for what the sum does not see (a shopper ahead who left, a restarted Redis).
 */
export class PositionTracker {
  private _anchor: number | null = null;
  private _admittedTotal = 0;
  private _first: number | null = null;

  /** an exact position from the server, with the admittedTotal it was measured at */
  measure(position: number, admittedTotal: number): void {
    this._anchor = position + admittedTotal;
    this._admittedTotal = admittedTotal;
    if (this._first === null || position > this._first) this._first = position;
  }

  /** the front moved: admittedTotal only grows, so a stale (reordered) tick changes nothing */
  advance(admittedTotal: number): void {
    if (admittedTotal > this._admittedTotal) this._admittedTotal = admittedTotal;
  }

  get known(): boolean {
    return this._anchor !== null;
  }

  /** 1 = next; null before the first measurement */
  get position(): number | null {
    return this._anchor === null ? null : Math.max(1, this._anchor - this._admittedTotal);
  }

  /** how far past the front the estimate has run: > 0 means we should have been admitted */
  get overrun(): number {
    return this._anchor === null ? 0 : Math.max(0, this._admittedTotal - this._anchor + 1);
  }

  get ahead(): number | null {
    const p = this.position;
    return p === null ? null : p - 1;
  }

  /** share of the way from the first known position to the front (1 = next), 0..1 */
  get progress(): number {
    const p = this.position;
    if (p === null || this._first === null) return 0;
    if (this._first <= 1) return 1;
    return Math.min(1, Math.max(0, (this._first - p) / (this._first - 1)));
  }

  reset(): void {
    this._anchor = null;
    this._first = null;
    this._admittedTotal = 0;
  }
}
