/**
 * The Grafana dashboard (deploy/grafana/dashboards/velvet-rope.json) may only ask for metrics
 * the code really exports: this runs deploy/check-dashboard.mjs against the gateway's and the
 * worker's live /metrics output.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../../../order-worker/src/metrics.js';
import { createHarness, createSale, join as joinQueue, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('the Grafana dashboard', () => {
  it('uses only metrics that the gateway and the worker export', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 600_000, stock: 10 });
    await joinQueue(app, sale);
    await app.admissionLoop.tickSale(sale);
    await new Promise((r) => setTimeout(r, 30));
    await app.admissionLoop.tickSale(sale); // per-sale gauges and admissions exist once a leader ticked
    const dir = mkdtempSync(join(tmpdir(), 'vr-metrics-'));
    // what GET /metrics serves (on METRICS_PORT; not on the public port by default)
    writeFileSync(join(dir, 'gateway.txt'), await app.metrics.registry.metrics());
    writeFileSync(join(dir, 'worker.txt'), await createWorkerMetrics({ defaultMetrics: true }).registry.metrics());
    const { stdout } = await promisify(execFile)(process.execPath, [
      'deploy/check-dashboard.mjs',
      join(dir, 'gateway.txt'),
      join(dir, 'worker.txt'),
    ]);
    expect(stdout).toContain('every metric the dashboard uses is exported');
  });
});
