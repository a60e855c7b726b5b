/**
 * One repeating request, spaced as the last answer asked: `run` resolves the delay until the
 * next run (null: no need to ask again). A poller never overlaps itself. `soon()` asks early
 * (after a small random delay, so that a thousand pages hearing the same event do not all ask
 * in the same millisecond); it never postpones a run already due earlier.
 */
export class Poller {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dueAt = Infinity;
  #running = false;
  #active = false;
  #again = false;

  constructor(private readonly run: () => Promise<number | null>) {}

  /** polling on its own schedule (not only when asked) */
  get active(): boolean {
    return this.#active;
  }

  start(delayMs = 0): void {
    this.#active = true;
    if (!this.#running && this.#timer === undefined) this.#schedule(delayMs);
  }

  stop(): void {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity;
  }

  /** run once soon, whether polling or not */
  soon(jitterMs = 0): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(Math.random() * jitterMs);
  }

  #schedule(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.#timer !== undefined && this.#dueAt <= due) return;
    clearTimeout(this.#timer);
    this.#dueAt = due;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#dueAt = Infinity;
    this.#running = true;
    let next: number | null;
    try {
      next = await this.run();
    } catch {
      next = 5_000;
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#schedule(0);
    } else if (this.#active && next !== null) {
      this.#schedule(next);
    }
  }
}
