/**
 * Chaos (issue 18 item 3): the broker's memory alarm goes off mid-sale. `rabbitmqctl
 * set_vm_memory_high_watermark 0` on the private node raises a real resource alarm: RabbitMQ
 * blocks every connection that publishes. Purchases must answer 503 + Retry-After within the
 * confirm timeout (never hang), admission must pause, `/readyz` must say why, and everything
 * must resume once the alarm clears (the watermark back at 0.4), with every promise holding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPromises, report, settle } from '../support/promises.js';
import { countByStatus, liveSale, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';
import type { Gateway } from '../support/fleet.js';

const CONFIRM_TIMEOUT_MS = 2_000;
const ALARM_MS = 10_000;
let stage: Stage | undefined;

beforeAll(async () => {
  stage = await setUpScenario({ gateways: 1, gatewayEnv: { PUBLISH_TIMEOUT_MS: String(CONFIRM_TIMEOUT_MS) } });
});

afterAll(async () => {
  await tearDownScenario(stage);
});

interface Readiness {
  status: string;
  dependencies: { rabbitmq: { status: string; error?: string } };
}

async function readiness(gw: Gateway): Promise<{ code: number; retryAfter: string | null; body: Readiness } | undefined> {
  try {
    const res = await fetch(`${gw.base}/readyz`);
    return { code: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Readiness };
  } catch {
    return undefined;
  }
}

/** polls /readyz (bounded) until `want` holds; the answer that held */
async function untilReadiness(
  gw: Gateway,
  want: (r: { code: number; retryAfter: string | null; body: Readiness }) => boolean,
  what: string,
) {
  for (let i = 0; i < 600; i++) {
    const r = await readiness(gw);
    if (r && want(r)) return r;
    await sleep(100);
  }
  throw new Error(`/readyz never showed ${what}`);
}

describe('chaos: the broker raises its memory alarm for 10 s', () => {
  it('blocked publishers answer 503 without hanging, admission pauses, /readyz says why, all resumes', async () => {
    const { fleet, run } = stage!;
    const gw = fleet.gateways[0]!;
    await run.open();
    const shopping = run.shop();
    // early in the sale: the broker takes a few seconds to raise the alarm on a loaded machine,
    // and stock must be left for the purchases the test watches while it blocks
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 10));

    const alarmSet = Date.now();
    await fleet.rabbit.ctl(['set_vm_memory_high_watermark', '0']);
    // RabbitMQ blocks a connection when it next publishes: the next purchase, at most a confirm timeout later
    const blockedSeen = await untilReadiness(
      gw,
      (r) => r.body.dependencies.rabbitmq.status === 'blocked',
      'the broker blocking publishing',
    );
    const blockedAt = Date.now();
    const pausedFrom = await liveSale(run, gw);
    await sleep(Math.max(0, alarmSet + ALARM_MS - Date.now()));
    const pausedUntil = await liveSale(run, gw);
    const clearedAt = Date.now();
    await fleet.rabbit.ctl(['set_vm_memory_high_watermark', '0.4']);
    await untilReadiness(gw, (r) => r.code === 200, 'ready again');
    const readyAgainAt = Date.now();

    await shopping;
    const o = await settle(run, 'broker memory alarm 10 s');
    const during = (t: number) => t >= blockedAt && t <= clearedAt;
    const purchasesDuring = run.rec.purchases.filter((p) => during(p.startedAt));
    const slowest = Math.max(0, ...purchasesDuring.map((p) => p.answeredAt - p.startedAt));
    const firstAfter = run.rec.accepted.find((a) => a.answeredAt > clearedAt);
    report(o, {
      blockedSeenAfterMs: blockedAt - alarmSet,
      readyzWhileBlocked: blockedSeen.body.dependencies.rabbitmq,
      purchasesStartedWhileBlocked: purchasesDuring.length,
      answersWhileBlocked: countByStatus(purchasesDuring),
      slowestPurchaseWhileBlockedMs: slowest,
      admittedTotalWhileBlocked: [pausedFrom?.admittedTotal, pausedUntil?.admittedTotal],
      readyAgainAfterClearMs: readyAgainAt - clearedAt,
      first202AfterClearMs: firstAfter ? firstAfter.answeredAt - clearedAt : null,
    });

    // /readyz names the alarm, with a 503 (no order can be accepted here)
    expect(blockedSeen.code).toBe(503);
    expect(Number(blockedSeen.retryAfter), 'when to ask again').toBeGreaterThan(0);
    expect(blockedSeen.body.dependencies.rabbitmq.error).toMatch(/blocks publishing/);
    // blocked publishers are refused, not left hanging: every purchase begun while blocked was
    // answered, 503 (the broker cannot confirm), and none waited for long
    expect(purchasesDuring.length, 'purchases were tried while the broker blocked publishing').toBeGreaterThan(0);
    expect(purchasesDuring.filter((p) => p.status === 202)).toEqual([]);
    expect(purchasesDuring.filter((p) => p.status === 503).length).toBeGreaterThan(0);
    // a bound far above the confirm timeout: it catches a hang, not a slow machine
    expect(slowest).toBeLessThan(CONFIRM_TIMEOUT_MS + 30_000);
    // admission paused while orders could not be accepted
    expect(pausedUntil?.admittedTotal).toBe(pausedFrom?.admittedTotal);
    // and it all resumed by itself
    expect(firstAfter, 'a 202 after the alarm cleared').toBeDefined();
    checkPromises(o, fleet.logs);
  });
});
