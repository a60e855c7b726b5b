/**
 * The benchmarks' quick run, as CI runs it: every path measured against the spawned gateway
 * and worker with the same load generator, the baseline beside them, the JSON file written.
 * Asserts that every figure is a positive number, never what it is: the machine is shared.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench, type BenchReport } from '../../src/bench.js';

let outDir: string | undefined;

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('benchmarks, quick', () => {
  it('measures baseline, join, status, purchase and the worker, and writes the JSON', { timeout: 120_000 }, async () => {
    outDir = await mkdtemp(join(tmpdir(), 'vr-bench-'));
    const { report, file } = await runBench({ quick: true, outDir, progress: true });
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(report)));
    expect(file).toMatch(/bench-.+\.json$/);

    for (const name of ['baseline', 'join', 'status', 'purchase'] as const) {
      const r = report[name];
      expect(
        [name, r.requests, r.perSecond, r.seconds, r.latency.p50, r.latency.p99].every((v, i) => i === 0 || positive(v)),
        `${name}: ${JSON.stringify(r)}`,
      ).toBe(true);
      // the answers counted are the expected ones; anything else is an error of the path
      expect(r.errors, `${name}: ${JSON.stringify(r.statuses)}`).toBe(0);
    }
    for (const name of ['join', 'status', 'purchase'] as const) expect(positive(report[name].ratio)).toBe(true);
    // each path's window in the gateway's clock: after the one before, as long as the period
    const win = (['join', 'status', 'purchase'] as const).map((n) => report[n].serverWindowSeconds!);
    for (const [i, [from, to]] of win.entries()) {
      expect(to - from, JSON.stringify(win)).toBeGreaterThan(0);
      if (i > 0) expect(from, JSON.stringify(win)).toBeGreaterThanOrEqual(win[i - 1]![1]);
    }
    // the servers' CPU per request, where /proc tells it (Linux, as in CI)
    if (process.platform === 'linux') {
      for (const name of ['baseline', 'join', 'status', 'purchase'] as const) {
        expect(positive(report[name].serverCpuMicrosPerRequest), `${name}: ${JSON.stringify(report[name])}`).toBe(true);
      }
      for (const name of ['join', 'status', 'purchase'] as const) expect(positive(report[name].cpuRatio)).toBe(true);
    }
    expect(report.worker.orders).toBe(10_000);
    for (const v of [
      report.worker.perSecond,
      report.worker.commitSeconds,
      report.worker.fromSpawnSeconds,
      report.worker.fillSeconds,
      report.worker.ratio,
    ]) {
      expect(positive(v), JSON.stringify(report.worker)).toBe(true);
    }
    // the shop's events of every order were dispatched afterwards (the outbox emptied)
    expect(report.worker.outboxEmptySeconds, JSON.stringify(report.worker)).toBeGreaterThanOrEqual(0);
  });
});
