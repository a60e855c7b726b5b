/**
 * The logic of the k6 scripts, free of k6 so that Node runs it too: how an answer is judged
 * and counted (once), one shopper's journey as a generator of steps (a request or a pause)
 * that a driver answers, the sizing of the scenarios, the oversell verdict and the summary.
 *
 * k6 drives the journeys with `k6/http` (`lib/velvet-rope.ts`); the tests drive the very same
 * generators with fetch against a real gateway (`test-support/k6-driver.ts`), so a counter
 * that miscounts or a check that passes on the wrong answer fails CI. Only ES2020 here: no
 * k6 module, no Node module, no DOM.
 */

// --- what a journey asks and is told -----------------------------------------------------

/** the `endpoint` tag of each request: latency and thresholds are per endpoint */
export const ENDPOINTS = ['join', 'rejoin', 'status', 'purchase', 'purchase-retry', 'sale', 'admin', 'stats'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export interface Call {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  readonly endpoint: Endpoint;
  /** a bearer credential (ticket or admission token) */
  readonly auth?: string;
  readonly body?: string;
}

export interface Reply {
  readonly status: number;
  /** the Retry-After header, if any */
  readonly retryAfter: string | undefined;
  /** the parsed JSON body (undefined when there was none or it was not JSON) */
  readonly body: unknown;
}

export type Step = { readonly call: Call } | { readonly pauseSeconds: number };
/** A journey: yields steps, is sent the reply of each call, returns how it ended. */
export type Journey = Generator<Step, Outcome, Reply | undefined>;

function* ask(call: Call): Generator<Step, Reply, Reply | undefined> {
  const reply = yield { call };
  if (!reply) throw new Error(`the driver answered ${call.endpoint} with nothing`);
  return reply;
}
function* pause(seconds: number): Generator<Step, void, Reply | undefined> {
  if (seconds > 0) yield { pauseSeconds: seconds };
}

// --- what is counted --------------------------------------------------------------------

/**
 * how a journey ends: each journey ends exactly once, in exactly one of these (`joined`: the
 * join-spike's iteration, which ends holding its place)
 */
export const OUTCOMES = ['ordered', 'joined', 'sold_out', 'abandoned', 'expired', 'timed_out', 'gave_up', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const outcomeCounter = (o: Outcome) => `journeys_${o}` as const;

export const COUNTERS = [
  'journeys_started',
  'journeys_ended',
  ...OUTCOMES.map(outcomeCounter),
  /** 202 answers to a purchase: a new order */
  'orders_accepted',
  /** 429 and 503 answers (documented refusals to come back later) */
  'refusals',
  'rate_limited',
  /** 429/503 without Retry-After (I6) */
  'retry_after_missing',
  /** a purchase sent twice that answered another order (I3) */
  'purchase_order_mismatch',
  /** a re-join with the ticket that got another place (I5) */
  'rejoin_place_mismatch',
  /** teardown: the stats were read and judged (1 per run) */
  'oversell_checked',
  /** teardown: each way the stats show an oversell (I1) */
  'oversell_found',
] as const;
export type CounterName = (typeof COUNTERS)[number];
export const RATES = ['unexpected_responses'] as const;
export const TRENDS = ['time_to_admission'] as const;
/** teardown's reading of the sale, kept in the summary next to its verdict */
export const GAUGES = ['sale_stock', 'sale_sold', 'sale_confirmed', 'sale_remaining', 'sale_pending'] as const;

/** Where a journey's figures go: k6 metrics in k6, plain numbers in the tests. */
export interface Tally {
  add(counter: CounterName, n?: number): void;
  rate(name: (typeof RATES)[number], hit: boolean): void;
  trend(name: (typeof TRENDS)[number], ms: number): void;
  gauge(name: (typeof GAUGES)[number], value: number): void;
  /** a check named for exactly what it tests */
  check(name: string, ok: boolean): void;
}

export type Verdict = 'ok' | 'refused' | 'sold_out' | 'unexpected';

/**
 * Judges one answer and counts it, once: `unexpected_responses` gets exactly one sample per
 * response. `ok` only for an expected status whose body is valid; 429/503 are refusals (come
 * back after Retry-After); 409 the sale is sold out or over; anything else is unexpected.
 */
export function judge(t: Tally, r: Reply, expected: readonly number[], valid = true): Verdict {
  let v: Verdict;
  if (expected.includes(r.status)) v = valid ? 'ok' : 'unexpected';
  else if (r.status === 429 || r.status === 503) v = 'refused';
  else if (r.status === 409) v = 'sold_out';
  else v = 'unexpected';
  t.rate('unexpected_responses', v === 'unexpected');
  if (v === 'refused') {
    t.add('refusals');
    if (r.status === 429) t.add('rate_limited');
    const given = retryAfterSeconds(r) !== undefined;
    t.check('refusal: Retry-After given', given);
    if (!given) t.add('retry_after_missing');
  }
  return v;
}

/** the Retry-After of an answer in seconds, if it gives a usable one */
export function retryAfterSeconds(r: Reply): number | undefined {
  const v = Number(r.retryAfter);
  return r.retryAfter !== undefined && r.retryAfter !== '' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function field(b: unknown, name: string): unknown {
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>)[name] : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
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
  /** a journey gives up waiting for its turn after this long, s */
  readonly maxWaitSeconds: number;
  /** refusals (429/503) in a row after which a join or a purchase gives up (counted) */
  readonly maxRefusals: number;
  /** seconds k6 lets one request take (its `timeout` param) */
  readonly requestTimeoutSeconds: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export function envString(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}
export function envNumber(env: Env, name: string, fallback: number): number {
  const raw = envString(env, name, String(fallback));
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`-e ${name} must be a number, got ${raw}`);
  return v;
}

export function journeyOptions(env: Env): JourneyOptions {
  return {
    abandon: envNumber(env, 'ABANDON', 0.1),
    retry: envNumber(env, 'RETRY', 0.2),
    refresh: envNumber(env, 'REFRESH', 0.1),
    maxPollMs: envNumber(env, 'MAX_POLL_MS', 10_000),
    maxWaitSeconds: envNumber(env, 'MAX_WAIT_SECONDS', 600),
    maxRefusals: envNumber(env, 'MAX_REFUSALS', 5),
    requestTimeoutSeconds: envNumber(env, 'REQUEST_TIMEOUT_SECONDS', 30),
  };
}

/**
 * The longest a journey can run past its waiting deadline: one capped pause and poll, then a
 * purchase (each attempt a request and a Retry-After pause) and its repeat. The scenario's
 * gracefulStop is the deadline plus this, so that k6 never cuts a journey it could count.
 */
export function journeyTailSeconds(o: JourneyOptions, maxRetryAfterSeconds = 60): number {
  const poll = o.maxPollMs / 1000 + o.requestTimeoutSeconds;
  const purchase = o.maxRefusals * (o.requestTimeoutSeconds + maxRetryAfterSeconds) + o.requestTimeoutSeconds;
  return Math.ceil(poll * 2 + purchase);
}

export interface Joined {
  readonly visitorId: string;
  readonly ticket: string;
  readonly retryAfterMs: number;
}

export type JoinResult = { readonly joined: Joined } | { readonly ended: Outcome };

/** A new visitor joins, coming back after each refusal up to `maxRefusals` times. */
export function* join(t: Tally, saleId: string, o: Pick<JourneyOptions, 'maxRefusals'>): Generator<Step, JoinResult, Reply | undefined> {
  for (let refusals = 0; ; refusals++) {
    const r = yield* ask({ method: 'POST', path: `/api/sales/${saleId}/queue`, endpoint: 'join', body: '{}' });
    const visitorId = str(field(r.body, 'visitorId'));
    const ticket = str(field(r.body, 'ticket'));
    const v = judge(t, r, [201], visitorId !== undefined && ticket !== undefined);
    if (v === 'refused') {
      if (refusals + 1 >= o.maxRefusals) return { ended: 'gave_up' };
      yield* pause(retryAfterSeconds(r) ?? 1);
      continue;
    }
    if (v === 'sold_out') return { ended: 'sold_out' };
    t.check('join: 201 with a visitor id and a ticket', v === 'ok');
    if (v !== 'ok' || visitorId === undefined || ticket === undefined) return { ended: 'failed' };
    return { joined: { visitorId, ticket, retryAfterMs: num(field(r.body, 'retryAfterMs')) ?? 1000 } };
  }
}

/** the fairness score a ticket carries (its `scr` claim), read without verifying */
export function scoreOf(ticket: string | undefined): number | undefined {
  const part = ticket?.split('.')[1];
  if (!part) return undefined;
  try {
    return num(field(JSON.parse(decodeBase64Url(part)), 'scr'));
  } catch {
    return undefined;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url to a string of bytes (JWT claims are ASCII JSON here); throws on other characters */
export function decodeBase64Url(s: string): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const c of s.replace(/=+$/, '')) {
    const i = B64.indexOf(c);
    if (i < 0) throw new Error('not base64url');
    value = ((value << 6) | i) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  return out;
}

/**
 * A refresh: join again with the ticket. Must answer the same visitor and, while it waits,
 * a ticket with the same score as before; a ticket without a readable score fails the check.
 */
export function* rejoin(t: Tally, saleId: string, j: Joined): Generator<Step, void, Reply | undefined> {
  const r = yield* ask({ method: 'POST', path: `/api/sales/${saleId}/queue`, endpoint: 'rejoin', auth: j.ticket, body: '{}' });
  const v = judge(t, r, [200, 201], str(field(r.body, 'visitorId')) !== undefined);
  if (v === 'refused' || v === 'sold_out') return;
  const status = field(r.body, 'status');
  const waiting = status === 'queued' || status === 'prequeue';
  const before = scoreOf(j.ticket);
  const after = scoreOf(str(field(r.body, 'ticket')));
  const samePlace =
    // 201 with the same visitor: the earlier turn lapsed and a new place was given, by design
    r.status === 201 || !waiting || (before !== undefined && after !== undefined && before === after);
  const ok = v === 'ok' && str(field(r.body, 'visitorId')) === j.visitorId && samePlace;
  t.check('rejoin: same visitor, same place', ok);
  if (!ok) t.add('rejoin_place_mismatch');
}

const WAITING = ['prequeue', 'queued'];
/** the states after which a shopper's wait is over, and what each means for the journey */
function overOutcome(status: string): Outcome | undefined {
  if (status === 'sold_out' || status === 'ended') return 'sold_out';
  if (status === 'expired') return 'expired';
  if (status === 'ordered') return 'ordered';
  return undefined;
}

export interface Clock {
  now(): number;
  random(): number;
}

/**
 * The whole journey of one shopper: join, poll `/queue/me` as advised (capped), buy once
 * admitted with the admission token, or walk away; told sold out; or out of time. An answer
 * the API does not document ends the journey as `failed` at once.
 */
export function* shopperJourney(t: Tally, saleId: string, o: JourneyOptions, clock: Clock): Journey {
  t.add('journeys_started');
  const outcome = yield* journeyBody(t, saleId, o, clock);
  t.add(outcomeCounter(outcome));
  t.add('journeys_ended');
  return outcome;
}

function* journeyBody(t: Tally, saleId: string, o: JourneyOptions, clock: Clock): Journey {
  const j = yield* join(t, saleId, o);
  if ('ended' in j) return j.ended;
  const joined = j.joined;
  const t0 = clock.now();
  const deadline = t0 + o.maxWaitSeconds * 1000;
  const walksAway = clock.random() < o.abandon;
  const twice = clock.random() < o.retry;
  let refreshes = clock.random() < o.refresh ? 1 : 0;
  let waitMs = joined.retryAfterMs;
  while (clock.now() < deadline) {
    // as the server advises, capped, with a little jitter so that pollers do not move in step
    yield* pause((Math.min(Math.max(waitMs, 250), o.maxPollMs) * (0.9 + 0.2 * clock.random())) / 1000);
    if (refreshes > 0) {
      refreshes--;
      yield* rejoin(t, saleId, joined);
    }
    const r = yield* ask({ method: 'GET', path: `/api/sales/${saleId}/queue/me`, endpoint: 'status', auth: joined.ticket });
    const status = str(field(r.body, 'status'));
    const token = str(field(field(r.body, 'admission'), 'token'));
    const known = status !== undefined && (WAITING.includes(status) || status === 'admitted' || overOutcome(status) !== undefined);
    const v = judge(t, r, [200], known && (status !== 'admitted' || token !== undefined));
    if (v === 'refused') {
      waitMs = (retryAfterSeconds(r) ?? 1) * 1000;
      continue;
    }
    if (v === 'sold_out') return 'sold_out';
    t.check('status: 200 with a known state', v === 'ok');
    if (v !== 'ok' || status === undefined) return 'failed';
    if (WAITING.includes(status)) {
      waitMs = num(field(r.body, 'retryAfterMs')) ?? 1000;
      continue;
    }
    if (status === 'admitted' && token !== undefined) {
      t.trend('time_to_admission', clock.now() - t0);
      if (walksAway) return 'abandoned';
      return yield* buy(t, saleId, token, twice, o);
    }
    return overOutcome(status) ?? 'failed';
  }
  return 'timed_out';
}

/** Buys one unit with the admission token; `twice`: sends it again, which must answer the same order. */
export function* buy(
  t: Tally,
  saleId: string,
  token: string,
  twice: boolean,
  o: Pick<JourneyOptions, 'maxRefusals'>,
): Generator<Step, Outcome, Reply | undefined> {
  const call: Call = { method: 'POST', path: `/api/sales/${saleId}/purchases`, endpoint: 'purchase', auth: token, body: '{"quantity":1}' };
  for (let refusals = 0; ; refusals++) {
    const r = yield* ask(call);
    const orderId = str(field(r.body, 'orderId'));
    // 401 TOKEN_EXPIRED: the admission lapsed before the purchase reached the gateway (a slow
    // shopper, or a loaded machine): the sale's own answer, not an unexpected one
    const lapsed = r.status === 401 && str(field(r.body, 'code')) === 'TOKEN_EXPIRED';
    // 200: an order for this admission exists already (an earlier attempt was accepted)
    const v = judge(t, r, lapsed ? [401] : [202, 200], lapsed || orderId !== undefined);
    if (v === 'refused') {
      if (refusals + 1 >= o.maxRefusals) return 'gave_up';
      yield* pause(retryAfterSeconds(r) ?? 1);
      continue;
    }
    if (v === 'sold_out') return 'sold_out';
    if (lapsed) return 'expired';
    t.check('purchase: 202 or 200 with an order id', v === 'ok');
    if (v !== 'ok' || orderId === undefined) return 'failed';
    if (r.status === 202) t.add('orders_accepted');
    if (twice) {
      const again = yield* ask({ ...call, endpoint: 'purchase-retry' });
      const w = judge(t, again, [200], str(field(again.body, 'orderId')) !== undefined);
      if (w !== 'refused') {
        const same = w === 'ok' && str(field(again.body, 'orderId')) === orderId;
        t.check('purchase again: 200 with the same order id', same);
        if (!same) t.add('purchase_order_mismatch');
      }
    }
    return 'ordered';
  }
}

/** The join-spike iteration: a new visitor joins; some refresh with the ticket. */
export function* joinAndMaybeRefresh(t: Tally, saleId: string, o: JourneyOptions, clock: Clock): Journey {
  t.add('journeys_started');
  const j = yield* join(t, saleId, o);
  let outcome: Outcome;
  if ('ended' in j) outcome = j.ended;
  else {
    if (clock.random() < o.refresh) yield* rejoin(t, saleId, j.joined);
    outcome = 'joined';
  }
  t.add(outcomeCounter(outcome));
  t.add('journeys_ended');
  return outcome;
}

// --- the sale -----------------------------------------------------------------------------

export interface SaleStats {
  readonly stock: number;
  readonly sold: number;
  readonly confirmed: number;
  readonly remaining: number;
  readonly pending: number;
}

/** the figures of `GET /api/admin/sales/:id/stats` that the oversell verdict reads */
export function saleStats(body: unknown): SaleStats | undefined {
  const stock = num(field(body, 'stock'));
  const sold = num(field(body, 'sold'));
  const confirmed = num(field(body, 'confirmedOrders'));
  const remaining = num(field(body, 'remaining'));
  const pending = num(field(body, 'pending'));
  if (stock === undefined || sold === undefined || confirmed === undefined || remaining === undefined || pending === undefined)
    return undefined;
  return { stock, sold, confirmed, remaining, pending };
}

/** Each way the figures show an oversell (I1); empty when there is none. */
export function oversellProblems(s: SaleStats): string[] {
  const problems: string[] = [];
  if (s.sold > s.stock) problems.push(`sold ${s.sold} > stock ${s.stock}`);
  if (s.confirmed > s.stock) problems.push(`${s.confirmed} confirmed orders for ${s.stock} units`);
  if (s.remaining < 0) problems.push(`remaining ${s.remaining} < 0`);
  return problems;
}

/**
 * teardown's verdict on the sale's figures, recorded so that the summary and its JSON carry
 * it: the figures as gauges, `oversell_checked`, and `oversell_found` for each problem.
 */
export function recordOversellCheck(t: Tally, s: SaleStats): string[] {
  t.gauge('sale_stock', s.stock);
  t.gauge('sale_sold', s.sold);
  t.gauge('sale_confirmed', s.confirmed);
  t.gauge('sale_remaining', s.remaining);
  t.gauge('sale_pending', s.pending);
  const problems = oversellProblems(s);
  t.add('oversell_checked');
  if (problems.length > 0) t.add('oversell_found', problems.length);
  return problems;
}

/**
 * The change that ends a sale a run made, so that no run leaves a sale open: its end a second
 * from now; a sale still in its pre-queue also starts now (its end must follow its start).
 */
export function endingChange(startsAt: string, now: number): { startsAt?: string; endsAt: string } {
  const endsAt = new Date(now + 1000).toISOString();
  return Date.parse(startsAt) > now ? { startsAt: new Date(now).toISOString(), endsAt } : { endsAt };
}

// --- sizing -------------------------------------------------------------------------------

/** Go/k6 durations: '90s', '1h30m', '1m30s', '500ms', '1.5h'. Seconds. */
export function parseDuration(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  // whole-string check first, then the parts (no sticky regexps: k6's engine is not V8)
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(d)) throw new Error(`a duration looks like 1h30m, 90s or 500ms, got '${d}'`);
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  for (let m = part.exec(d); m !== null; m = part.exec(d)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

export interface Stage {
  readonly target: number;
  readonly duration: string;
}

/** Arrivals a ramping-arrival-rate scenario plans: the rate moves linearly from stage to stage. */
export function plannedArrivals(startRate: number, stages: readonly Stage[]): number {
  let rate = startRate;
  let total = 0;
  for (const s of stages) {
    total += ((rate + s.target) / 2) * parseDuration(s.duration);
    rate = s.target;
  }
  return Math.round(total);
}

/**
 * VUs for an arrival-rate scenario: each journey holds its VU for as long as the shopper
 * waits, so the scenario needs about `peak rate × journey seconds` at once (never more than
 * it plans in all). All of them are allocated before the start: k6 drops arrivals while it
 * allocates VUs mid-test.
 */
export function vusFor(peakPerSecond: number, journeySeconds: number, planned: number): number {
  return Math.max(1, Math.min(Math.ceil(planned), Math.ceil(peakPerSecond * journeySeconds * 1.1)));
}

// --- thresholds -----------------------------------------------------------------------------

/**
 * A p99 threshold for each endpoint a script calls, so that each one's latency is in the
 * summary (k6 shows a tagged sub-metric only when a threshold names it). `-e <ENDPOINT>_P99_MS`
 * overrides each (e.g. PURCHASE_RETRY_P99_MS).
 */
export function endpointThresholds(env: Env, defaults: Partial<Record<Endpoint, number>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [endpoint, ms] of Object.entries(defaults)) {
    const name = `${endpoint.toUpperCase().replace(/-/g, '_')}_P99_MS`;
    out[`http_req_duration{endpoint:${endpoint}}`] = [`p(99)<${envNumber(env, name, ms)}`];
  }
  return out;
}

/** the counters that must stay 0 in every script (`-e MAX_GAVE_UP` allows some give-ups) */
export function promiseThresholds(env: Env): Record<string, string[]> {
  return {
    dropped_iterations: ['count==0'],
    journeys_failed: ['count==0'],
    journeys_gave_up: [`count<=${envNumber(env, 'MAX_GAVE_UP', 0)}`],
    retry_after_missing: ['count==0'],
    purchase_order_mismatch: ['count==0'],
    rejoin_place_mismatch: ['count==0'],
    oversell_found: ['count==0'],
  };
}

// --- the summary ---------------------------------------------------------------------------

interface MetricSummary {
  readonly type: string;
  readonly values: Readonly<Record<string, number>>;
  readonly thresholds?: Readonly<Record<string, { readonly ok: boolean }>>;
}

/** the part of k6's handleSummary data the summary reads */
export interface SummaryData {
  readonly metrics: Readonly<Record<string, MetricSummary>>;
  readonly [key: string]: unknown;
}

export interface RunPlan {
  readonly script: string;
  /** arrivals the arrival-rate scenario plans (undefined: a VU-based script) */
  readonly plannedArrivals?: number;
  readonly vus?: number;
  /** the teardown checks for oversell (join-spike sells nothing but still checks) */
  readonly checksOversell: boolean;
}

export interface RunVerdict {
  readonly verdict: 'pass' | 'fail';
  readonly reasons: string[];
  readonly arrivals: { planned?: number; started: number; dropped: number };
  readonly journeys: Record<string, number>;
  readonly oversell: { checked: boolean; found: number; stats?: Record<string, number> };
  readonly thresholdsBroken: string[];
}

const count = (d: SummaryData, name: string) => d.metrics[name]?.values.count ?? 0;

/** What the run shows, judged: every reason the run must not count as a pass. */
export function verdictOf(plan: RunPlan, d: SummaryData): RunVerdict {
  const reasons: string[] = [];
  const thresholdsBroken: string[] = [];
  for (const [name, m] of Object.entries(d.metrics))
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) if (!t.ok) thresholdsBroken.push(`${name}: ${expr}`);
  if (thresholdsBroken.length > 0) reasons.push(`${thresholdsBroken.length} threshold(s) broken`);

  const started = count(d, 'journeys_started');
  const ended = count(d, 'journeys_ended');
  const dropped = count(d, 'dropped_iterations');
  if (dropped > 0) {
    const of = plan.plannedArrivals ? ` of ${plan.plannedArrivals} planned (${pct(dropped / plan.plannedArrivals)})` : '';
    reasons.push(`${dropped} arrivals dropped${of}: k6 had no free VU for them; raise -e VUS (it was ${plan.vus ?? '?'})`);
  }
  if (started > ended) reasons.push(`${started - ended} journeys were cut before they ended (k6 stopped them)`);
  if (started === 0) reasons.push('no journey started');

  const journeys: Record<string, number> = { started, ended };
  for (const o of OUTCOMES) journeys[o] = count(d, outcomeCounter(o));
  for (const o of ['failed', 'gave_up'] as const)
    if (journeys[o]! > 0)
      reasons.push(`${journeys[o]} journeys ${o === 'failed' ? 'ended on an undocumented answer' : 'gave up after refusals'}`);

  const checked = count(d, 'oversell_checked') > 0;
  const found = count(d, 'oversell_found');
  const gauge = (n: string) => d.metrics[n]?.values.value;
  const stats: Record<string, number> = {};
  for (const g of GAUGES) {
    const v = gauge(g);
    if (v !== undefined) stats[g.replace('sale_', '')] = v;
  }
  if (plan.checksOversell && !checked) reasons.push('the oversell check did not run (teardown failed before it read the stats)');
  if (found > 0) reasons.push(`OVERSELL: the sale's figures show ${found} problem(s)`);

  return {
    verdict: reasons.length === 0 ? 'pass' : 'fail',
    reasons,
    arrivals: { ...(plan.plannedArrivals !== undefined ? { planned: plan.plannedArrivals } : {}), started, dropped },
    journeys,
    oversell: { checked, found, ...(Object.keys(stats).length > 0 ? { stats } : {}) },
    thresholdsBroken,
  };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}
function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/**
 * handleSummary(): the text for stdout (verdict first, then why, the arrivals, how journeys
 * ended, the oversell check, each threshold, latency per endpoint) and the JSON (k6's data
 * with the verdict under `velvetRope`).
 */
export function renderSummary(plan: RunPlan, d: SummaryData): { text: string; json: string; verdict: RunVerdict } {
  const v = verdictOf(plan, d);
  const lines: string[] = [`\nVelvet Rope k6 ${plan.script}: ${v.verdict === 'pass' ? 'PASSED' : 'FAILED'}`];
  for (const r of v.reasons) lines.push(`  ! ${r}`);
  const a = v.arrivals;
  lines.push(`  arrivals: ${a.planned !== undefined ? `planned ${a.planned}, ` : ''}started ${a.started}, dropped ${a.dropped}`);
  lines.push(
    `  journeys: ${OUTCOMES.filter((o) => v.journeys[o]! > 0)
      .map((o) => `${o.replace('_', ' ')} ${v.journeys[o]}`)
      .join(', ')} (ended ${v.journeys.ended} of ${v.journeys.started})`,
  );
  if (plan.checksOversell) {
    const s = v.oversell.stats;
    const figures = s ? `: stock ${s.stock}, sold ${s.sold}, confirmed ${s.confirmed}, remaining ${s.remaining}, pending ${s.pending}` : '';
    lines.push(`  oversell check: ${!v.oversell.checked ? 'DID NOT RUN' : v.oversell.found > 0 ? 'OVERSELL' : 'none'}${figures}`);
  }
  for (const [name, m] of Object.entries(d.metrics))
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) lines.push(`  ${t.ok ? 'ok    ' : 'FAILED'} ${name}: ${expr}`);
  const pick = (name: string, keys: string[]) => {
    const m = d.metrics[name];
    if (!m) return;
    const parts = keys.filter((k) => m.values[k] !== undefined).map((k) => `${k}=${round(m.values[k]!)}`);
    lines.push(`  ${name}: ${parts.join(' ')}`);
  };
  pick('http_reqs', ['count', 'rate']);
  pick('http_req_failed', ['rate']);
  pick('unexpected_responses', ['rate']);
  pick('checks', ['rate']);
  for (const name of Object.keys(d.metrics).filter((n) => n.startsWith('http_req_duration{endpoint:')))
    pick(name, ['med', 'p(90)', 'p(99)', 'max']);
  // the counters that are not outcomes (printed above) nor the oversell check's
  for (const name of COUNTERS.filter((n) => !n.startsWith('journeys_') && !n.startsWith('oversell_'))) pick(name, ['count']);
  pick('time_to_admission', ['med', 'p(90)', 'max']);
  lines.push(
    `  ${v.verdict === 'pass' ? 'every threshold held, every arrival ran and every journey was counted' : 'the run FAILED: see above'}`,
  );
  return { text: lines.join('\n') + '\n', json: JSON.stringify({ ...d, velvetRope: v }, null, 2), verdict: v };
}
