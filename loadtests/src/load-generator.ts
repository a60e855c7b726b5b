/**
 * The benchmarks' load generator: one undici Pool with N keep-alive connections and N
 * requests always in flight (closed loop), for a fixed time after a warm-up, counting the
 * requests completed. Every target is measured by this same generator in the same process,
 * so that the ratios between targets mean something on a shared, noisy machine.
 */
import { Pool } from 'undici';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';

export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface LoadOptions {
  readonly baseUrl: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** the i-th request; undefined: nothing left to send (e.g. every admission token used) */
  readonly next: (i: number) => LoadRequest | undefined;
  /** the answers that count as done right (others are counted as errors) */
  readonly ok: (status: number) => boolean;
  /** told when the measured period starts and ends (e.g. to read a server's CPU time then) */
  readonly onPeriod?: (edge: 'start' | 'end') => void;
}

export interface LoadResult {
  /** requests answered right within the measured period */
  readonly requests: number;
  readonly errors: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latency: LatencySummary;
  /** the measured period ended early because `next` ran out */
  readonly exhausted: boolean;
}

export async function generateLoad(o: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(o.baseUrl, { connections: o.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latency = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  let issued = 0;
  let requests = 0;
  let errors = 0;
  let exhausted = false;
  let lastCounted = 0;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const measureTo = measureFrom + o.durationMs;
  // the period's edges on timers; one that ends early (nothing left to send) ends it at once
  let periodEdges = 0;
  const edge = () => o.onPeriod?.(periodEdges++ === 0 ? 'start' : 'end');
  const edges = o.onPeriod ? [setTimeout(edge, o.warmupMs), setTimeout(edge, o.warmupMs + o.durationMs)] : [];
  try {
    await Promise.all(
      Array.from({ length: o.connections }, async () => {
        for (;;) {
          const now = performance.now();
          if (now >= measureTo) return;
          const req = o.next(issued++);
          if (!req) {
            exhausted = true;
            return;
          }
          const start = performance.now();
          let status: number;
          try {
            const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
            await res.body.dump();
            status = res.statusCode;
          } catch {
            status = 0;
          }
          const end = performance.now();
          if (start < measureFrom || end > measureTo) continue; // warm-up, or past the end
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (o.ok(status)) {
            requests++;
            latency.record(end - start);
          } else {
            errors++;
          }
          lastCounted = Math.max(lastCounted, end);
        }
      }),
    );
  } finally {
    for (const t of edges) clearTimeout(t);
    if (periodEdges === 1) edge();
    await pool.close();
  }
  // when the requests ran out early, the period ends with the last answer
  const periodEnd = exhausted ? Math.min(measureTo, lastCounted) : measureTo;
  const seconds = Math.max(0.001, (periodEnd - measureFrom) / 1000);
  return {
    requests,
    errors,
    statuses,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(requests / seconds),
    latency: latency.summary(),
    exhausted,
  };
}
