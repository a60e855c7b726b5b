/**
 * The shopper's place in line, moved on every tick without asking the server.
 *
 * While one waits, `position + admittedTotal` stays constant: everyone admitted since the
 * measurement was ahead. So a measurement (from join or `/queue/me`) fixes that sum, and each
 * `sale:update` moves the position to `sum - admittedTotal now`. Re-measuring now and then
 * corrects for what the sum does not see (a shopper ahead who left, a restarted Redis).
 */
export class PositionTracker {
  #anchor: number | null = null;
  #admittedTotal = 0;
  #first: number | null = null;

  /** an exact position from the server, with the admittedTotal it was measured at */
  measure(position: number, admittedTotal: number): void {
    this.#anchor = position + admittedTotal;
    this.#admittedTotal = admittedTotal;
    if (this.#first === null || position > this.#first) this.#first = position;
  }

  /** the front moved: admittedTotal only grows, so a stale (reordered) tick changes nothing */
  advance(admittedTotal: number): void {
    if (admittedTotal > this.#admittedTotal) this.#admittedTotal = admittedTotal;
  }

  get known(): boolean {
    return this.#anchor !== null;
  }

  /** 1 = next; null before the first measurement */
  get position(): number | null {
    return this.#anchor === null ? null : Math.max(1, this.#anchor - this.#admittedTotal);
  }

  /** how far past the front the estimate has run: > 0 means we should have been admitted */
  get overrun(): number {
    return this.#anchor === null ? 0 : Math.max(0, this.#admittedTotal - this.#anchor + 1);
  }

  get ahead(): number | null {
    const p = this.position;
    return p === null ? null : p - 1;
  }

  /** share of the way from the first known position to the front, 0..1 */
  get progress(): number {
    const p = this.position;
    if (p === null || this.#first === null) return 0;
    return Math.min(1, Math.max(0, (this.#first - p + 1) / this.#first));
  }

  reset(): void {
    this.#anchor = null;
    this.#first = null;
    this.#admittedTotal = 0;
  }
}
