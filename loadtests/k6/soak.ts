/**
 * Soak: a steady, moderate flow of shoppers for a long time (an hour by default) into a sale
 * whose admission rate keeps up with the arrivals, plus page views of the sale, so that the
 * queue stays short and every path runs for the whole time. Watches for what only time
 * shows: latency creeping up, errors appearing, memory or connections leaking (watch the
 * gateway's /metrics, on its METRICS_PORT, beside it). Fails on errors, slow answers and (teardown) any oversell.
 *
 *   k6 run loadtests/k6/soak.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e ARRIVALS_PER_SECOND (20), DURATION (1h), VIEWERS (50 virtual users reading the sale
 * every 2 s), CHECKOUT_SECONDS (60), ABANDON, RETRY, REFRESH, MAX_POLL_MS, MAX_VUS (2000),
 * SALE_ID, SUMMARY_PATH.
 */
import { check, sleep } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';
import {
  account,
  BASE_URL,
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

const ARRIVALS = envNumber('ARRIVALS_PER_SECOND', 20);
const DURATION = env('DURATION', '1h');

/** '1h', '30m', '90s' -> seconds */
function seconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(h|m|s)$/.exec(d);
  if (!m) throw new Error(`-e DURATION must look like 1h, 30m or 90s, got ${d}`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

export const options: Options = {
  scenarios: {
    shoppers: {
      executor: 'constant-arrival-rate',
      rate: ARRIVALS,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(200, envNumber('MAX_VUS', 2000)),
      maxVUs: envNumber('MAX_VUS', 2000),
      gracefulStop: '120s',
    },
    viewers: {
      executor: 'constant-vus',
      vus: envNumber('VIEWERS', 50),
      duration: DURATION,
      exec: 'viewSale',
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    unexpected_responses: ['rate<0.0001'],
    retry_after_missing: ['count==0'],
    purchase_order_mismatch: ['count==0'],
    rejoin_place_mismatch: ['count==0'],
    journeys_timed_out: ['count==0'],
    checks: ['rate>0.999'],
    'http_req_duration{endpoint:join}': ['p(99)<500'],
    'http_req_duration{endpoint:status}': ['p(99)<300'],
    'http_req_duration{endpoint:purchase}': ['p(99)<500'],
    'http_req_duration{endpoint:sale}': ['p(99)<300'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup(): SaleData {
  // enough units for every arrival of the whole run, admitted as fast as they come: the
  // queue stays short and the sale never sells out during the soak
  const total = Math.ceil(ARRIVALS * seconds(DURATION) * 1.2);
  return setupSale({
    namePrefix: 'k6-soak',
    stock: total,
    ratePerMinute: Math.ceil(ARRIVALS * 60 * 1.5),
    startsInSeconds: 5,
    checkoutSeconds: envNumber('CHECKOUT_SECONDS', 60),
  });
}

const journey = journeyOptions();

export default function (data: SaleData): void {
  shopperJourney(data.saleId, journey);
}

/** a page view: the public sale, as the waiting-room page reads it */
export function viewSale(data: SaleData): void {
  const r = http.get(`${BASE_URL}/api/sales/${data.saleId}`, { tags: { endpoint: 'sale' } });
  account(r, [200]);
  check(r, { 'sale: 200': (x) => x.status === 200 || x.status === 429 || x.status === 503 });
  sleep(2);
}

export function teardown(data: SaleData): void {
  checkNoOversell(data);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary('soak', data);
}
