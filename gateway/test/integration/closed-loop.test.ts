import { connect as amqpConnect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/admission/closed-loop.js';
import { adminHeaders, AMQP_URL, createHarness, createSale, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** on a confirm channel: messages a channel closes on unconfirmed may never reach a quorum queue */
async function withChannel(fn: (ch: import('amqplib').ConfirmChannel) => Promise<void>) {
  const conn = await amqpConnect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  await fn(ch);
  await ch.waitForConfirms();
  await conn.close();
}

describe('closed-loop admission', () => {
  it('lowers the rate while the orders queue backs up and raises it again once it drains', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 6_000, stock: 100_000, maxActive: 100_000 });
    const on = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${sale}`,
      headers: adminHeaders,
      payload: { adaptiveRate: true, minRatePerMinute: 600 },
    });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({ adaptiveRate: true, minRatePerMinute: 600 });
    const stats = async () => (await app.inject({ url: `/api/admin/sales/${sale}/stats`, headers: adminHeaders })).json();
    expect((await stats()).effectiveRatePerMinute).toBe(6_000);

    // a worker that cannot keep up: the queue holds more than the high-water mark
    await withChannel(async (ch) => {
      for (let i = 0; i < DEFAULT_LIMITS.queueHigh + 500; i++) ch.sendToQueue(h.queue, Buffer.from('{}'));
    });
    expect(await app.publisher.queueDepth()).toBeGreaterThan(DEFAULT_LIMITS.queueHigh);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await app.admissionLoop.tickSale(sale);
      seen.push((await stats()).effectiveRatePerMinute);
      await sleep(1_050);
    }
    expect(seen.at(-1)).toBeLessThan(6_000);
    expect(seen.at(-1)).toBeGreaterThanOrEqual(600);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen); // only ever down while it lasts

    await withChannel((ch) => ch.purgeQueue(h.queue).then(() => undefined));
    const low = seen.at(-1)!;
    for (let i = 0; i < 3; i++) {
      await sleep(1_050);
      await app.admissionLoop.tickSale(sale);
    }
    expect((await stats()).effectiveRatePerMinute).toBeGreaterThan(low);
    // the tick broadcasts and the public sale show the rate in force
    expect((await app.inject({ url: `/api/sales/${sale}` })).json().ratePerMinute).toBe((await stats()).effectiveRatePerMinute);
  });
});
