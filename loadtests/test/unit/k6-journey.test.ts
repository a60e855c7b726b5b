/**
 * The k6 scripts' logic (loadtests/k6/lib/journey.ts) answered from a script of replies: each
 * answer is counted once, each check passes only on what its name says, a journey that cannot
 * go on ends (and is counted) instead of retrying for ten minutes, and the summary fails a run
 * that dropped arrivals, cut journeys or found (or never checked) an oversell.
 */
import { describe, expect, it } from 'vitest';
import {
  buy,
  join,
  journeyOptions,
  journeyTailSeconds,
  parseDuration,
  plannedArrivals,
  promiseThresholds,
  recordOversellCheck,
  rejoin,
  renderSummary,
  shopperJourney,
  vusFor,
  type Call,
  type Reply,
  type Step,
} from '../../k6/lib/journey.js';
import { MemoryTally, holds, summaryData } from '../../../test-support/k6-driver.js';

const o = journeyOptions({ ABANDON: '0', RETRY: '0', REFRESH: '0', MAX_WAIT_SECONDS: '600' });
const clock = (random = 0.5) => {
  let now = 0;
  return { now: () => now, random: () => random, advance: (s: number) => (now += s * 1000) };
};

/** a JWT-shaped ticket whose claims carry the score */
const ticket = (scr: number) => `h.${Buffer.from(JSON.stringify({ scr })).toString('base64url')}.s`;
const reply = (status: number, body?: unknown, retryAfter?: string): Reply => ({ status, body, retryAfter });

/** Answers a generator's calls from `replies` in order; records the calls and the pauses. */
function play<T>(g: Generator<Step, T, Reply | undefined>, replies: Reply[], c?: ReturnType<typeof clock>) {
  const calls: Call[] = [];
  const pauses: number[] = [];
  let sent: Reply | undefined;
  for (;;) {
    const step = g.next(sent);
    if (step.done) return { result: step.value, calls, pauses };
    sent = undefined;
    if ('pauseSeconds' in step.value) {
      pauses.push(step.value.pauseSeconds);
      c?.advance(step.value.pauseSeconds);
      continue;
    }
    calls.push(step.value.call);
    const next = replies.shift();
    if (!next) throw new Error(`no reply scripted for call ${calls.length} (${step.value.call.endpoint})`);
    sent = next;
  }
}

const joined = reply(201, { visitorId: 'v1', ticket: ticket(7), retryAfterMs: 1000 });

describe('answers are judged and counted once', () => {
  it('a 201 without a ticket is one unexpected answer, not two, and fails the join check', () => {
    const t = new MemoryTally();
    const { result } = play(join(t, 's', o), [reply(201, { visitorId: 'v1' })]);
    expect(result).toEqual({ ended: 'failed' });
    expect(t.rates.get('unexpected_responses')).toEqual({ hits: 1, total: 1 });
    expect(t.checks.get('join: 201 with a visitor id and a ticket')).toEqual({ passes: 0, fails: 1 });
  });

  it('a 503 passes no check named for a 200, is a refusal, and a missing Retry-After is counted', () => {
    const t = new MemoryTally();
    const c = clock();
    play(shopperJourney(t, 's', o, c), [joined, reply(503, { code: 'UNAVAILABLE' }), reply(200, { status: 'sold_out' })], c);
    expect(t.checks.get('status: 200 with a known state')).toEqual({ passes: 1, fails: 0 });
    expect(t.count('refusals')).toBe(1);
    expect(t.count('retry_after_missing')).toBe(1);
    expect(t.checks.get('refusal: Retry-After given')).toEqual({ passes: 0, fails: 1 });
    expect(t.rates.get('unexpected_responses')).toEqual({ hits: 0, total: 3 });
  });

  it('a join refused five times gives up and says so', () => {
    const t = new MemoryTally();
    const c = clock();
    const refused = reply(429, { code: 'RATE_LIMITED' }, '2');
    const { result, calls, pauses } = play(shopperJourney(t, 's', o, c), Array(5).fill(refused), c);
    expect(result).toBe('gave_up');
    expect(calls).toHaveLength(5);
    expect(pauses).toEqual([2, 2, 2, 2]);
    expect(t.count('journeys_gave_up')).toBe(1);
    expect(t.count('rate_limited')).toBe(5);
    expect(t.count('journeys_ended')).toBe(t.count('journeys_started'));
  });
});

describe('a journey ends on what it cannot get past', () => {
  for (const status of [401, 404, 500]) {
    it(`a status poll answering ${status} ends the journey as failed at once`, () => {
      const t = new MemoryTally();
      const c = clock();
      const { result, calls } = play(shopperJourney(t, 's', o, c), [joined, reply(status, { code: 'X' })], c);
      expect(result).toBe('failed');
      expect(calls.map((x) => x.endpoint)).toEqual(['join', 'status']);
      expect(t.count('journeys_failed')).toBe(1);
      expect(t.checks.get('status: 200 with a known state')).toEqual({ passes: 0, fails: 1 });
    });
  }

  it('"admitted" without a token is unexpected, not a purchase', () => {
    const t = new MemoryTally();
    const c = clock();
    const { result, calls } = play(shopperJourney(t, 's', o, c), [joined, reply(200, { status: 'admitted', admission: {} })], c);
    expect(result).toBe('failed');
    expect(calls).toHaveLength(2);
    expect(t.rates.get('unexpected_responses')?.hits).toBe(1);
  });

  it('waits while queued, buys once admitted, and counts one order and one ending', () => {
    const t = new MemoryTally();
    const c = clock();
    const { result } = play(
      shopperJourney(t, 's', o, c),
      [
        joined,
        reply(200, { status: 'queued', retryAfterMs: 2000 }),
        reply(200, { status: 'admitted', admission: { token: 'tok' } }),
        reply(202, { orderId: 'o1' }),
      ],
      c,
    );
    expect(result).toBe('ordered');
    expect([t.count('orders_accepted'), t.count('journeys_ordered'), t.count('journeys_ended')]).toEqual([1, 1, 1]);
    expect(t.trends.get('time_to_admission')).toHaveLength(1);
    expect(t.failedChecks()).toEqual([]);
  });

  it('an admission that lapsed before its purchase arrived (401 TOKEN_EXPIRED) ends as expired, an expected answer', () => {
    const t = new MemoryTally();
    const c = clock();
    const { result } = play(
      shopperJourney(t, 's', o, c),
      [joined, reply(200, { status: 'admitted', admission: { token: 'tok' } }), reply(401, { code: 'TOKEN_EXPIRED' })],
      c,
    );
    expect(result).toBe('expired');
    expect(t.rates.get('unexpected_responses')?.hits).toBe(0);
    expect(t.count('journeys_failed')).toBe(0);
  });

  it('a purchase refused 401 for another reason is unexpected and fails the journey', () => {
    const t = new MemoryTally();
    const c = clock();
    const { result } = play(
      shopperJourney(t, 's', o, c),
      [joined, reply(200, { status: 'admitted', admission: { token: 'tok' } }), reply(401, { code: 'TOKEN_INVALID' })],
      c,
    );
    expect(result).toBe('failed');
    expect(t.rates.get('unexpected_responses')?.hits).toBe(1);
  });

  it('times out, counted, when its turn never comes', () => {
    const t = new MemoryTally();
    const c = clock();
    const queued = reply(200, { status: 'queued', retryAfterMs: 10_000 });
    const short = { ...o, maxWaitSeconds: 30 };
    const { result } = play(shopperJourney(t, 's', short, c), [joined, ...Array(10).fill(queued)], c);
    expect(result).toBe('timed_out');
    expect(t.count('journeys_timed_out')).toBe(1);
  });
});

describe('the re-join and the repeated purchase', () => {
  it('a re-join whose tickets carry no readable score fails its check', () => {
    const t = new MemoryTally();
    play(rejoin(t, 's', { visitorId: 'v1', ticket: 'not-a-jwt', retryAfterMs: 0 }), [
      reply(200, { visitorId: 'v1', status: 'queued', ticket: 'x.y' }),
    ]);
    expect(t.count('rejoin_place_mismatch')).toBe(1);
  });

  it('a re-join keeping visitor and score passes; another score fails', () => {
    const t = new MemoryTally();
    const j = { visitorId: 'v1', ticket: ticket(7), retryAfterMs: 0 };
    play(rejoin(t, 's', j), [reply(200, { visitorId: 'v1', status: 'queued', ticket: ticket(7) })]);
    expect(t.count('rejoin_place_mismatch')).toBe(0);
    play(rejoin(t, 's', j), [reply(200, { visitorId: 'v1', status: 'queued', ticket: ticket(8) })]);
    expect(t.count('rejoin_place_mismatch')).toBe(1);
  });

  it('a purchase sent twice must answer 200 with the same order', () => {
    const t = new MemoryTally();
    play(buy(t, 's', 'tok', true, o), [reply(202, { orderId: 'o1' }), reply(200, { orderId: 'o1' })]);
    expect(t.count('purchase_order_mismatch')).toBe(0);
    play(buy(t, 's', 'tok', true, o), [reply(202, { orderId: 'o1' }), reply(200, { orderId: 'o2' })]);
    expect(t.count('purchase_order_mismatch')).toBe(1);
    expect(t.checks.get('purchase again: 200 with the same order id')).toEqual({ passes: 1, fails: 1 });
  });
});

describe('sizing', () => {
  it('reads every k6 duration, 1h30m included, and refuses what is not one', () => {
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('1.5h')).toBe(5400);
    for (const bad of ['', '10', 'h', '1x', '1h 30m']) expect(() => parseDuration(bad)).toThrow(/duration/);
  });

  it('plans the arrivals of ramping stages and sizes the VUs to hold the waiting shoppers', () => {
    // 10/s to 40/s over 30 s, to 200/s in 5 s, 60 s at 200/s, down to 0 in 30 s
    const stages = [
      { target: 40, duration: '30s' },
      { target: 200, duration: '5s' },
      { target: 200, duration: '60s' },
      { target: 0, duration: '30s' },
    ];
    expect(plannedArrivals(10, stages)).toBe(750 + 600 + 12_000 + 3_000);
    expect(vusFor(200, 40, 16_350)).toBe(8_800);
    expect(vusFor(200, 600, 16_350)).toBe(16_350);
  });

  it('lets a journey run past its deadline long enough to end it, so k6 never cuts one', () => {
    expect(journeyTailSeconds(o)).toBeGreaterThan(o.maxPollMs / 1000 + o.requestTimeoutSeconds * (o.maxRefusals + 1));
  });
});

describe('the summary', () => {
  const ran = () => {
    const t = new MemoryTally();
    t.add('journeys_started', 10);
    t.add('journeys_ordered', 10);
    t.add('journeys_ended', 10);
    return t;
  };
  const plan = { script: 'flash-sale', plannedArrivals: 10, vus: 10, checksOversell: true };
  const stats = { stock: 10, sold: 10, confirmed: 10, remaining: 0, pending: 0 };

  it('passes a run that ran every arrival, ended every journey and found no oversell', () => {
    const t = ran();
    recordOversellCheck(t, stats);
    const s = renderSummary(plan, summaryData(t, promiseThresholds({})));
    expect(s.verdict.reasons).toEqual([]);
    expect(s.text).toContain('PASSED');
    expect(s.text).toContain('oversell check: none: stock 10, sold 10');
  });

  it('fails an oversell found in teardown even when every threshold held, in the text and in the JSON', () => {
    const t = ran();
    expect(recordOversellCheck(t, { ...stats, sold: 11, confirmed: 11 })).toHaveLength(2);
    const s = renderSummary(plan, summaryData(t, {}));
    expect(s.verdict.thresholdsBroken).toEqual([]);
    expect(s.text).toContain('FAILED');
    expect(s.text).toContain('oversell check: OVERSELL');
    expect(JSON.parse(s.json).velvetRope).toMatchObject({ verdict: 'fail', oversell: { checked: true, found: 2, stats: { sold: 11 } } });
  });

  it('fails a run whose teardown never got to check', () => {
    const s = renderSummary(plan, summaryData(ran(), {}));
    expect(s.text).toContain('oversell check: DID NOT RUN');
    expect(s.verdict.verdict).toBe('fail');
  });

  it('fails and names dropped arrivals and cut journeys', () => {
    const t = ran();
    recordOversellCheck(t, stats);
    t.add('dropped_iterations', 4);
    t.add('journeys_started', 2);
    const s = renderSummary({ ...plan, plannedArrivals: 16, vus: 12 }, summaryData(t, promiseThresholds({})));
    expect(s.verdict.reasons).toEqual([
      '1 threshold(s) broken',
      '4 arrivals dropped of 16 planned (25.0 %): k6 had no free VU for them; raise -e VUS (it was 12)',
      '2 journeys were cut before they ended (k6 stopped them)',
    ]);
    expect(s.text).toContain('FAILED dropped_iterations: count==0');
  });

  it('evaluates k6 threshold expressions', () => {
    expect(holds({ count: 0 }, 'count==0')).toBe(true);
    expect(holds({ count: 1 }, 'count==0')).toBe(false);
    expect(holds({ 'p(99)': 499 }, 'p(99)<500')).toBe(true);
    expect(holds({ rate: 0.02 }, 'rate<0.01')).toBe(false);
    expect(() => holds({}, 'nonsense')).toThrow();
  });
});
