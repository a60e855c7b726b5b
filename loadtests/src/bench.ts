/**
 * Benchmarks: each hot path measured with the same load generator, in the same run, against
 * a bare Fastify route, and reported as a ratio to it (machines here are shared and noisy;
 * absolute numbers are not stable, ratios are).
 *
 *   baseline  GET on a bare Fastify route (its own process, like the gateway)
 *   join      POST /api/sales/:id/queue, a new visitor each request, sale in the pre-queue
 *   status    GET /api/sales/:id/queue/me, round robin over a pool of tickets, sale open
 *   purchase  POST /api/sales/:id/purchases, each admission token used once (prepared first)
 *   worker    orders/s the order worker commits from a pre-filled queue into PostgreSQL
 *
 * `node loadtests/dist/bench.js [--quick] [--connections N] [--seconds S] [--out-dir DIR]`;
 * writes `bench-<timestamp>.json` (default loadtests/reports/).
 */
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { parseJoin, parseStanding, parseStats } from './api-answers.js';
import { ApiClient } from './api-client.js';
import { parseFlags, runIfInvoked } from './cli.js';
import { startIsolatedStack, uniqueId, type IsolatedStack } from './isolated-stack.js';
import { generateLoad, type LoadRequest, type LoadResult } from './load-generator.js';
import { readProcessCpuSeconds } from './process-cpu.js';
import { freePort, REPO_ROOT, spawnService, waitForOutput, type ServiceProcess } from './service-process.js';
import { timestampName } from './simulation-report.js';
import { measureWorker, type WorkerFigures } from './worker-bench.js';

export interface BenchOptions {
  readonly quick: boolean;
  /** connections (and requests in flight) of the load generator, the same for every target */
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** orders pre-filled for the worker */
  readonly workerOrders: number;
  /** admission tokens prepared for the purchase run (each used once) */
  readonly purchaseTokens: number;
  /** tickets the status run goes round */
  readonly statusTickets: number;
  readonly outDir: string;
  readonly progress: boolean;
}

/** a load's figures, with the CPU the server spent on it (Linux only) */
export interface MeasuredLoad extends LoadResult {
  /**
   * the server process's CPU time in the measured period over the answers it gave then, in
   * microseconds: what each request costs the server, whichever side was the bottleneck
   */
  readonly serverCpuMicrosPerRequest?: number;
  /**
   * the measured period in seconds since the server process was started: the window of its
   * CPU profile that holds this path (`LOADTEST_GATEWAY_NODE_ARGS='--cpu-prof ...'`, then
   * `flamegraph.js --from --to`)
   */
  readonly serverWindowSeconds?: readonly [number, number];
}

export interface PathFigures extends MeasuredLoad {
  /** requests/s of this path divided by the baseline's */
  readonly ratio: number;
  /** the baseline server's CPU per request divided by this path's: the share of a bare route's efficiency */
  readonly cpuRatio?: number;
}

export interface BenchReport {
  readonly kind: 'velvet-rope-bench';
  readonly version: 1;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: { readonly cpus: number; readonly loadavg: readonly number[]; readonly node: string };
  readonly connections: number;
  readonly secondsPerPath: number;
  readonly baseline: MeasuredLoad;
  readonly join: PathFigures;
  readonly status: PathFigures;
  readonly purchase: PathFigures;
  readonly worker: WorkerFigures & {
    /** orders/s over the baseline's requests/s: a scale, not a like-for-like ratio */
    readonly ratio: number;
  };
}

export function benchOptions(input: Partial<BenchOptions> = {}): BenchOptions {
  const quick = input.quick ?? false;
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return {
    quick,
    connections: 32,
    seconds: quick ? 2 : 10,
    warmupSeconds: quick ? 0.5 : 2,
    workerOrders: quick ? 10_000 : 100_000,
    // enough for warm-up and period at ~6,000 purchases/s; past that the period ends with the
    // last answer (the load generator measures what it got) and the table says so
    purchaseTokens: quick ? 5_000 : 80_000,
    statusTickets: quick ? 2_000 : 5_000,
    outDir: joinPath(REPO_ROOT, 'loadtests', 'reports'),
    progress: true,
    ...defined,
  } as BenchOptions;
}

const BASELINE_SERVER = `
import Fastify from 'fastify';
const app = Fastify({ logger: false });
app.get('/baseline', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write('baseline ready\\n');
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => app.close().then(() => process.exit(0)));
`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runBench(input: Partial<BenchOptions> = {}): Promise<{ report: BenchReport; file: string }> {
  const o = benchOptions(input);
  const t0 = Date.now();
  const say = (s: string) => {
    if (o.progress) process.stderr.write(`${s}\n`);
  };
  let stack: IsolatedStack | undefined;
  let baselineServer: ServiceProcess | undefined;
  let prep: ApiClient | undefined;
  try {
    say(`bench${o.quick ? ' (quick)' : ''}: ${o.connections} connections, ${o.seconds} s per path after ${o.warmupSeconds} s warm-up`);
    stack = await startIsolatedStack({
      label: 'bench',
      startWorker: false,
      // nothing re-published during the run: the purchases' outbox stays until the end
      gatewayEnv: { TICK_MS: '100', REPUBLISH_AFTER_MS: '3600000' },
    });
    const port = await freePort();
    baselineServer = spawnService('baseline', { code: BASELINE_SERVER, env: { PORT: String(port) } });
    await waitForOutput(baselineServer, 'baseline ready');
    const base = stack.baseUrl;
    prep = new ApiClient(base, { connections: 32, maxInFlight: 64, timeoutMs: 60_000 });
    const p = prep;
    const load = async (
      next: (i: number) => LoadRequest | undefined,
      ok: (s: number) => boolean,
      baseUrl = base,
      server: ServiceProcess = stack!.gateway,
    ): Promise<MeasuredLoad> => {
      const serverPid = server.pid;
      const cpu: Promise<number | undefined>[] = [];
      const window: number[] = [];
      const r = await generateLoad({
        baseUrl,
        connections: o.connections,
        warmupMs: o.warmupSeconds * 1000,
        durationMs: o.seconds * 1000,
        next,
        ok,
        onPeriod: () => {
          cpu.push(readProcessCpuSeconds(serverPid));
          window.push(Math.round((Date.now() - server.startedAt) / 100) / 10);
        },
      });
      const [from, to] = await Promise.all(cpu);
      const answered = r.requests + r.errors;
      const measured = window.length === 2 ? { ...r, serverWindowSeconds: [window[0]!, window[1]!] as const } : r;
      if (from === undefined || to === undefined || answered === 0) return measured;
      return { ...measured, serverCpuMicrosPerRequest: Math.round(((to - from) * 1e6) / answered) };
    };
    const createSale = async (body: Record<string, unknown>) => {
      const a = await p.call('admin', 'POST', '/api/admin/sales', { token: stack!.adminKey, body });
      if (a.status !== 201) throw new Error(`creating a sale failed: ${a.status} ${JSON.stringify(a.body)}`);
    };
    const inParallel = async <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> =>
      Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

    // baseline
    say('baseline: a bare Fastify route');
    const baseline = await load(
      () => ({ method: 'GET', path: '/baseline' }),
      (s) => s === 200,
      `http://127.0.0.1:${port}`,
      baselineServer,
    );
    await baselineServer.stop();
    const ratio = (r: MeasuredLoad): PathFigures => ({
      ...r,
      ratio: Math.round((r.perSecond / Math.max(1, baseline.perSecond)) * 1000) / 1000,
      ...(r.serverCpuMicrosPerRequest && baseline.serverCpuMicrosPerRequest
        ? { cpuRatio: Math.round((baseline.serverCpuMicrosPerRequest / r.serverCpuMicrosPerRequest) * 1000) / 1000 }
        : {}),
    });

    // join: a new visitor each request, in the pre-queue
    const joinSale = uniqueId('bench-join-');
    await createSale({
      id: joinSale,
      name: 'bench join',
      stock: 1000,
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      ratePerMinute: 0,
    });
    say('join: new visitors, pre-queue');
    const joinReq: LoadRequest = {
      method: 'POST',
      path: `/api/sales/${joinSale}/queue`,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    };
    const join = ratio(
      await load(
        () => joinReq,
        (s) => s === 201,
      ),
    );

    // status: the sale opens with nobody admitted; tickets of visitors who wait in it
    say(`status: preparing ${o.statusTickets} tickets`);
    const tickets = (
      await inParallel(o.statusTickets, async () => {
        const a = await p.call('join', 'POST', `/api/sales/${joinSale}/queue`, { body: {} });
        return parseJoin(a.body)?.ticket;
      })
    ).filter((t): t is string => t !== undefined);
    if (tickets.length < o.statusTickets) throw new Error(`status: only ${tickets.length} of ${o.statusTickets} tickets`);
    const opened = await p.call('admin', 'PATCH', `/api/admin/sales/${joinSale}`, {
      token: stack.adminKey,
      body: { startsAt: new Date(Date.now() + 300).toISOString() },
    });
    if (opened.status !== 200) throw new Error(`opening the status sale failed: ${opened.status} ${JSON.stringify(opened.body)}`);
    await sleep(500);
    const probe = parseStanding((await p.call('status', 'GET', `/api/sales/${joinSale}/queue/me`, { token: tickets[0] })).body);
    if (probe?.status !== 'queued') throw new Error(`status: expected a queued visitor, got ${JSON.stringify(probe)}`);
    say('status: queued visitors, round robin');
    const status = ratio(
      await load(
        (i) => ({
          method: 'GET',
          path: `/api/sales/${joinSale}/queue/me`,
          headers: { authorization: `Bearer ${tickets[i % tickets.length]}` },
        }),
        (s) => s === 200,
      ),
    );

    // purchase: every visitor admitted at once, each token used once
    const buySale = uniqueId('bench-buy-');
    const n = o.purchaseTokens;
    await createSale({
      id: buySale,
      name: 'bench purchase',
      stock: n,
      startsAt: new Date(Date.now() - 1_000).toISOString(),
      ratePerMinute: 10_000_000,
      checkoutSeconds: 3600,
      maxPerShopper: 1,
    });
    say(`purchase: preparing ${n} admission tokens`);
    const buyers = (
      await inParallel(n, async () => parseJoin((await p.call('join', 'POST', `/api/sales/${buySale}/queue`, { body: {} })).body)?.ticket)
    ).filter((t): t is string => t !== undefined);
    for (let i = 0; i < 600; i++) {
      const st = parseStats((await p.call('stats', 'GET', `/api/admin/sales/${buySale}/stats`, { token: stack.adminKey })).body);
      if (st && st.admittedTotal >= buyers.length) break;
      await sleep(100);
    }
    const tokens = (
      await inParallel(
        buyers.length,
        async (i) =>
          parseStanding((await p.call('status', 'GET', `/api/sales/${buySale}/queue/me`, { token: buyers[i] })).body)?.admission?.token,
      )
    ).filter((t): t is string => t !== undefined);
    if (tokens.length < n * 0.99) throw new Error(`purchase: only ${tokens.length} of ${n} visitors admitted`);
    say(`purchase: ${tokens.length} tokens, each used once`);
    const purchase = ratio(
      await load(
        (i) =>
          i < tokens.length
            ? {
                method: 'POST',
                path: `/api/sales/${buySale}/purchases`,
                headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
                body: '{"quantity":1}',
              }
            : undefined,
        (s) => s === 202,
      ),
    );

    // worker: a queue filled while no worker runs, then one worker drains it into PostgreSQL
    const worker = await measureWorker(stack, { orders: o.workerOrders, say });

    const report: BenchReport = {
      kind: 'velvet-rope-bench',
      version: 1,
      startedAt: new Date(t0).toISOString(),
      durationSeconds: Math.round((Date.now() - t0) / 100) / 10,
      quick: o.quick,
      machine: { cpus: cpus().length, loadavg: loadavg().map((v) => Math.round(v * 100) / 100), node: process.version },
      connections: o.connections,
      secondsPerPath: o.seconds,
      baseline,
      join,
      status,
      purchase,
      worker: {
        ...worker,
        ratio: Math.round((worker.perSecond / Math.max(1, baseline.perSecond)) * 1000) / 1000,
      },
    };
    await mkdir(o.outDir, { recursive: true });
    const file = joinPath(o.outDir, `bench-${timestampName(new Date(t0))}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    if (o.progress) process.stderr.write(benchTable(report));
    return { report, file };
  } catch (err) {
    if (stack) {
      (err as Error).message += `\n--- gateway output ---\n${stack.gateway.output().slice(-3000)}`;
    }
    throw err;
  } finally {
    await prep?.close().catch(() => undefined);
    await baselineServer?.stop();
    await stack?.cleanup();
  }
}

/** where each path sits in the gateway's CPU profile, when it was made with one */
function windows(r: BenchReport): string {
  const w = (name: string, f: MeasuredLoad) =>
    f.serverWindowSeconds ? `${name} ${f.serverWindowSeconds[0]}–${f.serverWindowSeconds[1]} s` : '';
  const parts = [w('join', r.join), w('status', r.status), w('purchase', r.purchase)].filter(Boolean);
  return parts.length ? `  (in the gateway's clock, from its start: ${parts.join(', ')}; see flamegraph.js --from --to)\n` : '';
}

export function benchTable(r: BenchReport): string {
  const cpu = (f: MeasuredLoad & { cpuRatio?: number }) =>
    f.serverCpuMicrosPerRequest === undefined
      ? ''
      : `  server CPU ${String(f.serverCpuMicrosPerRequest).padStart(4)} µs/req (ratio ${(f.cpuRatio ?? 1).toFixed(3)})`;
  const row = (name: string, f: MeasuredLoad & { ratio?: number; cpuRatio?: number }) =>
    `  ${name.padEnd(9)} ${String(f.perSecond).padStart(8)} req/s  ratio ${(f.ratio ?? 1).toFixed(3).padStart(6)}  p50 ${f.latency.p50.toFixed(2).padStart(7)} ms  p99 ${f.latency.p99
      .toFixed(2)
      .padStart(7)} ms  errors ${f.errors}${cpu(f)}${f.exhausted ? '  (ran out of tokens early)' : ''}\n`;
  return (
    `\nbench (${r.connections} connections, ${r.secondsPerPath} s each; ${r.machine.cpus} CPUs, load ${r.machine.loadavg.join(' ')}):\n` +
    row('baseline', r.baseline) +
    row('join', r.join) +
    row('status', r.status) +
    row('purchase', r.purchase) +
    windows(r) +
    `  worker    ${String(r.worker.perSecond).padStart(8)} orders/s  ratio ${r.worker.ratio.toFixed(3).padStart(6)}  (${r.worker.orders} orders committed in ${r.worker.commitSeconds} s after ready, ${r.worker.fromSpawnSeconds} s after spawn; queue filled in ${r.worker.fillSeconds} s${r.worker.outboxEmptySeconds === undefined ? '' : `; shop outbox empty ${r.worker.outboxEmptySeconds} s after the last commit`})\n`
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const values = parseFlags(argv, {
    quick: { type: 'boolean' },
    connections: { type: 'string' },
    seconds: { type: 'string' },
    'out-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (!values) return 2;
  if (values.help) {
    process.stdout.write('usage: node loadtests/dist/bench.js [--quick] [--connections N] [--seconds S] [--out-dir DIR]\n');
    return 0;
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const { file } = await runBench({
    quick: values.quick ?? false,
    connections: num(values.connections),
    seconds: num(values.seconds),
    outDir: values['out-dir'],
  });
  process.stdout.write(`${file}\n`);
  return 0;
}

runIfInvoked(import.meta.url, 'bench', main);
