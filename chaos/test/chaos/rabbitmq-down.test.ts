/**
 * Chaos (c): RabbitMQ is stopped for 10 s when about a third of the stock is sold.
 * Purchases answer 503 + Retry-After (never 202 without a broker confirm), admission pauses,
 * and publishing resumes on its own once the broker is back; every 202 ends confirmed and the
 * orders that were reserved but refused with 503 are published by the reconciler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPromises, report, settle } from '../support/promises.js';
import { liveSale, sampleTimeline, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const OUTAGE_MS = 10_000;
let stage: Stage | undefined;

beforeAll(async () => {
  stage = await setUpScenario({ gateways: 1 });
});

afterAll(async () => {
  await tearDownScenario(stage);
});

describe('chaos: RabbitMQ down for 10 s', () => {
  it('answers 503 + Retry-After, never 202 without a confirm, and resumes by itself', async () => {
    const { fleet, run } = stage!;
    const gw = fleet.gateways[0]!;
    await run.open();
    const shopping = run.shop();
    const timeline = sampleTimeline(run);
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    const stopBegan = Date.now();
    await fleet.rabbit.stop();
    const stopped = Date.now();
    // the gateway notices the closed connection at once; admission pauses
    await sleep(1_500);
    const pausedFrom = await liveSale(run, gw);
    await sleep(Math.max(0, stopped + OUTAGE_MS - Date.now()));
    const pausedUntil = await liveSale(run, gw);
    const startBegan = Date.now();
    await fleet.rabbit.start();
    const started = Date.now();

    await shopping;
    const samples = timeline.stop();
    if (process.env.CHAOS_TIMELINE) process.stdout.write(`${samples.join('\n')}\n`);
    const o = await settle(run, 'c RabbitMQ stopped 10 s');
    const during = (t: number) => t >= stopped && t <= startBegan;
    const accepted202During = run.rec.accepted.filter((a) => during(a.answeredAt));
    const purchase503During = run.rec.purchase503.filter((p) => during(p.at)).length;
    const firstAfter = run.rec.accepted.find((a) => a.answeredAt > started);
    report(o, {
      brokerStopMs: stopped - stopBegan,
      brokerRestartMs: started - startBegan,
      outageMs: startBegan - stopped,
      purchase503DuringOutage: purchase503During,
      accepted202DuringOutage: accepted202During.length,
      ordersNamedIn503: run.rec.unavailableOrderIds.size,
      admittedTotalDuringOutage: [pausedFrom?.admittedTotal, pausedUntil?.admittedTotal],
      purchase503AfterRestart: (() => {
        const late = run.rec.purchase503.filter((p) => p.at > started + 3_000);
        const byMsg: Record<string, number> = {};
        for (const p of late) byMsg[`${p.code} ${p.message}`] = (byMsg[`${p.code} ${p.message}`] ?? 0) + 1;
        return { count: late.length, visitors: new Set(late.map((p) => p.visitor)).size, byMsg };
      })(),
      first202AfterRestartMs: firstAfter ? firstAfter.answeredAt - started : null,
    });
    // no 202 without a broker confirm: none while the broker was down
    expect(accepted202During).toEqual([]);
    expect(purchase503During, 'purchases were refused with 503 while the broker was down').toBeGreaterThan(0);
    // admission paused while orders could not be accepted
    expect(pausedUntil?.admittedTotal).toBe(pausedFrom?.admittedTotal);
    // publishing resumed by itself
    expect(firstAfter, 'a 202 after the broker came back').toBeDefined();
    checkPromises(o, fleet.logs);
  });
});
