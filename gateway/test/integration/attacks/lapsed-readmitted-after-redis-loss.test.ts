/**
 * Issue 12 item 8: after Redis lost its data, a shopper whose admission had lapsed presented
 * their ticket, was put back at the ticket's (early) score, and was admitted again first in
 * line: the restore path and the recovery knew only PostgreSQL's orders, not who had been let
 * in already. (The loss: every key of this test's prefix deleted, never FLUSHALL.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buy, cleanupRedis, createHarness, createSale, join, me, type Harness, type Joined, until } from '../../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Loses Redis's data, re-publishes, lets the recovery finish (nothing in flight here). */
async function loseRedisAndRecover(sale: string, during: () => Promise<void> = async () => {}): Promise<void> {
  const app = h.app();
  await cleanupRedis(h.prefix);
  await app.admissionLoop.tickAll(); // finds the generation marker gone and re-publishes
  await during();
  const k = app.keyspace.sale(sale);
  await until('the recovery finished', async () => {
    await app.admissionLoop.tickSale(sale);
    return (await app.redis.hget(k.config, 'recovering')) === null;
  });
}

async function admitOne(sale: string, s: Joined): Promise<void> {
  await until('admitted', async () => {
    await h.app().admissionLoop.tickSale(sale);
    return (await me(h.app(), sale, s.ticket)).body.status === 'admitted';
  });
}

describe('issue 12 item 8: after Redis lost its data, shoppers whose admission had expired were admitted again, first in line', () => {
  it('keeps a lapsed admission lapsed, whether the shopper comes back during the recovery or after it', async () => {
    const app = h.app();
    const sale = await createSale(app, { queueMode: 'fifo', stock: 10, maxActive: 1, checkoutSeconds: 3 });
    const early = await join(app, sale);
    const second = await join(app, sale);
    await admitOne(sale, early);
    await until('the first window lapsed', async () => {
      await app.admissionLoop.tickSale(sale);
      return (await me(app, sale, early.ticket)).body.status === 'expired';
    });
    await admitOne(sale, second);
    await until('the second window lapsed', async () => (await me(app, sale, second.ticket)).body.status === 'expired');
    // these two waited behind them all along
    const waiting = [await join(app, sale), await join(app, sale)];
    for (const w of waiting) expect((await me(app, sale, w.ticket)).body.status).toBe('queued');

    await loseRedisAndRecover(sale, async () => {
      // the waiting shoppers and the first lapsed one come back while the sale recovers
      for (const w of waiting) expect((await me(app, sale, w.ticket)).body.status).toBe('queued');
      const back = await me(app, sale, early.ticket);
      expect(back.statusCode).toBe(200);
      expect(back.body.status).toBe('expired');
    });
    // the second one comes back only once admission runs again
    const late = await me(app, sale, second.ticket);
    expect(late.body.status).toBe('expired');
    expect(late.body.position).toBeNull();

    // admission goes on: the waiting shoppers first, not the two whose turns lapsed
    await admitOne(sale, waiting[0]!);
    for (const s of [early, second]) expect((await me(app, sale, s.ticket)).body.status).toBe('expired');
  }, 120_000);

  it('gives a shopper whose admission was still live that admission back, token and all, once the stock is known again', async () => {
    const app = h.app();
    const sale = await createSale(app, { queueMode: 'fifo', stock: 10, maxActive: 1, checkoutSeconds: 120 });
    const holder = await join(app, sale);
    const next = await join(app, sale);
    await admitOne(sale, holder);
    const token = (await me(app, sale, holder.ticket)).body.admission.token as string;

    await loseRedisAndRecover(sale, async () => {
      // nobody may buy before the stock is known again: back in line, not admitted, meanwhile
      expect((await me(app, sale, holder.ticket)).body.status).toBe('queued');
    });
    // the end of the recovery gives the admission back (finish-recovery.lua)
    const back = await me(app, sale, holder.ticket);
    expect(back.body.status).toBe('admitted');
    expect(back.body.admission.token).toBe(token);
    // the one behind is still behind: the restored admission holds the only place
    await app.admissionLoop.tickSale(sale);
    expect((await me(app, sale, next.ticket)).body.status).toBe('queued');
    expect((await buy(app, sale, token)).statusCode).toBe(202);
  }, 120_000);
});
