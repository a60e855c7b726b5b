/**
 * What PostgreSQL keeps of a retired sale (migration 0008): the live figures Redis answered
 * last and the fairness audit, byte for byte, in gzip-compressed chunks of whole lines. Written
 * once by the retirer (sales/retirement.ts) in the transaction that sets `sales.retired_at`;
 * read by every gateway once the sale's Redis keys are gone.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import type pg from 'pg';
import type { SaleStatus } from '@velvet-rope/contracts';
import { readsOf, type BehindReads } from '../postgres/read-pool.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/** The figures `sale-info.lua` answered last (or PostgreSQL's, when Redis had lost the sale). */
export interface FinalFigures {
  readonly status: SaleStatus;
  readonly waiting: number;
  readonly admitted: number;
  readonly remaining: number;
  readonly pending: number;
  readonly admittedTotal: number;
  readonly effectiveRatePerMinute: number;
}

export interface ArchivedAudit {
  readonly etag: string;
  readonly bytes: number;
  readonly lines: number;
}

export interface RetiredSale {
  readonly saleId: string;
  readonly retiredAt: number;
  readonly keysRemoved: boolean;
  readonly final: FinalFigures;
  readonly audit: ArchivedAudit;
}

interface RetiredRow {
  sale_id: string;
  retired_at: Date;
  keys_removed_at: Date | null;
  final: FinalFigures;
  audit_etag: string;
  audit_bytes: string;
  audit_lines: number;
}

const fromRow = (r: RetiredRow): RetiredSale => ({
  saleId: r.sale_id,
  retiredAt: r.retired_at.getTime(),
  keysRemoved: r.keys_removed_at !== null,
  final: r.final,
  audit: { etag: r.audit_etag, bytes: Number(r.audit_bytes), lines: r.audit_lines },
});

const NOT_RETIRED_CACHE_MS = 2_000;

/** an audit chunk's size before compression, at most (whole lines: one line may pass it) */
export const AUDIT_CHUNK_BYTES = 1 << 20;

export class SaleArchive {
  /** retirement is final: a gateway keeps what it read */
  readonly #retired = new Map<string, RetiredSale>();
  /**
   * ids found not retired, until when (ms): asked only for sales Redis does not know, which
   * a client can name at will, so a flood of unknown ids costs PostgreSQL one lookup per id
   * and NOT_RETIRED_CACHE_MS
   */
  readonly #notRetired = new Map<string, number>();

  constructor(
    private readonly pool: pg.Pool,
    /** where the audit is read (a replica, when there is one): a download may read behind */
    private readonly reads: BehindReads = readsOf(pool),
  ) {}

  /** The archive of a retired sale; undefined while it is not retired (or there is no such sale). */
  async retired(saleId: string): Promise<RetiredSale | undefined> {
    const known = this.#retired.get(saleId);
    if (known) return known;
    const now = Date.now();
    if ((this.#notRetired.get(saleId) ?? 0) > now) return undefined;
    const { rows } = await this.pool.query<RetiredRow>('SELECT * FROM retired_sales WHERE sale_id = $1', [saleId]);
    if (!rows[0]) {
      if (this.#notRetired.size >= 10_000) this.#notRetired.clear();
      this.#notRetired.set(saleId, now + NOT_RETIRED_CACHE_MS);
      return undefined;
    }
    const sale = fromRow(rows[0]);
    // bounded: ids come from URLs only once they name a retired sale
    if (this.#retired.size >= 10_000) this.#retired.clear();
    this.#retired.set(saleId, sale);
    return sale;
  }

  /** The retired sales whose Redis keys are not all removed yet (a crash after the COMMIT). */
  async keysLeft(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ sale_id: string }>(
      'SELECT sale_id FROM retired_sales WHERE keys_removed_at IS NULL ORDER BY retired_at LIMIT $1',
      [limit],
    );
    return rows.map((r) => r.sale_id);
  }

  async markKeysRemoved(saleId: string): Promise<void> {
    await this.pool.query('UPDATE retired_sales SET keys_removed_at = now() WHERE sale_id = $1 AND keys_removed_at IS NULL', [saleId]);
    this.#retired.delete(saleId);
  }

  /** The audit's bytes, chunk by chunk, in order (one chunk in memory at a time). */
  async *auditChunks(saleId: string): AsyncGenerator<Buffer> {
    for (let chunk = 0; ; chunk++) {
      // a chunk the replica lacks is asked of the primary: a sale retired a moment ago is not
      // cut short (or empty) because the replica has not replayed its archive yet
      const { rows } = await this.reads.queryFound<{ data: Buffer }>(
        'SELECT data FROM retired_sale_audit WHERE sale_id = $1 AND chunk = $2',
        [saleId, chunk],
      );
      if (!rows[0]) return;
      yield await gunzip(rows[0].data);
    }
  }
}

/**
 * The writes of one retirement, inside the retirer's transaction: the sale's row first, then
 * the audit's chunks as they are built, then its summary.
 */
export class ArchiveWriter {
  #chunk = 0;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly saleId: string,
  ) {}

  async begin(final: FinalFigures): Promise<void> {
    await this.client.query(`INSERT INTO retired_sales (sale_id, final, audit_etag, audit_bytes, audit_lines) VALUES ($1, $2, '', 0, 0)`, [
      this.saleId,
      JSON.stringify(final),
    ]);
  }

  async chunk(text: string, lines: number): Promise<void> {
    const data = await gzip(Buffer.from(text));
    await this.client.query('INSERT INTO retired_sale_audit (sale_id, chunk, lines, data) VALUES ($1, $2, $3, $4)', [
      this.saleId,
      this.#chunk++,
      lines,
      data,
    ]);
  }

  async finish(audit: ArchivedAudit): Promise<void> {
    await this.client.query('UPDATE retired_sales SET audit_etag = $2, audit_bytes = $3, audit_lines = $4 WHERE sale_id = $1', [
      this.saleId,
      audit.etag,
      audit.bytes,
      audit.lines,
    ]);
    await this.client.query('UPDATE sales SET retired_at = now() WHERE id = $1', [this.saleId]);
  }
}
