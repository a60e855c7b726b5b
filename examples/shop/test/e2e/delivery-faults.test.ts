/**
 * End to end, the shop being told (I7) through faults: the shop's endpoint answering 503 for
 * 20 s in the middle of a sale, and the order worker SIGKILLed (twice) while deliveries are
 * being retried and payment deadlines fall due. Afterwards every event the log holds reached
 * the shop, in order per order; nothing was cancelled or returned twice; the sale's `sold`
 * matches its orders. The worker retries with small settings so it recovers in seconds.
 */
import { saleKeys } from '@velvet-rope/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis } from '../../../../gateway/test/support/harness.js';
import { joinPayingShoppers, payingJourney, type PayPlan } from './support/paying-shopper.js';
import { eventsOfSale, loggedEvents, outOfOrder, shopFigures, waitUntilAllDelivered } from './support/shop-told.js';
import { sleep, startStack, waitFor, type Stack } from './support/stack.js';

let stack: Stack;

beforeAll(async () => {
  // a compressed schedule: retries every 2 s at most, and enough of them to outlast the 20 s outage
  stack = await startStack({ workerEnv: { WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '2000', WEBHOOK_MAX_ATTEMPTS: '200' } });
});

afterAll(async () => {
  await stack?.close();
});

async function outage(seconds: number): Promise<void> {
  const r = await stack.shopApi('POST', '/api/test/outage', { seconds });
  expect(r.status).toBe(200);
}

async function countOrders(saleId: string, where = 'true'): Promise<number> {
  const { rows } = await stack.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND ${where}`, [saleId]);
  return Number(rows[0]!.n);
}

/** every delivery Velvet Rope logged for the sale arrived at the shop, once, and in order per order */
async function expectAllArrived(saleId: string) {
  const logged = await loggedEvents(stack, saleId);
  expect(logged.filter((d) => d.status !== 'delivered')).toEqual([]);
  const f = await shopFigures(stack);
  const events = eventsOfSale(f, saleId);
  expect(new Set(events.map((e) => e.webhookId))).toEqual(new Set(logged.map((d) => d.event_id)));
  expect(events.length).toBe(logged.length);
  expect(outOfOrder(events)).toEqual([]);
  expect(f.badSignatures).toBe(0);
  return { logged, events, figures: f };
}

describe('the shop told through faults', () => {
  it('the shop’s endpoint down for 20 s mid-sale: every event arrives afterwards, in order per order', async () => {
    const saleId = await stack.createSale({ stock: 40, paymentSeconds: 3, queueMode: 'fifo', ratePerMinute: 600 });
    const plans: PayPlan[] = Array.from({ length: 120 }, (_, i) => (i % 10 === 0 ? 'never' : i % 10 <= 2 ? 'decline' : 'pay'));
    const shoppers = await joinPayingShoppers(stack, saleId, plans, 8);
    const deadline = Date.now() + 120_000;
    const journeys = Promise.all(shoppers.map((s) => payingJourney(stack, saleId, s, deadline, { maxPollMs: 500 })));

    // mid-sale: once the shop has heard of the first orders, it goes down for 20 s
    await waitFor('the first events at the shop', async () => eventsOfSale(await shopFigures(stack), saleId).length >= 3, 60_000);
    await outage(20);
    const downAt = new Date();
    const upAt = new Date(downAt.getTime() + 20_000);
    const heardBefore = eventsOfSale(await shopFigures(stack), saleId).length;
    await journeys;
    expect(shoppers.filter((s) => s.end === 'timed_out').length).toBe(0);
    // the outage did not hold up the sale: orders were paid while the shop's endpoint was down
    const paidDuring = await countOrders(
      saleId,
      `status = 'paid' AND paid_at BETWEEN '${downAt.toISOString()}' AND '${upAt.toISOString()}'`,
    );
    expect(paidDuring).toBeGreaterThan(0);

    await sleep(Math.max(0, upAt.getTime() - Date.now()));
    await waitUntilAllDelivered(stack);
    const { events, figures, logged } = await expectAllArrived(saleId);
    // the endpoint really was down and was retried: refusals seen, events that waited arrived after it came up
    expect(figures.refusedDuringOutage).toBeGreaterThan(0);
    const afterwards = events.filter((e) => new Date(e.receivedAt) >= upAt);
    expect(afterwards.length).toBeGreaterThan(0);
    const { rows } = await stack.db.pool.query<{ retried: string; max_attempts: number }>(
      `SELECT count(*) FILTER (WHERE attempts > 1) AS retried, max(attempts) AS max_attempts
         FROM webhook_deliveries WHERE (body::jsonb -> 'data' ->> 'saleId') = $1`,
      [saleId],
    );
    expect(Number(rows[0]!.retried)).toBeGreaterThan(0);
    expect(await countOrders(saleId, "status = 'paid'")).toBe(40);
    process.stdout.write(
      `e2e outage: shop down 20 s after ${heardBefore} events; ${paidDuring} orders paid meanwhile; ` +
        `${figures.refusedDuringOutage} deliveries answered 503; ${afterwards.length} of ${events.length} events arrived after it came up ` +
        `(${logged.length} logged, ${rows[0]!.retried} retried, at most ${rows[0]!.max_attempts} attempts); none out of order\n`,
    );
  });

  it('the worker SIGKILLed while deliveries and payment deadlines are due: nothing lost, nothing cancelled twice', async () => {
    const STOCK = 30;
    const saleId = await stack.createSale({ stock: STOCK, paymentSeconds: 6, queueMode: 'fifo', ratePerMinute: 6_000 });
    // deliveries pile up, retried, while the shop is down
    await outage(600);
    // a third decline (the shop cancels at once), the rest walk away (their deadlines lapse)
    const plans: PayPlan[] = Array.from({ length: STOCK }, (_, i) => (i % 3 === 0 ? 'decline' : 'never'));
    const shoppers = await joinPayingShoppers(stack, saleId, plans, 8);
    await Promise.all(shoppers.map((s) => payingJourney(stack, saleId, s, Date.now() + 60_000, { maxPollMs: 300 })));
    expect(shoppers.map((s) => s.end).sort()).toEqual(plans.map((p) => (p === 'decline' ? 'declined' : 'walked_away')).sort());
    await waitFor('deliveries retried', async () => {
      const { rows } = await stack.db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM webhook_deliveries WHERE attempts > 0 AND status IN ('pending', 'delivering')",
      );
      return Number(rows[0]!.n) > 0;
    });

    // first kill: deliveries being retried, every deadline still ahead
    expect(await countOrders(saleId, "status = 'confirmed'")).toBeGreaterThan(0);
    await stack.worker.stop('SIGKILL');
    // the deadlines fall due with no worker running
    await waitFor(
      'every deadline passed',
      async () => (await countOrders(saleId, "status = 'confirmed' AND payment_due_at > now()")) === 0,
      30_000,
    );
    expect(await countOrders(saleId, "status = 'confirmed'")).toBeGreaterThan(0);

    // a worker again; killed once more as soon as it has started cancelling
    await stack.startWorker();
    await waitFor('the sweeper cancelling', async () => (await countOrders(saleId, "cancel_reason = 'payment_timeout'")) > 0, 30_000, 20);
    await stack.worker.stop('SIGKILL');
    await stack.startWorker();
    await outage(0);

    await waitFor('every lapsed order cancelled', async () => (await countOrders(saleId, "status = 'confirmed'")) === 0, 60_000);
    await waitFor('every return applied', async () => (await countOrders(saleId, 'units_returned_at IS NULL')) === 0, 60_000);
    await waitUntilAllDelivered(stack);

    // nothing cancelled twice: each order once, with its reason; sold matches the orders; every unit back once
    const { rows: orders } = await stack.db.pool.query<{ status: string; cancel_reason: string | null; n: string }>(
      'SELECT status, cancel_reason, count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY 1, 2 ORDER BY 1, 2',
      [saleId],
    );
    const declines = plans.filter((p) => p === 'decline').length;
    expect(orders).toEqual([
      { status: 'cancelled', cancel_reason: 'payment_timeout', n: String(STOCK - declines) },
      { status: 'cancelled', cancel_reason: 'shop', n: String(declines) },
    ]);
    const { rows: sale } = await stack.db.pool.query<{ sold: number; paid: number }>('SELECT sold, paid FROM sales WHERE id = $1', [
      saleId,
    ]);
    expect(sale[0]).toEqual({ sold: 0, paid: 0 });
    const redis = await testRedis();
    try {
      expect(Number(await redis.get(saleKeys(saleId, stack.prefix).stock))).toBe(STOCK);
    } finally {
      redis.disconnect();
    }
    // nothing lost: every event logged reached the shop; one order.cancelled per order, in order
    const { logged, events } = await expectAllArrived(saleId);
    const cancelledPerOrder = new Map<string, number>();
    for (const d of logged.filter((l) => l.event_type === 'order.cancelled'))
      cancelledPerOrder.set(d.event_id, (cancelledPerOrder.get(d.event_id) ?? 0) + 1);
    expect(cancelledPerOrder.size).toBe(STOCK);
    expect([...cancelledPerOrder.values()].every((n) => n === 1)).toBe(true);
    expect(events.filter((e) => e.type === 'order.confirmed').length).toBe(STOCK);
    expect(events.filter((e) => e.type === 'order.cancelled').length).toBe(STOCK);
    process.stdout.write(
      `e2e worker killed: ${STOCK} orders, ${declines} declined, ${STOCK - declines} lapsed across two SIGKILLs; ` +
        `${logged.length} deliveries, all arrived, one order.cancelled each; Redis stock back to ${STOCK}\n`,
    );
  });
});
