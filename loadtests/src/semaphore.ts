/**
 * Bounds how many requests are in flight at once. undici queues requests beyond its
 * connections without limit; this keeps the simulator's own memory and the queueing delay
 * it adds bounded too, and first come first served.
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('Semaphore size must be a positive integer');
    this.#free = size;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  get inFlight(): number {
    return this.size - this.#free;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    if (this.#head < this.#waiting.length) {
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

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
