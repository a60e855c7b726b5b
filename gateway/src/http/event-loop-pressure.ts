/**
 * Whether the event loop lags past a limit, sampled once a second from Node's event-loop delay
 * histogram. It replaces @fastify/under-pressure, whose sampler also calls
 * `process.memoryUsage()` each second: that reads /proc, throws EMFILE when the process is out
 * of descriptors, and the throw, in a timer, ended the process (issue 12 item 2). This reads
 * nothing but the histogram, so a descriptor shortage cannot reach it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const SAMPLE_MS = 1_000;

export class EventLoopPressure {
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #delayMs = 0;

  constructor(readonly maxDelayMs: number) {
    this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  /** the mean delay over the last sample, past the histogram's own resolution */
  get delayMs(): number {
    return this.#delayMs;
  }

  get underPressure(): boolean {
    return this.#delayMs > this.maxDelayMs;
  }

  #sample(): void {
    const mean = this.#histogram.mean / 1e6 - RESOLUTION_MS;
    // no sample in the interval (the loop was blocked through it): as bad as it gets
    this.#delayMs = Number.isNaN(mean) ? Infinity : Math.max(0, mean);
    this.#histogram.reset();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
