/**
 * The simulator end to end, as CI runs it: 20,000 shoppers for 2,000 units against a gateway
 * and worker it starts itself (own database, queue and Redis prefix), with abandoners,
 * double purchases, impatient re-joins, bots and a socket.io sample. Asserts the promises
 * the report checks (I1-I6), that the run really exercised what it claims, and that it
 * removed what it made. No timing is asserted: the machine is shared.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/simulate.js';
import { DEFAULT_PG_ROOT_URL, DEFAULT_REDIS_URL } from '../../src/isolated-stack.js';

let out: string | undefined;

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('the flash-sale simulator (spawned gateway and worker)', () => {
  it('20,000 shoppers, 2,000 units: every promise holds and the report says so', { timeout: 240_000 }, async () => {
    out = await mkdtemp(join(tmpdir(), 'vr-sim-'));
    const started = Date.now();
    const { report, files } = await runSimulation({
      shoppers: 20_000,
      stock: 2_000,
      // the poll load the gateway advises grows with the rate; this one keeps the
      // 2-core CI machine near its capacity and the sale about 20 s long
      ratePerMinute: 6_000,
      checkoutSeconds: 6,
      thinkMs: 300,
      windowSeconds: 2,
      arrivalSeconds: 8,
      abandon: 0.1,
      retry: 0.2,
      impatient: 0.1,
      bots: 10,
      botJoins: 10,
      socketSample: 100,
      maxSeconds: 200,
      out,
    });
    process.stdout.write(
      `simulation: ${((Date.now() - started) / 1000).toFixed(1)} s; sold out ${report.figures.sellOut.reservedSeconds} s after the start ` +
        `(rate allows ${report.figures.sellOut.rateAllowsSeconds} s); p99 join ${report.latency.join?.p99} ms status ${report.latency.status?.p99} ms ` +
        `purchase ${report.latency.purchase?.p99} ms; rho ${report.fairness.prequeueRho.toFixed(4)}; socket ${JSON.stringify(report.socket)}\n`,
    );

    // every promise, with the failing items in the message when one breaks
    const broken = report.checks.filter((c) => !c.pass).map((c) => ({ id: c.id, items: c.items.filter((i) => !i.pass) }));
    expect(broken, JSON.stringify({ broken, problems: report.problems }, null, 2)).toEqual([]);
    expect(report.passed).toBe(true);

    // the run did what it claims: the stock sold exactly once per shopper ...
    expect(report.figures.orders).toMatchObject({
      sold: 2_000,
      stock: 2_000,
      confirmed: 2_000,
      accepted: 2_000,
      rejected: 0,
      retryMismatches: 0,
    });
    expect(report.figures.orders.retried).toBeGreaterThan(0);
    // ... with walk-aways, impatient re-joins and bots in the mix ...
    expect(report.journeys.ordered).toBe(2_000);
    expect((report.journeys.abandoned ?? 0) + (report.journeys.left ?? 0)).toBeGreaterThan(0);
    expect(report.journeys.sold_out).toBeGreaterThan(0);
    expect(report.fairness.rejoins).toBeGreaterThan(0);
    expect(report.fairness.bots.joins).toBe(100);
    // ... a pre-queue drawn at random and more than one window admitted after the start
    expect(report.fairness.prequeueShoppers).toBeGreaterThan(1_000);
    expect(report.fairness.windows.windows).toBeGreaterThan(1);
    expect(report.fairness.windows.admitted).toBeGreaterThanOrEqual(2_000);
    // every figure the report promises is there
    for (const e of ['join', 'status', 'purchase', 'rejoin', 'bot-join']) expect(report.latency[e]?.count).toBeGreaterThan(0);
    expect(report.figures.memory.redis?.bytesPerShopper).toBeGreaterThan(0);
    expect(report.figures.memory.gatewayPeakRssMb).toBeGreaterThan(0);
    expect(report.series.length).toBeGreaterThan(10);
    // socket.io is optional: the sample is reported, whether the gateway speaks it or not
    expect(report.socket.sampled).toBe(100);
    expect(report.socket.connected + report.socket.failed).toBeLessThanOrEqual(100);

    // the files
    expect(files).toBeDefined();
    const json = JSON.parse(readFileSync(files!.json, 'utf8')) as { passed: boolean; checks: unknown[] };
    expect(json.passed).toBe(true);
    expect(json.checks).toHaveLength(6);
    const html = readFileSync(files!.html, 'utf8');
    expect(html).toContain('PASSED');
    expect(html).toContain('<svg');

    // and it removed what it made: database, Redis keys (queues are checked by name in its cleanup)
    const iso = report.target.isolation!;
    expect(existsSync(files!.json)).toBe(true);
    const admin = new pg.Client({ connectionString: `${DEFAULT_PG_ROOT_URL}/postgres` });
    await admin.connect();
    try {
      const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [iso.database]);
      expect(rows).toHaveLength(0);
    } finally {
      await admin.end();
    }
    const redis = new Redis(DEFAULT_REDIS_URL);
    try {
      const left: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${iso.redisKeyPrefix}:*`, 'COUNT', 10_000);
        left.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      expect(left).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
