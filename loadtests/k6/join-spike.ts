/**
 * Join spike: new visitors join a sale's pre-queue at a rate that ramps up steeply, holds at
 * the peak, and falls. Every join is a new visitor (no cookies); one in ten refreshes with its
 * ticket, which must keep the same place. Fails on errors other than the documented refusals,
 * on slow joins, and (teardown) on any oversell.
 *
 *   k6 run loadtests/k6/join-spike.ts -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_API_KEY=...
 *
 * -e PEAK_RATE (joins/s at the peak, 500), RAMP (30s), HOLD (60s), MAX_VUS (2000),
 * JOIN_P99_MS (1000), SALE_ID (use an existing sale), SUMMARY_PATH.
 */
import type { Options } from 'k6/options';
import { checkNoOversell, env, envNumber, join, rejoin, setupSale, summary, type SaleData, type SummaryData } from './lib/velvet-rope.ts';

const PEAK = envNumber('PEAK_RATE', 500);

export const options: Options = {
  scenarios: {
    join_spike: {
      executor: 'ramping-arrival-rate',
      startRate: Math.max(1, Math.round(PEAK / 50)),
      timeUnit: '1s',
      preAllocatedVUs: Math.min(200, envNumber('MAX_VUS', 2000)),
      maxVUs: envNumber('MAX_VUS', 2000),
      stages: [
        { target: Math.round(PEAK / 10), duration: '10s' },
        { target: PEAK, duration: env('RAMP', '30s') },
        { target: PEAK, duration: env('HOLD', '60s') },
        { target: 0, duration: '10s' },
      ],
      gracefulStop: '30s',
    },
  },
  thresholds: {
    // 409 (sold out) and 429 (rate limited) are expected answers and do not count here
    http_req_failed: ['rate<0.01'],
    unexpected_responses: ['rate<0.001'],
    retry_after_missing: ['count==0'],
    rejoin_place_mismatch: ['count==0'],
    checks: ['rate>0.99'],
    'http_req_duration{endpoint:join}': [`p(99)<${envNumber('JOIN_P99_MS', 1000)}`, `p(90)<${envNumber('JOIN_P90_MS', 300)}`],
    'http_req_duration{endpoint:rejoin}': [`p(99)<${envNumber('JOIN_P99_MS', 1000)}`],
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
  const joined = join(data.saleId);
  if (joined && Math.random() < envNumber('REFRESH', 0.1)) rejoin(data.saleId, joined);
}

export function teardown(data: SaleData): void {
  checkNoOversell(data, 0);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summary('join-spike', data);
}
