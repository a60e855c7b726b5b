import { describe, expect, it } from 'vitest';
import { CommitPriority } from '../../src/shop/commit-priority.js';

describe('CommitPriority: background work gives way to saturated commits, for a bounded time', () => {
  it('never waits while the commits are not saturated', () => {
    const p = new CommitPriority(() => false, 1_000);
    for (let t = 0; t < 5_000; t += 100) expect(p.next(t)).toBe('run');
  });

  it('while saturated, waits up to maxDeferMs, runs one small round, then waits again', () => {
    const p = new CommitPriority(() => true, 1_000);
    const rounds: number[] = [];
    for (let t = 0; t <= 3_500; t += 25) if (p.next(t) !== 'wait') rounds.push(t);
    // one small round per second of saturation, never more than maxDeferMs apart
    expect(rounds).toEqual([1_000, 2_000, 3_000]);
    expect(p.next(4_000)).toBe('trickle');
  });

  it('a moment between batches does not end the burst; a quiet spell does, and the wait starts again', () => {
    let saturated = true;
    const p = new CommitPriority(() => saturated, 1_000, 250);
    expect(p.next(0)).toBe('wait');
    saturated = false;
    // between two batches of the burst: still giving way
    expect(p.next(100)).toBe('wait');
    expect(p.next(200)).toBe('wait');
    // quiet for longer than 250 ms: the burst is over
    expect(p.next(300)).toBe('run');
    saturated = true;
    // a fresh burst: waits a full maxDeferMs from here, not from the first one
    expect(p.next(400)).toBe('wait');
    expect(p.next(1_300)).toBe('wait');
    expect(p.next(1_400)).toBe('trickle');
  });

  it('maxDeferMs 0 turns it off', () => {
    const p = new CommitPriority(() => true, 0);
    expect(p.next(0)).toBe('run');
    expect(p.next(10_000)).toBe('run');
  });
});
