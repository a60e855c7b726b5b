/**
 * Chaos (issue 18 item 1): Redis answers 200 ms later, each way, for 20 s mid-sale. Every
 * gateway and worker connection to Redis runs through a fault proxy
 * (test-support/fault-proxy.ts) that adds the latency to each chunk: a slow dependency, not a
 * dead one. Nothing may be lost or doubled; answers slow down, and none fails beyond a 503
 * with Retry-After. Every promise is then checked from PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { countByStatus, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const SLOW_MS = 20_000;
const LATENCY_MS = 200;
let stage: Stage | undefined;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 1,
    // each answer takes a Redis round trip longer: enough connections that requests wait at the gateway, not in the test's client
    sale: { connectionsPerGateway: 1_024 },
    wire: async (fleet) => {
      proxy = await FaultProxy.start({ port: Number(new URL(fleet.redis.url).port) });
      const url = proxy.rewrite(fleet.redis.url);
      return (): Record<string, string> => ({ REDIS_URL: url });
    },
  });
});

afterAll(async () => {
  await tearDownScenario(stage);
  await proxy?.close();
});

describe('chaos: Redis 200 ms slower for 20 s', () => {
  it('loses nothing; answers slow down and none fails beyond a 503', async () => {
    const { fleet, run } = stage!;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    proxy!.latency(LATENCY_MS);
    const slowFrom = Date.now();
    await sleep(SLOW_MS);
    proxy!.heal();
    const slowUntil = Date.now();

    await shopping;
    const o = await settle(run, 'Redis 200 ms slower 20 s');
    const during = (t: number) => t >= slowFrom && t <= slowUntil;
    const purchasesDuring = run.rec.purchases.filter((p) => during(p.startedAt));
    const byStatus = countByStatus(purchasesDuring);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
    const before = run.rec.purchases.filter((p) => p.startedAt < slowFrom).map((p) => p.answeredAt - p.startedAt);
    report(o, {
      connectionsThroughProxy: proxy!.stats.accepted,
      purchasesWhileSlow: byStatus,
      accepted202WhileSlow: run.rec.accepted.filter((a) => during(a.answeredAt)).length,
      purchaseMedianMs: { before: median(before), whileSlow: median(purchasesDuring.map((p) => p.answeredAt - p.startedAt)) },
    });

    // every service's Redis went through the slow link
    expect(proxy!.stats.accepted).toBeGreaterThan(0);
    // slow, not failing: whatever was answered while Redis was slow is a documented answer
    for (const status of Object.keys(byStatus)) expect(['200', '202', '401', '409', '429', '503']).toContain(status);
    expect(run.rec.netErrors).toEqual([]);
    // no answer outside the documented ones (a 500 is a bug), at any time of the sale
    expect(o.unexpected).toEqual({});
    checkPromises(o, fleet.logs);
  });
});
