/**
 * The page's one polite live region. Position changes are announced at most every
 * `minGapMs` (a screen reader reading every tick is unusable); changes of state (your turn,
 * sold out, order confirmed) are announced at once.
 */
export class Announcer {
  private _last = -Infinity;
  private _pending: string | null = null;
  private _timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly region: HTMLElement,
    private readonly minGapMs = 30_000,
  ) {}

  /** an event the shopper must hear now */
  now(text: string): void {
    this.cancel();
    this._say(text);
  }

  /** progress: said now if the last announcement is old enough, else the latest is said later */
  progress(text: string): void {
    const wait = this._last + this.minGapMs - Date.now();
    if (wait <= 0) {
      this._say(text);
      return;
    }
    this._pending = text;
    if (this._timer === undefined) {
      this._timer = setTimeout(() => {
        this._timer = undefined;
        if (this._pending !== null) this._say(this._pending);
        this._pending = null;
      }, wait);
    }
  }

  /** forget queued progress (the state moved on) */
  cancel(): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._pending = null;
  }

  private _say(text: string): void {
    if (this.region.textContent === text) {
      // the same words again are only read when the content changes
      this.region.textContent = '';
    }
    this._last = Date.now();
    // a change after a short pause is what screen readers pick up reliably
    setTimeout(() => {
      this.region.textContent = text;
    }, 50);
  }
}
