/**
 * Join spike: new visitors join a sale's pre-queue at a rate that ramps up steeply, holds at
 * the peak, and falls. Every join is a new visitor (no cookies); one in ten refreshes with its
 * ticket, which must keep the same place. Fails on answers other than the documented
 * refusals, on slow joins, on dropped arrivals, on joins that gave up, and (teardown) on any
 * oversell; the summary says which.
 *
 *   k6 run --no-usage-report loadtests/k6/join-spike.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e PEAK_RATE (joins/s at the peak, 500), RAMP (30s), HOLD (60s), VUS (all allocated before
 * the start), REFRESH (0.1), MAX_REFUSALS (5), MAX_GAVE_UP (0), JOIN_P99_MS (1000),
 * JOIN_P90_MS (300), SALE_ID (use an existing sale), SUMMARY_PATH.
 */
import type { Options } from 'k6/options';
import {
  endpointThresholds,
  joinAndMaybeRefresh,
  journeyOptions,
  journeyTailSeconds,
  plannedArrivals,
  promiseThresholds,
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

const PEAK = envNumber('PEAK_RATE', 500);
const journey = journeyOptions(__ENV);
const START_RATE = Math.max(1, Math.round(PEAK / 50));
const STAGES = [
  { target: Math.round(PEAK / 10), duration: '10s' },
  { target: PEAK, duration: env('RAMP', '30s') },
  { target: PEAK, duration: env('HOLD', '60s') },
  { target: 0, duration: '10s' },
];
const PLANNED = plannedArrivals(START_RATE, STAGES);
// an iteration is a join and perhaps a refresh: well under a second, unless refused
const VUS = envNumber('VUS', envNumber('MAX_VUS', vusFor(PEAK, envNumber('JOURNEY_SECONDS', 2), PLANNED)));
const PLAN: RunPlan = { script: 'join-spike', plannedArrivals: PLANNED, vus: VUS, checksOversell: true };

export const options: Options = {
  scenarios: {
    join_spike: {
      executor: 'ramping-arrival-rate',
      startRate: START_RATE,
      timeUnit: '1s',
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      stages: STAGES,
      gracefulStop: `${journeyTailSeconds(journey)}s`,
    },
  },
  thresholds: {
    // 409 (sold out) and 429 (rate limited) are expected answers and do not count here
    http_req_failed: ['rate<0.01'],
    unexpected_responses: ['rate<0.001'],
    checks: ['rate>0.99'],
    ...promiseThresholds(__ENV),
    ...endpointThresholds(__ENV, { join: 1000, rejoin: 1000, admin: 2000, stats: 2000 }),
    'http_req_duration{endpoint:join}': [`p(99)<${envNumber('JOIN_P99_MS', 1000)}`, `p(90)<${envNumber('JOIN_P90_MS', 300)}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup(): SaleData {
  // the sale starts long after the spike: everyone lands in the pre-queue
  return setupSale({
    namePrefix: 'k6-join-spike',
    stock: envNumber('STOCK', 1000),
    ratePerMinute: 0,
    startsInSeconds: 3600,
    checkoutSeconds: 120,
  });
}

export default function (data: SaleData): void {
  drive(joinAndMaybeRefresh(tally, data.saleId, journey, clock));
}

export function teardown(data: SaleData): void {
  checkNoOversell(data, 0);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary(PLAN, data);
}
