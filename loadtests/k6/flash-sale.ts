/**
 * A full flash sale: shoppers arrive at a ramping rate, first into the pre-queue, then in a
 * spike after the start; each joins, polls `/queue/me` as the server advises (capped), buys
 * with the admission token once admitted (some send the purchase twice: same order), some
 * walk away, some refresh with their ticket (same place). Fails on unexpected answers, slow
 * answers, dropped arrivals, journeys that failed or gave up, a retried purchase answering
 * another order, and (teardown) any oversell; the summary says which.
 *
 *   k6 run --no-usage-report loadtests/k6/flash-sale.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e STOCK (1000), RATE_PER_MINUTE (admissions, 3000), PREQUEUE_SECONDS (30: the sale starts
 * this long after setup), PEAK_RATE (arrivals/s, 200), SPIKE (60s), CHECKOUT_SECONDS (60),
 * ABANDON (0.1), RETRY (0.2), REFRESH (0.1), MAX_POLL_MS (10000), MAX_WAIT_SECONDS (600),
 * JOURNEY_SECONDS (how long a shopper typically waits: the VUs needed), VUS (all allocated
 * before the start), MAX_REFUSALS (5), MAX_GAVE_UP (0), REQUEST_TIMEOUT_SECONDS (30),
 * QUEUE_MODE (prequeue-random | fifo | random), WINDOW_SECONDS (10), SALE_ID, DRAIN_SECONDS
 * (30), SUMMARY_PATH, and <ENDPOINT>_P99_MS for each endpoint's p99 threshold.
 */
import type { Options } from 'k6/options';
import {
  endpointThresholds,
  journeyOptions,
  journeyTailSeconds,
  plannedArrivals,
  promiseThresholds,
  shopperJourney,
  vusFor,
  type RunPlan,
} from './lib/journey.ts';
import {
  checkNoOversell,
  clock,
  drive,
  env,
  envNumber,
  setupSale,
  summary,
  tally,
  type SaleData,
  type SummaryData,
} from './lib/velvet-rope.ts';

const PEAK = envNumber('PEAK_RATE', 200);
const PREQUEUE = envNumber('PREQUEUE_SECONDS', 30);
const STOCK = envNumber('STOCK', 1000);
const RATE = envNumber('RATE_PER_MINUTE', 3000);
const journey = journeyOptions(__ENV);

const START_RATE = Math.max(1, Math.round(PEAK / 20));
const STAGES = [
  // the pre-queue fills while the sale has not started
  { target: Math.round(PEAK / 5), duration: `${PREQUEUE}s` },
  // the start: a spike of arrivals
  { target: PEAK, duration: '5s' },
  { target: PEAK, duration: env('SPIKE', '60s') },
  { target: 0, duration: '30s' },
];
const PLANNED = plannedArrivals(START_RATE, STAGES);
// a shopper waits about as long as the stock takes to be admitted, plus a poll; told sold out at the next poll after
const JOURNEY = envNumber(
  'JOURNEY_SECONDS',
  Math.min(journey.maxWaitSeconds, STOCK / Math.max(RATE / 60, 1) + journey.maxPollMs / 1000 + 10),
);
const VUS = envNumber('VUS', envNumber('MAX_VUS', vusFor(PEAK, JOURNEY, PLANNED)));
const PLAN: RunPlan = { script: 'flash-sale', plannedArrivals: PLANNED, vus: VUS, checksOversell: true };

export const options: Options = {
  scenarios: {
    shoppers: {
      // each iteration is one shopper's whole journey, so a VU is busy for as long as the
      // shopper waits; every VU is allocated before the start (k6 drops arrivals while it
      // allocates VUs mid-test), and dropped arrivals fail the run
      executor: 'ramping-arrival-rate',
      startRate: START_RATE,
      timeUnit: '1s',
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      stages: STAGES,
      // past the journey's own deadline, so that k6 never cuts a journey instead of counting it
      gracefulStop: `${journey.maxWaitSeconds + journeyTailSeconds(journey)}s`,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    unexpected_responses: ['rate<0.001'],
    journeys_timed_out: ['count==0'],
    checks: ['rate>0.99'],
    ...promiseThresholds(__ENV),
    ...endpointThresholds(__ENV, {
      join: 1000,
      rejoin: 1000,
      status: 500,
      purchase: 1000,
      'purchase-retry': 1000,
      admin: 2000,
      stats: 2000,
    }),
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup(): SaleData {
  return setupSale({
    namePrefix: 'k6-flash-sale',
    stock: STOCK,
    ratePerMinute: RATE,
    startsInSeconds: PREQUEUE,
    checkoutSeconds: envNumber('CHECKOUT_SECONDS', 60),
  });
}

export default function (data: SaleData): void {
  drive(shopperJourney(tally, data.saleId, journey, clock));
}

export function teardown(data: SaleData): void {
  checkNoOversell(data);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary(PLAN, data);
}
