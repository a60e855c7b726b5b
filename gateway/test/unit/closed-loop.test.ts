import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, nextRate, verdict, type DownstreamHealth } from '../../src/admission/closed-loop.js';

const calm: DownstreamHealth = { queueDepth: 0, confirmLatencyMs: 5, publishErrorRatio: 0 };
const bounds = { floor: 60, ceiling: 6_000 };

describe('closed-loop admission', () => {
  it('backs off multiplicatively on any sign of trouble', () => {
    for (const trouble of [
      { ...calm, queueDepth: DEFAULT_LIMITS.queueHigh + 1 },
      { ...calm, confirmLatencyMs: DEFAULT_LIMITS.confirmLatencyHighMs + 1 },
      { ...calm, publishErrorRatio: 0.5 },
    ]) {
      expect(verdict(trouble)).toBe('decrease');
      expect(nextRate(6_000, trouble, bounds)).toBe(4_200);
    }
  });

  it('climbs back additively when everything is calm, and holds in between', () => {
    expect(nextRate(1_000, calm, bounds)).toBe(1_600);
    const middling = { ...calm, queueDepth: (DEFAULT_LIMITS.queueLow + DEFAULT_LIMITS.queueHigh) / 2 };
    expect(verdict(middling)).toBe('hold');
    expect(nextRate(1_000, middling, bounds)).toBe(1_000);
  });

  it('never leaves the marketer’s bounds, however long the trouble or the calm lasts', () => {
    let rate = 6_000;
    for (let i = 0; i < 100; i++) rate = nextRate(rate, { ...calm, queueDepth: 1e9 }, bounds);
    expect(rate).toBe(60);
    for (let i = 0; i < 100; i++) rate = nextRate(rate, calm, bounds);
    expect(rate).toBe(6_000);
    // a floor above the ceiling (the marketer lowered the rate below it): the ceiling wins
    expect(nextRate(500, calm, { floor: 1_000, ceiling: 300 })).toBe(300);
  });
});
