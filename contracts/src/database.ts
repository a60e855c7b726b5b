/**
 * Creating the database when it is missing, and applying the numbered, append-only SQL
 * migrations under an advisory lock, so that any number of gateways and workers can start
 * at once. Never edit an applied migration: add the next number.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);
/** arbitrary, fixed: the advisory lock that serialises migrations across processes */
const MIGRATION_LOCK_ID = 0x76_72_6d_67; // "vrmg"

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(new URL(file, dir), 'utf8'),
    }));
}

/** Creates the database named in `databaseUrl` when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return { created: false };
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return { created: true };
    } catch (err) {
      // another process created it between our check and our CREATE
      if ((err as { code?: string }).code === '42P04' || (err as { code?: string }).code === '23505') {
        return { created: false };
      }
      throw err;
    }
  } finally {
    await client.end();
  }
}

/**
 * Runs `work` with a client checked out of the pool, and gives it back: broken (destroyed, not
 * reused) when its connection failed meanwhile. pg-pool listens for errors only on idle
 * clients; a checked-out one whose server goes away between two queries (a PostgreSQL
 * shutdown sends FATAL 57P01 to every connection) emits 'error' with nobody listening, which
 * crashes the process. Here that error is only recorded: the next query fails with it anyway.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** `work` in one transaction: BEGIN, then COMMIT, or ROLLBACK and the error (withClient). */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // on a lost connection this fails too; the error that counts is the first
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** Applies every migration not applied yet; returns the versions it applied. */
export async function migrate(pool: pg.Pool, migrations: Migration[] = loadMigrations()): Promise<number[]> {
  return withClient(pool, (client) => migrateWith(client, migrations));
}

async function migrateWith(client: pg.PoolClient, migrations: Migration[]): Promise<number[]> {
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
  }
  return applied;
}

/** Creates the database if needed, opens a pool and migrates: what every service does at boot. */
export async function prepareDatabase(databaseUrl: string, poolSize = 10): Promise<pg.Pool> {
  await ensureDatabase(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}
