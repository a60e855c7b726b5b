/**
 * The admissions the admission loop made, recorded in PostgreSQL (`admissions`, migration
 * 0005): a Redis data loss must not make anyone forget who was already let in. The loop
 * writes them each tick; the restore path (queue service) and the end of a recovery read
 * them back.
 */
import type pg from 'pg';

/** one admission as the admission loop made it */
export interface RecordedAdmission {
  readonly visitorId: string;
  readonly sequence: number;
  readonly jti: string;
  readonly expiresAt: number;
}

/** what PostgreSQL knows of a visitor (see AdmissionRecords.knownOf) */
export interface KnownVisitor {
  readonly orderId: string | undefined;
  readonly admission: Omit<RecordedAdmission, 'visitorId'> | undefined;
}

export class AdmissionRecords {
  constructor(private readonly pool: pg.Pool) {}

  /** Records the admissions of one tick of a sale, one multi-row INSERT. */
  async recordAdmissions(saleId: string, admitted: readonly RecordedAdmission[]): Promise<void> {
    if (admitted.length === 0) return;
    await this.pool.query(
      `INSERT INTO admissions (sale_id, seq, visitor_id, jti, expires_at)
       SELECT $1, a.seq, a.visitor_id, a.jti, to_timestamp(a.expires_at / 1000.0)
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::float8[]) AS a (seq, visitor_id, jti, expires_at)
       ON CONFLICT DO NOTHING`,
      [
        saleId,
        admitted.map((a) => a.sequence),
        admitted.map((a) => a.visitorId),
        admitted.map((a) => a.jti),
        admitted.map((a) => a.expiresAt),
      ],
    );
  }

  /**
   * What PostgreSQL knows of visitors Redis had forgotten: each one's order and last recorded
   * admission, for many visitors in one query (the restore path batches the visitors of one
   * event-loop turn: after a Redis loss, thousands come back within seconds). The order is
   * read here, not through the orders module, so that it stays one query.
   */
  async knownOf(saleId: string, visitorIds: readonly string[]): Promise<KnownVisitor[]> {
    const { rows } = await this.pool.query<{
      visitor_id: string;
      order_id: string | null;
      seq: string | null;
      jti: string | null;
      expires_at: Date | null;
    }>(
      `SELECT v.visitor_id, o.order_id, a.seq::text AS seq, a.jti, a.expires_at
         FROM unnest($2::text[]) AS v (visitor_id)
         LEFT JOIN LATERAL (SELECT order_id::text AS order_id FROM orders
                             WHERE sale_id = $1 AND visitor_id = v.visitor_id LIMIT 1) o ON true
         LEFT JOIN LATERAL (SELECT seq, jti, expires_at FROM admissions
                             WHERE sale_id = $1 AND visitor_id = v.visitor_id ORDER BY seq DESC LIMIT 1) a ON true`,
      [saleId, visitorIds],
    );
    const byId = new Map(rows.map((r) => [r.visitor_id, r]));
    return visitorIds.map((id) => {
      const r = byId.get(id);
      return {
        orderId: r?.order_id ?? undefined,
        admission: r?.seq ? { sequence: Number(r.seq), jti: r.jti!, expiresAt: r.expires_at!.getTime() } : undefined,
      };
    });
  }

  /** Each visitor's last recorded admission (those without an order), and the highest sequence. */
  async lastAdmissions(saleId: string): Promise<{ admissions: RecordedAdmission[]; maxSequence: number }> {
    const [last, max] = await Promise.all([
      this.pool.query<{ visitor_id: string; seq: string; jti: string; expires_at: Date }>(
        `SELECT DISTINCT ON (a.visitor_id) a.visitor_id, a.seq::text AS seq, a.jti, a.expires_at
           FROM admissions a
          WHERE a.sale_id = $1
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.sale_id = $1 AND o.visitor_id = a.visitor_id)
          ORDER BY a.visitor_id, a.seq DESC`,
        [saleId],
      ),
      this.pool.query<{ max: string | null }>('SELECT max(seq)::text AS max FROM admissions WHERE sale_id = $1', [saleId]),
    ]);
    return {
      admissions: last.rows.map((r) => ({
        visitorId: r.visitor_id,
        sequence: Number(r.seq),
        jti: r.jti,
        expiresAt: r.expires_at.getTime(),
      })),
      maxSequence: Number(max.rows[0]?.max ?? 0),
    };
  }
}
