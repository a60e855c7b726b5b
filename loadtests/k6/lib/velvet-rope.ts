/**
 * What the three k6 scripts share: configuration from `-e NAME=value`, the sale they make in
 * setup(), one shopper's journey, the oversell check of teardown(), custom metrics and the
 * JSON summary. k6 runs TypeScript itself (k6 >= 0.52; no bundler, no node modules), so this
 * file imports only k6's own modules.
 */
import { check, fail, sleep } from 'k6';
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';

// --- configuration ----------------------------------------------------------------------

export function env(name: string, fallback: string): string {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}
export function envNumber(name: string, fallback: number): number {
  const v = Number(env(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`-e ${name} must be a number`);
  return v;
}

export const BASE_URL = env('BASE_URL', 'http://127.0.0.1:3000').replace(/\/$/, '');
const ADMIN_API_KEY = env('ADMIN_API_KEY', '');

// 409 (sold out, sale ended) and 429 (rate limited, with Retry-After) are answers a flash
// sale gives by design: they do not count in http_req_failed. Everything else >= 400 does.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409, 429));

// --- metrics ----------------------------------------------------------------------------

/** responses that are neither a success nor a refusal the API documents (one sample per response) */
export const unexpected = new Rate('unexpected_responses');
/** 429 and 503 answers without Retry-After (I6): must stay 0 */
export const retryAfterMissing = new Counter('retry_after_missing');
/** a purchase sent twice that answered another order id (I3): must stay 0 */
export const orderMismatch = new Counter('purchase_order_mismatch');
/** a re-join with the ticket that got another place (I5): must stay 0 */
export const placeMismatch = new Counter('rejoin_place_mismatch');
export const ordersAccepted = new Counter('orders_accepted');
export const toldSoldOut = new Counter('told_sold_out');
export const abandoned = new Counter('shoppers_abandoned');
export const expired = new Counter('admissions_expired');
export const timedOut = new Counter('journeys_timed_out');
export const timeToAdmission = new Trend('time_to_admission', true);
export const rateLimited = new Counter('rate_limited');

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Counts what every response says about the promises; true when it was a documented answer. */
export function account(r: RefinedResponse<ResponseType | undefined>, expected: readonly number[]): boolean {
  const ok = expected.includes(r.status);
  const documented = ok || r.status === 409 || r.status === 429 || r.status === 503;
  unexpected.add(!documented);
  if ((r.status === 429 || r.status === 503) && !r.headers['Retry-After']) retryAfterMissing.add(1);
  if (r.status === 429) rateLimited.add(1);
  return ok;
}

/** seconds to wait before asking again after a 429/503 */
export function retryAfterSeconds(r: RefinedResponse<ResponseType | undefined>, fallback = 1): number {
  const v = Number(r.headers['Retry-After']);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function body(r: RefinedResponse<ResponseType | undefined>): Record<string, unknown> {
  try {
    const b = r.json();
    return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// --- the sale ---------------------------------------------------------------------------

export interface SaleData {
  readonly saleId: string;
  readonly startsAt: string;
}

function adminParams(tags: Record<string, string> = {}) {
  if (!ADMIN_API_KEY) fail('set -e ADMIN_API_KEY=<the gateway ADMIN_API_KEY>');
  return { headers: { ...JSON_HEADERS, authorization: `Bearer ${ADMIN_API_KEY}` }, tags: { endpoint: 'admin', ...tags } };
}

export interface SaleSpec {
  readonly namePrefix: string;
  readonly stock: number;
  readonly ratePerMinute: number;
  /** seconds from setup() until the sale starts (the pre-queue until then) */
  readonly startsInSeconds: number;
  readonly checkoutSeconds: number;
  readonly queueMode?: string;
  readonly windowSeconds?: number;
}

/** setup(): the sale given as -e SALE_ID=..., or a new one through the admin API. */
export function setupSale(spec: SaleSpec): SaleData {
  const given = env('SALE_ID', '');
  if (given) {
    const r = http.get(`${BASE_URL}/api/admin/sales/${given}`, adminParams());
    if (r.status !== 200) fail(`SALE_ID ${given}: the admin API answered ${r.status} ${String(r.body)}`);
    return { saleId: given, startsAt: str(body(r).startsAt) ?? new Date().toISOString() };
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
      queueMode: spec.queueMode ?? env('QUEUE_MODE', 'prequeue-random'),
      windowSeconds: spec.windowSeconds ?? envNumber('WINDOW_SECONDS', 10),
    }),
    adminParams(),
  );
  if (r.status !== 201) fail(`creating the sale failed: ${r.status} ${String(r.body)}`);
  console.info(`sale ${saleId}: ${spec.stock} units, ${spec.ratePerMinute}/min, starts ${startsAt}`);
  return { saleId, startsAt };
}

/**
 * teardown(): waits (bounded) for the worker to commit what was accepted, then reads the
 * marketer's figures and fails the run when they show an oversell (I1): sold above stock,
 * more confirmed orders than units, or a negative remainder.
 */
export function checkNoOversell(data: SaleData, drainSeconds = envNumber('DRAIN_SECONDS', 30)): void {
  let stats: Record<string, unknown> = {};
  for (let waited = 0; waited <= drainSeconds; waited++) {
    const r = http.get(`${BASE_URL}/api/admin/sales/${data.saleId}/stats`, adminParams({ endpoint: 'stats' }));
    if (r.status !== 200) fail(`stats of ${data.saleId}: ${r.status} ${String(r.body)}`);
    stats = body(r);
    if ((num(stats.pending) ?? 0) === 0) break;
    sleep(1);
  }
  const stock = num(stats.stock) ?? 0;
  const sold = num(stats.sold) ?? 0;
  const confirmed = num(stats.confirmedOrders) ?? 0;
  const remaining = num(stats.remaining) ?? 0;
  console.info(`sale ${data.saleId}: ${JSON.stringify(stats)}`);
  if (sold > stock) fail(`OVERSELL: sold ${sold} > stock ${stock}`);
  if (confirmed > stock) fail(`OVERSELL: ${confirmed} confirmed orders for ${stock} units`);
  if (remaining < 0) fail(`OVERSELL: remaining ${remaining} < 0`);
  if ((num(stats.pending) ?? 0) > 0) console.warn(`${String(stats.pending)} orders still pending after ${drainSeconds} s`);
}

// --- one shopper ------------------------------------------------------------------------

export interface JourneyOptions {
  /** fraction that walks away once admitted */
  readonly abandon: number;
  /** fraction of buyers that send the purchase twice */
  readonly retry: number;
  /** fraction that re-joins once with the ticket (a refresh: must keep the place) */
  readonly refresh: number;
  /** cap on the advised wait between polls, ms */
  readonly maxPollMs: number;
  /** a journey gives up after this long, s */
  readonly maxWaitSeconds: number;
}

export function journeyOptions(): JourneyOptions {
  return {
    abandon: envNumber('ABANDON', 0.1),
    retry: envNumber('RETRY', 0.2),
    refresh: envNumber('REFRESH', 0.1),
    maxPollMs: envNumber('MAX_POLL_MS', 10_000),
    maxWaitSeconds: envNumber('MAX_WAIT_SECONDS', 600),
  };
}

interface Joined {
  readonly visitorId: string;
  readonly ticket: string;
  readonly retryAfterMs: number;
}

/** A new visitor joins (no cookies: a fresh jar per shopper). undefined: sold out, refused or failed. */
export function join(saleId: string): Joined | undefined {
  const jar = new http.CookieJar();
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = http.post(`${BASE_URL}/api/sales/${saleId}/queue`, '{}', { headers: JSON_HEADERS, jar, tags: { endpoint: 'join' } });
    const ok = account(r, [201]);
    check(r, {
      'join: a new place, or a documented refusal': (x) => x.status === 201 || x.status === 409 || x.status === 429 || x.status === 503,
    });
    if (ok) {
      const b = body(r);
      const visitorId = str(b.visitorId);
      const ticket = str(b.ticket);
      if (!visitorId || !ticket) {
        unexpected.add(true);
        return undefined;
      }
      return { visitorId, ticket, retryAfterMs: num(b.retryAfterMs) ?? 1000 };
    }
    if (r.status === 409) {
      toldSoldOut.add(1);
      return undefined;
    }
    if (r.status === 429 || r.status === 503) {
      sleep(retryAfterSeconds(r));
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** A refresh: join again with the ticket. Must answer 200, the same visitor, and (while waiting) the same score. */
export function rejoin(saleId: string, j: Joined): void {
  const r = http.post(`${BASE_URL}/api/sales/${saleId}/queue`, '{}', {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${j.ticket}` },
    jar: new http.CookieJar(),
    tags: { endpoint: 'rejoin' },
  });
  account(r, [200, 201]);
  if (r.status !== 200 && r.status !== 201) return;
  const b = body(r);
  const sameVisitor = str(b.visitorId) === j.visitorId;
  // 201 with the same visitor: the earlier turn lapsed and a new place was given, by design
  const samePlace = r.status === 201 || !(b.status === 'queued' || b.status === 'prequeue') || scoreOf(str(b.ticket)) === scoreOf(j.ticket);
  const ok = check(r, { 'rejoin: same visitor, same place': () => sameVisitor && samePlace });
  if (!ok) placeMismatch.add(1);
}

/** the fairness score a ticket carries (its `scr` claim), read without verifying */
function scoreOf(ticket: string | undefined): number | undefined {
  const part = ticket?.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeBase64(b64);
    return num((JSON.parse(json) as Record<string, unknown>).scr);
  } catch {
    return undefined;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function decodeBase64(s: string): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const c of s.replace(/=+$/, '')) {
    const i = B64.indexOf(c);
    if (i < 0) throw new Error('not base64');
    value = (value << 6) | i;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  return out;
}

/**
 * The whole journey of one shopper: join, poll `/queue/me` as advised (capped), buy once
 * admitted with the admission token, or walk away; told sold out; or out of time.
 */
export function shopperJourney(saleId: string, o: JourneyOptions): void {
  const joined = join(saleId);
  if (!joined) return;
  const t0 = Date.now();
  const deadline = t0 + o.maxWaitSeconds * 1000;
  const walksAway = Math.random() < o.abandon;
  let refreshes = Math.random() < o.refresh ? 1 : 0;
  let waitMs = joined.retryAfterMs;
  const auth = { authorization: `Bearer ${joined.ticket}` };
  while (Date.now() < deadline) {
    // as the server advises, capped, with a little jitter so that pollers do not move in step
    sleep((Math.min(Math.max(waitMs, 250), o.maxPollMs) * (0.9 + 0.2 * Math.random())) / 1000);
    if (refreshes > 0) {
      refreshes--;
      rejoin(saleId, joined);
    }
    const r = http.get(`${BASE_URL}/api/sales/${saleId}/queue/me`, { headers: auth, tags: { endpoint: 'status' } });
    const ok = account(r, [200]);
    check(r, { 'status: 200': (x) => x.status === 200 || x.status === 429 || x.status === 503 });
    if (!ok) {
      waitMs = retryAfterSeconds(r) * 1000;
      continue;
    }
    const b = body(r);
    const status = str(b.status);
    if (status === 'prequeue' || status === 'queued') {
      waitMs = num(b.retryAfterMs) ?? 1000;
      continue;
    }
    if (status === 'admitted') {
      timeToAdmission.add(Date.now() - t0);
      if (walksAway) {
        abandoned.add(1);
        return;
      }
      const admission = b.admission as Record<string, unknown> | undefined;
      const token = str(admission?.token);
      if (!token) {
        unexpected.add(true);
        return;
      }
      buy(saleId, token, Math.random() < o.retry);
      return;
    }
    if (status === 'sold_out' || status === 'ended') toldSoldOut.add(1);
    else if (status === 'expired') expired.add(1);
    return; // ordered, sold out, ended, expired: the journey is over
  }
  timedOut.add(1);
}

/** Buys one unit with the admission token; `twice`: sends it again, which must answer the same order. */
export function buy(saleId: string, token: string, twice: boolean): void {
  const params = { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, tags: { endpoint: 'purchase' } };
  let orderId: string | undefined;
  for (let attempt = 0; attempt < 5 && orderId === undefined; attempt++) {
    const r = http.post(`${BASE_URL}/api/sales/${saleId}/purchases`, '{"quantity":1}', params);
    account(r, [202, 200]);
    check(r, {
      'purchase: 202 accepted (or sold out)': (x) =>
        x.status === 202 || x.status === 200 || x.status === 409 || x.status === 429 || x.status === 503,
    });
    if (r.status === 202 || r.status === 200) {
      orderId = str(body(r).orderId);
      if (r.status === 202) ordersAccepted.add(1);
    } else if (r.status === 409) {
      if (str(body(r).code) === 'SOLD_OUT') toldSoldOut.add(1);
      return;
    } else if (r.status === 401) {
      expired.add(1);
      return;
    } else if (r.status === 429 || r.status === 503) {
      sleep(retryAfterSeconds(r));
    } else {
      return;
    }
  }
  if (twice && orderId !== undefined) {
    const again = http.post(`${BASE_URL}/api/sales/${saleId}/purchases`, '{"quantity":1}', {
      ...params,
      tags: { endpoint: 'purchase-retry' },
    });
    account(again, [200]);
    const same = check(again, { 'purchase again: 200, same order': (x) => x.status === 200 && str(body(x).orderId) === orderId });
    if (!same && again.status !== 429 && again.status !== 503) orderMismatch.add(1);
  }
}

// --- summary ----------------------------------------------------------------------------

interface MetricSummary {
  readonly type: string;
  readonly values: Record<string, number>;
  readonly thresholds?: Record<string, { readonly ok: boolean }>;
}

export interface SummaryData {
  readonly metrics: Record<string, MetricSummary>;
  readonly [key: string]: unknown;
}

/**
 * handleSummary(): the whole summary as JSON (SUMMARY_PATH, default k6-<script>-<time>.json in
 * the working directory: k6 does not create folders) and a short text on stdout.
 */
export function summary(script: string, data: SummaryData): Record<string, string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = env('SUMMARY_PATH', `k6-${script}-${stamp}.json`);
  const lines: string[] = [`\nVelvet Rope k6 ${script}`];
  let failed = 0;
  for (const [name, m] of Object.entries(data.metrics)) {
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) {
      if (!t.ok) failed++;
      lines.push(`  ${t.ok ? 'ok    ' : 'FAILED'} ${name}: ${expr}`);
    }
  }
  const pick = (name: string, keys: string[]) => {
    const m = data.metrics[name];
    if (!m) return;
    lines.push(
      `  ${name}: ${keys
        .filter((k) => m.values[k] !== undefined)
        .map((k) => `${k}=${round(m.values[k]!)}`)
        .join(' ')}`,
    );
  };
  pick('http_reqs', ['count', 'rate']);
  pick('http_req_failed', ['rate']);
  pick('checks', ['rate']);
  for (const name of Object.keys(data.metrics).filter((n) => n.startsWith('http_req_duration{endpoint:')))
    pick(name, ['med', 'p(90)', 'p(99)', 'max']);
  for (const name of [
    'orders_accepted',
    'told_sold_out',
    'shoppers_abandoned',
    'admissions_expired',
    'journeys_timed_out',
    'rate_limited',
    'retry_after_missing',
    'purchase_order_mismatch',
    'rejoin_place_mismatch',
  ]) {
    pick(name, ['count']);
  }
  pick('time_to_admission', ['med', 'p(90)', 'max']);
  lines.push(`  ${failed === 0 ? 'every threshold held' : `${failed} threshold(s) broken`}; summary: ${path}\n`);
  return { stdout: lines.join('\n') + '\n', [path]: JSON.stringify(data, null, 2) };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
