import { describe, expect, it } from 'vitest';
import { MemoryNewPlaceLimit } from '../../src/queue/new-place-limit.js';

describe('the per-address new-place limit (memory store)', () => {
  it('counts per address in fixed one-minute windows and answers the wait when over', async () => {
    let now = 120_000 + 15_000;
    const limit = new MemoryNewPlaceLimit(2, () => now);
    expect(await limit.count('a')).toBe(0);
    expect(await limit.count('a')).toBe(0);
    expect(await limit.count('a')).toBe(45_000);
    expect(await limit.count('b')).toBe(0);
    now = 180_000;
    expect(await limit.count('a')).toBe(0);
  });
});
