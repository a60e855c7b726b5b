/**
 * The simulator's report: one JSON document with every figure a run produced and the verdict
 * on each promise, written as `report.json`, and drawn as `report.html`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FairnessFigures } from './fairness-analysis.js';
import type { HistogramBucket, LatencySummary } from './latency-histogram.js';
import type { PromiseCheck } from './promises.js';
import type { QueueMemory } from './redis-probe.js';
import { renderReportHtml } from './report-html.js';
import type { SocketFigures } from './socket-sample.js';

export interface SeriesPoint {
  /** seconds since the run began */
  readonly t: number;
  readonly waiting: number | null;
  readonly admitted: number | null;
  readonly admittedTotal: number | null;
  readonly remaining: number | null;
  readonly pending: number | null;
  readonly sold: number | null;
  readonly gatewayRssMb: number | null;
  readonly workerRssMb: number | null;
  /** simulator requests per second over the last interval */
  readonly requestsPerSecond: number | null;
}

export interface SimulationReport {
  readonly kind: 'velvet-rope-simulation';
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly passed: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  readonly target: {
    readonly baseUrl: string;
    readonly spawned: boolean;
    readonly gatewayExitCode: number | null;
    readonly workerExitCode: number | null;
    /** what the simulator made for the run, and removed afterwards */
    readonly isolation: { readonly database: string; readonly ordersQueue: string; readonly redisKeyPrefix: string } | null;
  };
  readonly sale: {
    readonly id: string;
    readonly stock: number;
    readonly ratePerMinute: number;
    readonly checkoutSeconds: number;
    readonly mode: string;
    readonly windowSeconds: number;
    /** sub-queues of the sale (1: one hash tag; absent in reports from before --shards) */
    readonly shards?: number;
    readonly startsAt: string;
    /** seconds since the run began */
    readonly startT: number;
  };
  readonly checks: readonly PromiseCheck[];
  /** the gateway's report of the sale (`GET /api/admin/sales/:id/report`), null when it could not be read */
  readonly saleReport?: unknown;
  readonly figures: {
    readonly joins: {
      readonly total: number;
      readonly prequeue: number;
      readonly prequeueSeconds: number;
      readonly prequeuePerSecond: number;
      readonly peakPerSecond: number;
    };
    readonly requests: { readonly total: number; readonly perSecond: number; readonly peakPerSecond: number };
    readonly sellOut: {
      /** from the start until Redis had no unit left to reserve */
      readonly reservedSeconds: number | null;
      /** from the start until PostgreSQL had sold == stock */
      readonly committedSeconds: number | null;
      /** stock / rate: the fastest the admission rate allows */
      readonly rateAllowsSeconds: number;
      readonly admittedTotal: number | null;
    };
    /** turns freed when the page is gone (ABANDON_GRACE_SECONDS): from the gateway's Redis state (absent in reports made before it) */
    readonly pagesGone?: {
      /** shoppers who closed the page at their turn */
      readonly closedAtTurn: number;
      /** turns the gateway freed early (null: Redis not read) */
      readonly freed: number | null;
      /** waiting shoppers whose pages were gone past the grace */
      readonly walkedAway: number | null;
    };
    readonly memory: {
      readonly gatewayRssBeforeMb: number | null;
      readonly gatewayRssWithQueueMb: number | null;
      readonly gatewayPeakRssMb: number | null;
      readonly workerPeakRssMb: number | null;
      /** measured once every arrival had joined (the queue near its longest) */
      readonly redis: QueueMemory | null;
      /** measured at the end of the pre-queue, before the start */
      readonly redisPrequeue: QueueMemory | null;
    };
    /** the load generator's own state: a long wait for a free slot means it, not the gateway, set the pace */
    readonly simulator: {
      readonly cpuSeconds: number;
      readonly maxQueued: number;
      readonly slotWaitP99Ms: number;
      readonly slotWaitMeanMs: number;
    };
    readonly orders: {
      readonly accepted: number;
      readonly told: number;
      readonly confirmed: number;
      readonly rejected: number;
      readonly sold: number;
      readonly stock: number;
      readonly retried: number;
      readonly retryMismatches: number;
    };
  };
  readonly journeys: Readonly<Record<string, number>>;
  readonly behaviours: Readonly<Record<string, number>>;
  readonly latency: Readonly<Record<string, LatencySummary>>;
  readonly latencyBuckets: Readonly<Record<string, readonly HistogramBucket[]>>;
  readonly statusCodes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly fairness: FairnessFigures;
  readonly socket: SocketFigures;
  readonly series: readonly SeriesPoint[];
  /** [arrival order, admission sequence], thinned */
  readonly scatter: { readonly prequeue: readonly (readonly [number, number])[]; readonly later: readonly (readonly [number, number])[] };
  readonly problems: readonly string[];
}

export async function writeReport(dir: string, report: SimulationReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, renderReportHtml(report));
  return { json, html };
}

/** `loadtests/reports/<timestamp>` under the repository root. */
export function timestampName(d = new Date()): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
}
