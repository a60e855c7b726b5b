/**
 * A full flash sale: shoppers arrive at a ramping rate, first into the pre-queue, then in a
 * spike after the start; each joins, polls `/queue/me` as the server advises (capped), buys
 * with the admission token once admitted (some send the purchase twice: same order), some
 * walk away, some refresh with their ticket (same place). Fails on unexpected errors, slow
 * answers, a retried purchase answering another order, and (teardown) any oversell.
 *
 *   k6 run loadtests/k6/flash-sale.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e STOCK (1000), RATE_PER_MINUTE (admissions, 3000), PREQUEUE_SECONDS (30: the sale starts
 * this long after setup), PEAK_RATE (arrivals/s, 200), SPIKE (60s), CHECKOUT_SECONDS (60),
 * ABANDON (0.1), RETRY (0.2), REFRESH (0.1), MAX_POLL_MS (10000), MAX_WAIT_SECONDS (600),
 * MAX_VUS (10000), QUEUE_MODE (prequeue-random | fifo | random), WINDOW_SECONDS (10),
 * SALE_ID, DRAIN_SECONDS (30), SUMMARY_PATH.
 */
import type { Options } from 'k6/options';
import {
  checkNoOversell,
  env,
  envNumber,
  journeyOptions,
  setupSale,
  shopperJourney,
  summary,
  type SaleData,
  type SummaryData,
} from './lib/velvet-rope.ts';

const PEAK = envNumber('PEAK_RATE', 200);
const PREQUEUE = envNumber('PREQUEUE_SECONDS', 30);
const MAX_WAIT = envNumber('MAX_WAIT_SECONDS', 600);

export const options: Options = {
  scenarios: {
    shoppers: {
      // each iteration is one shopper's whole journey, so a VU is busy for as long as the
      // shopper waits: MAX_VUS bounds how many wait at once
      executor: 'ramping-arrival-rate',
      startRate: Math.max(1, Math.round(PEAK / 20)),
      timeUnit: '1s',
      preAllocatedVUs: Math.min(500, envNumber('MAX_VUS', 10_000)),
      maxVUs: envNumber('MAX_VUS', 10_000),
      stages: [
        // the pre-queue fills while the sale has not started
        { target: Math.round(PEAK / 5), duration: `${PREQUEUE}s` },
        // the start: a spike of arrivals
        { target: PEAK, duration: '5s' },
        { target: PEAK, duration: env('SPIKE', '60s') },
        { target: 0, duration: '30s' },
      ],
      gracefulStop: `${MAX_WAIT}s`,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    unexpected_responses: ['rate<0.001'],
    retry_after_missing: ['count==0'],
    purchase_order_mismatch: ['count==0'],
    rejoin_place_mismatch: ['count==0'],
    journeys_timed_out: ['count==0'],
    checks: ['rate>0.99'],
    'http_req_duration{endpoint:join}': [`p(99)<${envNumber('JOIN_P99_MS', 1000)}`],
    'http_req_duration{endpoint:status}': [`p(99)<${envNumber('STATUS_P99_MS', 500)}`],
    'http_req_duration{endpoint:purchase}': [`p(99)<${envNumber('PURCHASE_P99_MS', 1000)}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup(): SaleData {
  return setupSale({
    namePrefix: 'k6-flash-sale',
    stock: envNumber('STOCK', 1000),
    ratePerMinute: envNumber('RATE_PER_MINUTE', 3000),
    startsInSeconds: PREQUEUE,
    checkoutSeconds: envNumber('CHECKOUT_SECONDS', 60),
  });
}

const journey = journeyOptions();

export default function (data: SaleData): void {
  shopperJourney(data.saleId, journey);
}

export function teardown(data: SaleData): void {
  checkNoOversell(data);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary('flash-sale', data);
}
