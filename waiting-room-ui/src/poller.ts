/**
 * One repeating request, spaced as the last answer asked: `run` resolves the delay until the
 * next run (null: no need to ask again). A poller never overlaps itself. `soon()` asks early
 * (after a small random delay, so that a thousand pages hearing the same event do not all ask
 * in the same millisecond); it never postpones a run already due earlier.
 */
export class Poller {
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _dueAt = Infinity;
  private _running = false;
  private _active = false;
  private _again = false;

  constructor(private readonly run: () => Promise<number | null>) {}

  /** polling on its own schedule (not only when asked) */
  get active(): boolean {
    return this._active;
  }

  start(delayMs = 0): void {
    this._active = true;
    if (!this._running && this._timer === undefined) this._schedule(delayMs);
  }

  stop(): void {
    this._active = false;
    clearTimeout(this._timer);
    this._timer = undefined;
    this._dueAt = Infinity;
  }

  /** run once soon, whether polling or not */
  soon(jitterMs = 0): void {
    if (this._running) {
      this._again = true;
      return;
    }
    this._schedule(Math.random() * jitterMs);
  }

  private _schedule(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this._timer !== undefined && this._dueAt <= due) return;
    clearTimeout(this._timer);
    this._dueAt = due;
    this._timer = setTimeout(() => void this._tick(), delayMs);
  }

  private async _tick(): Promise<void> {
    this._timer = undefined;
    this._dueAt = Infinity;
    this._running = true;
    let next: number | null;
    try {
      next = await this.run();
    } catch {
      next = 5_000;
    } finally {
      this._running = false;
    }
    if (this._again) {
      this._again = false;
      this._schedule(0);
    } else if (this._active && next !== null) {
      this._schedule(next);
    }
  }
}
