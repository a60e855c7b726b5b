/**
 * A sale's notice (issue 16 item 8): one message the marketer shows every page of a sale,
 * live. PostgreSQL's `sale_notices` holds it (the source of truth); Redis holds the hot copy
 * (`keys.notice`, this file's JSON codec) that every gateway reads, at most once a second per
 * sale, so that polls and page loads never read PostgreSQL; a change is published on the
 * sale's events channel, which every gateway hears (plugins/realtime.ts), and each gateway
 * tells its own sockets. The republisher puts the hot copy back when Redis restarts empty.
 */
import type { Notice, RedisClient as Redis } from '@velvet-rope/contracts';
import type pg from 'pg';
import { AppError } from '../errors.js';
import type { KeySpace } from '../redis/keyspace.js';

export type { Notice };
export type NoticeLevel = Notice['level'];

/** characters (code points) a notice may hold: a sentence or two, read at a glance */
export const NOTICE_MAX_LENGTH = 500;
export const NOTICE_LEVELS: readonly NoticeLevel[] = ['info', 'warning'];
/** how long a gateway answers from its own copy before reading Redis again */
const CACHE_MS = 1_000;
/** C0 controls but line feed, DEL, C1 controls, and the bidi overrides that make text lie about its order */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * The marketer's input made a notice, or `INVALID_NOTICE`: plain text (it is only ever shown
 * as text, never as HTML), trimmed, 1 to NOTICE_MAX_LENGTH characters, no control characters
 * but line breaks; the level `info` or `warning`.
 */
export function checkNotice(input: { message: unknown; level?: unknown }, now = Date.now()): Notice {
  const { message, level = 'info' } = input;
  if (typeof message !== 'string') throw new AppError('INVALID_NOTICE', 'message must be text');
  const text = message.replace(/\r\n?/g, '\n').trim();
  if (text.length === 0) throw new AppError('INVALID_NOTICE', 'message is empty');
  if ([...text].length > NOTICE_MAX_LENGTH) throw new AppError('INVALID_NOTICE', `message is longer than ${NOTICE_MAX_LENGTH} characters`);
  if (FORBIDDEN.test(text)) throw new AppError('INVALID_NOTICE', 'message holds control characters');
  if (typeof level !== 'string' || !(NOTICE_LEVELS as readonly string[]).includes(level)) {
    throw new AppError('INVALID_NOTICE', `level must be one of ${NOTICE_LEVELS.join(', ')}`);
  }
  return { message: text, level: level as NoticeLevel, at: new Date(now).toISOString() };
}

/** The hot copy's codec: JSON of the notice; anything else reads as no notice. */
export function encodeNotice(notice: Notice): string {
  return JSON.stringify({ message: notice.message, level: notice.level, at: notice.at });
}

export function decodeNotice(raw: unknown): Notice | null {
  if (raw === null || raw === undefined) return null;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (value === null || typeof value !== 'object') return null;
  const { message, level, at } = value as Record<string, unknown>;
  if (typeof message !== 'string' || typeof at !== 'string' || (level !== 'info' && level !== 'warning')) return null;
  return { message, level, at };
}

/** What the gateway publishes on the sale's events channel when the notice changes. */
export interface NoticeMessage {
  readonly type: 'sale:notice';
  readonly saleId: string;
  readonly notice: Notice | null;
}

/** A message on a sale's events channel that is a notice change, else undefined (an order event). */
export function parseNoticeMessage(json: string): NoticeMessage | undefined {
  // order events are most of the traffic: skip them without parsing twice
  if (!json.includes('"sale:notice"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { type, saleId, notice } = value as Record<string, unknown>;
  if (type !== 'sale:notice' || typeof saleId !== 'string') return undefined;
  const decoded = decodeNotice(notice);
  if (notice !== null && decoded === null) return undefined;
  return { type, saleId, notice: decoded };
}

interface NoticeRow {
  sale_id: string;
  message: string;
  level: NoticeLevel;
  set_at: Date;
}

export class SaleNotices {
  readonly #cache = new Map<string, { at: number; value: Promise<Notice | null> }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
  ) {}

  /** Sets the sale's notice: PostgreSQL, then the hot copy, then every gateway is told. */
  async set(saleId: string, notice: Notice): Promise<Notice> {
    let row: NoticeRow | undefined;
    try {
      const res = await this.pool.query<NoticeRow>(
        `INSERT INTO sale_notices (sale_id, message, level, set_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sale_id) DO UPDATE SET message = EXCLUDED.message, level = EXCLUDED.level, set_at = EXCLUDED.set_at
         RETURNING *`,
        [saleId, notice.message, notice.level, notice.at],
      );
      row = res.rows[0];
    } catch (err) {
      if ((err as { code?: string }).code === '23503') throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
      throw err;
    }
    const stored = fromRow(row!);
    const keys = this.keyspace.sale(saleId);
    await this.redis.set(keys.notice, encodeNotice(stored));
    await this.#announce(saleId, stored);
    return stored;
  }

  /** Clears the sale's notice (idempotent). SALE_NOT_FOUND for a sale that does not exist. */
  async clear(saleId: string): Promise<void> {
    const res = await this.pool.query('DELETE FROM sale_notices WHERE sale_id = $1', [saleId]);
    if (res.rowCount === 0) {
      const exists = await this.pool.query('SELECT 1 FROM sales WHERE id = $1', [saleId]);
      if (exists.rowCount === 0) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
    }
    await this.redis.del(this.keyspace.sale(saleId).notice);
    await this.#announce(saleId, null);
  }

  /** The notice as PostgreSQL holds it (the console's view); SALE_NOT_FOUND when there is no such sale. */
  async stored(saleId: string): Promise<Notice | null> {
    const { rows } = await this.pool.query<{ message: string | null; level: NoticeLevel; set_at: Date }>(
      `SELECT s.id AS sale_id, n.message, n.level, n.set_at FROM sales s LEFT JOIN sale_notices n ON n.sale_id = s.id WHERE s.id = $1`,
      [saleId],
    );
    if (!rows[0]) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
    const { message, level, set_at } = rows[0];
    return message === null ? null : fromRow({ message, level, set_at });
  }

  /**
   * The notice pages are shown now, from this gateway's copy (at most CACHE_MS old, and
   * refreshed at once by the events channel); Redis read on a miss. A failed read keeps the
   * last copy: a notice is never worth failing a poll.
   */
  current(saleId: string): Promise<Notice | null> {
    const now = Date.now();
    const hit = this.#cache.get(saleId);
    if (hit && now - hit.at < CACHE_MS) return hit.value;
    const previous = hit?.value ?? Promise.resolve(null);
    const value = this.redis
      .get(this.keyspace.sale(saleId).notice)
      .then(decodeNotice)
      .catch(() => previous);
    this.#remember(saleId, value, now);
    return value;
  }

  /** A change heard on the events channel (this gateway's own, or another's). */
  heard(message: NoticeMessage): void {
    this.#remember(message.saleId, Promise.resolve(message.notice), Date.now());
  }

  /**
   * The hot copies of these sales' notices back in Redis from PostgreSQL (the republisher,
   * at boot and after Redis lost its data); a copy already there stays (NX): it is as new.
   */
  async restore(saleIds: readonly string[]): Promise<number> {
    if (saleIds.length === 0) return 0;
    const { rows } = await this.pool.query<NoticeRow>('SELECT * FROM sale_notices WHERE sale_id = ANY($1)', [saleIds]);
    for (const row of rows) await this.redis.set(this.keyspace.sale(row.sale_id).notice, encodeNotice(fromRow(row)), 'NX');
    return rows.length;
  }

  async #announce(saleId: string, notice: Notice | null): Promise<void> {
    const message: NoticeMessage = { type: 'sale:notice', saleId, notice };
    this.heard(message);
    await this.redis.publish(this.keyspace.sale(saleId).events, JSON.stringify(message));
  }

  #remember(saleId: string, value: Promise<Notice | null>, at: number): void {
    // bounded: sale ids come from URLs
    if (!this.#cache.has(saleId) && this.#cache.size >= 1_000) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(saleId, { at, value });
  }
}

function fromRow(row: Pick<NoticeRow, 'message' | 'level' | 'set_at'>): Notice {
  return { message: row.message, level: row.level, at: row.set_at.toISOString() };
}
