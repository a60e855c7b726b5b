/**
 * Chaos: RabbitMQ is a private three-node cluster; every gateway and the worker is given all
 * three addresses (AMQP_URL, comma-separated). When about a third of the stock is sold, the
 * node that leads the `orders` quorum queue is killed with SIGKILL (and stays down). The
 * queue's replicas on the other two elect a new leader, every process moves to the next node
 * in its list, and the sale completes: every 202 ends confirmed exactly once (a purchase whose
 * publish the dying node never confirmed is answered 503, its order kept in the outbox and
 * published again), sold == stock, and the shop's events queue (a quorum queue on the events
 * exchange, as docs/operations.md asks a shop to declare) holds an order.confirmed for every
 * order.
 */
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/processes.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { sampleTimeline, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const EVENTS_EXCHANGE = 'velvet-rope.events';
let stage: Stage | undefined;
const metricsPorts = new Map<string, number>();
let tap: ChannelModel | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 2,
    rabbitCluster: 3,
    // a few hundred shoppers, admitted over about ten seconds: the kill falls mid-sale
    sale: { shoppers: 700, stock: 240, ratePerMinute: 1_500 },
    wire: async () => {
      for (const name of ['gateway-1', 'gateway-2', 'worker-1']) metricsPorts.set(name, await freePort());
      return (name) => ({ METRICS_PORT: String(metricsPorts.get(name)), EVENTS_EXCHANGE });
    },
  });
}, 240_000);

afterAll(async () => {
  await tap?.close().catch(() => undefined);
  await tearDownScenario(stage);
});

/** one counter or histogram count of a process's /metrics, summed over the series that match `labels` */
async function metric(name: string, series: string, labels = ''): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${metricsPorts.get(name)}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series}{`) && line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    else if (labels === '' && line.startsWith(`${series} `)) sum += Number(line.slice(series.length + 1));
  }
  return sum;
}

/** pino lines of a service's output that carry `msg`, parsed */
function logLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.includes(msg))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

describe('chaos: the RabbitMQ node that leads `orders` is killed', () => {
  it('moves every process to another node, elects a new leader, and keeps every promise', async () => {
    const { fleet, run } = stage!;
    const cluster = fleet.rabbitCluster!;
    const nodeNames = cluster.nodes.map((n) => n.nodeName).sort();

    // the orders queue is replicated on all three nodes; its leader is where it was declared
    const replicas = await cluster.queueReplicas(fleet.queue);
    expect(replicas?.members, 'the orders queue has a replica on every node').toEqual(nodeNames);
    const leader = cluster.node(replicas!.leader);
    // every process connected to the first address (node 1) and gateway-1 declared the queue
    // there: the connections and the leader go down together
    expect(leader, 'orders is led by node 1, where every process is connected').toBe(cluster.nodes[0]);

    // the shop's side: a quorum queue of its own on the events exchange, declared via node 2
    tap = await amqpConnect(cluster.nodes[1]!.url);
    tap.on('error', () => undefined);
    const tapChannel = await tap.createChannel();
    const shopQueue = `${fleet.queue}.shop-events`;
    await tapChannel.assertQueue(shopQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await tapChannel.bindQueue(shopQueue, EVENTS_EXCHANGE, 'order.confirmed');
    expect((await cluster.queueReplicas(shopQueue))?.members, 'the shop events queue has a replica on every node').toEqual(nodeNames);

    await run.open();
    const shopping = run.shop();
    const timeline = sampleTimeline(run);
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    const killedAt = Date.now();
    await leader.kill();
    const acceptedAtKill = run.rec.accepted.length;
    expect(leader.running).toBe(false);
    // a new leader among the two left (asked of them until they agree on one)
    let newLeader: string | undefined;
    while (Date.now() - killedAt < 30_000) {
      const r = await cluster.queueReplicas(fleet.queue).catch(() => undefined);
      if (r && r.leader !== leader.nodeName && r.online.includes(r.leader)) {
        newLeader = r.leader;
        break;
      }
      await sleep(200);
    }
    const electedMs = Date.now() - killedAt;
    expect(newLeader, 'a surviving node leads the orders queue').toBeDefined();

    await shopping;
    const samples = timeline.stop();
    if (process.env.CHAOS_TIMELINE) process.stdout.write(`${samples.join('\n')}\n`);
    const o = await settle(run, 'RabbitMQ leader node SIGKILL');

    // where each process went: its first "ready" line after the kill names the node
    const moved = (output: string, msg: string, field: string) => {
      const lines = logLines(output, msg).filter((l) => Number(l.time) > killedAt);
      return lines[0] ? { to: String(lines[0][field]), afterMs: Number(lines[0].time) - killedAt } : undefined;
    };
    const gatewaysMoved = fleet.gateways.map((gw) => moved(gw.service.output(), 'RabbitMQ publisher ready', 'url'));
    const workerMoved = moved(fleet.workers[0]!.output(), 'consuming orders', 'amqp');
    const republished = fleet.gateways.reduce(
      (n, gw) => n + logLines(gw.service.output(), 'outbox reconciled').reduce((m, l) => m + Number(l.republished ?? 0), 0),
      0,
    );
    const confirms = async (result: string) =>
      (await metric('gateway-1', 'vr_publish_confirm_duration_seconds_count', `result="${result}"`)) +
      (await metric('gateway-2', 'vr_publish_confirm_duration_seconds_count', `result="${result}"`));
    const publishRefused = await confirms('refused');
    const publishTimedOut = await confirms('timeout');
    const workerReconnects = await metric('worker-1', 'order_worker_amqp_reconnects_total');
    const workerDuplicates = await metric('worker-1', 'order_worker_orders_total', 'outcome="duplicate"');
    const firstAfter = run.rec.accepted.find((a) => a.startedAt > killedAt);
    const after = await cluster.queueReplicas(fleet.queue);

    // every confirmed order reaches the shop's quorum queue through the node loss (the
    // dispatcher publishes from the outbox a little behind the commits: wait for it)
    const confirmedIds = new Set<string>();
    const missing = () => run.rec.accepted.filter((a) => !confirmedIds.has(a.orderId)).length;
    for (const until = Date.now() + 30_000; missing() > 0 && Date.now() < until;) {
      const msg = await tapChannel.get(shopQueue, { noAck: true });
      if (!msg) {
        await sleep(250);
        continue;
      }
      const body = JSON.parse(msg.content.toString()) as { data: { orderId: string } };
      confirmedIds.add(body.data.orderId);
    }
    const eventsMissing = missing();

    report(o, {
      nodes: nodeNames,
      killedLeader: leader.nodeName,
      newLeader,
      // as rabbitmqctl saw it (each call takes a second or more): an upper bound on the election
      newLeaderSeenByRabbitmqctlMs: electedMs,
      replicasAfter: after,
      acceptedAtKill,
      acceptedAfterKill: run.rec.accepted.length - acceptedAtKill,
      first202AfterKillMs: firstAfter ? firstAfter.answeredAt - killedAt : null,
      purchase503AfterKill: (() => {
        const late = run.rec.purchase503.filter((p) => p.at > killedAt);
        const byMsg: Record<string, number> = {};
        for (const p of late) byMsg[`${p.code} ${p.message}`] = (byMsg[`${p.code} ${p.message}`] ?? 0) + 1;
        return { count: late.length, lastMs: Math.max(0, ...late.map((p) => p.at - killedAt)), byMsg };
      })(),
      gatewayRefusalDrops: fleet.gateways.map((gw) => logLines(gw.service.output(), 'RabbitMQ refused a publish').length),
      gatewaysMoved,
      workerMoved,
      publishRefused,
      publishTimedOut,
      ordersRepublishedByReconciler: republished,
      ordersNamedIn503: run.rec.unavailableOrderIds.size,
      workerReconnects,
      workerDuplicates,
      shopEventsConfirmed: confirmedIds.size,
      shopEventsMissing: eventsMissing,
    });

    // every process moved off the dead node, to a node that is still up
    const survivors = cluster.nodes.filter((n) => n !== leader).map((n) => n.port);
    for (const m of [...gatewaysMoved, workerMoved]) {
      expect(m, 'a process reconnected after the kill').toBeDefined();
      expect(
        survivors.map((p) => m!.to.includes(`:${p}`)),
        `${m!.to} is a surviving node`,
      ).toContain(true);
    }
    expect(after?.members, 'the dead node stays a member (it may come back)').toEqual(nodeNames);
    expect(after?.online).toEqual(nodeNames.filter((n) => n !== leader.nodeName));
    expect(firstAfter, 'purchases were accepted again after the kill').toBeDefined();
    expect(o.accepted).toBeGreaterThan(acceptedAtKill);
    expect(workerReconnects).toBeGreaterThanOrEqual(1);
    // I7 through the node loss: each accepted order's order.confirmed is in the shop's queue
    expect(eventsMissing, 'every accepted order reached the shop events queue').toBe(0);
    checkPromises(o, fleet.logs);
  });
});
