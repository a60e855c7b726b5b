import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, createSale, type Harness } from '../../support/harness.js';

/**
 * Issue 12 item 6: new identities were free by default (RATE_LIMIT_PER_IP=0: one client took
 * 2,341 places a second), and with the limit on it counted per sale: identities minted on one
 * sale then joined another with their sealed cookie (`vr_vid`) past the spent budget. Now every
 * join that may create a new place (no valid ticket of that very sale) counts against its
 * address across sales, the limit is on by default, and turning it off is loud.
 */
/** RATE_LIMIT_PER_IP's default, as README.md documents it */
const DEFAULT_NEW_PLACES_PER_IP = 300;

async function joinFrom(app: FastifyInstance, saleId: string, remoteAddress: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url: `/api/sales/${saleId}/queue`, payload: {}, remoteAddress, headers });
  const cookies = Object.fromEntries((res.cookies as { name: string; value: string }[]).map((c) => [c.name, c.value]));
  return { status: res.statusCode, body: res.json(), cookies };
}

const waiting = async (app: FastifyInstance, saleId: string) =>
  (await app.inject({ url: `/api/sales/${saleId}` })).json().waiting as number;

/** the limits count in fixed one-minute windows: start a test well inside one, so it meets only one */
async function awayFromAMinuteBoundary(roomMs: number): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 60_000 - roomMs) await new Promise((r) => setTimeout(r, 60_000 - into + 100));
}

for (const store of ['redis', 'memory'] as const) {
  describe(`issue 12 item 6: identities minted on another sale joined past the address budget (${store} store)`, () => {
    const PER_IP = 5;
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness({ RATE_LIMIT_PER_IP: String(PER_IP), RATE_LIMIT_STORE: store });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('a sealed cookie or a ticket of sale A gets no new place in sale B once the address spent its budget', async () => {
      await awayFromAMinuteBoundary(20_000);
      const app = h.app();
      const a = await createSale(app, { startsInMs: 3_600_000 });
      const b = await createSale(app, { startsInMs: 3_600_000 });
      const bot = '198.51.100.23';
      const minted = [];
      for (let i = 0; i < PER_IP; i++) {
        const j = await joinFrom(app, a, bot);
        expect(j.status).toBe(201);
        minted.push(j);
      }
      expect((await joinFrom(app, a, bot)).status).toBe(429);
      for (const m of minted) {
        const withCookie = await joinFrom(app, b, bot, { cookie: `vr_vid=${m.cookies.vr_vid}` });
        expect(withCookie.status).toBe(429);
        expect(withCookie.body.code).toBe('RATE_LIMITED');
        const withTicket = await joinFrom(app, b, bot, { authorization: `Bearer ${m.body.ticket}` });
        expect(withTicket.status).toBe(429);
      }
      expect(await waiting(app, b)).toBe(0);
      // what a shopper already holds is not a new place: its own ticket still answers, over budget
      const holder = await joinFrom(app, a, bot, { authorization: `Bearer ${minted[0]!.body.ticket}` });
      expect(holder.status).toBe(200);
      expect(holder.body.visitorId).toBe(minted[0]!.body.visitorId);
      // another address is not this one's bucket
      expect((await joinFrom(app, b, '198.51.100.24', { cookie: `vr_vid=${minted[1]!.cookies.vr_vid}` })).status).toBe(201);
      expect(await waiting(app, b)).toBe(1);
    }, 120_000);
  });
}

describe('issue 12 item 6: one address minted unbounded new places with the default config', () => {
  let h: Harness;
  beforeAll(async () => {
    // '' is unset: the gateway's own default
    h = await createHarness({ RATE_LIMIT_PER_IP: '' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`places at most ${DEFAULT_NEW_PLACES_PER_IP} a minute for one address, across sales, and refuses the rest with 429`, async () => {
    await awayFromAMinuteBoundary(40_000);
    const app = h.app();
    const sales = [await createSale(app, { startsInMs: 3_600_000 }), await createSale(app, { startsInMs: 3_600_000 })];
    const answers: number[] = [];
    for (let i = 0; i < DEFAULT_NEW_PLACES_PER_IP + 40; i++) answers.push((await joinFrom(app, sales[i % 2]!, '192.0.2.77')).status);
    expect(answers.filter((s) => s === 201)).toHaveLength(DEFAULT_NEW_PLACES_PER_IP);
    expect(answers.slice(DEFAULT_NEW_PLACES_PER_IP)).toEqual(new Array(40).fill(429));
    expect((await waiting(app, sales[0]!)) + (await waiting(app, sales[1]!))).toBe(DEFAULT_NEW_PLACES_PER_IP);
    expect(h.config.rateLimits.perIpPerMinute).toBe(DEFAULT_NEW_PLACES_PER_IP);
  }, 120_000);

  it('says in /readyz details what the per-address limit is, and warns of nothing', async () => {
    const ready = (await h.app().inject({ url: '/readyz' })).json();
    expect(ready.details).toEqual({ newPlacesPerIpPerMinute: DEFAULT_NEW_PLACES_PER_IP, warnings: [] });
  });
});

describe('issue 12 item 6: turning the per-address limit off was silent', () => {
  const logs: string[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ RATE_LIMIT_PER_IP: '0' }, { logStream: { write: (line) => void logs.push(line) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('RATE_LIMIT_PER_IP=0 is warned about at boot and shown in /readyz details', async () => {
    const warned = logs
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40 && l.msg.includes('RATE_LIMIT_PER_IP=0'));
    expect(warned.length).toBeGreaterThanOrEqual(1);
    const ready = await h.app().inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().details.newPlacesPerIpPerMinute).toBe(0);
    expect(ready.json().details.warnings).toEqual([expect.stringContaining('RATE_LIMIT_PER_IP=0')]);
  });
});
