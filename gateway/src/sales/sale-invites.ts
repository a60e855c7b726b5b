/**
 * Invite-only drops (issue 15 item 2): the marketer uploads the accounts invited to a sale;
 * only they may take a place. PostgreSQL's sale_invites holds the accounts (the source of
 * truth, restored to Redis whenever the sale's hot copy is written again); Redis holds, in the
 * sale's `invites` set, the visitor id each account joins as (tokens/account.ts), which
 * join.lua checks before it places anyone new. A new list replaces the old one at once, live:
 * it is built under another key of the sale's slot and renamed over the old one.
 */
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type pg from 'pg';
import { AppError } from '../errors.js';
import type { KeySpace } from '../redis/keyspace.js';

/** the most accounts one sale may invite */
export const MAX_INVITES = 1_000_000;
/** 1 to 255 characters, none of them a control character */
const ACCOUNT_RE = /^\P{Cc}{1,255}$/u;
const CHUNK = 10_000;

export interface InviteList {
  readonly count: number;
  /** the first accounts, sorted (at most `limit`) */
  readonly accounts: readonly string[];
  readonly truncated: boolean;
}

/**
 * The accounts of an upload: a JSON array of strings, or CSV text (one account per line, the
 * first column; a header line `account` is skipped). Trimmed, duplicates removed. Throws
 * INVALID_INVITES naming the first bad entry, and for a CSV without any account.
 */
export function parseInvites(body: unknown): string[] {
  let entries: unknown[];
  if (typeof body === 'string') {
    entries = body
      .split(/\r?\n/)
      .map((line) =>
        line
          .split(',')[0]!
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      )
      .filter((a, i) => a !== '' && !(i === 0 && a.toLowerCase() === 'account'));
    // an empty file is a mistake more often than a wish to clear the list (JSON [] clears it)
    if (entries.length === 0) throw new AppError('INVALID_INVITES', 'the CSV holds no account (send JSON [] to clear the list)');
  } else if (Array.isArray(body)) {
    entries = body;
  } else {
    throw new AppError('INVALID_INVITES', 'send a JSON array of account ids, or CSV with one account per line');
  }
  const accounts = new Set<string>();
  for (const [i, e] of entries.entries()) {
    if (typeof e !== 'string' || !ACCOUNT_RE.test(e.trim())) {
      throw new AppError('INVALID_INVITES', `entry ${i + 1} is not an account id (1 to 255 characters, no control characters)`);
    }
    accounts.add(e.trim());
  }
  if (accounts.size > MAX_INVITES) throw new AppError('INVALID_INVITES', `at most ${MAX_INVITES} accounts per sale`);
  return [...accounts];
}

export class SaleInvites {
  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    /** the visitor id an account joins as */
    private readonly visitorIdOf: (account: string) => string,
  ) {}

  /** Replaces the sale's invite list; the sale must exist and be for the shop's accounts. */
  async replace(saleId: string, accounts: readonly string[]): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ identity: string }>('SELECT identity FROM sales WHERE id = $1 FOR UPDATE', [saleId]);
      if (!rows[0]) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
      if (rows[0].identity !== 'shop') {
        throw new AppError('INVALID_SALE_CONFIG', 'invites name accounts of the shop: the sale needs identity "shop"');
      }
      await client.query('DELETE FROM sale_invites WHERE sale_id = $1', [saleId]);
      for (let i = 0; i < accounts.length; i += CHUNK) {
        await client.query('INSERT INTO sale_invites (sale_id, account) SELECT $1, unnest($2::text[])', [
          saleId,
          accounts.slice(i, i + CHUNK),
        ]);
      }
      // Redis while the row is locked: two uploads at once end with the last one in both
      await this.#write(saleId, accounts);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return accounts.length;
  }

  async stored(saleId: string, limit = 1_000): Promise<InviteList | undefined> {
    const sale = await this.pool.query('SELECT 1 FROM sales WHERE id = $1', [saleId]);
    if (sale.rowCount === 0) return undefined;
    const [{ rows: count }, { rows }] = await Promise.all([
      this.pool.query<{ n: string }>('SELECT count(*) AS n FROM sale_invites WHERE sale_id = $1', [saleId]),
      this.pool.query<{ account: string }>('SELECT account FROM sale_invites WHERE sale_id = $1 ORDER BY account LIMIT $2', [
        saleId,
        limit,
      ]),
    ]);
    const n = Number(count[0]!.n);
    return { count: n, accounts: rows.map((r) => r.account), truncated: n > rows.length };
  }

  /** Puts the invite lists of these sales back in Redis (a re-publish: sales/republish.ts). */
  async restore(saleIds: readonly string[]): Promise<void> {
    if (saleIds.length === 0) return;
    const { rows } = await this.pool.query<{ sale_id: string }>('SELECT DISTINCT sale_id FROM sale_invites WHERE sale_id = ANY($1)', [
      saleIds,
    ]);
    for (const { sale_id: saleId } of rows) {
      const { rows: accounts } = await this.pool.query<{ account: string }>('SELECT account FROM sale_invites WHERE sale_id = $1', [
        saleId,
      ]);
      await this.#write(
        saleId,
        accounts.map((a) => a.account),
      );
    }
  }

  async #write(saleId: string, accounts: readonly string[]): Promise<void> {
    const key = this.keyspace.sale(saleId).invites;
    const next = `${key}:next`;
    await this.redis.del(next);
    for (let i = 0; i < accounts.length; i += CHUNK) {
      await this.redis.sadd(next, ...accounts.slice(i, i + CHUNK).map(this.visitorIdOf));
    }
    if (accounts.length === 0) await this.redis.del(key);
    else await this.redis.rename(next, key);
  }
}
