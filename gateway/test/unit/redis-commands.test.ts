import { describe, expect, it } from 'vitest';
import {
  decodeAdjustStock,
  decodeAdmit,
  decodeAdmitBudget,
  decodeShardHeads,
  decodeClaimDuePending,
  decodeJoin,
  decodeJoinBatch,
  decodeLeader,
  decodeReleaseGone,
  decodeRetire,
  decodeReserve,
  decodeRestore,
  decodeSaleInfo,
  NOT_FOUND,
  SCRIPTS,
} from '../../src/redis/commands.js';
import { refusalError } from '../../src/errors.js';

/** what join.lua answers before the per-request answers: 'OK' and the sale's figures */
const SALE = ['OK', 'open', 40, '1700000000000', '120', '2', 17];

describe('the join script reply', () => {
  it('decodes each request into its final answer, the sale figures shared', () => {
    const [placed, admitted, ordered] = decodeJoin(
      [...SALE, 'NEW|queued|1.25|3|10||||', 'EXISTING|admitted|0.5|-1|10|7.abc|1700000060000|7|', 'EXISTING|ordered||-1|10||||order-1'],
      3,
    );
    expect(placed).toEqual({
      outcome: 'NEW',
      state: 'queued',
      score: 1.25,
      rank: 3,
      waiting: 10,
      jti: null,
      expiresAt: null,
      admission: null,
      orderId: null,
      sale: { status: 'open', remaining: 40, startsAt: 1700000000000, ratePerMinute: 120, maxPerShopper: 2, admittedTotal: 17 },
    });
    expect(admitted).toMatchObject({ outcome: 'EXISTING', state: 'admitted', jti: '7.abc', expiresAt: 1700000060000, admission: 7 });
    expect(ordered).toMatchObject({ state: 'ordered', score: null, orderId: 'order-1' });
    // one object for the whole batch: decoded once
    expect((admitted as { sale: unknown }).sale).toBe((placed as { sale: unknown }).sale);
  });

  it('decodes the refusals', () => {
    const answers = decodeJoin(
      [...SALE.slice(0, 1), 'sold_out', ...SALE.slice(2), 'RATE_LIMITED|1500', 'UNKNOWN', 'REFUSED', 'POW_REQUIRED|18', 'POW_REUSED'],
      5,
    );
    expect(answers).toEqual([
      { refused: 'RATE_LIMITED', retryAfterMs: 1500 },
      { refused: 'UNKNOWN' },
      { refused: 'REFUSED', saleStatus: 'sold_out' },
      { refused: 'POW_REQUIRED', difficulty: 18 },
      { refused: 'POW_REUSED' },
    ]);
  });

  it("decodes a sub-queue's hand-over, with the batch's sale figures", () => {
    const { sale, answers } = decodeJoinBatch([...SALE, 'HANDED|1.25'], 1);
    expect(answers).toEqual([{ refused: 'HANDED', score: 1.25 }]);
    expect(sale).toMatchObject({ status: 'open', admittedTotal: 17 });
    expect(decodeJoinBatch(['NOT_FOUND'], 1).sale).toBeUndefined();
  });

  it('answers NOT_FOUND for every request of a batch when the sale does not exist', () => {
    expect(decodeJoin(['NOT_FOUND'], 3)).toEqual([NOT_FOUND, NOT_FOUND, NOT_FOUND]);
  });

  it('refuses a reply that does not hold one answer per request, or an unknown answer', () => {
    expect(() => decodeJoin([...SALE, 'NEW|queued|1|0|1||||'], 2)).toThrow(/join script/);
    expect(() => decodeJoin([...SALE, 'NEW|lost|1|0|1||||'], 1)).toThrow(/unknown state/);
    expect(() => decodeJoin([...SALE, 'WHAT'], 1)).toThrow(/join script answered/);
  });
});

describe('the reserve script reply', () => {
  it('decodes every answer', () => {
    expect(
      decodeReserve(
        [
          ['OK', 9],
          ['TOKEN_USED', 'order-1', '{"v":1}'],
          ['TOKEN_USED', 'order-2', ''],
          ['RATE_LIMITED', 30000, 5],
          ['NOT_ADMITTED'],
          ['CLAIMS'],
          ['EXPIRED'],
          ['SALE_ENDED'],
          ['LIMIT', 2],
          ['SOLD_OUT'],
          ['INSUFFICIENT', 1],
        ],
        11,
      ),
    ).toEqual([
      { outcome: 'OK', remaining: 9 },
      { outcome: 'TOKEN_USED', orderId: 'order-1', pendingMessage: '{"v":1}' },
      { outcome: 'TOKEN_USED', orderId: 'order-2', pendingMessage: '' },
      { refused: 'RATE_LIMITED', retryAfterMs: 30000, perMinute: 5 },
      { refused: 'NOT_ADMITTED' },
      { refused: 'CLAIMS' },
      { refused: 'EXPIRED' },
      { refused: 'SALE_ENDED' },
      { refused: 'LIMIT', maxPerShopper: 2 },
      { refused: 'SOLD_OUT' },
      { refused: 'INSUFFICIENT', remaining: 1 },
    ]);
  });

  it('answers NOT_FOUND for every purchase of a batch when the sale does not exist', () => {
    expect(decodeReserve(['NOT_FOUND'], 2)).toEqual([NOT_FOUND, NOT_FOUND]);
  });

  it('refuses what the script does not answer', () => {
    expect(() => decodeReserve([['OK', 1]], 2)).toThrow(/1 answers for 2/);
    expect(() => decodeReserve([['MAYBE']], 1)).toThrow(/reserve script answered/);
    expect(() => decodeReserve(['OK'], 1)).toThrow(/reserve script answered/);
  });
});

/** an admit reply's first figures: OK, status, waiting, active, remaining, admittedTotal, rate */
const TICK_FIGURES = ['OK', 'open', 90, 10, 50, 110, 600];

describe('the admit script reply', () => {
  it('decodes a tick with its admissions', () => {
    const tick = decodeAdmit([
      'OK',
      'open',
      90,
      10,
      50,
      110,
      600,
      3,
      2,
      2,
      1,
      60,
      600,
      'v1',
      '1.aa',
      '1700000060000',
      '1',
      'v2',
      '2.bb',
      '1700000060000',
      '2',
    ]);
    expect(tick).toEqual({
      outcome: 'OK',
      status: 'open',
      waiting: 90,
      active: 10,
      remaining: 50,
      admittedTotal: 110,
      ratePerMinute: 600,
      expired: 3,
      maxPerShopper: 2,
      adaptive: true,
      minRate: 60,
      maxRate: 600,
      admissions: [
        { visitorId: 'v1', jti: '1.aa', expiresAt: 1700000060000, sequence: 1 },
        { visitorId: 'v2', jti: '2.bb', expiresAt: 1700000060000, sequence: 2 },
      ],
      settled: [],
    });
  });

  it("decodes a sharded tick: its admissions, then the places it found admitted or ordered already ('given')", () => {
    // the figures of the tick above, no expiry: 1 admitted, then two places settled
    const tick = decodeAdmit([...TICK_FIGURES, 0, 1, 1, 0, 0, 600, 'v1', '1.aa', '1700000060000', '7', 'v9', '3', 'v8', '']);
    expect('admissions' in tick && tick.admissions).toEqual([{ visitorId: 'v1', jti: '1.aa', expiresAt: 1700000060000, sequence: 7 }]);
    expect('settled' in tick && tick.settled).toEqual([
      { visitorId: 'v9', sequence: '3' },
      { visitorId: 'v8', sequence: '' },
    ]);
  });

  it("decodes a peek's budget and its refusals", () => {
    expect(decodeAdmitBudget(['BUDGET', 12])).toEqual({ outcome: 'BUDGET', budget: 12 });
    expect(decodeAdmitBudget(['NOT_LEADER'])).toEqual({ refused: 'NOT_LEADER' });
    expect(() => decodeAdmitBudget(['OK', 'open', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])).toThrow(/peek/);
  });

  it("decodes a sub-queue's length and heads", () => {
    expect(decodeShardHeads([3, 1, 'joined', '5', 'v1', '1.25', '100', '4', ''])).toEqual({
      waiting: 3,
      report: { joined: 5 },
      heads: [{ visitorId: 'v1', score: '1.25', joinedAt: '100', after: '4', rounds: '' }],
    });
  });

  it('decodes the refusals', () => {
    expect(decodeAdmit(['NOT_LEADER'])).toEqual({ refused: 'NOT_LEADER' });
    expect(decodeAdmit(['RECOVERING'])).toEqual({ refused: 'RECOVERING' });
    expect(decodeAdmit(['NOT_FOUND'])).toBe(NOT_FOUND);
    expect(() => decodeAdmit(['OK', 'open'])).toThrow(/admit script/);
  });
});

describe('the other scripts replies', () => {
  it('release-gone', () => {
    expect(decodeReleaseGone(['OK', 2, 1, 5])).toEqual({ outcome: 'OK', freed: 2, walkedAway: 1, looked: 5 });
    expect(decodeReleaseGone(['NOT_FOUND'])).toBe(NOT_FOUND);
    expect(() => decodeReleaseGone(['OK', 1])).toThrow(/release-gone/);
  });

  it('leader', () => {
    expect(decodeLeader([1, 4, 1])).toEqual({ held: true, epoch: 4, changed: true, missing: false });
    expect(decodeLeader([0, 4, 0])).toEqual({ held: false, epoch: 4, changed: false, missing: false });
    expect(decodeLeader([0, 0, 0, 1])).toEqual({ held: false, epoch: 0, changed: false, missing: true });
  });

  it('retire', () => {
    expect(decodeRetire(['OK', 17])).toEqual({ outcome: 'OK', removed: 17 });
    expect(decodeRetire(['PENDING', 2])).toEqual({ refused: 'PENDING', count: 2 });
    expect(decodeRetire(['REPORT', 3])).toEqual({ refused: 'REPORT', count: 3 });
    expect(() => decodeRetire(['NOPE'])).toThrow(/retire script/);
  });

  it('claim-due-pending', () => {
    expect(decodeClaimDuePending(['o1', 'm1', 'o2', 'm2'])).toEqual([
      { orderId: 'o1', message: 'm1' },
      { orderId: 'o2', message: 'm2' },
    ]);
    expect(decodeClaimDuePending([])).toEqual([]);
  });

  it('sale-info', () => {
    expect(decodeSaleInfo(['NOT_FOUND'])).toBeUndefined();
    expect(decodeSaleInfo(['OK', 'open', 1700000000000, 5, 2, 30, 1, 7, 90, 'name', 'Drop', 'rate', '120'])).toEqual({
      status: 'open',
      now: 1700000000000,
      waiting: 5,
      admitted: 2,
      remaining: 30,
      pending: 1,
      admittedTotal: 7,
      effectiveRatePerMinute: 90,
      config: { name: 'Drop', rate: '120' },
    });
  });

  it('adjust-stock', () => {
    expect(decodeAdjustStock(['OK', 12])).toEqual({ outcome: 'OK', remaining: 12 });
    expect(decodeAdjustStock(['REFUSED', 3])).toEqual({ outcome: 'REFUSED', remaining: 3 });
    expect(decodeAdjustStock(['MISSING', 0])).toEqual({ outcome: 'MISSING', remaining: 0 });
    expect(() => decodeAdjustStock(['NO', 0])).toThrow(/adjust-stock/);
  });

  it('restore', () => {
    expect(
      decodeRestore(['queued', '', '', '', 'admitted', '3.cc', '1700000060000', '3', 'expired', 'x', '1', '2', 'ordered', '', '', '']),
    ).toEqual([
      { state: 'queued' },
      { state: 'admitted', jti: '3.cc', expiresAt: 1700000060000, admission: 3 },
      { state: 'expired' },
      { state: 'ordered' },
    ]);
  });
});

describe('the scripts the loader defines', () => {
  it('lists each script once, with its KEYS count', () => {
    const names = SCRIPTS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.fromEntries(SCRIPTS.map((s) => [s.name, s.numberOfKeys]))).toEqual({
      join: 9,
      admit: 11,
      reserve: 8,
      leader: 3,
      claimDuePending: 2,
      saleInfo: 6,
      adjustStock: 1,
      writeConfig: 1,
      finishRecovery: 7,
      newPlaces: 1,
      restore: 4,
      presence: 3,
      releaseGone: 8,
      bypass: 4,
      reportSnapshot: 2,
      reportDrop: 1,
      retire: 20,
      generation: 1,
      shardHeads: 6,
      shardSettle: 2,
      shardRanks: 1,
    });
  });
});

describe('script refusals in the error catalogue', () => {
  it('maps each refusal to its code, status and message', () => {
    const cases = [
      [{ refused: 'UNKNOWN' }, 'INVALID_TICKET', 401, 'this ticket holds no place in the queue'],
      [{ refused: 'REFUSED', saleStatus: 'sold_out' }, 'SOLD_OUT', 409, 'this sale is sold out'],
      [{ refused: 'REFUSED', saleStatus: 'ended' }, 'SALE_ENDED', 409, 'this sale has ended'],
      [{ refused: 'REFUSED', saleStatus: 'scheduled' }, 'SALE_NOT_OPEN', 409, 'the queue for this sale is not open yet'],
      [{ refused: 'POW_REUSED' }, 'POW_INVALID', 403, 'this proof of work was used already'],
      [{ refused: 'NOT_ADMITTED' }, 'NOT_ADMITTED', 403, 'this admission is not (or no longer) valid for buying'],
      [{ refused: 'EXPIRED' }, 'TOKEN_EXPIRED', 401, 'the checkout window is over'],
      [{ refused: 'SALE_ENDED' }, 'SALE_ENDED', 409, 'this sale has ended'],
      [{ refused: 'LIMIT', maxPerShopper: 2 }, 'QUANTITY_OUT_OF_RANGE', 422, 'at most 2 per shopper'],
      [{ refused: 'SOLD_OUT' }, 'SOLD_OUT', 409, 'this sale is sold out'],
    ] as const;
    for (const [refusal, code, statusCode, message] of cases) {
      expect(refusalError(refusal, 's1')).toMatchObject({ code, statusCode, message });
    }
    expect(refusalError({ refused: 'INSUFFICIENT', remaining: 1 }, 's1')).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      message: 'only 1 left',
      details: { remaining: 1 },
    });
    expect(refusalError({ refused: 'POW_REQUIRED', difficulty: 18 }, 's1')).toMatchObject({
      code: 'POW_REQUIRED',
      statusCode: 428,
      details: { difficulty: 18, challengeUrl: '/api/sales/s1/challenge' },
    });
    expect(refusalError({ refused: 'SUSPENDED' }, 's1')).toMatchObject({ code: 'SALE_SUSPENDED', statusCode: 503 });
    expect(refusalError({ refused: 'SUSPENDED' }, 's1').retryAfterSeconds).toBeGreaterThan(0);
    // places free up one per admission: a hundredth of the cap at the rate, 5 s to 5 min
    const full = (maxQueue: number, ratePerMinute: number) =>
      refusalError({ refused: 'QUEUE_FULL', waiting: maxQueue, maxQueue, ratePerMinute }, 's1');
    expect(full(1_000, 600)).toMatchObject({
      code: 'QUEUE_FULL',
      statusCode: 409,
      retryAfterSeconds: 5,
      details: { maxQueue: 1_000, retryAfterSeconds: 5 },
    });
    expect(full(100_000, 600).retryAfterSeconds).toBe(100);
    expect(full(10, 0).retryAfterSeconds).toBe(60);
    expect(full(10_000_000, 60).retryAfterSeconds).toBe(300);
  });
});
