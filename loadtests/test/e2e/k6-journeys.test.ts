/**
 * The k6 scripts' journeys and summary (loadtests/k6/lib/journey.ts), run from Node against
 * the built gateway and order worker on the real Redis, RabbitMQ and PostgreSQL, the way k6
 * runs them (test-support/k6-driver.ts). A full sale: every arrival runs, every journey ends
 * once in one outcome, the counters agree with PostgreSQL, no check fails, and the summary
 * passes. Then a run with too few VUs on purpose: the summary says how many arrivals were
 * dropped and fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTCOMES,
  endingChange,
  endpointThresholds,
  joinAndMaybeRefresh,
  journeyOptions,
  outcomeCounter,
  promiseThresholds,
  recordOversellCheck,
  renderSummary,
  saleStats,
  shopperJourney,
  type SaleStats,
} from '../../k6/lib/journey.js';
import { MemoryTally, arrive, runJourney, summaryData } from '../../../test-support/k6-driver.js';
import { startIsolatedStack, uniqueId, type IsolatedStack } from '../../src/isolated-stack.js';

const clock = { now: () => Date.now(), random: () => Math.random() };

// the simulator's own deployment: a database, an orders queue and a Redis prefix of its own,
// the built gateway and worker as processes (every shopper from 127.0.0.1, as every k6 VU)
let stack: IsolatedStack;
let base: string;

beforeAll(async () => {
  stack = await startIsolatedStack({ label: 'k6' });
  base = stack.baseUrl;
});

afterAll(async () => {
  const codes = await stack?.stop();
  expect(codes).toEqual({ gateway: 0, worker: 0 });
  await stack?.cleanup();
});

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function createSale(stock: number, startsInMs: number): Promise<{ id: string; startsAt: string }> {
  const id = uniqueId('k6-e2e-');
  const startsAt = new Date(Date.now() + startsInMs).toISOString();
  const r = await admin('POST', '/api/admin/sales', {
    id,
    name: 'k6 journeys',
    stock,
    startsAt,
    ratePerMinute: 6_000,
    checkoutSeconds: 3,
    maxPerShopper: 1,
    queueMode: 'prequeue-random',
    windowSeconds: 2,
  });
  expect(r.status).toBe(201);
  return { id, startsAt };
}

/** what teardown does last: the run's sale ends, even one still in its pre-queue */
async function endSale(sale: { id: string; startsAt: string }) {
  const r = await admin('PATCH', `/api/admin/sales/${sale.id}`, endingChange(sale.startsAt, Date.now()));
  expect(r.status).toBe(200);
  let status = '';
  for (let i = 0; i < 300 && status !== 'ended'; i++) {
    await new Promise((res) => setTimeout(res, 100));
    status = ((await (await fetch(`${base}/api/sales/${sale.id}`)).json()) as { status: string }).status;
  }
  expect(status).toBe('ended');
}

/** teardown as the scripts do it: wait for the worker (bounded), read the stats, record the verdict */
async function teardown(t: MemoryTally, saleId: string): Promise<SaleStats> {
  let stats: SaleStats | undefined;
  for (let i = 0; i < 300; i++) {
    const r = await admin('GET', `/api/admin/sales/${saleId}/stats`);
    expect(r.status).toBe(200);
    stats = saleStats(r.body);
    if (stats === undefined || stats.pending === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  if (!stats) throw new Error('the stats lack the figures the oversell check reads');
  recordOversellCheck(t, stats);
  return stats;
}

describe('the k6 journeys against the real stack', () => {
  it('a flash sale: every arrival runs, every journey is counted once, the counters agree with PostgreSQL, the summary passes', async () => {
    const STOCK = 40;
    const SHOPPERS = 150;
    const sale = await createSale(STOCK, 2_000);
    const saleId = sale.id;
    const o = journeyOptions({ ABANDON: '0.15', RETRY: '0.3', REFRESH: '0.3', MAX_POLL_MS: '500', MAX_WAIT_SECONDS: '90' });
    const t = new MemoryTally();
    const { planned } = await arrive({ rate: 75, seconds: SHOPPERS / 75, vus: SHOPPERS }, t, () =>
      runJourney(base, shopperJourney(t, saleId, o, clock), t),
    );
    const stats = await teardown(t, saleId);

    expect(planned).toBe(SHOPPERS);
    expect(t.count('dropped_iterations')).toBe(0);
    expect(t.count('journeys_started')).toBe(SHOPPERS);
    expect(t.count('journeys_ended')).toBe(SHOPPERS);
    // each journey ended in exactly one outcome
    expect(OUTCOMES.reduce((n, out) => n + t.count(outcomeCounter(out)), 0)).toBe(SHOPPERS);
    expect(t.count('journeys_failed')).toBe(0);
    expect(t.count('journeys_timed_out')).toBe(0);
    expect(t.failedChecks()).toEqual([]);
    expect(t.rates.get('unexpected_responses')?.hits).toBe(0);

    // what the journeys counted is what PostgreSQL holds
    const { rows } = await stack.pool.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY status',
      [saleId],
    );
    const confirmed = Number(rows.find((r) => r.status === 'confirmed')?.n ?? 0);
    expect(confirmed).toBe(STOCK);
    expect(t.count('orders_accepted')).toBe(confirmed);
    expect(t.count('journeys_ordered')).toBe(confirmed);
    expect(stats).toMatchObject({ stock: STOCK, sold: STOCK, confirmed: STOCK, remaining: 0, pending: 0 });

    const thresholds = {
      ...promiseThresholds({}),
      unexpected_responses: ['rate<0.001'],
      ...endpointThresholds({}, { join: 60_000, status: 60_000, purchase: 60_000 }),
    };
    const s = renderSummary(
      { script: 'flash-sale', plannedArrivals: planned, vus: SHOPPERS, checksOversell: true },
      summaryData(t, thresholds),
    );
    expect(s.verdict.reasons).toEqual([]);
    expect(s.text).toContain(`oversell check: none: stock ${STOCK}, sold ${STOCK}, confirmed ${STOCK}`);
    expect(s.text).toMatch(/http_req_duration\{endpoint:purchase\}: med=/);
    await endSale(sale);
  });

  it('arrivals dropped on purpose (too few VUs): the summary says how many and fails', async () => {
    const sale = await createSale(100, 3_600_000);
    const saleId = sale.id;
    const o = journeyOptions({ REFRESH: '1' });
    const t = new MemoryTally();
    // 40 arrivals in 2 s onto 2 VUs: each join-spike iteration (join, refresh) takes a round
    // trip or two, so most arrivals find no free VU
    const { planned } = await arrive({ rate: 20, seconds: 2, vus: 2 }, t, async () => {
      await runJourney(base, joinAndMaybeRefresh(t, saleId, o, clock), t);
      // a VU held a little longer, as a slow gateway would hold it
      await new Promise((r) => setTimeout(r, 500));
    });
    await teardown(t, saleId);
    const dropped = t.count('dropped_iterations');
    expect(dropped).toBeGreaterThan(0);
    expect(t.count('journeys_started') + dropped).toBe(planned);
    expect(t.count('journeys_joined')).toBe(t.count('journeys_started'));
    expect(t.count('rejoin_place_mismatch')).toBe(0);

    const s = renderSummary(
      { script: 'join-spike', plannedArrivals: planned, vus: 2, checksOversell: true },
      summaryData(t, promiseThresholds({})),
    );
    console.info(s.text);
    expect(s.verdict.verdict).toBe('fail');
    expect(s.text).toContain('join-spike: FAILED');
    expect(s.text).toContain(`${dropped} arrivals dropped of ${planned} planned`);
    expect(s.text).toContain('FAILED dropped_iterations: count==0');
    expect(JSON.parse(s.json).velvetRope.arrivals).toEqual({ planned, started: planned - dropped, dropped });
    await endSale(sale);
  });
});
