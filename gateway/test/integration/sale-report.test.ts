/**
 * The sale report's counters: counted by the Lua scripts where each funnel step happens, moved
 * to PostgreSQL by the admission leader without losing or doubling a count when a step fails,
 * and answered by `GET /api/admin/sales/:saleId/report` (JSON and CSV).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCommands } from '../../src/redis/commands.js';
import { ReportRecorder } from '../../src/report/report-recorder.js';
import { adminHeaders, buy, createHarness, createSale, join, me, sleep, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const FIGURES = { ratePerMinute: 600, waiting: 0, remaining: 0 };

/** moves the sale's counters to PostgreSQL as the leader does each second */
async function flushReport(app: FastifyInstance, saleId: string): Promise<void> {
  await new ReportRecorder(new RedisCommands(app.redis, app.keyspace), app.pg).record(saleId, FIGURES);
}

async function report(app: FastifyInstance, saleId: string, query = '') {
  return app.inject({ method: 'GET', url: `/api/admin/sales/${saleId}/report${query}`, headers: adminHeaders });
}

async function tick(app: FastifyInstance, saleId: string, times = 1) {
  for (let i = 0; i < times; i++) {
    await app.admissionLoop.tickSale(saleId);
    await sleep(20);
  }
}

describe('the sale report', () => {
  it('counts each funnel step once, where it happens', async () => {
    const app = h.app();
    const saleId = await createSale(app, { stock: 3, checkoutSeconds: 1, queueMode: 'fifo', ratePerMinute: 60_000 });
    const shoppers = [];
    for (let i = 0; i < 7; i++) shoppers.push(await join(app, saleId));
    // the same shopper joining again takes no new place
    await app.inject({
      method: 'POST',
      url: `/api/sales/${saleId}/queue`,
      headers: { authorization: `Bearer ${shoppers[0]!.ticket}` },
      payload: {},
    });
    await tick(app, saleId, 3);
    const states = await Promise.all(shoppers.map(async (s) => (await me(app, saleId, s.ticket)).body));
    const admitted = states.flatMap((s, i) => (s.status === 'admitted' ? [i] : []));
    expect(admitted).toEqual([0, 1, 2]);
    // two buy, one lets the turn lapse
    for (const i of [0, 1]) expect((await buy(app, saleId, states[i].admission.token)).statusCode).toBe(202);
    await sleep(1_200);
    await tick(app, saleId, 3);
    // the lapse gave its share back: the next one is admitted and buys the last unit
    const next = (await me(app, saleId, shoppers[3]!.ticket)).body;
    expect(next.status).toBe('admitted');
    expect((await buy(app, saleId, next.admission.token)).statusCode).toBe(202);
    await tick(app, saleId, 2);
    // sold out: the three still waiting are told so, once
    await tick(app, saleId, 2);
    await flushReport(app, saleId);

    const res = await report(app, saleId);
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r.funnel).toEqual({ joined: 7, admitted: 4, bought: 3, walkedAway: 0, lapsed: 1, toldSoldOut: 3, refused: 0 });
    expect(r.conversion).toBeCloseTo(0.75);
    expect(r.sellOut.soldOutAt).not.toBeNull();
    expect(r.timeInQueue.overall.count).toBe(4);
    expect(r.series.reduce((n: number, p: { arrivals: number }) => n + p.arrivals, 0)).toBe(7);

    // Redis forgets the sale's state (a data loss) while a shopper is back in the queue: the
    // sale is seen sold out again, but nobody is told twice
    const k = app.keyspace.sale(saleId);
    await app.redis.hdel(k.state, 'reportClosedAt');
    await app.redis.zadd(k.queue, 99, 'came-back');
    await tick(app, saleId, 2);
    // the three told before are still in the queue (told, not removed), and the one come back
    expect(await app.redis.hget(k.report, 'toldSoldOut')).toBe('4');
    await flushReport(app, saleId);
    const again = (await report(app, saleId)).json();
    expect(again.funnel.toldSoldOut).toBe(3);
    expect(again.sellOut.soldOutAt).toBe(r.sellOut.soldOutAt);
  });

  it('counts joins refused by proof of work, in the script and before it, but not a join asked for its first proof', async () => {
    const app = h.app();
    const saleId = await createSale(app);
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${saleId}`,
      headers: adminHeaders,
      payload: { powDifficulty: 8 },
    });
    expect(patched.statusCode).toBe(200);
    const joinWith = (proof: string) =>
      app.inject({ method: 'POST', url: `/api/sales/${saleId}/queue`, headers: { 'x-proof-of-work': proof }, payload: {} });
    const challenge = async () => (await app.inject({ method: 'GET', url: `/api/sales/${saleId}/challenge` })).json().challenge as string;
    const bits = (c: string, solution: string) => {
      const d = createHash('sha256').update(`${c}:${solution}`).digest();
      let n = 0;
      for (const byte of d) {
        if (byte === 0) {
          n += 8;
          continue;
        }
        n += Math.clz32(byte) - 24;
        break;
      }
      return n;
    };
    const solve = (c: string, enough: boolean) => {
      for (let i = 0; ; i++) if (bits(c, `s${i}`) >= 8 === enough) return `${c}:s${i}`;
    };
    // no proof: the page's first try, asked for one (428), not a refusal
    expect((await join(app, saleId)).statusCode).toBe(428);
    // a proof short of the difficulty: refused by the join script
    expect((await joinWith(solve(await challenge(), false))).statusCode).toBe(428);
    // a proof that does not verify: refused by the gateway before the script
    const bad = await joinWith('not-a-proof:1');
    expect(bad.json().code).toBe('POW_INVALID');
    // a sufficient proof takes a place; the same proof again is refused
    const proof = solve(await challenge(), true);
    expect((await joinWith(proof)).statusCode).toBe(201);
    expect((await joinWith(proof)).json()).toMatchObject({ code: 'POW_INVALID', message: 'this proof of work was used already' });
    await app.requestStats.flush();
    await flushReport(app, saleId);
    expect((await report(app, saleId)).json().funnel).toMatchObject({ joined: 1, refused: 3 });
  });

  it('neither loses nor doubles counts when the move fails between its steps', async () => {
    const app = h.app();
    const saleId = await createSale(app);
    for (let i = 0; i < 5; i++) await join(app, saleId);
    const commands = new RedisCommands(app.redis, app.keyspace);
    // the snapshot is taken, then the process dies before PostgreSQL hears of it
    const taken = await commands.reportSnapshot(saleId, 'crashed-before-insert');
    expect(taken?.fields.get('joined')).toBe(5);
    // counted meanwhile: into a fresh hash, not the snapshot
    for (let i = 0; i < 2; i++) await join(app, saleId);
    // the next leader writes the snapshot left over, and only it, then drops it
    const dropFails = Object.assign(Object.create(commands) as RedisCommands, {
      reportDrop: async () => {
        throw new Error('died after the INSERT');
      },
    });
    await expect(new ReportRecorder(dropFails, app.pg).record(saleId, FIGURES)).rejects.toThrow('died after the INSERT');
    // written but not dropped: the same snapshot again is a no-op in PostgreSQL
    await flushReport(app, saleId);
    expect((await report(app, saleId)).json().funnel.joined).toBe(5);
    // then the counts made meanwhile
    await flushReport(app, saleId);
    expect((await report(app, saleId)).json().funnel.joined).toBe(7);
    const { rows } = await app.pg.query('SELECT snapshot_id FROM sale_report_ticks WHERE sale_id = $1', [saleId]);
    expect(rows.map((r) => r.snapshot_id)).toContain('crashed-before-insert');
    expect(rows).toHaveLength(2);
  });

  it('answers the time series as CSV, 404 for an unknown sale and 401 without the key', async () => {
    const app = h.app();
    const saleId = await createSale(app);
    for (let i = 0; i < 3; i++) await join(app, saleId);
    await tick(app, saleId, 2);
    await flushReport(app, saleId);
    const csv = await report(app, saleId, '?format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('minute,at,arrivals,admissions,bought,ratePerMinute,rateSet,requests,errors5xx,queueP50,queueP90,queueP99');
    const arrivals = lines.slice(1).reduce((n, l) => n + Number(l.split(',')[2]), 0);
    expect(arrivals).toBe(3);

    const missing = await report(app, 'no-such-sale');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('SALE_NOT_FOUND');
    const anonymous = await app.inject({ method: 'GET', url: `/api/admin/sales/${saleId}/report` });
    expect(anonymous.statusCode).toBe(401);
    const badFormat = await report(app, saleId, '?format=xml');
    expect(badFormat.statusCode).toBe(400);
  });

  it('records each shopper route’s answers per second, with their latency', async () => {
    const app = h.app();
    const saleId = await createSale(app);
    const s = await join(app, saleId);
    await me(app, saleId, s.ticket);
    await me(app, saleId, s.ticket);
    await app.requestStats.flush();
    const r = (await report(app, saleId)).json();
    const routes = Object.fromEntries(r.endpoints.map((e: { route: string }) => [e.route, e]));
    expect(routes['POST /api/sales/:saleId/queue']).toMatchObject({ requests: 1, errors5xx: 0 });
    expect(routes['GET /api/sales/:saleId/queue/me']).toMatchObject({ requests: 2, errors4xx: 0 });
    expect(routes['GET /api/sales/:saleId/queue/me'].p50).toBeGreaterThan(0);
    expect(r.peakRequestsPerSecond.requests).toBeGreaterThanOrEqual(2);
  });
});
