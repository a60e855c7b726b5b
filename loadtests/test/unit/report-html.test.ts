import { describe, expect, it } from 'vitest';
import { evaluatePromises } from '../../src/promises.js';
import { LatencyHistogram } from '../../src/latency-histogram.js';
import { renderReportHtml } from '../../src/report-html.js';
import type { SimulationReport } from '../../src/simulation-report.js';
import { goodFacts } from '../support/facts.js';

function sampleReport(overrides: Partial<SimulationReport> = {}): SimulationReport {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 500; i++) h.record(i / 7);
  const checks = evaluatePromises(goodFacts());
  return {
    kind: 'velvet-rope-simulation',
    version: 1,
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:01:00.000Z',
    durationSeconds: 60,
    passed: true,
    options: { shoppers: 1000, stock: 100 },
    target: { baseUrl: 'http://127.0.0.1:3000', spawned: true, gatewayExitCode: 0, workerExitCode: 0, isolation: null },
    sale: {
      id: 'sim-<x>',
      stock: 100,
      ratePerMinute: 600,
      checkoutSeconds: 5,
      mode: 'prequeue-random',
      windowSeconds: 2,
      startsAt: '2026-01-01T10:00:05.000Z',
      startT: 5,
    },
    checks,
    figures: {
      joins: { total: 1000, prequeue: 60, prequeueSeconds: 0.2, prequeuePerSecond: 300, peakPerSecond: 700 },
      requests: { total: 9000, perSecond: 150, peakPerSecond: 900 },
      sellOut: { reservedSeconds: 14.5, committedSeconds: 15, rateAllowsSeconds: 10, admittedTotal: 120 },
      memory: {
        gatewayRssBeforeMb: 100,
        gatewayRssWithQueueMb: 110,
        gatewayPeakRssMb: 150,
        workerPeakRssMb: 80,
        redis: {
          queued: 900,
          visitors: 1000,
          queueBytes: 100_000,
          visitorsBytes: 90_000,
          bytesPerShopper: 201,
          rateLimitBytes: 7_700,
          bytesPerShopperWithLimits: 209,
        },
        redisPrequeue: null,
      },
      simulator: { cpuSeconds: 10, maxQueued: 0, slotWaitP99Ms: 0.1, slotWaitMeanMs: 0 },
      orders: { accepted: 100, told: 100, confirmed: 100, rejected: 0, sold: 100, stock: 100, retried: 20, retryMismatches: 0 },
    },
    journeys: { ordered: 100, sold_out: 900 },
    behaviours: { 'abandon at checkout': 50 },
    latency: { join: h.summary(), status: h.summary() },
    latencyBuckets: { join: h.coarseBuckets(20), status: h.coarseBuckets(20) },
    statusCodes: { join: { '201': 1000 }, status: { '200': 8000 } },
    fairness: {
      mode: 'prequeue-random',
      windowSeconds: 2,
      prequeueShoppers: 60,
      prequeueRho: 0.02,
      prequeueAdmittedRho: 0.01,
      windows: { inversions: 0, admitted: 120, neverAdmitted: 800, windows: 4 },
      windowDisagreements: 0,
      rejoins: 10,
      rejoinsAfterExpiry: 0,
      rejoinMismatches: 0,
      duplicateIdentities: 0,
      bots: {
        bots: 2,
        joins: 20,
        distinctIdentities: 20,
        meanNormalizedRank: 0.5,
        honestMeanNormalizedRank: 0.5,
        shareInFrontTenth: 0.1,
        bestNormalizedRank: 0.02,
        meanPositionAtJoin: 300,
        honestMeanPositionAtJoin: 320,
      },
    },
    socket: {
      sampled: 10,
      connected: 0,
      failed: 10,
      saleUpdates: 0,
      saleUpdatesPerSocketSecond: 0,
      admittedEvents: 0,
      orderUpdates: 0,
      admittedByPush: 0,
      firstError: 'connect_error: <websocket error>',
    },
    series: Array.from({ length: 40 }, (_, i) => ({
      t: i * 0.5,
      waiting: 1000 - i * 20,
      admitted: 5,
      admittedTotal: i * 3,
      remaining: 100 - i * 2,
      pending: 1,
      sold: i * 2,
      gatewayRssMb: 100 + i,
      workerRssMb: 80,
      requestsPerSecond: 100,
    })),
    scatter: {
      prequeue: [
        [1, 5],
        [2, 3],
      ],
      later: [
        [70, 61],
        [80, 65],
      ],
    },
    problems: [],
    ...overrides,
  };
}

describe('renderReportHtml', () => {
  it('is one self-contained page: verdict, every promise, charts, no scripts or remote assets', () => {
    const html = renderReportHtml(sampleReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('PASSED');
    for (const id of ['I1', 'I2', 'I3', 'I4', 'I5', 'I6']) expect(html).toContain(`${id} `);
    // time charts (4), latency distribution, scatter
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(6);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=["']?https?:/i);
    expect(html.match(/https?:\/\/[^"' <]+/g)!.every((u) => u === 'http://www.w3.org/2000/svg' || u.startsWith('http://127.0.0.1'))).toBe(
      true,
    );
  });

  it('escapes what came from outside (sale id, error messages)', () => {
    const html = renderReportHtml(sampleReport());
    expect(html).toContain('sim-&lt;x&gt;');
    expect(html).toContain('&lt;websocket error&gt;');
    expect(html).not.toContain('<x>');
  });

  it('shows a broken promise as broken', () => {
    const checks = evaluatePromises({ ...goodFacts(), sold: 101 });
    const html = renderReportHtml(sampleReport({ passed: false, checks }));
    expect(html).toContain('FAILED');
    expect(html).toContain('broken');
    expect(html).toContain('✘ I1');
  });

  it('lists the problems seen, when any', () => {
    expect(renderReportHtml(sampleReport({ problems: ['status: 500 {"code":"INTERNAL"}'] }))).toContain('Problems seen');
    expect(renderReportHtml(sampleReport())).not.toContain('Problems seen');
  });
});
