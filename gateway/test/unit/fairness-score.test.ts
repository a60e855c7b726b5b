import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  arrivalWindow,
  fairnessFraction,
  fairnessScore,
  seedCommitment,
  type ScoreInput,
  FRACTION_BITS,
  MAX_WINDOW,
} from '../../src/sales/fairness-score.js';

const SEED = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff', 'hex');
const OTHER_SEED = Buffer.from('ffeeddccbbaa99887766554433221100f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');

/** Deterministic PRNG (mulberry32), so property tests are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Visitor-id-like strings (22 base64url chars), deterministic. */
function visitorIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => createHash('sha256').update(`visitor-${i}`).digest().subarray(0, 16).toString('base64url'));
}

const START = 1_750_000_000_000;
const W = 10_000;

describe('fairnessFraction', () => {
  it('is deterministic for the same seed and visitor', () => {
    for (const id of visitorIds(50)) {
      expect(fairnessFraction(SEED, id)).toBe(fairnessFraction(Buffer.from(SEED), id));
    }
  });

  it('differs between seeds', () => {
    const ids = visitorIds(200);
    const same = ids.filter((id) => fairnessFraction(SEED, id) === fairnessFraction(OTHER_SEED, id));
    expect(same).toEqual([]);
  });

  it('differs between visitors', () => {
    const ids = visitorIds(1000);
    expect(new Set(ids.map((id) => fairnessFraction(SEED, id))).size).toBe(ids.length);
  });

  it('is always in [0, 1)', () => {
    for (const id of [...visitorIds(5000), '', 'x', 'a'.repeat(1000)]) {
      const f = fairnessFraction(SEED, id);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it('is the first 32 bits of HMAC-SHA256(seed, visitorId) over 2^32', async () => {
    const { createHmac } = await import('node:crypto');
    const id = 'AbCdEfGhIjKlMnOpQrStUv';
    const mac = createHmac('sha256', SEED).update(id).digest();
    expect(fairnessFraction(SEED, id)).toBe(Number(BigInt(`0x${mac.subarray(0, 4).toString('hex')}`)) / 2 ** 32);
  });

  it('is uniform over 20,000 visitors (chi-square, 20 buckets, 19 dof, below 50)', () => {
    const buckets = new Array<number>(20).fill(0);
    const ids = visitorIds(20_000);
    for (const id of ids) buckets[Math.floor(fairnessFraction(SEED, id) * 20)]! += 1;
    const expected = ids.length / 20;
    const chiSquare = buckets.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    expect(buckets.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(chiSquare).toBeLessThan(50);
  });
});

describe('seedCommitment', () => {
  it('is the sha256 hex of the seed', () => {
    expect(seedCommitment(SEED)).toBe(createHash('sha256').update(SEED).digest('hex'));
    expect(seedCommitment(SEED)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('matches a known vector (sha256 of the empty string)', () => {
    expect(seedCommitment(Buffer.alloc(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('differs between seeds', () => {
    expect(seedCommitment(SEED)).not.toBe(seedCommitment(OTHER_SEED));
  });
});

describe('arrivalWindow', () => {
  it('is 0 before the start (the pre-queue)', () => {
    expect(arrivalWindow(START, W, START - 1)).toBe(0);
    expect(arrivalWindow(START, W, START - 3_600_000)).toBe(0);
    expect(arrivalWindow(START, 0, START - 1)).toBe(0);
  });

  it('is 1 for the first W ms after the start', () => {
    expect(arrivalWindow(START, W, START)).toBe(1);
    expect(arrivalWindow(START, W, START + W / 2)).toBe(1);
    expect(arrivalWindow(START, W, START + W - 1)).toBe(1);
  });

  it('is 2 for the next W ms, and so on', () => {
    expect(arrivalWindow(START, W, START + W)).toBe(2);
    expect(arrivalWindow(START, W, START + 2 * W - 1)).toBe(2);
    expect(arrivalWindow(START, W, START + 2 * W)).toBe(3);
    expect(arrivalWindow(START, W, START + 100 * W + 5)).toBe(101);
  });

  it('is Infinity after the start when W is 0 (strict FIFO)', () => {
    expect(arrivalWindow(START, 0, START)).toBe(Number.POSITIVE_INFINITY);
    expect(arrivalWindow(START, 0, START + 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('never decreases as arrival time grows', () => {
    const rand = prng(1);
    const times = Array.from({ length: 2000 }, () => START + Math.floor((rand() - 0.2) * 100 * W)).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      expect(arrivalWindow(START, W, times[i]!)).toBeGreaterThanOrEqual(arrivalWindow(START, W, times[i - 1]!));
    }
  });
});

describe('fairnessScore', () => {
  const base: ScoreInput = { mode: 'prequeue-random', startsAt: START, windowMs: W, arrivedAt: START, seq: 7, fraction: 0.25 };

  it('fifo returns the sequence number, whatever the time or fraction', () => {
    expect(fairnessScore({ ...base, mode: 'fifo', seq: 42, arrivedAt: START - 5000 })).toBe(42);
    expect(fairnessScore({ ...base, mode: 'fifo', seq: 43, arrivedAt: START + 50 * W, fraction: 0.99 })).toBe(43);
  });

  it('random returns the fraction, whatever the time', () => {
    for (const arrivedAt of [START - 1_000_000, START, START + W, START + 1000 * W]) {
      expect(fairnessScore({ ...base, mode: 'random', arrivedAt, fraction: 0.625 })).toBe(0.625);
    }
  });

  it('prequeue-random before the start returns the fraction (below 1)', () => {
    const score = fairnessScore({ ...base, arrivedAt: START - 1, fraction: 0.875 });
    expect(score).toBe(0.875);
    expect(score).toBeLessThan(1);
  });

  it('prequeue-random after the start returns window + fraction', () => {
    expect(fairnessScore({ ...base, arrivedAt: START, fraction: 0.5 })).toBe(1.5);
    expect(fairnessScore({ ...base, arrivedAt: START + W - 1, fraction: 0.5 })).toBe(1.5);
    expect(fairnessScore({ ...base, arrivedAt: START + W, fraction: 0.5 })).toBe(2.5);
    expect(fairnessScore({ ...base, arrivedAt: START + 3 * W + 1, fraction: 0.125 })).toBe(4.125);
  });

  it('prequeue-random with W = 0 after the start returns 1 + seq', () => {
    expect(fairnessScore({ ...base, windowMs: 0, arrivedAt: START, seq: 1, fraction: 0.9 })).toBe(2);
    expect(fairnessScore({ ...base, windowMs: 0, arrivedAt: START + 5, seq: 99, fraction: 0.1 })).toBe(100);
  });

  it('prequeue-random with W = 0 still shuffles the pre-queue and puts it first', () => {
    const pre = fairnessScore({ ...base, windowMs: 0, arrivedAt: START - 1, seq: 500, fraction: 0.999 });
    const post = fairnessScore({ ...base, windowMs: 0, arrivedAt: START, seq: 1, fraction: 0 });
    expect(pre).toBe(0.999);
    expect(pre).toBeLessThan(post);
  });

  it('prequeue-random: a later window always scores higher than an earlier one, whatever the fractions', () => {
    const rand = prng(20250101);
    const ids = visitorIds(4000);
    const windowMs = 1 + Math.floor(rand() * 30_000);
    let compared = 0;
    for (let i = 0; i + 1 < ids.length; i += 2) {
      // arrival times from 2 windows before the start to ~2,000 windows after it
      const t1 = START + Math.floor((rand() * 2002 - 2) * windowMs);
      const t2 = START + Math.floor((rand() * 2002 - 2) * windowMs);
      const a: ScoreInput = { ...base, windowMs, arrivedAt: t1, seq: i + 1, fraction: fairnessFraction(SEED, ids[i]!) };
      const b: ScoreInput = { ...base, windowMs, arrivedAt: t2, seq: i + 2, fraction: fairnessFraction(SEED, ids[i + 1]!) };
      const wa = arrivalWindow(START, windowMs, t1);
      const wb = arrivalWindow(START, windowMs, t2);
      if (wa === wb) continue;
      compared++;
      const [early, late] = wa < wb ? [a, b] : [b, a];
      expect(fairnessScore(late)).toBeGreaterThan(fairnessScore(early));
    }
    expect(compared).toBeGreaterThan(1500);
  });

  // regression: with a 48-bit fraction, window 32 + the largest fraction rounded up to 33
  it('prequeue-random: the extreme fractions keep window order up to the last window', () => {
    const maxFraction = (2 ** FRACTION_BITS - 1) / 2 ** FRACTION_BITS;
    const windows = [...Array.from({ length: 100 }, (_, i) => i), 31, 32, 33, 65_536, 1_000_000, MAX_WINDOW - 1];
    for (const w of windows) {
      const early = fairnessScore({ ...base, arrivedAt: w === 0 ? START - 1 : START + (w - 1) * W, fraction: maxFraction });
      const late = fairnessScore({ ...base, arrivedAt: START + w * W, fraction: 0 });
      expect(late, `window ${w} vs ${w + 1}`).toBeGreaterThan(early);
    }
  });
});
