/**
 * Turns freed when the page is gone (issue 16 item 3): two gateways sharing Redis, shoppers'
 * pages as real socket.io clients on either. A turn is kept while any page of the shopper is
 * open on any gateway, freed (given to the next shopper) once all stayed closed past the
 * grace; a shopper who never opened a socket keeps the whole checkout window; a purchase
 * racing the freeing has exactly one outcome. Ticks are driven by hand.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buy, createHarness, createSale, join, me, reportFunnel, sleep, testRedis, type Harness, type Joined } from '../support/harness.js';

const GRACE_SECONDS = 1;

let h: Harness;
let gateways: FastifyInstance[];
let bases: string[];
const sockets: Socket[] = [];

beforeAll(async () => {
  h = await createHarness({ ABANDON_GRACE_SECONDS: String(GRACE_SECONDS) });
  await h.addGateway();
  gateways = h.apps;
  bases = [];
  for (const app of gateways) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    bases.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
  }
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

/** a page of the shopper on gateway `g`, connected */
async function openPage(g: number, ticket: string): Promise<Socket> {
  const socket = connect(bases[g]!, { auth: { ticket }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`not reached: ${what}`);
}

async function redisOf<T>(f: (r: Awaited<ReturnType<typeof testRedis>>) => Promise<T>): Promise<T> {
  const r = await testRedis();
  try {
    return await f(r);
  } finally {
    r.disconnect();
  }
}

const keys = (saleId: string) => h.app().keyspace.sale(saleId);
const openSockets = (saleId: string, visitorId: string) =>
  redisOf(async (r) => Number.parseInt((await r.hget(keys(saleId).presence, visitorId)) ?? '0', 10));
const goneSince = (saleId: string, visitorId: string) => redisOf((r) => r.zscore(keys(saleId).presenceGone, visitorId));
const counters = (saleId: string) =>
  redisOf(async (r) => {
    const [freed, walked] = await r.hmget(keys(saleId).state, 'freedTotal', 'walkedAwayTotal');
    // the report's counts as the marketer reads them (moved to PostgreSQL each second)
    const funnel = await reportFunnel(h.app(), saleId);
    return {
      freed: Number(freed ?? 0),
      walkedAway: Number(walked ?? 0),
      reportFreed: funnel.freed,
      reportWalked: funnel.walkedAway,
    };
  });
const status = async (saleId: string, s: Joined) =>
  (await me(h.app(), saleId, s.ticket)).body as { status: string; admission?: { token: string } };

/** the shoppers' turns: everyone joined is admitted (the sale's rate and stock let them all in) */
async function admitAll(saleId: string, shoppers: Joined[]): Promise<string[]> {
  await h.app().admissionLoop.tickSale(saleId);
  await sleep(30);
  await h.app().admissionLoop.tickSale(saleId);
  const tokens: string[] = [];
  for (const s of shoppers) {
    const st = await status(saleId, s);
    expect(st.status).toBe('admitted');
    tokens.push(st.admission!.token);
  }
  return tokens;
}

/** ticks past the grace (Redis's clock decides; the wait is only to let it pass) */
async function tickPastGrace(saleId: string): Promise<void> {
  await sleep(GRACE_SECONDS * 1_000 + 300);
  await h.app().admissionLoop.tickSale(saleId);
}

describe('turns freed when the page is gone', () => {
  it('keeps the turn while one of two tabs on two gateways is open, frees it once both stayed closed past the grace', async () => {
    const saleId = await createSale(h.app(), { stock: 10, ratePerMinute: 600_000, checkoutSeconds: 60 });
    const [shopper] = [await join(h.app(), saleId)];
    const tabA = await openPage(0, shopper!.ticket);
    const tabB = await openPage(1, shopper!.ticket);
    await until('both tabs counted', async () => (await openSockets(saleId, shopper!.visitorId)) === 2);
    const [token] = await admitAll(saleId, [shopper!]);

    // one tab closes: the other still holds the turn, whatever the wait
    tabA.close();
    await until('one tab counted', async () => (await openSockets(saleId, shopper!.visitorId)) === 1);
    expect(await goneSince(saleId, shopper!.visitorId)).toBeNull();
    await tickPastGrace(saleId);
    expect((await status(saleId, shopper!)).status).toBe('admitted');
    expect((await counters(saleId)).freed).toBe(0);

    // the other closes too: freed once the grace passed
    tabB.close();
    await until('all pages gone', async () => (await goneSince(saleId, shopper!.visitorId)) !== null);
    await until('turn freed', async () => {
      await h.app().admissionLoop.tickSale(saleId);
      return (await status(saleId, shopper!)).status === 'expired';
    });
    expect(await counters(saleId)).toMatchObject({ freed: 1, reportFreed: 1, walkedAway: 0 });
    // its share went back: nobody holds an admission, the unit is still for sale
    const live = await h.app().sales.live(saleId);
    expect(live).toMatchObject({ admitted: 0, remaining: 10 });
    // the token is refused as an expired admission's would be
    const refused = await buy(h.app(), saleId, token!);
    expect(refused.statusCode).toBe(401);
    expect(refused.body.code).toBe('TOKEN_EXPIRED');
    // the shopper who comes back may join again, at the back, as after any lapsed turn
    const back = await h.app().inject({
      method: 'POST',
      url: `/api/sales/${saleId}/queue`,
      headers: { authorization: `Bearer ${shopper!.ticket}` },
      payload: {},
    });
    expect(back.statusCode).toBe(201);
  });

  it('a page that comes back within the grace keeps the turn', async () => {
    const saleId = await createSale(h.app(), { stock: 10, ratePerMinute: 600_000, checkoutSeconds: 60 });
    const shopper = await join(h.app(), saleId);
    const tab = await openPage(0, shopper.ticket);
    await until('tab counted', async () => (await openSockets(saleId, shopper.visitorId)) === 1);
    await admitAll(saleId, [shopper]);
    tab.close();
    await until('page gone', async () => (await goneSince(saleId, shopper.visitorId)) !== null);
    // a reload, on the other gateway
    await openPage(1, shopper.ticket);
    await until('page back', async () => (await goneSince(saleId, shopper.visitorId)) === null);
    await tickPastGrace(saleId);
    expect((await status(saleId, shopper)).status).toBe('admitted');
    expect((await counters(saleId)).freed).toBe(0);
  });

  it('a shopper who never opened a socket (a polling client) keeps the whole checkout window', async () => {
    const saleId = await createSale(h.app(), { stock: 10, ratePerMinute: 600_000, checkoutSeconds: 60 });
    const poller = await join(h.app(), saleId);
    await admitAll(saleId, [poller]);
    await tickPastGrace(saleId);
    await tickPastGrace(saleId);
    expect((await status(saleId, poller)).status).toBe('admitted');
    expect(await openSockets(saleId, poller.visitorId)).toBe(0);
    expect(await goneSince(saleId, poller.visitorId)).toBeNull();
    expect((await counters(saleId)).freed).toBe(0);
  });

  it('counts a waiting shopper whose page is gone as walked away once, and frees their turn a grace after it comes', async () => {
    // the pre-queue: nobody is admitted until the start is brought forward
    const saleId = await createSale(h.app(), { stock: 10, ratePerMinute: 600_000, checkoutSeconds: 60, startsInMs: 600_000 });
    const shopper = await join(h.app(), saleId);
    const tab = await openPage(1, shopper.ticket);
    await until('tab counted', async () => (await openSockets(saleId, shopper.visitorId)) === 1);
    tab.close();
    await until('page gone', async () => (await goneSince(saleId, shopper.visitorId)) !== null);
    await tickPastGrace(saleId);
    await tickPastGrace(saleId);
    expect(await counters(saleId)).toMatchObject({ walkedAway: 1, reportWalked: 1, freed: 0 });
    expect(await goneSince(saleId, shopper.visitorId)).toBeNull();

    const moved = await h.app().inject({
      method: 'PATCH',
      url: `/api/admin/sales/${saleId}`,
      headers: { authorization: `Bearer ${h.config.adminApiKey}` },
      payload: { startsAt: new Date(Date.now() - 1_000).toISOString() },
    });
    expect(moved.statusCode).toBe(200);
    const beforeAdmission = Date.now();
    await admitAll(saleId, [shopper]);
    // admitted while gone: the grace counts from the admission
    expect(Number(await goneSince(saleId, shopper.visitorId))).toBeGreaterThanOrEqual(beforeAdmission - 1_000);
    await until('turn freed', async () => {
      await h.app().admissionLoop.tickSale(saleId);
      return (await status(saleId, shopper)).status === 'expired';
    });
    // counted once as walked away, once as a freed turn
    expect(await counters(saleId)).toMatchObject({ walkedAway: 1, freed: 1, reportFreed: 1, reportWalked: 1 });
  });

  it('a purchase right at the freeing: either the order or the freeing, never both', async () => {
    const N = 12;
    const saleId = await createSale(h.app(), { stock: 100, ratePerMinute: 600_000, checkoutSeconds: 60 });
    const shoppers: Joined[] = [];
    for (let i = 0; i < N; i++) shoppers.push(await join(h.app(), saleId));
    const pages = await Promise.all(shoppers.map((s, i) => openPage(i % 2, s.ticket)));
    await until('pages counted', async () => {
      const counts = await Promise.all(shoppers.map((s) => openSockets(saleId, s.visitorId)));
      return counts.every((c) => c === 1);
    });
    const tokens = await admitAll(saleId, shoppers);
    for (const p of pages) p.close();
    await until('pages gone', async () => {
      const since = await Promise.all(shoppers.map((s) => goneSince(saleId, s.visitorId)));
      return since.every((x) => x !== null);
    });
    await sleep(GRACE_SECONDS * 1_000 + 100);
    // every purchase and the leader's tick at once, on both gateways
    const [purchases] = await Promise.all([
      Promise.all(tokens.map((t, i) => buy(gateways[i % 2]!, saleId, t))),
      h.app().admissionLoop.tickSale(saleId),
    ]);
    await h.app().admissionLoop.tickSale(saleId);

    const ordered = purchases.filter((p) => p.statusCode === 202);
    const refused = purchases.filter((p) => p.statusCode !== 202);
    for (const r of refused) expect(r).toMatchObject({ statusCode: 401, body: { code: 'TOKEN_EXPIRED' } });
    const states = await Promise.all(shoppers.map((s) => status(saleId, s)));
    purchases.forEach((p, i) => expect(states[i]!.status).toBe(p.statusCode === 202 ? 'ordered' : 'expired'));
    const c = await counters(saleId);
    // each turn either bought (the unit taken) or freed (the unit still for sale): never both
    expect(c.freed).toBe(refused.length);
    expect(ordered.length + c.freed).toBe(N);
    expect(await h.app().sales.live(saleId)).toMatchObject({ admitted: 0, remaining: 100 - ordered.length });
    process.stdout.write(`purchase at the freeing: ${ordered.length} ordered, ${c.freed} freed\n`);
  });
});
