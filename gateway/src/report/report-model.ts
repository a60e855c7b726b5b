/**
 * The sale report, built from what PostgreSQL recorded (sale-report.ts reads it): pure, so the
 * figures and the CSV are unit-tested on their own.
 */
import { addInto, merge, percentiles, type Histogram, type Percentiles } from './log-histogram.js';

export interface Funnel {
  readonly joined: number;
  readonly admitted: number;
  readonly bought: number;
  readonly walkedAway: number;
  readonly lapsed: number;
  readonly toldSoldOut: number;
  readonly refused: number;
}

/** the sale, as the report needs it */
export interface ReportSale {
  readonly id: string;
  readonly name: string;
  readonly stock: number;
  readonly sold: number;
  /** ms */
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly ratePerMinute: number;
}

/** what PostgreSQL holds for one sale, summed or grouped by the queries */
export interface ReportRecords {
  readonly funnel: Funnel;
  readonly freed: number;
  /** ms, first seen sold out / ended by the admission leader, or null */
  readonly soldOutAt: number | null;
  readonly endedAt: number | null;
  /** orders PostgreSQL holds and their units */
  readonly orders: number;
  readonly orderedUnits: number;
  /** per minute of the sale (0: the minute from startsAt; negative: before the start) */
  readonly minutes: readonly {
    readonly minute: number;
    readonly arrivals: number;
    readonly admissions: number;
    readonly bought: number;
    /** the rate in force at the minute's last record */
    readonly ratePerMinute: number | null;
  }[];
  /** time in queue: "<window>:<bucket>" -> count; window 'p' (pre-queue) or the arrival minute */
  readonly waits: ReadonlyMap<string, number>;
  /** per route: counts and latency buckets (µs) */
  readonly routes: readonly {
    readonly route: string;
    readonly requests: number;
    readonly errors4xx: number;
    readonly errors5xx: number;
    readonly latency: Histogram;
  }[];
  /** per minute of the sale: requests and 5xx answers, over every gateway and route */
  readonly requestMinutes: ReadonlyMap<number, { readonly requests: number; readonly errors5xx: number }>;
  readonly peak: { readonly second: number; readonly requests: number } | null;
}

export interface WindowPercentiles extends Percentiles {
  /** 'prequeue', or the arrival minute counted from the start */
  readonly window: 'prequeue' | number;
  /** when the window begins (ISO), null for the pre-queue */
  readonly from: string | null;
}

export interface SeriesPoint {
  readonly minute: number;
  readonly at: string;
  readonly arrivals: number;
  readonly admissions: number;
  readonly bought: number;
  /** the rate in force (the closed loop's, when adaptive) */
  readonly ratePerMinute: number | null;
  /** the marketer's rate */
  readonly rateSet: number;
  readonly requests: number;
  readonly errors5xx: number;
  /** time in queue (s) of the shoppers who arrived in this minute */
  readonly queueP50: number | null;
  readonly queueP90: number | null;
  readonly queueP99: number | null;
}

export interface EndpointFigures {
  readonly route: string;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  /** 5xx answers per request */
  readonly errorRate: number;
  readonly clientErrorRate: number;
  /** ms */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export interface SaleReport {
  readonly sale: Omit<ReportSale, 'startsAt' | 'endsAt'> & { readonly startsAt: string; readonly endsAt: string | null };
  readonly generatedAt: string;
  readonly funnel: Funnel;
  /** turns freed because the shopper's page closed */
  readonly freed: number;
  /** bought / admitted, null before anyone was admitted */
  readonly conversion: number | null;
  /** orders in PostgreSQL */
  readonly orders: number;
  readonly timeInQueue: {
    /** seconds */
    readonly overall: Percentiles;
    readonly byWindow: WindowPercentiles[];
    /** a percentile is within this share of the exact value (nearest rank) */
    readonly relativePrecision: number;
  };
  readonly sellOut: {
    readonly soldOutAt: string | null;
    readonly endedAt: string | null;
    /** from the start to sold out, null while not sold out */
    readonly seconds: number | null;
    /** the time the rate set allows: the units sold, one order per admission, at the rate */
    readonly rateAllowsSeconds: number;
  };
  readonly series: SeriesPoint[];
  readonly endpoints: EndpointFigures[];
  readonly peakRequestsPerSecond: { readonly requests: number; readonly at: string } | null;
}

/** the geometric middle of a bucket is within sqrt(2^(1/8)) - 1 of every value in it */
export const RELATIVE_PRECISION = Math.round((2 ** (1 / 16) - 1) * 1000) / 1000;

const iso = (ms: number) => new Date(ms).toISOString();

export function buildReport(sale: ReportSale, r: ReportRecords, now: number): SaleReport {
  // time in queue: the whole sale, and per arrival window
  const byWindow = new Map<string, Histogram>();
  for (const [key, n] of r.waits) {
    const [window, bucket] = key.split(':');
    if (window === undefined || bucket === undefined) continue;
    let h = byWindow.get(window);
    if (!h) byWindow.set(window, (h = new Map()));
    addInto(h, Number(bucket), n);
  }
  const windows = [...byWindow.keys()].sort((a, b) => (a === 'p' ? -1 : b === 'p' ? 1 : Number(a) - Number(b)));
  const toSeconds = 1 / 1000;
  const windowFigures: WindowPercentiles[] = windows.map((w) => ({
    window: w === 'p' ? 'prequeue' : Number(w),
    from: w === 'p' ? null : iso(sale.startsAt + Number(w) * 60_000),
    ...percentiles(byWindow.get(w)!, toSeconds),
  }));

  // the time series, every minute from the first with something counted to the last (a record
  // with nothing but a moment, e.g. sold out seen again after a Redis restart, does not extend it)
  const byMinute = new Map(r.minutes.map((m) => [m.minute, m]));
  const keys = [
    ...r.minutes.filter((m) => m.arrivals + m.admissions + m.bought > 0).map((m) => m.minute),
    ...[...r.requestMinutes].filter(([, q]) => q.requests > 0).map(([m]) => m),
  ];
  const series: SeriesPoint[] = [];
  if (keys.length > 0) {
    const first = Math.min(...keys);
    const last = Math.max(...keys);
    let rate: number | null = null;
    for (let m = first; m <= last; m++) {
      const rec = byMinute.get(m);
      rate = rec?.ratePerMinute ?? rate;
      const req = r.requestMinutes.get(m);
      const waits = byWindow.get(String(m));
      const p = waits ? percentiles(waits, toSeconds) : undefined;
      series.push({
        minute: m,
        at: iso(sale.startsAt + m * 60_000),
        arrivals: rec?.arrivals ?? 0,
        admissions: rec?.admissions ?? 0,
        bought: rec?.bought ?? 0,
        ratePerMinute: rate,
        rateSet: sale.ratePerMinute,
        requests: req?.requests ?? 0,
        errors5xx: req?.errors5xx ?? 0,
        queueP50: p?.p50 ?? null,
        queueP90: p?.p90 ?? null,
        queueP99: p?.p99 ?? null,
      });
    }
  }

  const endpoints: EndpointFigures[] = [...r.routes]
    .sort((a, b) => b.requests - a.requests)
    .map((e) => {
      const p = percentiles(e.latency, 1 / 1000);
      return {
        route: e.route,
        requests: e.requests,
        errors4xx: e.errors4xx,
        errors5xx: e.errors5xx,
        errorRate: e.requests > 0 ? e.errors5xx / e.requests : 0,
        clientErrorRate: e.requests > 0 ? e.errors4xx / e.requests : 0,
        p50: p.p50,
        p90: p.p90,
        p99: p.p99,
      };
    });

  const unitsPerOrder = r.orders > 0 ? r.orderedUnits / r.orders : 1;
  const f = r.funnel;
  return {
    sale: { ...sale, startsAt: iso(sale.startsAt), endsAt: sale.endsAt === null ? null : iso(sale.endsAt) },
    generatedAt: iso(now),
    funnel: f,
    freed: r.freed,
    conversion: f.admitted > 0 ? f.bought / f.admitted : null,
    orders: r.orders,
    timeInQueue: {
      overall: percentiles(merge(byWindow.values()), toSeconds),
      byWindow: windowFigures,
      relativePrecision: RELATIVE_PRECISION,
    },
    sellOut: {
      soldOutAt: r.soldOutAt === null ? null : iso(r.soldOutAt),
      endedAt: r.endedAt === null ? null : iso(r.endedAt),
      seconds: r.soldOutAt === null ? null : Math.max(0, (r.soldOutAt - sale.startsAt) / 1000),
      rateAllowsSeconds: sale.ratePerMinute > 0 ? (sale.stock / unitsPerOrder / sale.ratePerMinute) * 60 : 0,
    },
    series,
    endpoints,
    peakRequestsPerSecond: r.peak ? { requests: r.peak.requests, at: iso(r.peak.second) } : null,
  };
}

/** "<bucket>" -> count as PostgreSQL's jsonb_each_text gives it, one histogram per key */
export function histogramsByKey(rows: readonly { key: string; bucket: string; n: string | number }[]): Map<string, Histogram> {
  const out = new Map<string, Histogram>();
  for (const row of rows) {
    let h = out.get(row.key);
    if (!h) out.set(row.key, (h = new Map()));
    addInto(h, Number(row.bucket), Number(row.n));
  }
  return out;
}

// ---- CSV ------------------------------------------------------------------------------------

const SERIES_COLUMNS: readonly (keyof SeriesPoint)[] = [
  'minute',
  'at',
  'arrivals',
  'admissions',
  'bought',
  'ratePerMinute',
  'rateSet',
  'requests',
  'errors5xx',
  'queueP50',
  'queueP90',
  'queueP99',
];

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; null is empty. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const s = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000)) : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report's time series as CSV: a header, then one line per minute (CRLF line ends). */
export function seriesCsv(series: readonly SeriesPoint[]): string {
  const lines = [SERIES_COLUMNS.join(',')];
  for (const p of series) lines.push(SERIES_COLUMNS.map((c) => csvField(p[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
