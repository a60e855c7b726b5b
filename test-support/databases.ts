/**
 * Test isolation for PostgreSQL: every test file gets a database of its own, created and
 * migrated here and dropped afterwards. Never touches another database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureDatabase, migrate } from '@velvet-rope/contracts';

export const PG_ROOT_URL = process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

/** A unique, short, lowercase id for sale ids, queue names and database names. */
export function uniqueId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

export async function createTestDatabase(prefix = 'vr_test_', opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = uniqueId(prefix).toLowerCase();
  const url = `${PG_ROOT_URL}/${name}`;
  await ensureDatabase(url);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // an idle client the database drops (the drop below ends every connection) must not crash the run
  pool.on('error', () => undefined);
  if (opts.migrate !== false) await migrate(pool);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const admin = new pg.Client({ connectionString: `${PG_ROOT_URL}/postgres` });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
