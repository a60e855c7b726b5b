import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from '../../src/backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay, keeps jitter within 50-100 %, and caps', () => {
    const opts = { initialMs: 100, maxMs: 5_000 };
    for (let i = 0; i < 200; i++) {
      const first = backoffDelay(0, opts);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      const third = backoffDelay(2, opts);
      expect(third).toBeGreaterThanOrEqual(200);
      expect(third).toBeLessThanOrEqual(400);
      const late = backoffDelay(60, opts);
      expect(late).toBeGreaterThanOrEqual(2_500);
      expect(late).toBeLessThanOrEqual(5_000);
    }
  });

  it('spreads retries (jitter), so workers that lost the same service do not return in step', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('sleep', () => {
  it('wakes up at once when aborted (a stopping worker does not sit out its backoff)', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const slept = sleep(10_000, controller.signal);
    controller.abort();
    await slept;
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
