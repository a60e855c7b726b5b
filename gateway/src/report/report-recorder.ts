/**
 * Moves a sale's report counters from Redis to PostgreSQL, run by the sale's admission leader
 * about once a second: report-snapshot.lua takes the counters out into a snapshot with its own
 * id, the snapshot becomes one `sale_report_ticks` row (ON CONFLICT DO NOTHING on the id), and
 * report-drop.lua removes it. A crash or a PostgreSQL fault between the steps leaves the
 * snapshot in Redis for the next leader's call, which writes the same row again (a no-op if it
 * was already in): nothing is lost, nothing counted twice. (A Redis data loss loses the
 * counts of at most the last second.)
 */
import type pg from 'pg';
import type { RedisCommands, ReportSnapshot } from '../redis/commands.js';
import { randomId128 } from '../tokens/visitor-id.js';

/** the sale's figures at the time of the write, kept with the counts for the time series */
export interface TickFigures {
  readonly ratePerMinute: number;
  readonly waiting: number;
  readonly remaining: number;
}

/** the funnel's counters: Redis field -> column */
export const FUNNEL_COLUMNS = {
  joined: 'joined',
  admitted: 'admitted',
  bought: 'bought',
  walkedAway: 'walked_away',
  lapsed: 'lapsed',
  toldSoldOut: 'told_sold_out',
  refused: 'refused',
  freed: 'freed',
} as const;

export type FunnelField = keyof typeof FUNNEL_COLUMNS;

/** A snapshot as the row it becomes: the funnel counts, the moments, and the waits histogram. */
export function snapshotRow(s: ReportSnapshot): {
  counts: Record<FunnelField, number>;
  soldOutAt: number | null;
  endedAt: number | null;
  waits: Record<string, number>;
} {
  const counts = Object.fromEntries(Object.keys(FUNNEL_COLUMNS).map((f) => [f, s.fields.get(f) ?? 0])) as Record<FunnelField, number>;
  const waits: Record<string, number> = {};
  for (const [field, n] of s.fields) {
    // w:<window>:<bucket>
    if (field.startsWith('w:') && n > 0) waits[field.slice(2)] = n;
  }
  return { counts, soldOutAt: s.fields.get('soldOutAt') ?? null, endedAt: s.fields.get('endedAt') ?? null, waits };
}

export class ReportRecorder {
  constructor(
    private readonly commands: RedisCommands,
    private readonly pool: pg.Pool,
  ) {}

  /** One move of the sale's counters; true when a snapshot was written. Throws on a fault (retried next time). */
  async record(saleId: string, figures: TickFigures): Promise<boolean> {
    const snapshot = await this.commands.reportSnapshot(saleId, randomId128());
    if (!snapshot) return false;
    const row = snapshotRow(snapshot);
    const c = row.counts;
    await this.pool.query(
      `INSERT INTO sale_report_ticks (sale_id, snapshot_id, recorded_at, joined, admitted, bought, walked_away, lapsed,
                                      told_sold_out, refused, freed, sold_out_at, ended_at, rate_per_minute, waiting, remaining, waits)
       SELECT $1, $2, to_timestamp($3 / 1000.0), $4, $5, $6, $7, $8,
              -- told once per sale: a sale seen closed again (its Redis state was lost) counts
              -- no one twice, whoever came back to the queue since
              CASE WHEN EXISTS (SELECT 1 FROM sale_report_ticks
                                 WHERE sale_id = $1 AND snapshot_id <> $2 AND (sold_out_at IS NOT NULL OR ended_at IS NOT NULL))
                   THEN 0 ELSE $9::int END,
              $10, $11, to_timestamp($12 / 1000.0), to_timestamp($13 / 1000.0), $14, $15, $16, $17
       ON CONFLICT DO NOTHING`,
      [
        saleId,
        snapshot.id,
        snapshot.at,
        c.joined,
        c.admitted,
        c.bought,
        c.walkedAway,
        c.lapsed,
        c.toldSoldOut,
        c.refused,
        c.freed,
        row.soldOutAt,
        row.endedAt,
        Math.round(figures.ratePerMinute),
        figures.waiting,
        figures.remaining,
        JSON.stringify(row.waits),
      ],
    );
    await this.commands.reportDrop(saleId, snapshot.id);
    return true;
  }
}
