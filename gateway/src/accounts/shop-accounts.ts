/**
 * The shop's accounts behind visitor ids (issue 15; `shop_accounts`, migration 0014). An
 * account's visitor id is an HMAC of the account (tokens/account.ts), one way; the gateway
 * remembers the way back where it verifies an identity (a join with `X-Shopper-Identity`, the
 * OpenID Connect sign-in), so an order of a signed-in shopper names the shop's own account to
 * the shop: the order token's `acct` claim, the shop API's `account`.
 *
 * Off the hot path: only a verified identity (a JWT check already costs far more) writes, each
 * account once per gateway process (a bounded memory of those written), and the identities
 * verified in one event-loop turn go in one INSERT; a join does not wait for it. A write that
 * fails never fails anything: it is kept and sent again with the next ones, or after
 * RETRY_MS (a visitor id never changes its account, so a late row is as good as an early one).
 */
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { TurnBatcher } from '../lib/turn-batcher.js';
import type { Account } from '../tokens/account.js';

interface Row extends Account {
  readonly visitorId: string;
}

/** accounts remembered as written, per generation (two generations at most) */
const WRITTEN_PER_GENERATION = 100_000;
/** rows kept for a retry while PostgreSQL refuses */
const MAX_BACKLOG = 100_000;
/** a refused write is sent again this long after, if no new identity brought it along sooner */
const RETRY_MS = 2_000;

export class ShopAccounts {
  readonly #batcher: TurnBatcher<Row, undefined>;
  #written = new Set<string>();
  #writtenBefore = new Set<string>();
  #backlog: Row[] = [];
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger?: FastifyBaseLogger,
  ) {
    this.#batcher = new TurnBatcher((_key, rows) => this.#write(rows), 1_000);
  }

  /** Remembers whose `visitorId` is; resolves once written (or kept for the next write); never rejects. */
  async remember(visitorId: string, account: Account): Promise<void> {
    if (this.#written.has(visitorId) || this.#writtenBefore.has(visitorId)) return;
    await this.#batcher.add('', { visitorId, issuer: account.issuer, subject: account.subject });
  }

  /** Sends what is left (at close). */
  async flush(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    if (this.#backlog.length > 0) await this.#write([]);
  }

  async #write(fresh: readonly Row[]): Promise<undefined[]> {
    const rows = this.#backlog.length > 0 ? [...this.#backlog, ...fresh] : fresh;
    try {
      await this.pool.query(
        `INSERT INTO shop_accounts (visitor_id, issuer, subject)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT (visitor_id) DO NOTHING`,
        [rows.map((r) => r.visitorId), rows.map((r) => r.issuer), rows.map((r) => r.subject)],
      );
      this.#backlog = [];
      for (const r of rows) this.#markWritten(r.visitorId);
    } catch (err) {
      this.#backlog = rows.slice(-MAX_BACKLOG);
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        if (this.#backlog.length > 0) void this.#write([]);
      }, RETRY_MS).unref();
      this.logger?.warn({ err, unwritten: this.#backlog.length }, 'shop accounts not written to PostgreSQL yet; sent again with the next');
    }
    return fresh.map(() => undefined);
  }

  #markWritten(visitorId: string): void {
    if (this.#written.size >= WRITTEN_PER_GENERATION) {
      this.#writtenBefore = this.#written;
      this.#written = new Set();
    }
    this.#written.add(visitorId);
  }
}
