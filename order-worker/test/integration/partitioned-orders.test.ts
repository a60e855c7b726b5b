/**
 * Migration 0015 (orders partitioned by sale) on a database that already holds orders: every
 * row is kept, in its sale's partition; every guard still refuses (one order id once, across
 * sales too; one order per admission, as the worker commits it; the CHECKs; the foreign key);
 * and `scripts/archive-sale.mjs` detaches, dumps and drops a retired sale's partition while it
 * refuses a live one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, ORDER_SALE } from '@velvet-rope/contracts';
import { commitBatch } from '../../src/batch-committer.js';
import { createTestDatabase, type TestDatabase } from '../../../test-support/databases.js';
import { insertSale, order, soldOf } from '../helpers.js';

const run = promisify(execFile);
const ARCHIVE_SCRIPT = new URL('../../../scripts/archive-sale.mjs', import.meta.url).pathname;

const INSERT_ORDER = `INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at,
                                          payment_due_at, paid_at, cancelled_at, cancel_reason)
  VALUES ($1, $2, $3, $4, $5, now(), now(), $6, $7, $8, $9)`;

interface Seeded {
  readonly orderId: string;
  readonly saleId: string;
  readonly status: string;
}

async function seedOrder(
  pool: pg.Pool,
  saleId: string,
  status: 'confirmed' | 'rejected' | 'paid' | 'cancelled',
  i: number,
): Promise<Seeded> {
  const o = order(saleId, { quantity: (i % 3) + 1 });
  const now = new Date();
  await pool.query(INSERT_ORDER, [
    o.orderId,
    saleId,
    o.visitorId,
    o.quantity,
    status,
    status === 'confirmed' ? now : null,
    status === 'paid' ? now : null,
    status === 'cancelled' ? now : null,
    status === 'cancelled' ? 'payment_timeout' : null,
  ]);
  return { orderId: o.orderId, saleId, status };
}

const everyOrder = async (pool: pg.Pool) =>
  (await pool.query('SELECT * FROM orders ORDER BY order_id')).rows.map((r: Record<string, unknown>) => ({ ...r }));

/** the SQLSTATE a statement fails with, or 'ok' */
async function sqlState(pool: pg.Pool, sql: string, params: unknown[]): Promise<string> {
  try {
    await pool.query(sql, params);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function archive(db: TestDatabase, saleId: string, outDir: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [ARCHIVE_SCRIPT, saleId, '--out', outDir], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('orders partitioned by sale (migration 0015)', () => {
  let db: TestDatabase;
  let outDir: string;
  const seeded: Seeded[] = [];
  let before: Record<string, unknown>[] = [];
  let retired: string;
  let live: string;
  let handOff: string;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'vr-archive-'));
    db = await createTestDatabase('vr_test_partitions_', { migrate: false });
    const upTo14 = loadMigrations().filter((m) => m.version <= 14);
    expect(await migrate(db.pool, upTo14)).toEqual(upTo14.map((m) => m.version));

    retired = await insertSale(db.pool, { stock: 100, endsAt: new Date(Date.now() - 60_000) });
    live = await insertSale(db.pool, { stock: 100 });
    handOff = await insertSale(db.pool, { stock: 100, checkoutUrl: 'https://shop.example/pay' });
    // a sale with no order: it gets an (empty) partition all the same
    await insertSale(db.pool, { stock: 5 });
    const statuses = ['confirmed', 'rejected'] as const;
    for (let i = 0; i < 12; i++) seeded.push(await seedOrder(db.pool, retired, statuses[i % 2]!, i));
    for (let i = 0; i < 8; i++) seeded.push(await seedOrder(db.pool, live, 'confirmed', i));
    const handOffStatuses = ['confirmed', 'paid', 'cancelled'] as const;
    for (let i = 0; i < 9; i++) seeded.push(await seedOrder(db.pool, handOff, handOffStatuses[i % 3]!, i));
    await db.pool.query('UPDATE sales SET retired_at = now() WHERE id = $1', [retired]);
    before = await everyOrder(db.pool);
    expect(before).toHaveLength(seeded.length);

    // 0015 first, then whatever came after it
    const applied = await migrate(db.pool);
    expect(applied[0]).toBe(15);
    expect(applied).toEqual(
      loadMigrations()
        .filter((m) => m.version >= 15)
        .map((m) => m.version),
    );
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('keeps every row, each in its own sale partition, and claims every order id', async () => {
    expect(await everyOrder(db.pool)).toEqual(before);
    const { rows } = await db.pool.query<{ sale_id: string; part: string; n: string }>(
      `SELECT sale_id, tableoid::regclass::text AS part, count(*) AS n FROM orders GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(new Set(rows.map((r) => r.part)).size).toBe(3);
    for (const r of rows) expect(r.part).not.toBe('orders');
    const { rows: kind } = await db.pool.query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'orders'");
    expect(kind[0]!.relkind).toBe('p');
    const { rows: parts } = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'orders'::regclass",
    );
    expect(Number(parts[0]!.n)).toBe(4);
    const { rows: claims } = await db.pool.query<{ order_id: string; sale_id: string }>(
      'SELECT order_id::text AS order_id, sale_id FROM order_ids ORDER BY order_id',
    );
    expect(claims).toEqual(
      seeded.map((s) => ({ order_id: s.orderId, sale_id: s.saleId })).sort((a, b) => (a.order_id < b.order_id ? -1 : 1)),
    );
  });

  it("finds an order by its id alone in its sale's partition only (ORDER_SALE): the others are pruned as the statement runs", async () => {
    const target = seeded.find((o) => o.saleId === handOff)!;
    const executed = async (sql: string) => {
      const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql.replaceAll('$1', `'${target.orderId}'::uuid`)}`,
      );
      const lines = rows.map((r) => r['QUERY PLAN']);
      // a scan of a partition's rows that ran: "... on orders_<sale>_<md5> orders_<n>", not "(never executed)"
      return lines.filter((l) => /Scan .*on orders_\w+ orders/.test(l) && !l.includes('never executed')).length;
    };
    expect(await executed('SELECT status FROM orders WHERE order_id = $1'), 'by the id alone: every partition').toBe(4);
    expect(await executed(`SELECT status FROM orders WHERE order_id = $1 AND sale_id = ${ORDER_SALE}`)).toBe(1);
    await db.pool.query('BEGIN');
    try {
      expect(await executed(`UPDATE orders SET paid_at = paid_at WHERE order_id = $1 AND sale_id = ${ORDER_SALE}`)).toBe(1);
    } finally {
      await db.pool.query('ROLLBACK');
    }
    const { rows } = await db.pool.query<{ order_id: string }>(
      `SELECT order_id::text AS order_id FROM orders WHERE order_id = $1 AND sale_id = ${ORDER_SALE}`,
      [target.orderId],
    );
    expect(rows).toEqual([{ order_id: target.orderId }]);
  });

  it('keeps the indexes and the constraints of the migrations before it', async () => {
    const { rows: idx } = await db.pool.query<{ name: string }>(
      "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'orders'::regclass ORDER BY 1",
    );
    expect(idx.map((r) => r.name)).toEqual([
      'orders_order_id_sale_key',
      'orders_payment_due_idx',
      'orders_return_due_idx',
      'orders_sale_status_idx',
      'orders_sale_visitor_idx',
      'orders_visitor_created_idx',
    ]);
    const { rows: cons } = await db.pool.query<{ conname: string }>(
      "SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass ORDER BY 1",
    );
    expect(cons.map((r) => r.conname)).toEqual([
      'orders_cancel_reason_check',
      'orders_cancel_reason_state',
      'orders_order_id_sale_key',
      'orders_quantity_check',
      'orders_sale_id_fkey',
      'orders_status_check',
    ]);
  });

  it('refuses an order id twice, in the same sale and in another, a bad status, and an unknown sale', async () => {
    const kept = seeded.find((s) => s.saleId === live)!;
    const insert = (orderId: string, saleId: string, status = 'confirmed', reason: string | null = null) =>
      sqlState(db.pool, INSERT_ORDER, [orderId, saleId, 'visitor-aaaaaaaaaaaa', 1, status, null, null, null, reason]);
    expect(await insert(kept.orderId, live)).toBe('23505');
    expect(await insert(kept.orderId, handOff)).toBe('23505');
    expect(await insert(kept.orderId, retired)).toBe('23505');
    const fresh = order(live).orderId;
    expect(await insert(fresh, live, 'shipped')).toBe('23514');
    expect(await insert(fresh, live, 'cancelled')).toBe('23514'); // a cancelled order names its reason
    expect(await insert(fresh, live, 'confirmed', 'shop')).toBe('23514');
    expect(await insert(fresh, 'no-such-sale')).toBe('23514'); // no partition: an unknown sale
    expect(await sqlState(db.pool, 'DELETE FROM sales WHERE id = $1', [live])).toBe('23503');
    expect(await sqlState(db.pool, 'UPDATE orders SET sale_id = $2 WHERE order_id = $1', [kept.orderId, handOff])).toBe('23000');
    expect(await everyOrder(db.pool)).toEqual(before);
  });

  it('commits as the worker did: one order per admission however often its message comes, another sale’s order id poison', async () => {
    const saleId = await insertSale(db.pool, { stock: 10 });
    const first = order(saleId, { quantity: 2 });
    const other = order(saleId);
    // the admission's message twice in a batch, then again (a redelivery, a re-publish)
    expect((await commitBatch(db.pool, [first, other, first])).map((r) => [r.orderId, r.status, 'duplicate' in r && r.duplicate])).toEqual([
      [first.orderId, 'confirmed', false],
      [other.orderId, 'confirmed', false],
      [first.orderId, 'confirmed', true],
    ]);
    expect(await commitBatch(db.pool, [first])).toEqual([
      { orderId: first.orderId, saleId, visitorId: first.visitorId, status: 'confirmed', duplicate: true },
    ]);
    expect(await soldOf(db.pool, saleId)).toBe(3);

    // a message that reuses an order id stored in another sale stores nothing; its batch commits
    const stolen = order(live, { orderId: first.orderId });
    const fine = order(live);
    const mixed = await commitBatch(db.pool, [stolen, fine]);
    expect(mixed[0]).toMatchObject({ orderId: first.orderId, saleId: live, status: 'poison' });
    expect(mixed[1]).toEqual({ orderId: fine.orderId, saleId: live, visitorId: fine.visitorId, status: 'confirmed', duplicate: false });
    const { rows } = await db.pool.query('SELECT sale_id FROM orders WHERE order_id = $1', [first.orderId]);
    expect(rows).toEqual([{ sale_id: saleId }]);
  });

  it('archives a retired sale (its rows leave orders, the file holds them) and refuses a live one', async () => {
    const refused = await archive(db, live, outDir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SALE_NOT_FINISHED');
    const liveRows = seeded.filter((s) => s.saleId === live).length;
    const { rows: still } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE sale_id = $1', [live]);
    expect(Number(still[0]!.n)).toBeGreaterThanOrEqual(liveRows);

    // a shop event of the sale still to dispatch (it reads the sale's orders): refused, nothing changed
    const { rows: ev } = await db.pool.query<{ seq: string }>(
      "INSERT INTO shop_events (type, sale_id, data) VALUES ('sale.ended', $1, '{}') RETURNING seq",
      [retired],
    );
    const waiting = await archive(db, retired, outDir);
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toContain('EVENTS_PENDING');
    const { rows: kept } = await db.pool.query('SELECT 1 FROM orders WHERE sale_id = $1', [retired]);
    expect(kept.length).toBe(seeded.filter((x) => x.saleId === retired).length);
    await db.pool.query('DELETE FROM shop_events WHERE seq = $1', [ev[0]!.seq]);

    const done = await archive(db, retired, outDir);
    expect(done.code).toBe(0);
    const answer = JSON.parse(done.stdout) as { file: string; rows: number; partition: string };
    const archivedIds = seeded.filter((s) => s.saleId === retired).map((s) => s.orderId);
    expect(answer.rows).toBe(archivedIds.length);
    const { rows: left } = await db.pool.query('SELECT 1 FROM orders WHERE sale_id = $1', [retired]);
    expect(left).toHaveLength(0);
    const { rows: table } = await db.pool.query('SELECT 1 FROM pg_class WHERE relname = $1', [answer.partition]);
    expect(table).toHaveLength(0);
    const dump = readFileSync(answer.file, 'utf8');
    for (const id of archivedIds) expect(dump).toContain(`${id}\t${retired}\t`);
    for (const s of seeded.filter((x) => x.saleId !== retired)) expect(dump).not.toContain(s.orderId);
    // every other sale's orders are where they were; an archived order id stays taken
    expect(await everyOrder(db.pool)).toEqual(expect.arrayContaining(before.filter((r) => r.sale_id !== retired)));
    const { rows: claims } = await db.pool.query('SELECT 1 FROM order_ids WHERE sale_id = $1', [retired]);
    expect(claims).toHaveLength(archivedIds.length);

    // run again: it says it was archived, changes nothing
    const again = await archive(db, retired, outDir);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ already: true, rows: archivedIds.length });
    const unknown = await archive(db, 'no-such-sale', outDir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('SALE_NOT_FOUND');
  });
});
