/**
 * The page's one polite live region. Position changes are announced at most every
 * `minGapMs` (a screen reader reading every tick is unusable); changes of state (your turn,
 * sold out, order confirmed) are announced at once.
 */
export class Announcer {
  #last = -Infinity;
  #pending: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly region: HTMLElement,
    private readonly minGapMs = 30_000,
  ) {}

  /** an event the shopper must hear now */
  now(text: string): void {
    this.cancel();
    this.#say(text);
  }

  /** progress: said now if the last announcement is old enough, else the latest is said later */
  progress(text: string): void {
    const wait = this.#last + this.minGapMs - Date.now();
    if (wait <= 0) {
      this.#say(text);
      return;
    }
    this.#pending = text;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#pending !== null) this.#say(this.#pending);
        this.#pending = null;
      }, wait);
    }
  }

  /** forget queued progress (the state moved on) */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = null;
  }

  #say(text: string): void {
    if (this.region.textContent === text) {
      // the same words again are only read when the content changes
      this.region.textContent = '';
    }
    this.#last = Date.now();
    // a change after a short pause is what screen readers pick up reliably
    setTimeout(() => {
      this.region.textContent = text;
    }, 50);
  }
}
