/**
 * Issue 16 items 4, 5 and 7: a sale's flow (standby, passthrough, suspended, switched live)
 * and a full queue. Real Redis, PostgreSQL and RabbitMQ; the admission loop is ticked by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  adminHeaders,
  buy,
  createHarness,
  createSale,
  join,
  me,
  reportFunnel,
  sleep,
  testRedis,
  until,
  type Harness,
  type Joined,
} from '../support/harness.js';
import type { RedisClient } from '@velvet-rope/contracts';
// @ts-expect-error: a plain .mjs script without types, run as the docs say
import { verifyAudit } from '../../../scripts/verify-fairness.mjs';

let h: Harness;
let redis: RedisClient;
beforeAll(async () => {
  h = await createHarness();
  redis = await testRedis();
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

async function patch(app: FastifyInstance, sale: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: `/api/admin/sales/${sale}`, headers: adminHeaders, payload });
}

async function live(app: FastifyInstance, sale: string) {
  return (await app.inject({ url: `/api/sales/${sale}` })).json() as {
    status: string;
    waiting: number;
    admitted: number;
    admittedTotal: number;
    remaining: number;
    flow: string;
    queueing: boolean;
  };
}

const report = reportFunnel;

async function recordedAdmissions(sale: string): Promise<{ visitor_id: string; seq: string }[]> {
  const { rows } = await h.db.pool.query<{ visitor_id: string; seq: string }>(
    'SELECT visitor_id, seq::text AS seq FROM admissions WHERE sale_id = $1 ORDER BY seq',
    [sale],
  );
  return rows;
}

/** ends the sale now and answers its audit lines, checked by the published recipe */
async function endAndVerify(app: FastifyInstance, sale: string) {
  expect((await patch(app, sale, { endsAt: new Date(Date.now() + 300).toISOString() })).statusCode).toBe(200);
  await until('the sale ended', async () => (await live(app, sale)).status === 'ended');
  const fairness = (await app.inject({ url: `/api/sales/${sale}/fairness` })).json();
  const audit = await app.inject({ url: `/api/sales/${sale}/fairness/audit` });
  expect(audit.statusCode).toBe(200);
  const lines = audit.body
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { auditId: string; admission: number | null; state: string });
  const result = verifyAudit(fairness, lines) as { ok: boolean; errors: string[]; admissions: number };
  expect(result.errors).toEqual([]);
  expect(result.ok).toBe(true);
  return { lines, result };
}

const tokenOf = async (app: FastifyInstance, sale: string, j: Joined) => (await me(app, sale, j.ticket)).body.admission.token as string;

describe('a sale setting how shoppers reach their turn (flow) and a cap on the queue (maxQueue)', () => {
  it('round-trips through create, PATCH, the answers and the hot copy', async () => {
    const app = h.app();
    const sale = await createSale(app);
    const before = (await app.inject({ url: `/api/admin/sales/${sale}`, headers: adminHeaders })).json();
    expect(before).toMatchObject({ flow: 'queue', maxQueue: null });
    const changed = await patch(app, sale, { flow: 'standby', maxQueue: 100 });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ flow: 'standby', maxQueue: 100 });
    const hash = await redis.hgetall(app.keyspace.sale(sale).config);
    expect(hash).toMatchObject({ flow: 'standby', maxQueue: '100' });
    expect(await live(app, sale)).toMatchObject({ flow: 'standby', queueing: false });
    const stats = (await app.inject({ url: `/api/admin/sales/${sale}/stats`, headers: adminHeaders })).json();
    expect(stats).toMatchObject({ flow: 'standby', queueing: false, maxQueue: 100 });
    expect((await patch(app, sale, { maxQueue: null })).json()).toMatchObject({ maxQueue: null });
    expect((await redis.hgetall(app.keyspace.sale(sale).config)).maxQueue).toBe('');
  });
});

describe('standby: straight to the turn under the thresholds, the queue past them', () => {
  it('starts queueing when the active shoppers reach maxActive, and admits at join again once the queue drained', async () => {
    const app = h.app();
    // a high rate: only maxActive can start the queue here
    const sale = await createSale(app, { stock: 10, maxActive: 2, ratePerMinute: 600_000, queueMode: 'fifo' });
    expect((await patch(app, sale, { flow: 'standby' })).statusCode).toBe(200);
    await app.admissionLoop.tickSale(sale); // the rate credit starts accruing
    await sleep(50);

    const a = await join(app, sale);
    const b = await join(app, sale);
    expect([a.statusCode, a.status, b.status]).toEqual([201, 'admitted', 'admitted']);
    expect((a as Joined & { admission?: { token: string } }).admission?.token).toBeTypeOf('string');
    expect(await live(app, sale)).toMatchObject({ waiting: 0, admitted: 2, queueing: false });

    // active = maxActive: the queue starts
    const c = await join(app, sale);
    expect([c.statusCode, c.status, c.position]).toEqual([201, 'queued', 1]);
    expect(await live(app, sale)).toMatchObject({ waiting: 1, queueing: true });
    // and from then on joins queue, even when the capacity frees up: nobody skips those waiting
    expect((await buy(app, sale, await tokenOf(app, sale, a))).statusCode).toBe(202);
    const d = await join(app, sale);
    expect([d.status, d.position]).toEqual(['queued', 2]);

    // the loop admits as always (c first, in order)
    expect((await me(app, sale, c.ticket)).body.status).toBe('queued');
    const tick = await app.admissionLoop.tickSale(sale);
    expect(tick?.admissions.length).toBe(1);
    expect((await me(app, sale, c.ticket)).body.status).toBe('admitted');
    expect((await me(app, sale, d.ticket)).body.status).toBe('queued');
    expect((await buy(app, sale, await tokenOf(app, sale, b))).statusCode).toBe(202);
    expect((await buy(app, sale, await tokenOf(app, sale, c))).statusCode).toBe(202);
    await until('the queue drained', async () => (await app.admissionLoop.tickSale(sale))?.waiting === 0);
    expect((await me(app, sale, d.ticket)).body.status).toBe('admitted');
    expect(await live(app, sale)).toMatchObject({ waiting: 0, admitted: 1, queueing: false });

    // drained, under maxActive: straight to the turn again
    const e = await join(app, sale);
    expect(e.status).toBe('admitted');

    // the same records as any admission: counted, in PostgreSQL, in the audit
    expect(await report(app, sale)).toMatchObject({ joined: 5, admitted: 5 });
    const recorded = await recordedAdmissions(sale);
    expect(recorded.map((r) => r.visitor_id).sort()).toEqual([a, b, c, d, e].map((j) => j.visitorId).sort());
    expect(recorded.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    const { lines, result } = await endAndVerify(app, sale);
    expect(result.admissions).toBe(5);
    expect(lines).toHaveLength(5);
  });

  it('starts queueing when arrivals pass the rate, and stops once the queue drained', async () => {
    const app = h.app();
    // one admission a second (a credit of at most one): a burst of joins passes the rate
    const sale = await createSale(app, { stock: 50, maxActive: 50, ratePerMinute: 60, queueMode: 'fifo' });
    expect((await patch(app, sale, { flow: 'standby' })).statusCode).toBe(200);
    await app.admissionLoop.tickSale(sale);
    await sleep(1_100); // a whole credit accrued

    const started = Date.now();
    const burst: Joined[] = [];
    for (let i = 0; i < 6; i++) burst.push(await join(app, sale));
    const seconds = (Date.now() - started) / 1000;
    const direct = burst.filter((j) => j.status === 'admitted').length;
    expect(burst[0]!.status).toBe('admitted');
    // within the credit the rate allows over the burst, and once one queued every later one queued
    expect(direct).toBeLessThanOrEqual(1 + Math.ceil(seconds));
    const firstQueued = burst.findIndex((j) => j.status === 'queued');
    expect(firstQueued).toBeGreaterThan(0);
    expect(burst.slice(firstQueued).every((j) => j.status === 'queued')).toBe(true);
    expect((await live(app, sale)).queueing).toBe(true);

    await until('the queue drained', async () => (await app.admissionLoop.tickSale(sale))?.waiting === 0, 300, 100);
    expect(await Promise.all(burst.map(async (j) => (await me(app, sale, j.ticket)).body.status))).toEqual(burst.map(() => 'admitted'));
    expect((await live(app, sale)).queueing).toBe(false);
    await sleep(1_100); // the credit again
    const after = await join(app, sale);
    expect(after.status).toBe('admitted');
    const { result } = await endAndVerify(app, sale);
    expect(result.admissions).toBe(7);
  });
});

describe('passthrough and suspended, switched live', () => {
  it('passthrough lets everyone through, never beyond the stock, and back to the queue', async () => {
    const app = h.app();
    // rate 0: the queue alone would admit nobody
    const sale = await createSale(app, { stock: 3, ratePerMinute: 0, queueMode: 'fifo' });
    const a = await join(app, sale);
    expect(a.status).toBe('queued');

    expect((await patch(app, sale, { flow: 'passthrough' })).statusCode).toBe(200);
    // a is waiting: b queues behind (nobody skips the line), and the loop lets both in whatever the rate
    const b = await join(app, sale);
    expect([b.status, b.position]).toEqual(['queued', 2]);
    const tick = await app.admissionLoop.tickSale(sale);
    expect(tick?.admissions.map((x) => x.visitorId)).toEqual([a.visitorId, b.visitorId]);
    const c = await join(app, sale);
    expect(c.status).toBe('admitted');
    // three hold the three units: the next one waits for a unit to come back
    const d = await join(app, sale);
    expect(d.status).toBe('queued');
    expect((await app.admissionLoop.tickSale(sale))?.admissions).toEqual([]);

    // back to the queue: rate 0 admits nobody, joins queue
    expect((await patch(app, sale, { flow: 'queue' })).statusCode).toBe(200);
    expect((await buy(app, sale, await tokenOf(app, sale, c))).statusCode).toBe(202);
    const e = await join(app, sale);
    expect(e.status).toBe('queued');
    expect((await app.admissionLoop.tickSale(sale))?.admissions).toEqual([]);
    expect(await report(app, sale)).toMatchObject({ joined: 5, admitted: 3 });
    expect((await recordedAdmissions(sale)).length).toBe(3);
  });

  it('suspended refuses joins and purchases with 503 SALE_SUSPENDED, admits nobody, keeps places, and resumes', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 10, maxActive: 1, ratePerMinute: 600_000, queueMode: 'fifo' });
    const a = await join(app, sale);
    const b = await join(app, sale);
    await until('a admitted', async () => ((await app.admissionLoop.tickSale(sale))?.active ?? 0) === 1);
    expect((await me(app, sale, a.ticket)).body.status).toBe('admitted');
    const token = await tokenOf(app, sale, a);

    expect((await patch(app, sale, { flow: 'suspended' })).statusCode).toBe(200);
    expect(await live(app, sale)).toMatchObject({ status: 'suspended', flow: 'suspended', waiting: 1 });
    const joinNew = await app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, payload: {} });
    expect(joinNew.statusCode).toBe(503);
    expect(joinNew.json().code).toBe('SALE_SUSPENDED');
    expect(Number(joinNew.headers['retry-after'])).toBeGreaterThan(0);
    const rejoin = await app.inject({
      method: 'POST',
      url: `/api/sales/${sale}/queue`,
      headers: { authorization: `Bearer ${b.ticket}` },
      payload: {},
    });
    expect(rejoin.json().code).toBe('SALE_SUSPENDED');
    const purchase = await buy(app, sale, token);
    expect(purchase.statusCode).toBe(503);
    expect(purchase.body.code).toBe('SALE_SUSPENDED');
    expect(Number(purchase.headers['retry-after'])).toBeGreaterThan(0);
    // a does not buy; a unit frees for b when a's window would, but nobody is admitted while suspended
    await patch(app, sale, { maxActive: 2 });
    const tick = await app.admissionLoop.tickSale(sale);
    expect(tick?.admissions).toEqual([]);
    expect(tick?.status).toBe('suspended');
    // places kept: b still first in line, status answers as always
    expect((await me(app, sale, b.ticket)).body).toMatchObject({ status: 'queued', position: 1 });
    expect(await live(app, sale)).toMatchObject({ waiting: 1, remaining: 10 });

    expect((await patch(app, sale, { flow: 'queue' })).statusCode).toBe(200);
    expect((await buy(app, sale, token)).statusCode).toBe(202);
    await until('b admitted', async () => ((await app.admissionLoop.tickSale(sale))?.waiting ?? 1) === 0);
    expect((await me(app, sale, b.ticket)).body.status).toBe('admitted');
    expect((await join(app, sale)).statusCode).toBe(201);
  });
});

describe('a full queue (maxQueue)', () => {
  it('places exactly maxQueue of many concurrent joins and answers the rest 409 QUEUE_FULL, counted as refused', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 100, ratePerMinute: 0 });
    expect((await patch(app, sale, { maxQueue: 7 })).statusCode).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, payload: {} })),
    );
    const placed = answers.filter((r) => r.statusCode === 201);
    const full = answers.filter((r) => r.statusCode === 409);
    expect(placed).toHaveLength(7);
    expect(full).toHaveLength(33);
    for (const r of full) {
      const body = r.json();
      expect(body).toMatchObject({ code: 'QUEUE_FULL', statusCode: 409, maxQueue: 7 });
      expect(body.retryAfterSeconds).toBeGreaterThan(0);
      expect(body.message).toMatch(/free up/);
    }
    expect((await live(app, sale)).waiting).toBe(7);
    expect(await report(app, sale)).toMatchObject({ joined: 7, refused: 33 });
    // somebody already placed keeps the place (not refused)
    const again = await app.inject({
      method: 'POST',
      url: `/api/sales/${sale}/queue`,
      headers: { authorization: `Bearer ${placed[0]!.json().ticket}` },
      payload: {},
    });
    expect(again.statusCode).toBe(200);
    // a raised cap takes joins again
    expect((await patch(app, sale, { maxQueue: 8 })).statusCode).toBe(200);
    expect((await join(app, sale)).statusCode).toBe(201);
    expect((await join(app, sale)).statusCode).toBe(409);
  });
});

describe('attacks on the settings: bad values change nothing', () => {
  it('answers 400 with a code for bad flow values and negative or fractional maxQueue, leaving the sale as it was', async () => {
    const app = h.app();
    const sale = await createSale(app);
    const before = (await app.inject({ url: `/api/admin/sales/${sale}`, headers: adminHeaders })).json();
    for (const payload of [
      { flow: 'QUEUE' },
      { flow: 'bogus' },
      { flow: '' },
      { flow: 1 },
      { flow: null },
      { flow: ['standby'] },
      { maxQueue: -1 },
      { maxQueue: 1.5 },
      { maxQueue: 'ten' },
      { maxQueue: 1e12 },
      { flow: 'standby', maxQueue: -5 },
    ]) {
      const r = await patch(app, sale, payload);
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().code).toBe('VALIDATION_FAILED');
    }
    const after = (await app.inject({ url: `/api/admin/sales/${sale}`, headers: adminHeaders })).json();
    expect(after).toEqual(before);
    expect(await redis.hget(app.keyspace.sale(sale).config, 'flow')).toBe('queue');

    const created = await app.inject({
      method: 'POST',
      url: '/api/admin/sales',
      headers: adminHeaders,
      payload: { id: `${sale}-x`, name: 'x', stock: 1, startsAt: new Date().toISOString(), ratePerMinute: 1, flow: 'open' },
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().code).toBe('VALIDATION_FAILED');
    expect((await app.inject({ url: `/api/admin/sales/${sale}-x`, headers: adminHeaders })).statusCode).toBe(404);
  });
});
