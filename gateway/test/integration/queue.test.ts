import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, createSale, join, me, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('joining the queue', () => {
  it('answers 201 with a place, then 200 with the same place for the same ticket', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    const first = await join(app, sale);
    expect(first.statusCode).toBe(201);
    expect(first.status).toBe('queued');
    expect(first.position).toBe(1);
    const again = await join(app, sale, { authorization: `Bearer ${first.ticket}` });
    expect(again.statusCode).toBe(200);
    expect(again.visitorId).toBe(first.visitorId);
    expect(again.position).toBe(1);
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.waiting).toBe(1);
  });

  it('keeps the place for a second tab that only has the cookies', async () => {
    const app = h.app();
    // FIFO, so that the place is known: first in, position 1, whoever joins after
    const sale = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    const first = await join(app, sale);
    await join(app, sale); // someone else
    const tab2 = await join(app, sale, {
      cookie: `vr_ticket=${first.cookies.vr_ticket}; vr_vid=${first.cookies.vr_vid}`,
    });
    expect(tab2.statusCode).toBe(200);
    expect(tab2.visitorId).toBe(first.visitorId);
    expect(tab2.position).toBe(1);
    const status = await me(app, sale, first.ticket);
    expect(status.body.position).toBe(1);
  });

  it('keeps one identity across sales through the visitor cookie', async () => {
    const app = h.app();
    const saleA = await createSale(app, { ratePerMinute: 0 });
    const saleB = await createSale(app, { ratePerMinute: 0 });
    const a = await join(app, saleA);
    const b = await join(app, saleB, { cookie: `vr_vid=${a.cookies.vr_vid}` });
    expect(b.statusCode).toBe(201);
    expect(b.visitorId).toBe(a.visitorId);
  });

  it('does not let a forged visitor cookie take somebody else’s place', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    const victim = await join(app, sale);
    const forged = await join(app, sale, { cookie: `vr_vid=${victim.visitorId}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` });
    expect(forged.statusCode).toBe(201);
    expect(forged.visitorId).not.toBe(victim.visitorId);
  });

  it('gives exact positions in score order while the sale is open', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    const joined = [];
    for (let i = 0; i < 20; i++) joined.push(await join(app, sale));
    expect(joined.map((j) => j.position)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const tenth = await me(app, sale, joined[9]!.ticket);
    expect(tenth.statusCode).toBe(200);
    expect(tenth.body).toMatchObject({ status: 'queued', position: 10, waiting: 20 });
    expect(tenth.body.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('tells pollers to come back less often the further back they stand', async () => {
    const app = h.app();
    // 600 per minute: position p is about p / 10 seconds away
    const sale = await createSale(app, { ratePerMinute: 600, queueMode: 'fifo' });
    const joined: Awaited<ReturnType<typeof join>>[] = [];
    for (let i = 0; i < 200; i++) joined.push(await join(app, sale));
    const retry = async (i: number) => (await me(app, sale, joined[i]!.ticket)).body.retryAfterMs as number;
    expect(await retry(0)).toBe(1_000);
    expect(await retry(99)).toBe(5_000); // half of a 10 s ETA
    expect(await retry(199)).toBe(10_000);
    // the whole line's polling: about 2 x rate x ln(length), not one request per shopper per second
    let perSecond = 0;
    for (let i = 0; i < joined.length; i += 10) perSecond += 10 / ((await retry(i)) / 1000);
    expect(perSecond).toBeLessThan(2 * 10 * (Math.log(200) + 1));
  });

  it('shows no position in the pre-queue: the order is drawn at the start', async () => {
    const app = h.app();
    const sale = await createSale(app, { startsInMs: 60_000 });
    const j = await join(app, sale);
    expect(j.statusCode).toBe(201);
    expect(j.status).toBe('prequeue');
    expect(j.position).toBeNull();
    expect(j.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('refuses joins before the pre-queue opens, after the end and once sold out, without queueing', async () => {
    const app = h.app();
    const early = await createSale(app, { startsInMs: 60_000, prequeueOpensInMs: 30_000 });
    const r1 = await app.inject({ method: 'POST', url: `/api/sales/${early}/queue`, payload: {} });
    expect(r1.statusCode).toBe(409);
    expect(r1.json().code).toBe('SALE_NOT_OPEN');

    const over = await createSale(app, { startsInMs: -10_000, endsInMs: -1 });
    const r2 = await app.inject({ method: 'POST', url: `/api/sales/${over}/queue`, payload: {} });
    expect(r2.statusCode).toBe(409);
    expect(r2.json().code).toBe('SALE_ENDED');

    const none = await createSale(app, { stock: 0 });
    const r3 = await app.inject({ method: 'POST', url: `/api/sales/${none}/queue`, payload: {} });
    expect(r3.statusCode).toBe(409);
    expect(r3.json().code).toBe('SOLD_OUT');
    for (const id of [early, over, none]) {
      expect((await app.inject({ url: `/api/sales/${id}` })).json().waiting).toBe(0);
    }
  });

  it('answers 404 SALE_NOT_FOUND for an unknown sale and 400 for a malformed id', async () => {
    const app = h.app();
    const r = await app.inject({ method: 'POST', url: '/api/sales/no-such-sale/queue', payload: {} });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ statusCode: 404, code: 'SALE_NOT_FOUND' });
    const bad = await app.inject({ method: 'POST', url: '/api/sales/bad%7Bid%7D/queue', payload: {} });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
  });

  it('refuses a forged or other-sale ticket on /queue/me with its own code', async () => {
    const app = h.app();
    const saleA = await createSale(app, { ratePerMinute: 0 });
    const saleB = await createSale(app, { ratePerMinute: 0 });
    const a = await join(app, saleA);
    const wrongSale = await me(app, saleB, a.ticket);
    expect(wrongSale.statusCode).toBe(403);
    expect(wrongSale.body.code).toBe('WRONG_SALE');
    const [h1, p1] = a.ticket.split('.');
    const forged = await me(app, saleA, `${h1}.${p1}.AAAA`);
    expect(forged.statusCode).toBe(401);
    expect(forged.body.code).toBe('INVALID_TICKET');
    const none = await app.inject({ url: `/api/sales/${saleA}/queue/me` });
    expect(none.statusCode).toBe(401);
  });

  it('puts a visitor Redis has forgotten back at the score the ticket carries', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    const a = await join(app, sale);
    const b = await join(app, sale);
    const keys = app.keyspace.sale(sale);
    const scoreA = await app.redis.zscore(keys.queue, a.visitorId);
    // what a Redis that lost this visitor looks like
    await app.redis.zrem(keys.queue, a.visitorId);
    await app.redis.hdel(keys.visitors, a.visitorId);
    const status = await me(app, sale, a.ticket);
    expect(status.statusCode).toBe(200);
    expect(await app.redis.zscore(keys.queue, a.visitorId)).toBe(scoreA);
    expect(status.body.position).toBe(a.position);
    expect((await me(app, sale, b.ticket)).body.position).toBe(b.position);
  });
});

describe('requests that arrive together', () => {
  it('share one script call, and each gets its own answer', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    const before = await batchCounts(app);
    // started in the same turn: the gateway sends them to Redis together
    const joined = await Promise.all(Array.from({ length: 40 }, () => join(app, sale)));
    const after = await batchCounts(app);
    expect(after.requests - before.requests).toBe(40);
    expect(after.batches - before.batches, 'fewer script calls than requests').toBeLessThan(40);

    expect(joined.every((j) => j.statusCode === 201)).toBe(true);
    expect(new Set(joined.map((j) => j.visitorId)).size).toBe(40);
    // FIFO: the places are 1..40, one each, and every answer counts the queue after itself
    expect(joined.map((j) => j.position ?? 0).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // every answer counts the queue as it stood after that request
    for (const j of joined as ((typeof joined)[number] & { waiting: number })[]) expect(j.waiting).toBeGreaterThanOrEqual(j.position ?? 0);

    // status and join of other visitors mixed in one batch, an unknown sale in another
    const [s1, s2, again, missing] = await Promise.all([
      me(app, sale, joined[0]!.ticket),
      me(app, sale, joined[39]!.ticket),
      join(app, sale, { authorization: `Bearer ${joined[5]!.ticket}` }),
      join(app, 'no-such-sale-here'),
    ]);
    expect(s1.body.position).toBe(joined[0]!.position);
    expect(s2.body.position).toBe(joined[39]!.position);
    expect(again.statusCode).toBe(200);
    expect(again.position).toBe(joined[5]!.position);
    expect(missing.statusCode).toBe(404);
  });

  it('counts each visitor against their own rate limit inside the batch', async () => {
    const limited = await createHarness({ RATE_LIMIT_STATUS_PER_VISITOR: '3' });
    try {
      const app = limited.app();
      const sale = await createSale(app, { ratePerMinute: 0 });
      const [a, b] = [await join(app, sale), await join(app, sale)];
      const answers = await Promise.all([...Array.from({ length: 5 }, () => me(app, sale, a.ticket)), me(app, sale, b.ticket)]);
      const aCodes = answers.slice(0, 5).map((r) => r.statusCode);
      expect(aCodes.filter((c) => c === 200)).toHaveLength(3);
      expect(aCodes.filter((c) => c === 429)).toHaveLength(2);
      expect(answers.slice(0, 5).find((r) => r.statusCode === 429)?.body.code).toBe('RATE_LIMITED');
      expect(answers[5]!.statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

async function batchCounts(app: ReturnType<Harness['app']>): Promise<{ batches: number; requests: number }> {
  const text = await app.metrics.registry.getSingleMetricAsString('vr_queue_batch_size');
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { batches: value('vr_queue_batch_size_count'), requests: value('vr_queue_batch_size_sum') };
}
