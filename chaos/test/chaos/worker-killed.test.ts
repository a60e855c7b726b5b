/**
 * Chaos (a): the order worker is killed with SIGKILL in the middle of a batch when about a
 * third of the stock is sold, and started again. Unacknowledged messages are redelivered and
 * de-duplicated by order id: nothing lost, nothing doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/processes.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { confirmedNow, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

let stage: Stage | undefined;

beforeAll(async () => {
  // a batch waits up to 150 ms to fill: at any moment some deliveries are in the worker's
  // hands, unacknowledged
  stage = await setUpScenario({ gateways: 1, workerEnv: { BATCH_MS: '150' } });
});

afterAll(async () => {
  await tearDownScenario(stage);
});

describe('chaos: order worker killed mid-batch', () => {
  it('redelivers what the dead worker held; every 202 ends confirmed exactly once', async () => {
    const { fleet, run } = stage!;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));

    // kill while orders are in flight: answered 202 but not committed yet
    let inFlight = 0;
    for (let i = 0; i < 100 && inFlight === 0; i++) {
      const confirmed = await confirmedNow(stage!);
      inFlight = run.rec.accepted.length - (confirmed ?? 0);
      if (inFlight === 0) await sleep(20);
    }
    const worker = fleet.workers[0]!;
    const killedAt = Date.now();
    await fleet.stop(worker, 'SIGKILL');
    expect(worker.child.signalCode).toBe('SIGKILL');
    const acceptedAtKill = run.rec.accepted.length;

    await sleep(2_000);
    const restartBegan = Date.now();
    const metricsPort = await freePort();
    const second = await fleet.startWorker('worker-2', { METRICS_PORT: String(metricsPort) });
    const restartMs = Date.now() - restartBegan;

    await shopping;
    const o = await settle(run, 'a worker SIGKILL mid-batch');
    // what the new worker saw: orders the dead one had committed but not acknowledged come
    // back as duplicates
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const counter = (outcome: string) =>
      Number(metrics.match(new RegExp(`order_worker_orders_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`))?.[1] ?? 0);
    expect(second.child.exitCode).toBeNull();
    report(o, {
      inFlightAtKill: inFlight,
      acceptedAtKill,
      acceptedWhileWorkerDown: run.rec.accepted.filter((a) => a.answeredAt > killedAt && a.answeredAt < restartBegan).length,
      workerRestartMs: restartMs,
      newWorkerConfirmed: counter('confirmed'),
      newWorkerDuplicates: counter('duplicate'),
    });
    expect(inFlight, 'the worker died with orders in flight').toBeGreaterThan(0);
    checkPromises(o, fleet.logs);
  });
});
