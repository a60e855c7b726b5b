/**
 * Runs the k6 scripts' journeys (`loadtests/k6/lib/journey.ts`) from Node against a real
 * gateway, the way k6 runs them: each step a fetch or a pause, each figure into a tally shaped
 * like k6's metrics, arrivals started at a rate with a fixed number of VUs (an arrival that
 * finds no free VU is dropped, as k6 drops it), and the summary data k6 would hand to
 * handleSummary, with its thresholds evaluated. A counter the journey miscounts, a check that
 * passes on the wrong answer or a summary that hides a failure fails the tests that use it.
 */
import {
  COUNTERS,
  GAUGES,
  type Call,
  type CounterName,
  type Endpoint,
  type Journey,
  type Reply,
  type SummaryData,
  type Tally,
} from '../loadtests/k6/lib/journey.js';

/** A tally that keeps k6's figures as plain numbers. */
export class MemoryTally implements Tally {
  readonly counters = new Map<string, number>();
  readonly rates = new Map<string, { hits: number; total: number }>();
  readonly trends = new Map<string, number[]>();
  readonly gauges = new Map<string, number>();
  readonly checks = new Map<string, { passes: number; fails: number }>();

  add(counter: CounterName | 'dropped_iterations', n = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + n);
  }
  rate(name: string, hit: boolean): void {
    const r = this.rates.get(name) ?? { hits: 0, total: 0 };
    r.total++;
    if (hit) r.hits++;
    this.rates.set(name, r);
  }
  trend(name: string, ms: number): void {
    const t = this.trends.get(name) ?? [];
    t.push(ms);
    this.trends.set(name, t);
  }
  /** k6's http_req_duration, tagged with the endpoint */
  duration(endpoint: Endpoint, ms: number): void {
    this.trend(`http_req_duration{endpoint:${endpoint}}`, ms);
  }
  gauge(name: string, value: number): void {
    this.gauges.set(name, value);
  }
  check(name: string, ok: boolean): void {
    const c = this.checks.get(name) ?? { passes: 0, fails: 0 };
    if (ok) c.passes++;
    else c.fails++;
    this.checks.set(name, c);
  }
  count(name: string): number {
    return this.counters.get(name) ?? 0;
  }
  failedChecks(): string[] {
    return [...this.checks].filter(([, c]) => c.fails > 0).map(([n, c]) => `${n}: ${c.fails} failed`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers a journey's steps with fetch against `base` (one cookie jar per journey) until it ends. */
export async function runJourney(base: string, journey: Journey, tally: MemoryTally, onCall?: (c: Call, r: Reply) => void) {
  const cookies = new Map<string, string>();
  let sent: Reply | undefined;
  for (;;) {
    const step = journey.next(sent);
    if (step.done) return step.value;
    sent = undefined;
    if ('pauseSeconds' in step.value) {
      await sleep(step.value.pauseSeconds * 1000);
      continue;
    }
    const c = step.value.call;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (c.auth) headers.authorization = `Bearer ${c.auth}`;
    if (cookies.size > 0) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const t0 = performance.now();
    const res = await fetch(`${base}${c.path}`, { method: c.method, headers, ...(c.body !== undefined ? { body: c.body } : {}) });
    const text = await res.text();
    tally.duration(c.endpoint, performance.now() - t0);
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    sent = { status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined, body };
    onCall?.(c, sent);
  }
}

export interface ArrivalPlan {
  /** arrivals per second */
  readonly rate: number;
  readonly seconds: number;
  /** VUs: journeys that may run at once */
  readonly vus: number;
}

/**
 * k6's constant-arrival-rate with `preAllocatedVUs = maxVUs = vus`: starts a journey every
 * 1/rate s while a VU is free and counts the others in `dropped_iterations`. Resolves when
 * every started journey has ended.
 */
export async function arrive(plan: ArrivalPlan, tally: MemoryTally, start: () => Promise<unknown>): Promise<{ planned: number }> {
  const planned = Math.round(plan.rate * plan.seconds);
  let busy = 0;
  const running: Promise<unknown>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < planned; i++) {
    const due = t0 + (i * 1000) / plan.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    if (busy >= plan.vus) {
      tally.add('dropped_iterations');
      continue;
    }
    busy++;
    running.push(start().finally(() => busy--));
  }
  await Promise.all(running);
  return { planned };
}

/** one aggregate of k6's threshold language: count, rate, value, avg, min, max, med, p(N) */
function aggregate(values: Record<string, number>, agg: string): number | undefined {
  return values[agg];
}

/** Evaluates a k6 threshold expression such as `count==0`, `rate<0.01` or `p(99)<500`. */
export function holds(values: Record<string, number>, expr: string): boolean {
  const m = /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expr);
  if (!m) throw new Error(`not a threshold expression: ${expr}`);
  const v = aggregate(values, m[1]!);
  // a metric that got no sample: k6 does not fail its threshold
  if (v === undefined) return true;
  const x = Number(m[3]);
  switch (m[2]) {
    case '<':
      return v < x;
    case '<=':
      return v <= x;
    case '>':
      return v > x;
    case '>=':
      return v >= x;
    case '==':
      return v === x;
    default:
      return v !== x;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * The data k6 would pass to handleSummary for these figures: one metric per counter, rate,
 * trend, gauge and the `checks` rate, with `thresholds` evaluated. Counters every script
 * declares appear even at 0, as k6's do once a threshold names them.
 */
export function summaryData(tally: MemoryTally, thresholds: Record<string, readonly string[]>): SummaryData {
  const metrics: Record<string, { type: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }> = {};
  for (const name of new Set([...COUNTERS, 'dropped_iterations', ...tally.counters.keys()]))
    metrics[name] = { type: 'counter', values: { count: tally.count(name) } };
  for (const [name, r] of tally.rates)
    metrics[name] = { type: 'rate', values: { rate: r.total ? r.hits / r.total : 0, passes: r.hits, fails: r.total - r.hits } };
  let passes = 0;
  let fails = 0;
  for (const c of tally.checks.values()) {
    passes += c.passes;
    fails += c.fails;
  }
  metrics.checks = { type: 'rate', values: { rate: passes + fails ? passes / (passes + fails) : 0, passes, fails } };
  for (const [name, xs] of tally.trends) {
    const s = [...xs].sort((a, b) => a - b);
    metrics[name] = {
      type: 'trend',
      values: {
        avg: s.reduce((a, b) => a + b, 0) / s.length,
        min: s[0]!,
        med: percentile(s, 50),
        'p(90)': percentile(s, 90),
        'p(95)': percentile(s, 95),
        'p(99)': percentile(s, 99),
        max: s[s.length - 1]!,
      },
    };
  }
  for (const name of GAUGES) {
    const v = tally.gauges.get(name);
    if (v !== undefined) metrics[name] = { type: 'gauge', values: { value: v, min: v, max: v } };
  }
  for (const [name, exprs] of Object.entries(thresholds)) {
    const m = metrics[name];
    // a sub-metric or metric nothing sampled: as in k6, its thresholds are listed and not failed
    const values = m?.values ?? {};
    (metrics[name] ??= { type: 'unsampled', values }).thresholds = Object.fromEntries(exprs.map((e) => [e, { ok: holds(values, e) }]));
  }
  return { metrics };
}

export type { Endpoint };
