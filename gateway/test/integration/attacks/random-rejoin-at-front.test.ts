/**
 * Issue 12 item 5: in `random` mode a shopper whose admission lapsed re-joined with the same
 * HMAC fraction as before, so the same lucky draw put them at the front again, and again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, createSale, join, me, type Harness } from '../../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('issue 12 item 5: a random-mode shopper whose turn lapsed re-joined at the front', () => {
  it('puts every rejoin behind everyone who was waiting, and keeps them behind when admission goes on', async () => {
    const app = h.app();
    // five shoppers at a time, a three-second checkout window
    const sale = await createSale(app, { queueMode: 'random', stock: 100, maxActive: 5, checkoutSeconds: 3 });
    const lapsing = [];
    for (let i = 0; i < 5; i++) lapsing.push(await join(app, sale));
    for (let i = 0; i < 100; i++) {
      const tick = await app.admissionLoop.tickSale(sale);
      if (tick?.active === 5) break;
      await sleep(50);
    }
    for (const s of lapsing) expect((await me(app, sale, s.ticket)).body.status).toBe('admitted');

    // twenty more wait while the five hold their turns
    const waiting = [];
    for (let i = 0; i < 20; i++) waiting.push(await join(app, sale));
    // the five let their windows lapse (polled: a busy machine may take longer)
    for (let i = 0; i < 100; i++) {
      const states = await Promise.all(lapsing.map((s) => me(app, sale, s.ticket)));
      if (states.every((st) => st.body.status === 'expired')) break;
      await sleep(200);
    }
    for (const s of lapsing) expect((await me(app, sale, s.ticket)).body.status).toBe('expired');

    // they join again: behind all twenty (with the same fraction as before, each of them
    // stood ahead of about half of the twenty; all five behind all twenty by chance: 1 in 53,130)
    const again = [];
    for (const s of lapsing) again.push(await join(app, sale, { authorization: `Bearer ${s.ticket}` }));
    for (const r of again) {
      expect(r.status).toBe('queued');
      expect(r.position).toBeGreaterThan(20);
    }

    // and admission takes the twenty first
    const order: string[] = [];
    const everyone = [...waiting, ...again];
    for (let round = 0; round < 200 && order.length < everyone.length; round++) {
      await app.admissionLoop.tickSale(sale);
      for (const s of everyone) {
        if (order.includes(s.visitorId)) continue;
        const st = await me(app, sale, s.ticket);
        if (st.body.status === 'admitted') order.push(s.visitorId);
      }
      if (order.length < everyone.length) await sleep(250);
    }
    const rejoiners = new Set(again.map((r) => r.visitorId));
    const firstRejoiner = order.findIndex((v) => rejoiners.has(v));
    expect(firstRejoiner).toBeGreaterThanOrEqual(20);
  }, 120_000);
});
