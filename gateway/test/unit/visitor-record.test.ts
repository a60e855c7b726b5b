import { describe, expect, it } from 'vitest';
import { decodeVisitorRecord } from '../../src/redis/visitor-record.js';
import { auditPseudonym, pseudonymFraction, visitorFraction } from '../../src/sales/fairness-score.js';
// @ts-expect-error: a plain .mjs script without types
import { fractionOf, windowOf } from '../../../scripts/verify-fairness.mjs';
import { arrivalWindow } from '../../src/sales/fairness-score.js';

describe('the visitor record codec', () => {
  it('reads every state with its audit fields and earlier rounds', () => {
    expect(decodeVisitorRecord('q|1.5|1700000000000|3|')).toMatchObject({
      kind: 'queued',
      score: 1.5,
      joinedAt: 1700000000000,
      after: 3,
      admission: null,
      rounds: [],
    });
    expect(decodeVisitorRecord('a|0.25|7.abc|1700000060000|4|1700000000000|0|')).toMatchObject({
      kind: 'admitted',
      score: 0.25,
      jti: '7.abc',
      expiresAt: 1700000060000,
      admission: 4,
      joinedAt: 1700000000000,
      after: 0,
    });
    expect(decodeVisitorRecord('x|0.25|4|1700000000000|0|')).toMatchObject({ kind: 'expired', score: 0.25, admission: 4 });
    // a sub-queue's place the main tag admitted (a sale over several shards)
    expect(decodeVisitorRecord('h|1.5|12|1700000000000|3|')).toMatchObject({ kind: 'handed', score: 1.5, admission: 12, after: 3 });
    const o = decodeVisitorRecord('o|0b5d6c2a-8f1e-4c3b-9a7d-2e4f6a8b0c1d|5.5|9|1700000005000|6|0.25,1700000000000,0,4')!;
    expect(o).toMatchObject({ kind: 'ordered', orderId: '0b5d6c2a-8f1e-4c3b-9a7d-2e4f6a8b0c1d', score: 5.5, admission: 9, after: 6 });
    expect(o.rounds).toEqual([{ score: 0.25, joinedAt: 1700000000000, after: 0, admission: 4 }]);
  });

  it('reads records written before the audit fields existed', () => {
    expect(decodeVisitorRecord('x|0.75')).toMatchObject({ kind: 'expired', score: 0.75, admission: null, joinedAt: null, rounds: [] });
    expect(decodeVisitorRecord('o|id-1|0.5')).toMatchObject({ kind: 'ordered', orderId: 'id-1', score: 0.5, admission: null });
    expect(decodeVisitorRecord('a|0.5|1.x|1700000060000|1')).toMatchObject({ kind: 'admitted', admission: 1, after: null });
    expect(decodeVisitorRecord('z|1')).toBeUndefined();
  });
});

describe('the verify recipe and the gateway agree', () => {
  const seed = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
  it('derives the same fraction from the pseudonym', () => {
    for (const id of ['a', 'visitor-1', 'Zm9vYmFyYmF6cXV4']) {
      const p = auditPseudonym(seed, id);
      expect(p).toMatch(/^[0-9a-f]{32}$/);
      expect(fractionOf(seed, p)).toBe(pseudonymFraction(seed, p));
      expect(visitorFraction(seed, id)).toBe(pseudonymFraction(seed, p));
    }
  });
  it('puts arrivals in the same windows', () => {
    const start = 1_700_000_000_000;
    for (const t of [start - 1, start, start + 999, start + 1000, start + 123_456]) {
      expect(windowOf(start, 1000, t)).toBe(arrivalWindow(start, 1000, t));
    }
    expect(windowOf(start, 0, start + 5)).toBeNull();
  });
});
