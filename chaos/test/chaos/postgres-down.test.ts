/**
 * Chaos (d): PostgreSQL is stopped (fast shutdown) for 10 s when about a third of the stock
 * is sold. The worker keeps its batch unacknowledged and retries it with backoff: what was
 * accepted meanwhile waits in RabbitMQ (nothing acknowledged uncommitted), and once
 * PostgreSQL is back everything is confirmed, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueStats } from '../../../test-support/private-services.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const OUTAGE_MS = 10_000;
/** quorum queue figures in `rabbitmqctl list_queues` are refreshed every few seconds */
const STATS_LAG_MS = 6_000;
let stage: Stage | undefined;

beforeAll(async () => {
  stage = await setUpScenario({ gateways: 1 });
});

afterAll(async () => {
  await tearDownScenario(stage);
});

describe('chaos: PostgreSQL down for 10 s', () => {
  it('keeps the orders in RabbitMQ, unacknowledged, and confirms them all afterwards', async () => {
    const { fleet, run } = stage!;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    const stopBegan = Date.now();
    await fleet.postgres.stop();
    const stopped = Date.now();
    // late in the outage: what the broker holds for the sale's queue
    await sleep(Math.max(0, stopped + OUTAGE_MS - 2_500 - Date.now()));
    const sampledAt = Date.now();
    let stats: QueueStats | undefined;
    try {
      stats = await fleet.rabbit.queueStats(fleet.queue);
    } catch (err) {
      process.stdout.write(`queue stats failed: ${(err as Error).message}\n`);
    }
    await sleep(Math.max(0, stopped + OUTAGE_MS - Date.now()));
    const startBegan = Date.now();
    await fleet.postgres.start();
    const started = Date.now();

    await shopping;
    const o = await settle(run, 'd PostgreSQL stopped 10 s');

    // orders answered 202 well before the sample and not committed before the stop must all
    // have been in RabbitMQ at the sample (ready, or unacknowledged in the worker's hands)
    const { rows } = await fleet.db.query<{ order_id: string }>(
      'SELECT order_id::text AS order_id FROM orders WHERE sale_id = $1 AND confirmed_at < to_timestamp($2 / 1000.0)',
      [run.saleId, stopped],
    );
    const committedBefore = new Set(rows.map((r) => r.order_id));
    const mustWait = run.rec.accepted.filter((a) => a.answeredAt < sampledAt - STATS_LAG_MS && !committedBefore.has(a.orderId)).length;
    const worker = fleet.workers[0]!;
    const retries = (worker.output().match(/commit failed; retrying the same batch/g) ?? []).length;
    const delays = [...worker.output().matchAll(/"delayMs":(\d+)/g)].map((m) => Number(m[1]));
    report(o, {
      pgStopMs: stopped - stopBegan,
      pgRestartMs: started - startBegan,
      outageMs: startBegan - stopped,
      accepted202DuringOutage: run.rec.accepted.filter((a) => a.answeredAt >= stopped && a.answeredAt <= startBegan).length,
      queueAtSample: stats,
      notCommittedAnswered202BeforeSample: mustWait,
      workerCommitRetries: retries,
      workerBackoffDelaysMs: delays,
    });
    // the worker stayed up, retried with growing delays, and acknowledged nothing uncommitted
    expect(worker.child.exitCode).toBeNull();
    expect(retries, 'the worker retried its batch').toBeGreaterThan(0);
    expect(Math.max(...delays), 'with backoff').toBeGreaterThan(Math.min(...delays));
    expect(stats, 'queue figures from rabbitmqctl').toBeDefined();
    expect(stats!.ready + stats!.unacked, 'accepted orders wait in RabbitMQ while PostgreSQL is down').toBeGreaterThanOrEqual(mustWait);
    checkPromises(o, fleet.logs);
  });
});
