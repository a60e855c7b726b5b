/**
 * Issue 12 item 7: PATCH skipped the cross-field checks a create makes (absent keys were
 * merged as undefined), so `endsAt` before `startsAt` ended a sale and revealed its seed, and
 * `endsAt: null` then reopened it with the seed public.
 */
import { loadMigrations, migrate } from '@velvet-rope/contracts';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test-support/databases.js';
import { adminHeaders, createHarness, createSale, type Harness } from '../../support/harness.js';

let h: Harness;
let app: FastifyInstance;
beforeAll(async () => {
  h = await createHarness();
  app = h.app();
});
afterAll(async () => {
  await h?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
const patch = (saleId: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'PATCH', url: `/api/admin/sales/${saleId}`, headers: adminHeaders, payload });

/** everything a bad PATCH must leave as it was: the row, the hot copy, the fairness page */
async function snapshot(saleId: string) {
  const row = await app.inject({ method: 'GET', url: `/api/admin/sales/${saleId}`, headers: adminHeaders });
  const hot = await app.redis.hgetall(app.keyspace.sale(saleId).config);
  const fairness = await app.inject({ method: 'GET', url: `/api/sales/${saleId}/fairness` });
  const sale = await app.inject({ method: 'GET', url: `/api/sales/${saleId}` });
  return { row: row.json(), hot, fairness: fairness.json(), status: sale.json().status as string };
}

async function expectRefused(saleId: string, payload: Record<string, unknown>, statusCode: number, code: string) {
  const before = await snapshot(saleId);
  const res = await patch(saleId, payload);
  expect(res.statusCode, res.body).toBe(statusCode);
  expect(res.json()).toMatchObject({ statusCode, code });
  const after = await snapshot(saleId);
  expect(after.row).toEqual(before.row);
  expect(after.hot).toEqual(before.hot);
  expect(after.status).toBe(before.status);
  expect(after.fairness.seed).toBe(before.fairness.seed);
}

describe('issue 12 item 7: PATCH skipped the cross-field checks', () => {
  it('refuses endsAt before startsAt on a running sale, which ended it and revealed its seed', async () => {
    const saleId = await createSale(app, { startsInMs: -60_000, endsInMs: 3_600_000 });
    const startsAt = Date.now() - 60_000;
    await expectRefused(saleId, { endsAt: iso(startsAt - 3_600_000) }, 422, 'INVALID_SALE_CONFIG');
    const s = await snapshot(saleId);
    expect(s.status).toBe('open');
    expect(s.fairness.seed).toBeNull();
    expect(s.fairness.auditUrl).toBeNull();
  });

  it('refuses startsAt after endsAt, and prequeueOpensAt after startsAt, on a scheduled sale', async () => {
    const saleId = await createSale(app, { startsInMs: 3_600_000, endsInMs: 7_200_000, prequeueOpensInMs: 1_800_000 });
    await expectRefused(saleId, { startsAt: iso(Date.now() + 10_800_000) }, 422, 'INVALID_SALE_CONFIG');
    await expectRefused(saleId, { prequeueOpensAt: iso(Date.now() + 5_400_000) }, 422, 'INVALID_SALE_CONFIG');
    await expectRefused(saleId, { endsAt: iso(Date.now() + 600_000) }, 422, 'INVALID_SALE_CONFIG');
    // a change that keeps the dates in order still goes through, with the absent ones kept
    const ok = await patch(saleId, { startsAt: iso(Date.now() + 2_400_000) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().endsAt).not.toBeNull();
    expect(ok.json().prequeueOpensAt).not.toBeNull();
  });

  it('cannot reopen an ended sale whose seed is public', async () => {
    const saleId = await createSale(app, { startsInMs: -60_000, endsInMs: -1_000 });
    const ended = await snapshot(saleId);
    expect(ended.status).toBe('ended');
    expect(typeof ended.fairness.seed).toBe('string');
    await expectRefused(saleId, { endsAt: null }, 409, 'SALE_ENDED');
    await expectRefused(saleId, { endsAt: iso(Date.now() + 3_600_000) }, 409, 'SALE_ENDED');
    expect((await snapshot(saleId)).status).toBe('ended');
  });

  it('a sale ended early by a PATCH stays ended', async () => {
    const saleId = await createSale(app, { startsInMs: -60_000 });
    const end = await patch(saleId, { endsAt: iso(Date.now() - 1_000) });
    expect(end.statusCode, end.body).toBe(200);
    expect((await snapshot(saleId)).status).toBe('ended');
    await expectRefused(saleId, { endsAt: null }, 409, 'SALE_ENDED');
  });

  it('the database refuses dates out of order, whoever writes them', async () => {
    const saleId = await createSale(app, { startsInMs: 3_600_000 });
    await expect(h.db.pool.query(`UPDATE sales SET ends_at = starts_at - interval '1 hour' WHERE id = $1`, [saleId])).rejects.toMatchObject(
      { code: '23514', constraint: 'sales_ends_after_start' },
    );
    await expect(
      h.db.pool.query(`UPDATE sales SET prequeue_opens_at = starts_at + interval '1 hour' WHERE id = $1`, [saleId]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'sales_prequeue_not_after_start' });
  });

  it('the migration that adds the checks first sets straight the rows a PATCH put out of order, keeping their end', async () => {
    const db = await createTestDatabase('vr_test_', { migrate: false });
    try {
      const all = loadMigrations();
      const checks = all.find((m) => m.sql.includes('sales_ends_after_start'))!;
      await migrate(
        db.pool,
        all.filter((m) => m.version < checks.version),
      );
      const insert = (id: string, starts: string, ends: string | null, opens: string | null) =>
        db.pool.query(
          `INSERT INTO sales (id, name, stock, starts_at, ends_at, prequeue_opens_at, rate_per_minute, max_active,
             checkout_seconds, max_per_shopper, queue_mode, window_seconds, fairness_seed)
           VALUES ($1, $1, 5, now() + $2::interval, now() + $3::interval, now() + $4::interval, 60, 5, 60, 1, 'fifo', 0, '\\x00')`,
          [id, starts, ends, opens],
        );
      await insert('ended-before-start', '-1 hour', '-2 hours', null);
      await insert('ends-before-start', '2 hours', '1 hour', null);
      await insert('opens-after-start', '1 hour', null, '2 hours');
      await insert('sane', '1 hour', '2 hours', '30 minutes');
      const before = await db.pool.query<{ id: string; ends_at: Date | null }>('SELECT id, ends_at FROM sales ORDER BY id');
      await migrate(db.pool);
      const { rows } = await db.pool.query<{ id: string; starts_at: Date; ends_at: Date | null; prequeue_opens_at: Date | null }>(
        'SELECT id, starts_at, ends_at, prequeue_opens_at FROM sales ORDER BY id',
      );
      expect(rows.map((r) => r.ends_at?.getTime() ?? null)).toEqual(before.rows.map((r) => r.ends_at?.getTime() ?? null));
      for (const r of rows) {
        if (r.ends_at) expect(r.ends_at.getTime(), r.id).toBeGreaterThan(r.starts_at.getTime());
        if (r.prequeue_opens_at) expect(r.prequeue_opens_at.getTime(), r.id).toBeLessThanOrEqual(r.starts_at.getTime());
      }
      // the ended sale is still ended
      expect(rows.find((r) => r.id === 'ended-before-start')!.ends_at!.getTime()).toBeLessThan(Date.now());
    } finally {
      await db.drop();
    }
  });
});
