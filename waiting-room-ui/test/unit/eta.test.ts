/**
 * The waiting room's arithmetic, without a browser: the position moved by ticks, the smoothed
 * admission rate, and the ETA range that only moves when the estimate leaves it.
 */
import { describe, expect, it } from 'vitest';
import { EtaRange, rangeAround, RateEstimator } from '../../src/eta.js';
import { PositionTracker } from '../../src/position.js';

describe('PositionTracker', () => {
  it('moves the position by the admissions since the measurement, and ignores a stale tick', () => {
    const p = new PositionTracker();
    p.measure(120, 1_000);
    p.advance(1_030);
    expect(p.position).toBe(90);
    p.advance(1_010); // a tick that arrived late
    expect(p.position).toBe(90);
    expect(p.ahead).toBe(89);
    p.advance(1_200);
    expect(p.position).toBe(1);
    expect(p.overrun).toBe(81);
  });
});

describe('RateEstimator', () => {
  /** a 250 ms tick admitting 2, 3, 2, 3 ...: 10 a second */
  function ticks(r: RateEstimator, from: { total: number; at: number }, n: number, perTick: (i: number) => number) {
    for (let i = 0; i < n; i++) {
      from.total += perTick(i);
      from.at += 250;
      r.observe(from.total, from.at);
    }
  }

  it('smooths whole-shopper ticks into the rate they average', () => {
    const r = new RateEstimator();
    r.configure(600);
    const clock = { total: 0, at: 0 };
    r.observe(0, 0);
    ticks(r, clock, 240, (i) => (i % 2 ? 3 : 2));
    expect(r.perSecond).toBeGreaterThan(9.5);
    expect(r.perSecond).toBeLessThanOrEqual(10);
  });

  it('learns a line slower than configured (the cap on active shoppers) and drops at once when the rate is lowered', () => {
    const r = new RateEstimator();
    r.configure(600);
    const clock = { total: 0, at: 0 };
    r.observe(0, 0);
    ticks(r, clock, 240, () => 1); // 4 a second
    expect(r.perSecond).toBeCloseTo(4, 0);
    r.configure(60);
    expect(r.perSecond).toBe(1);
  });

  it('learns nothing from a line that is meant to stand still', () => {
    const r = new RateEstimator();
    r.configure(600);
    r.observe(0, 0);
    r.hold();
    r.observe(0, 60_000); // a minute paused
    expect(r.perSecond).toBe(10);
  });
});

describe('EtaRange', () => {
  it('holds the shown range while a noisy estimate stays inside it, and moves when it leaves', () => {
    const eta = new EtaRange();
    const first = eta.update(300)!;
    expect(first).toEqual(rangeAround(300));
    for (const noise of [0.9, 1.1, 0.95, 1.05]) expect(eta.update(300 * noise)).toBe(first);
    const later = eta.update(first.lo - 1)!;
    expect(later.hi).toBeLessThanOrEqual(first.hi);
    expect(later).not.toEqual(first);
  });
});
