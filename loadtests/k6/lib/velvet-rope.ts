/**
 * The k6 side of the three scripts: k6's metrics behind the journey's tally, `k6/http` behind
 * its steps, the sale made in setup(), the oversell check of teardown() and handleSummary().
 * What a journey does and how it is counted and judged is in `journey.ts`, which has no k6 in
 * it so that CI runs the same code against a real gateway. k6 runs TypeScript itself (k6 >=
 * 0.57; no bundler, no node modules), so this file imports only k6's own modules.
 */
import { check, fail, sleep } from 'k6';
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import {
  COUNTERS,
  GAUGES,
  RATES,
  TRENDS,
  envNumber as envNumberOf,
  endingChange,
  envString,
  recordOversellCheck,
  renderSummary,
  saleStats,
  type Call,
  type CounterName,
  type Journey,
  type Reply,
  type RunPlan,
  type SummaryData,
  type Tally,
} from './journey.ts';

// --- configuration ----------------------------------------------------------------------

export const env = (name: string, fallback: string): string => envString(__ENV, name, fallback);
export const envNumber = (name: string, fallback: number): number => envNumberOf(__ENV, name, fallback);

export const BASE_URL = env('BASE_URL', 'http://127.0.0.1:3000').replace(/\/$/, '');
const ADMIN_API_KEY = env('ADMIN_API_KEY', '');
const REQUEST_TIMEOUT = `${envNumber('REQUEST_TIMEOUT_SECONDS', 30)}s`;

// 409 (sold out, sale ended) and 429 (rate limited, with Retry-After) are answers a flash
// sale gives by design: they do not count in http_req_failed. Everything else >= 400 does.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409, 429));

// --- metrics: k6 wants them made in the init context ---------------------------------------

const counters = Object.fromEntries(COUNTERS.map((n) => [n, new Counter(n)])) as Record<CounterName, Counter>;
const rates = Object.fromEntries(RATES.map((n) => [n, new Rate(n)])) as Record<(typeof RATES)[number], Rate>;
const trends = Object.fromEntries(TRENDS.map((n) => [n, new Trend(n, true)])) as Record<(typeof TRENDS)[number], Trend>;
const gauges = Object.fromEntries(GAUGES.map((n) => [n, new Gauge(n)])) as Record<(typeof GAUGES)[number], Gauge>;

export const tally: Tally = {
  add: (name, n = 1) => counters[name].add(n),
  rate: (name, hit) => rates[name].add(hit),
  trend: (name, ms) => trends[name].add(ms),
  gauge: (name, value) => gauges[name].add(value),
  check: (name, ok) => {
    check(ok, { [name]: (x) => x });
  },
};

export const clock = { now: () => Date.now(), random: () => Math.random() };

// --- running a journey with k6/http ---------------------------------------------------------

function replyOf(r: RefinedResponse<ResponseType | undefined>): Reply {
  let body: unknown;
  try {
    body = r.body ? r.json() : undefined;
  } catch {
    body = undefined;
  }
  const retryAfter = r.headers['Retry-After'];
  return { status: r.status, retryAfter: retryAfter === undefined ? undefined : String(retryAfter), body };
}

/** Runs one journey to its end: each call through k6/http (one cookie jar per journey), each pause a sleep. */
export function drive(journey: Journey): void {
  const jar = new http.CookieJar();
  let sent: Reply | undefined;
  for (;;) {
    const step = journey.next(sent);
    if (step.done) return;
    sent = undefined;
    if ('pauseSeconds' in step.value) {
      sleep(step.value.pauseSeconds);
      continue;
    }
    sent = replyOf(send(step.value.call, jar));
  }
}

function send(c: Call, jar: http.CookieJar) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (c.auth) headers.authorization = `Bearer ${c.auth}`;
  return http.request(c.method, `${BASE_URL}${c.path}`, c.body ?? null, {
    headers,
    jar,
    tags: { endpoint: c.endpoint },
    timeout: REQUEST_TIMEOUT,
  });
}

function json(r: RefinedResponse<ResponseType | undefined>): unknown {
  try {
    return r.json();
  } catch {
    return undefined;
  }
}

// --- the sale ---------------------------------------------------------------------------

export interface SaleData {
  readonly saleId: string;
  readonly startsAt: string;
  /** made by setup(): teardown ends it */
  readonly made: boolean;
}

function adminParams(endpoint: 'admin' | 'stats' = 'admin') {
  if (!ADMIN_API_KEY) fail('set -e ADMIN_API_KEY=<the gateway ADMIN_API_KEY>');
  return { headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_API_KEY}` }, tags: { endpoint } };
}

export interface SaleSpec {
  readonly namePrefix: string;
  readonly stock: number;
  readonly ratePerMinute: number;
  /** seconds from setup() until the sale starts (the pre-queue until then) */
  readonly startsInSeconds: number;
  readonly checkoutSeconds: number;
}

/** setup(): the sale given as -e SALE_ID=..., or a new one through the admin API. */
export function setupSale(spec: SaleSpec): SaleData {
  const given = env('SALE_ID', '');
  if (given) {
    const r = http.get(`${BASE_URL}/api/admin/sales/${given}`, adminParams());
    if (r.status !== 200) fail(`SALE_ID ${given}: the admin API answered ${r.status} ${String(r.body)}`);
    const startsAt = (json(r) as { startsAt?: unknown } | undefined)?.startsAt;
    return { saleId: given, startsAt: typeof startsAt === 'string' ? startsAt : new Date().toISOString(), made: false };
  }
  const saleId = `${spec.namePrefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const startsAt = new Date(Date.now() + spec.startsInSeconds * 1000).toISOString();
  const r = http.post(
    `${BASE_URL}/api/admin/sales`,
    JSON.stringify({
      id: saleId,
      name: `k6 ${spec.namePrefix}`,
      stock: spec.stock,
      startsAt,
      ratePerMinute: spec.ratePerMinute,
      checkoutSeconds: spec.checkoutSeconds,
      maxPerShopper: 1,
      queueMode: env('QUEUE_MODE', 'prequeue-random'),
      windowSeconds: envNumber('WINDOW_SECONDS', 10),
    }),
    adminParams(),
  );
  if (r.status !== 201) fail(`creating the sale failed: ${r.status} ${String(r.body)}`);
  console.info(`sale ${saleId}: ${spec.stock} units, ${spec.ratePerMinute}/min, starts ${startsAt}`);
  return { saleId, startsAt, made: true };
}

/**
 * teardown(): waits (bounded) for the worker to commit what was accepted, reads the marketer's
 * figures, records them and the verdict as metrics (so that the summary and its JSON carry
 * them), ends a sale setup() made, and fails the run on an oversell (I1): sold above stock,
 * more confirmed orders than units, or a negative remainder.
 */
export function checkNoOversell(data: SaleData, drainSeconds = envNumber('DRAIN_SECONDS', 30)): void {
  let body: unknown;
  for (let waited = 0; ; waited++) {
    const r = http.get(`${BASE_URL}/api/admin/sales/${data.saleId}/stats`, adminParams('stats'));
    if (r.status !== 200) fail(`stats of ${data.saleId}: ${r.status} ${String(r.body)}`);
    body = json(r);
    const pending = saleStats(body)?.pending ?? 0;
    if (pending === 0 || waited >= drainSeconds) break;
    sleep(1);
  }
  const stats = saleStats(body);
  if (!stats) fail(`stats of ${data.saleId} lack stock, sold, confirmedOrders, remaining or pending: ${JSON.stringify(body)}`);
  const problems = recordOversellCheck(tally, stats);
  console.info(`sale ${data.saleId}: ${JSON.stringify(body)}`);
  if (stats.pending > 0) console.warn(`${stats.pending} orders still pending after ${drainSeconds} s`);
  endSale(data);
  if (problems.length > 0) fail(`OVERSELL: ${problems.join('; ')}`);
}

/** Ends a sale setup() made, so that a run leaves no sale open (one given as SALE_ID is left alone). */
function endSale(data: SaleData): void {
  if (!data.made) return;
  const r = http.patch(
    `${BASE_URL}/api/admin/sales/${data.saleId}`,
    JSON.stringify(endingChange(data.startsAt, Date.now())),
    adminParams(),
  );
  if (r.status !== 200) console.warn(`ending sale ${data.saleId} failed: ${r.status} ${String(r.body)}; end it from the console`);
}

// --- summary ----------------------------------------------------------------------------

/**
 * handleSummary(): the verdict and the key figures on stdout, and the whole summary with the
 * verdict (`velvetRope`) as JSON in SUMMARY_PATH (default k6-<script>-<time>.json in the
 * working directory: k6 does not create folders).
 */
export function summary(plan: RunPlan, data: SummaryData): Record<string, string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = env('SUMMARY_PATH', `k6-${plan.script}-${stamp}.json`);
  const { text, json: body } = renderSummary(plan, data);
  return { stdout: `${text}  summary: ${path}\n`, [path]: body };
}

export type { SummaryData };
