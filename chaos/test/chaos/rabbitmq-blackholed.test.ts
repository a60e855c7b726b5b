/**
 * Chaos (issue 18 item 1): the gateway's link to RabbitMQ is blackholed for 15 s mid-sale
 * (fault proxy: open, nothing answered, nothing closed). Publishes cannot be confirmed: each
 * purchase must time out to 503 + Retry-After (PUBLISH_TIMEOUT_MS), never 202 without a
 * confirm; the AMQP heartbeat (2 s here) must declare the silent connection dead, so that the
 * gateway stops admitting and reconnects; and once the link heals, purchases resume. Every
 * promise is then checked from PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { countByStatus, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const BLACKHOLE_MS = 15_000;
const CONFIRM_TIMEOUT_MS = 2_000;
let stage: Stage | undefined;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 1,
    gatewayEnv: { PUBLISH_TIMEOUT_MS: String(CONFIRM_TIMEOUT_MS) },
    sale: { connectionsPerGateway: 1_024 },
    wire: async (fleet) => {
      proxy = await FaultProxy.start({ port: Number(new URL(fleet.rabbit.url).port) });
      const url = new URL(proxy.rewrite(fleet.rabbit.url));
      url.searchParams.set('heartbeat', '2');
      return (name): Record<string, string> => (name.startsWith('gateway') ? { AMQP_URL: url.toString() } : {});
    },
  });
});

afterAll(async () => {
  await tearDownScenario(stage);
  await proxy?.close();
});

describe('chaos: the gateway blackholed from RabbitMQ for 15 s', () => {
  it('purchases time out to 503, the heartbeat notices, nothing is accepted without a confirm, all resumes', async () => {
    const { fleet, run } = stage!;
    const gw = fleet.gateways[0]!;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 10));

    const logFrom = gw.service.output().length;
    proxy!.blackhole();
    const cutAt = Date.now();
    await sleep(BLACKHOLE_MS);
    const logDuring = gw.service.output().slice(logFrom);
    const healAt = Date.now();
    proxy!.heal();

    await shopping;
    const o = await settle(run, 'gateway blackholed from RabbitMQ 15 s');
    // begun and answered inside the blackhole: no confirm could reach the gateway for them
    const inside = run.rec.purchases.filter((p) => p.startedAt >= cutAt && p.answeredAt < healAt);
    const firstAfter = run.rec.accepted.find((a) => a.startedAt > healAt);
    const lostAt = logDuring.indexOf('RabbitMQ publisher lost its channel');
    report(o, {
      purchasesInside: countByStatus(inside),
      slowestInsideMs: Math.max(0, ...inside.map((p) => p.answeredAt - p.startedAt)),
      heartbeatNoticed: lostAt >= 0 ? logDuring.slice(lostAt, lostAt + 200) : null,
      first202AfterHealMs: firstAfter ? firstAfter.answeredAt - healAt : null,
    });

    expect(inside.filter((p) => p.status === 202)).toEqual([]);
    expect(inside.filter((p) => p.status === 503).length).toBeGreaterThan(0);
    // a bound far above the confirm timeout: it catches a hang, not a slow machine
    expect(Math.max(0, ...inside.map((p) => p.answeredAt - p.startedAt))).toBeLessThan(CONFIRM_TIMEOUT_MS + 30_000);
    // the heartbeat declared the silent connection dead while the link was still blackholed
    expect(lostAt, 'the gateway noticed the dead connection during the blackhole').toBeGreaterThanOrEqual(0);
    expect(firstAfter, 'a purchase begun after the heal accepted').toBeDefined();
    expect(o.unexpected).toEqual({});
    checkPromises(o, fleet.logs);
  });
});
