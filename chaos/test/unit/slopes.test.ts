import { describe, expect, it } from 'vitest';
import { flatness, slope } from '../support/slopes.js';

const minutes = (n: number, f: (t: number) => number) =>
  Array.from({ length: (n * 60) / 5 + 1 }, (_, i) => ({ t: i * 5_000, v: f(i * 5_000) }));

describe('slopes: is a sampled figure flat', () => {
  it('finds the least-squares slope of a line', () => {
    expect(
      slope([
        { t: 0, v: 1 },
        { t: 10, v: 21 },
        { t: 20, v: 41 },
      ]),
    ).toBeCloseTo(2, 10);
    expect(slope([{ t: 5, v: 3 }])).toBe(0);
  });

  it('calls a level that wobbles flat', () => {
    const f = flatness(
      minutes(10, (t) => 100e6 + (Math.floor(t / 5_000) % 2 ? 5e6 : -5e6)),
      { absolute: 8e6, relative: 0.1 },
    );
    expect(f.flat).toBe(true);
    expect(Math.abs(f.slopePerMinute)).toBeLessThan(1e5);
  });

  it('calls a steady climb past the allowance a leak, warm-up left out', () => {
    // 2 MB a minute after a steep first minute: 16 MB over the 8 minutes measured
    const leak = flatness(
      minutes(10, (t) => (t < 60_000 ? t * 1_000 : 60e6 + (t - 60_000) * (2e6 / 60_000))),
      {
        absolute: 8e6,
        relative: 0.1,
      },
    );
    expect(leak.flat).toBe(false);
    expect(leak.slopePerMinute).toBeCloseTo(2e6, -3);
    // the same warm-up without the climb after it is flat
    const warm = flatness(
      minutes(10, (t) => (t < 60_000 ? t * 1_000 : 60e6)),
      { absolute: 8e6, relative: 0.1 },
    );
    expect(warm.flat).toBe(true);
  });

  it('does not pass a series too short to tell', () => {
    expect(
      flatness(
        minutes(0.5, () => 1),
        { absolute: 1, relative: 0 },
      ).flat,
    ).toBe(false);
  });
});
