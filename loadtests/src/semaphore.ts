/**
 * Bounds how many requests are in flight at once. undici queues requests beyond its
 * connections without limit; this keeps the simulator's own memory and the queueing delay
 * it adds bounded too, and first come first served within each of two lanes: an urgent
 * request (a checkout step, or the poll of a shopper at the front of the line) goes before
 * every ordinary one that waits. In a real sale each
 * shopper has a browser of their own, and no buyer waits behind 10,000 other shoppers' polls
 * in a queue of the client; here they share one process, and without the lane a poll wave
 * held admitted buyers back long enough to stretch the sale (the queue is the simulator's,
 * not the system's).
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  #head = 0;
  readonly #urgent: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('Semaphore size must be a positive integer');
    this.#free = size;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head + this.#urgent.length;
  }

  get inFlight(): number {
    return this.size - this.#free;
  }

  acquire(urgent = false): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => (urgent ? this.#urgent : this.#waiting).push(resolve));
  }

  release(): void {
    // few urgent ones wait at a time: a plain array is enough
    const urgent = this.#urgent.shift();
    if (urgent) {
      urgent();
    } else if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as never;
      // compact now and then so the array does not grow for the whole run
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next();
    } else {
      this.#free++;
    }
  }

  async run<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    await this.acquire(urgent);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
