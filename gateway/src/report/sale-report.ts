/**
 * Reads a sale's report from PostgreSQL (what report-recorder.ts and request-stats.ts wrote),
 * for sales still running and finished ones alike; report-model.ts builds the figures. A
 * report may be a little behind: it reads a replica when there is one.
 */
import type pg from 'pg';
import type { BehindReads } from '../postgres/read-pool.js';
import type { SaleRecord } from '../sales/sale.js';
import { buildReport, histogramsByKey, type ReportRecords, type SaleReport } from './report-model.js';

export class SaleReports {
  constructor(private readonly pool: BehindReads) {}

  async report(sale: SaleRecord, now = Date.now()): Promise<SaleReport> {
    const id = sale.id;
    const starts = new Date(sale.startsAt);
    const q = <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [id]) => this.pool.query<R>(sql, params);
    // the minute of the sale a time falls in, counted from its start
    const minuteOf = (column: string) => `floor(extract(epoch FROM ${column} - $2::timestamptz) / 60)::int`;
    const [totals, minutes, waits, routes, latency, requestMinutes, peak, orders] = await Promise.all([
      q<Record<string, string | null>>(
        `SELECT coalesce(sum(joined), 0) AS joined, coalesce(sum(admitted), 0) AS admitted, coalesce(sum(bought), 0) AS bought,
                coalesce(sum(walked_away), 0) AS walked_away, coalesce(sum(lapsed), 0) AS lapsed,
                coalesce(sum(told_sold_out), 0) AS told_sold_out, coalesce(sum(refused), 0) AS refused,
                coalesce(sum(freed), 0) AS freed,
                (extract(epoch FROM min(sold_out_at)) * 1000)::float8 AS sold_out_at,
                (extract(epoch FROM min(ended_at)) * 1000)::float8 AS ended_at
           FROM sale_report_ticks WHERE sale_id = $1`,
      ),
      q<{ minute: number; arrivals: string; admissions: string; bought: string; rate: number | null }>(
        `SELECT ${minuteOf('recorded_at')} AS minute, sum(joined) AS arrivals, sum(admitted) AS admissions, sum(bought) AS bought,
                (array_agg(rate_per_minute ORDER BY recorded_at DESC))[1] AS rate
           FROM sale_report_ticks WHERE sale_id = $1 GROUP BY 1 ORDER BY 1`,
        [id, starts],
      ),
      q<{ key: string; n: string }>(
        `SELECT w.key, sum(w.value::bigint) AS n
           FROM sale_report_ticks t, jsonb_each_text(t.waits) w WHERE t.sale_id = $1 GROUP BY w.key`,
      ),
      q<{ route: string; requests: string; e4: string; e5: string }>(
        `SELECT route, sum(requests) AS requests, sum(errors_4xx) AS e4, sum(errors_5xx) AS e5
           FROM sale_report_requests WHERE sale_id = $1 GROUP BY route`,
      ),
      q<{ key: string; bucket: string; n: string }>(
        `SELECT r.route AS key, l.key AS bucket, sum(l.value::bigint) AS n
           FROM sale_report_requests r, jsonb_each_text(r.latency) l WHERE r.sale_id = $1 GROUP BY r.route, l.key`,
      ),
      q<{ minute: number; requests: string; e5: string }>(
        `SELECT ${minuteOf('second')} AS minute, sum(requests) AS requests, sum(errors_5xx) AS e5
           FROM sale_report_requests WHERE sale_id = $1 GROUP BY 1`,
        [id, starts],
      ),
      q<{ second: Date; requests: string }>(
        `SELECT second, sum(requests) AS requests FROM sale_report_requests WHERE sale_id = $1
          GROUP BY second ORDER BY 2 DESC, 1 LIMIT 1`,
      ),
      q<{ orders: string; units: string | null }>('SELECT count(*) AS orders, sum(quantity) AS units FROM orders WHERE sale_id = $1'),
    ]);
    const t = totals.rows[0] ?? {};
    const num = (v: string | null | undefined) => Number(v ?? 0);
    const latencyByRoute = histogramsByKey(latency.rows);
    const records: ReportRecords = {
      funnel: {
        joined: num(t.joined),
        admitted: num(t.admitted),
        bought: num(t.bought),
        walkedAway: num(t.walked_away),
        lapsed: num(t.lapsed),
        toldSoldOut: num(t.told_sold_out),
        refused: num(t.refused),
      },
      freed: num(t.freed),
      soldOutAt: t.sold_out_at == null ? null : Number(t.sold_out_at),
      endedAt: t.ended_at == null ? null : Number(t.ended_at),
      orders: num(orders.rows[0]?.orders),
      orderedUnits: num(orders.rows[0]?.units),
      minutes: minutes.rows.map((m) => ({
        minute: m.minute,
        arrivals: Number(m.arrivals),
        admissions: Number(m.admissions),
        bought: Number(m.bought),
        ratePerMinute: m.rate,
      })),
      waits: new Map(waits.rows.map((w) => [w.key, Number(w.n)])),
      routes: routes.rows.map((r) => ({
        route: r.route,
        requests: Number(r.requests),
        errors4xx: Number(r.e4),
        errors5xx: Number(r.e5),
        latency: latencyByRoute.get(r.route) ?? new Map(),
      })),
      requestMinutes: new Map(requestMinutes.rows.map((m) => [m.minute, { requests: Number(m.requests), errors5xx: Number(m.e5) }])),
      peak: peak.rows[0] ? { second: peak.rows[0].second.getTime(), requests: Number(peak.rows[0].requests) } : null,
    };
    return buildReport(
      {
        id,
        name: sale.name,
        stock: sale.stock,
        sold: sale.sold,
        startsAt: sale.startsAt,
        endsAt: sale.endsAt,
        ratePerMinute: sale.ratePerMinute,
      },
      records,
      now,
    );
  }
}
