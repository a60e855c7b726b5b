/**
 * Issue 12 item 7: PATCH skipped the cross-field checks a create makes (absent keys were
 * merged as undefined), so `endsAt` before `startsAt` ended a sale and revealed its seed, and
 * `endsAt: null` then reopened it with the seed public.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    await expect(
      h.db.pool.query(`UPDATE sales SET ends_at = starts_at - interval '1 hour' WHERE id = $1`, [saleId]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'sales_ends_after_start' });
    await expect(
      h.db.pool.query(`UPDATE sales SET prequeue_opens_at = starts_at + interval '1 hour' WHERE id = $1`, [saleId]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'sales_prequeue_not_after_start' });
  });
});
