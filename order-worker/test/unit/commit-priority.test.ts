import { describe, expect, it } from 'vitest';
import { CommitPriority } from '../../src/shop/commit-priority.js';

describe('CommitPriority: background work gives way to saturated commits, for a bounded time', () => {
  it('never waits while the commits are not saturated', () => {
    const p = new CommitPriority(() => false, 1_000);
    for (let t = 0; t < 5_000; t += 100) expect(p.shouldWait(t)).toBe(false);
  });

  it('while saturated, waits up to maxDeferMs, runs one round, then waits again', () => {
    const p = new CommitPriority(() => true, 1_000);
    const rounds: number[] = [];
    for (let t = 0; t <= 3_500; t += 25) if (!p.shouldWait(t)) rounds.push(t);
    // one round per second of saturation, never more than maxDeferMs apart
    expect(rounds).toEqual([1_000, 2_000, 3_000]);
  });

  it('a moment between batches does not end the burst; a quiet spell does, and the wait starts again', () => {
    let saturated = true;
    const p = new CommitPriority(() => saturated, 1_000, 250);
    expect(p.shouldWait(0)).toBe(true);
    saturated = false;
    // between two batches of the burst: still giving way
    expect(p.shouldWait(100)).toBe(true);
    expect(p.shouldWait(200)).toBe(true);
    // quiet for longer than 250 ms: the burst is over
    expect(p.shouldWait(300)).toBe(false);
    saturated = true;
    // a fresh burst: waits a full maxDeferMs from here, not from the first one
    expect(p.shouldWait(400)).toBe(true);
    expect(p.shouldWait(1_300)).toBe(true);
    expect(p.shouldWait(1_400)).toBe(false);
  });

  it('maxDeferMs 0 turns it off', () => {
    const p = new CommitPriority(() => true, 0);
    expect(p.shouldWait(0)).toBe(false);
    expect(p.shouldWait(10_000)).toBe(false);
  });
});
