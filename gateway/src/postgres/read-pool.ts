/**
 * The reads that may be a little behind (DATABASE_READ_URL): order look-ups, a shop account's
 * orders, a sale's stats, its report and its archived fairness audit. They go to a PostgreSQL
 * read replica when one is up (replica-selection.ts picks it) and to the primary otherwise:
 * a replica's error moves that read to the primary and leaves the replica alone for a backoff.
 * Nothing in the admission or purchase path, and nothing that writes, reads here: those read
 * the primary pool (`app.pg`) and must see their own writes.
 *
 * `queryFound` is for reads whose "nothing" would be a wrong answer (an order a shopper was
 * told exists): a replica's empty answer is asked again of the primary before it is believed.
 * Without replicas every read is the primary's, exactly as before.
 */
import pg from 'pg';
import { replicaAtFault, ReplicaSelector } from './replica-selection.js';

/** What a reader of possibly-behind data needs (a pg.Pool is one, reading the primary). */
export interface BehindReads {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** as `query`, but no rows from a replica are confirmed with the primary */
  queryFound<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** every read from one pool (the primary): what a reader gets when no replica is configured */
export function readsOf(pool: pg.Pool): BehindReads {
  return {
    query: (sql, params) => pool.query(sql, params),
    queryFound: (sql, params) => pool.query(sql, params),
  };
}

export type ServedBy = 'replica' | 'primary';

/** What the read pool reports (the metrics plugin counts it; the log tells why). */
export interface ReadPoolEvents {
  served(by: ServedBy): void;
  /** a read the replica did not settle, answered by the primary */
  fallback(reason: 'error' | 'not_found'): void;
  /** a replica went down (`err`: why) or came back up */
  replica(name: string, change: 'down' | 'up', err?: Error): void;
}

export interface ReplicaStatus {
  readonly name: string;
  readonly up: boolean;
}

/** client-side bounds on a replica: one that stops answering costs a read this long, then the primary */
const REPLICA_CONNECT_TIMEOUT_MS = 2_000;
const REPLICA_QUERY_TIMEOUT_MS = 5_000;

/**
 * How far a replica's replay is behind, in seconds: 0 when it has replayed all it received
 * (an idle primary writes nothing, and the last replay's timestamp then only grows old).
 */
const LAG_SQL = `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag`;

/** `host:port` of a replica URL: a label without its credentials or database */
export function replicaName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}`;
}

export class ReadPool implements BehindReads {
  readonly #replicas: { readonly name: string; readonly pool: pg.Pool }[];
  readonly #selector: ReplicaSelector;

  constructor(
    private readonly primary: pg.Pool,
    replicaUrls: readonly string[],
    poolMax: number,
    private readonly events: ReadPoolEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.#selector = new ReplicaSelector(replicaUrls.length);
    this.#replicas = replicaUrls.map((url, i) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: poolMax,
        connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS,
        query_timeout: REPLICA_QUERY_TIMEOUT_MS,
        // a replica's idle connections are closed soon: a stopped replica leaves few behind
        idleTimeoutMillis: 10_000,
      });
      const name = replicaName(url);
      // an idle connection that dropped (the replica stopped or restarted): down for a while
      pool.on('error', (err) => this.#down(i, name, err));
      return { name, pool };
    });
  }

  get hasReplicas(): boolean {
    return this.#replicas.length > 0;
  }

  /** A read that may be behind, with who served it. */
  async read<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<{ result: pg.QueryResult<R>; servedBy: ServedBy }> {
    if (!this.hasReplicas) return { result: await this.primary.query<R>(sql, params), servedBy: 'primary' };
    const i = this.#selector.pick(this.now());
    if (i !== undefined) {
      const replica = this.#replicas[i]!;
      try {
        const result = await replica.pool.query<R>(sql, params);
        if (this.#selector.done(i, 'ok', this.now()) === 'up') this.events.replica(replica.name, 'up');
        this.events.served('replica');
        return { result, servedBy: 'replica' };
      } catch (err) {
        if (!replicaAtFault(err)) {
          // the query's own fault: the primary would refuse it too
          this.#selector.done(i, 'ok', this.now());
          throw err;
        }
        if (this.#selector.done(i, 'failed', this.now()) === 'down') this.events.replica(replica.name, 'down', err as Error);
        this.events.fallback('error');
      }
    }
    const result = await this.primary.query<R>(sql, params);
    this.events.served('primary');
    return { result, servedBy: 'primary' };
  }

  async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return (await this.read<R>(sql, params)).result;
  }

  async queryFound<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const { result, servedBy } = await this.read<R>(sql, params);
    if (result.rows.length > 0 || servedBy === 'primary') return result;
    // the replica may not have replayed it yet: only the primary can say it is not there
    this.events.fallback('not_found');
    const again = await this.primary.query<R>(sql, params);
    this.events.served('primary');
    return again;
  }

  status(): ReplicaStatus[] {
    const health = this.#selector.health();
    return this.#replicas.map((r, i) => ({ name: r.name, up: health[i]!.up }));
  }

  /** Each replica's replay lag in seconds (undefined: down, or it did not answer). */
  async lag(): Promise<{ name: string; seconds: number | undefined }[]> {
    const health = this.#selector.health();
    return Promise.all(
      this.#replicas.map(async (r, i) => {
        if (!health[i]!.up) return { name: r.name, seconds: undefined };
        try {
          const { rows } = await r.pool.query<{ lag: number | null }>(LAG_SQL);
          return { name: r.name, seconds: rows[0]?.lag ?? undefined };
        } catch {
          return { name: r.name, seconds: undefined };
        }
      }),
    );
  }

  async end(): Promise<void> {
    await Promise.all(this.#replicas.map((r) => r.pool.end().catch(() => undefined)));
  }

  #down(i: number, name: string, err: Error): void {
    if (this.#selector.failed(i, this.now()) === 'down') this.events.replica(name, 'down', err);
  }
}
