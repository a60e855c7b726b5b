/**
 * Soak: a steady, moderate flow of shoppers for a long time (an hour by default) into a sale
 * whose admission rate keeps up with the arrivals, plus page views of the sale, so that the
 * queue stays short and every path runs for the whole time. Watches for what only time
 * shows: latency creeping up, errors appearing, memory or connections leaking (watch the
 * gateway's /metrics, on its METRICS_PORT, beside it). Fails on unexpected answers, slow
 * answers, dropped arrivals, journeys that failed, gave up or timed out, and (teardown) any
 * oversell; the summary says which.
 *
 *   k6 run --no-usage-report loadtests/k6/soak.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e ARRIVALS_PER_SECOND (20), DURATION (1h; any k6 duration: 1h30m, 90m, 45s), VIEWERS (50
 * virtual users reading the sale every 2 s), CHECKOUT_SECONDS (60), ABANDON, RETRY, REFRESH,
 * MAX_POLL_MS, MAX_WAIT_SECONDS, JOURNEY_SECONDS (30), VUS, MAX_REFUSALS, MAX_GAVE_UP, SALE_ID,
 * SUMMARY_PATH; thresholds: HTTP_FAILED_RATE (0.001), UNEXPECTED_RATE (0.0001), CHECKS_RATE
 * (0.999) and <ENDPOINT>_P99_MS (JOIN 500, STATUS 300, PURCHASE 500, SALE 300, ...).
 */
import { sleep } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';
import {
  endpointThresholds,
  judge,
  journeyOptions,
  journeyTailSeconds,
  parseDuration,
  promiseThresholds,
  shopperJourney,
  vusFor,
  type RunPlan,
} from './lib/journey.ts';
import {
  BASE_URL,
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

const ARRIVALS = envNumber('ARRIVALS_PER_SECOND', 20);
const DURATION = env('DURATION', '1h');
const SECONDS = parseDuration(DURATION);
const journey = journeyOptions(__ENV);
const PLANNED = Math.round(ARRIVALS * SECONDS);
// the sale keeps up with the arrivals: a shopper waits a poll or two, then checks out
const VUS = envNumber('VUS', envNumber('MAX_VUS', vusFor(ARRIVALS, envNumber('JOURNEY_SECONDS', 30), PLANNED)));
const PLAN: RunPlan = { script: 'soak', plannedArrivals: PLANNED, vus: VUS, checksOversell: true };

export const options: Options = {
  scenarios: {
    shoppers: {
      executor: 'constant-arrival-rate',
      rate: ARRIVALS,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      gracefulStop: `${journey.maxWaitSeconds + journeyTailSeconds(journey)}s`,
    },
    viewers: {
      executor: 'constant-vus',
      vus: envNumber('VIEWERS', 50),
      duration: DURATION,
      exec: 'viewSale',
    },
  },
  thresholds: {
    http_req_failed: [`rate<${envNumber('HTTP_FAILED_RATE', 0.001)}`],
    unexpected_responses: [`rate<${envNumber('UNEXPECTED_RATE', 0.0001)}`],
    journeys_timed_out: ['count==0'],
    checks: [`rate>${envNumber('CHECKS_RATE', 0.999)}`],
    ...promiseThresholds(__ENV),
    ...endpointThresholds(__ENV, {
      join: 500,
      rejoin: 500,
      status: 300,
      purchase: 500,
      'purchase-retry': 500,
      sale: 300,
      admin: 2000,
      stats: 2000,
    }),
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup(): SaleData {
  // enough units for every arrival of the whole run, admitted as fast as they come: the
  // queue stays short and the sale never sells out during the soak
  return setupSale({
    namePrefix: 'k6-soak',
    stock: Math.ceil(PLANNED * 1.2),
    ratePerMinute: Math.ceil(ARRIVALS * 60 * 1.5),
    startsInSeconds: 5,
    checkoutSeconds: envNumber('CHECKOUT_SECONDS', 60),
  });
}

export default function (data: SaleData): void {
  drive(shopperJourney(tally, data.saleId, journey, clock));
}

/** a page view: the public sale, as the waiting-room page reads it */
export function viewSale(data: SaleData): void {
  const r = http.get(`${BASE_URL}/api/sales/${data.saleId}`, { tags: { endpoint: 'sale' } });
  const v = judge(tally, { status: r.status, retryAfter: r.headers['Retry-After'], body: undefined }, [200]);
  if (v !== 'refused') tally.check('sale: 200', v === 'ok');
  sleep(2);
}

export function teardown(data: SaleData): void {
  checkNoOversell(data);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary(PLAN, data);
}
