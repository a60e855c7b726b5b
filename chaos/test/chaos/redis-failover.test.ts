/**
 * Chaos (issue 18 item 2): Redis as a primary, a replica and three Sentinels; two gateways and
 * the worker find the primary through REDIS_SENTINELS. Mid-sale, while purchases run, the
 * replica's replication link (through the fault proxy) stops delivering for 1.5 s, and then
 * the primary is SIGKILLed and the link reset: every write the primary acknowledged in that
 * window (admissions, reservations, the outbox) is lost with it. The Sentinels promote the
 * replica. The gateways must follow the failover, notice that the dataset is not the one they
 * published to (its replication id changed), and rebuild every running sale from PostgreSQL;
 * PostgreSQL's guard keeps `sold <= stock`; any order the loss makes impossible ends
 * `rejected` (and its shopper reads that); the queue carries on from the new primary.
 *
 * The writes lost are counted from the replica itself, read between the kill and its
 * promotion: every 202 answered before the kill whose reservation the replica does not hold.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saleKeys } from '@velvet-rope/contracts';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { countByStatus, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const LAG_MS = 1_500;
let stage: Stage | undefined;
let replication: FaultProxy | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 2,
    gatewayEnv: { REDIS_COMMAND_TIMEOUT_MS: '2000' },
    sale: { switchOn503: true },
    sentinel: {
      replicationPort: async (primaryPort) => {
        replication = await FaultProxy.start({ port: primaryPort });
        return replication.port;
      },
    },
  });
});

afterAll(async () => {
  await tearDownScenario(stage);
  await replication?.close();
});

describe('chaos: the Redis primary killed mid-sale, a lagging replica promoted by Sentinel', () => {
  it('follows the failover, rebuilds from PostgreSQL, and every write the loss took ends settled', async () => {
    const { fleet, run } = stage!;
    const group = fleet.sentinel!;
    const [primary, replica] = group.nodes;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    // the replica stops hearing from the primary; the primary acknowledges on
    replication!.blackhole('down');
    const lagFrom = Date.now();
    await sleep(LAG_MS);
    await primary!.kill();
    replication!.cut();
    const killedAt = Date.now();
    const acceptedBeforeKill = run.rec.accepted.filter((a) => a.answeredAt <= killedAt);

    // what survives: the replica's copy, read before the Sentinels promote it
    const keys = saleKeys(run.saleId, fleet.prefix);
    const direct = new Redis({ port: replica!.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    await direct.connect();
    const [records, stockOnReplica, pendingOnReplica, role] = await Promise.all([
      direct.hgetall(keys.visitors),
      direct.get(keys.stock),
      direct.hlen(keys.pending),
      direct.role(),
    ]);
    direct.disconnect();
    const readWhileReplica = role[0] === 'slave';
    const lost = acceptedBeforeKill.filter((a) => !(records[a.visitorId] ?? '').startsWith(`o|${a.orderId}`));
    const lostInWindow = lost.filter((a) => a.answeredAt >= lagFrom).length;

    const promotedPort = await group.failedOverFrom(primary!.port);
    const promotedAt = Date.now();

    await shopping;
    const o = await settle(run, 'Redis primary killed, replica promoted by Sentinel', 90_000);
    const { rows } = await fleet.db.query<{ order_id: string; status: string }>(
      'SELECT order_id::text AS order_id, status FROM orders WHERE sale_id = $1',
      [run.saleId],
    );
    const statusOf = new Map(rows.map((r) => [r.order_id, r.status]));
    const lostBecame = countByStatus(lost.map((a) => ({ status: statusOf.get(a.orderId) ?? 'missing' })));
    const rejectedIds = rows.filter((r) => r.status === 'rejected').map((r) => r.order_id);
    // a shopper whose order was rejected reads so from the gateway (the order look-up)
    const told = await Promise.all(
      rejectedIds.slice(0, 20).map(async (id) => {
        const owner = run.shoppers.find((s) => s.orderIds.has(id));
        if (!owner) return 'no shopper was told this order id';
        const a = await run.call(fleet.gateways[0]!, 'GET', `/api/orders/${id}`, owner.ticket);
        return a.body?.status;
      }),
    );
    const logs = fleet.gateways.map((g) => g.service.output()).join('\n');
    const firstAfter = run.rec.accepted.find((a) => a.startedAt > promotedAt);
    const during = (t: number) => t >= killedAt && t <= promotedAt + 5_000;
    report(o, {
      lagWindowMs: killedAt - lagFrom,
      acceptedBeforeKill: acceptedBeforeKill.length,
      readWhileReplica,
      stockOnReplica: Number(stockOnReplica),
      pendingOnReplica,
      reservationsLost: lost.length,
      reservationsLostAnsweredInTheWindow: lostInWindow,
      whatTheLostBecame: lostBecame,
      promotedPort,
      killToPromotionMs: promotedAt - killedAt,
      first202AfterPromotionMs: firstAfter ? firstAfter.answeredAt - promotedAt : null,
      failoverNoticed: /Redis failed over to a replica/.test(logs),
      recoveryFinished: /recovery finished/.test(logs),
      purchasesAroundFailover: countByStatus(run.rec.purchases.filter((p) => during(p.answeredAt))),
      rejectedOrders: rejectedIds.length,
      rejectedAsTold: countByStatus(told.map((s) => ({ status: String(s) }))),
    });

    // the fault happened as designed: the replica was read before its promotion, and the
    // primary took acknowledged reservations with it
    expect(readWhileReplica, 'the replica was read before the Sentinels promoted it').toBe(true);
    expect(promotedPort).toBe(replica!.port);
    expect(lost.length, 'reservations acknowledged by the old primary and lost with it').toBeGreaterThan(0);
    // the gateways noticed the new dataset and rebuilt the sale from PostgreSQL
    expect(logs).toMatch(/Redis failed over to a replica/);
    expect(logs).toMatch(/recovery finished/);
    expect(firstAfter, 'purchases accepted again after the failover').toBeDefined();
    // each lost reservation was an order in RabbitMQ: it ended in PostgreSQL, confirmed or rejected
    expect(lostBecame.missing ?? 0).toBe(0);
    // a shopper whose order was rejected is told so
    expect(told.every((s) => s === 'rejected')).toBe(true);
    const notFound = Object.keys(o.unexpected).filter((k) => k.includes('SALE_NOT_FOUND'));
    expect(notFound, 'no SALE_NOT_FOUND for an existing sale').toEqual([]);
    checkPromises(o, fleet.logs, { redisLoss: true });
  });
});
