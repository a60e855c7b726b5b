import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, withClient } from '@velvet-rope/contracts';
import { createTestDatabase, type TestDatabase } from '../../../test-support/databases.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('vr_test_', { migrate: false });
});
afterAll(async () => {
  await db?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a checked-out client whose connection the server ends', () => {
  // what a PostgreSQL shutdown does to every connection: FATAL 57P01, here between two queries
  it('does not crash the process, fails the next query, and is not handed out again', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const outcome = await inTransaction(db.pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await sleep(200); // the FATAL arrives while no query is active
        await client.query('SELECT 1');
        return 'committed';
      }).catch((err: Error) => err);
      expect(outcome).toBeInstanceOf(Error);
      expect(uncaught).toEqual([]);
      // the pool serves again, on a fresh connection
      const again = await withClient(db.pool, (client) => client.query<{ one: number }>('SELECT 1 AS one'));
      expect(again.rows[0]!.one).toBe(1);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
