/**
 * The flash-sale simulator: N shoppers against a sale of S units on a real gateway and
 * worker, then every promise (I1-I6) checked against PostgreSQL and what the shoppers saw.
 *
 * The run, in order:
 *  1. a gateway and worker of its own (database, queue, key prefix), unless a running gateway
 *     is given; a sale that starts in `prequeueSeconds`;
 *  2. the pre-queue: `prequeue` shoppers join as fast as the connections allow, and half of
 *     the bots fire their joins; Redis memory and gateway RSS are measured; the sale starts
 *     `prequeueSeconds` after it was made (the pre-queue shoppers poll as advised: at the start);
 *  3. the other shoppers arrive over `arrivalSeconds` after the start (spike or flat), the
 *     other bots fire at the start instant;
 *  4. every shopper polls as advised (capped), buys once admitted, or walks away, retries,
 *     refreshes, listens over socket.io, until bought, told sold out, or out of time;
 *  5. the worker drains; PostgreSQL, Redis and the shoppers' records give the verdicts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient } from './api-client.js';
import { arrivalOffsetsMs } from './arrivals.js';
import { drawTraits, seededRandom } from './behaviour.js';
import { runBots, type BotIdentity, type BotRun } from './bots.js';
import { analyseFairness } from './fairness-analysis.js';
import { DEFAULT_REDIS_URL, redisTargetOf, startIsolatedStack, uniqueId, type IsolatedStack } from './isolated-stack.js';
import { LatencyHistogram } from './latency-histogram.js';
import { readProcessMemory } from './process-memory.js';
import { ProgressLine } from './progress-line.js';
import { evaluatePromises, type PromiseFacts } from './promises.js';
import { startRedisCluster, type LocalCluster } from './redis-cluster.js';
import { measureQueueMemory, readSaleLeftovers } from './redis-probe.js';
import { readSaleLedger, waitForOrders } from './sale-ledger.js';
import { SaleSampler } from './sale-sampler.js';
import { afterJoin, joinQueue, newShopper, SaleNews, type JourneyContext } from './shopper.js';
import { resolveOptions, type SimulationOptions } from './simulation-options.js';
import { writeReport, type SeriesPoint, type SimulationReport } from './simulation-report.js';
import { SocketSample } from './socket-sample.js';

export { resolveOptions, type SimulationOptions } from './simulation-options.js';

export interface SimulationRun {
  readonly options: Partial<SimulationOptions>;
  /** ends the shoppers' journeys early (the report is still written, cleanup still runs) */
  readonly signal?: AbortSignal;
}

export interface SimulationResult {
  readonly report: SimulationReport;
  readonly files: { readonly json: string; readonly html: string } | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const mib = (b: number | undefined | null) => (b === undefined || b === null ? null : Math.round((b / 2 ** 20) * 10) / 10);

function redactUrl(u: string | undefined): string | undefined {
  if (!u) return u;
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable)';
  }
}

export async function runSimulation(input: Partial<SimulationOptions> | SimulationRun = {}): Promise<SimulationResult> {
  const run: SimulationRun =
    'options' in input && typeof input.options === 'object' ? (input as SimulationRun) : { options: input as Partial<SimulationOptions> };
  const o = resolveOptions(run.options);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const progress = new ProgressLine(o.progress !== false);
  const redisUrl = o.redisUrl ?? DEFAULT_REDIS_URL;
  let stack: IsolatedStack | undefined;
  let cluster: LocalCluster | undefined;
  let ownPool: pg.Pool | undefined;
  const clients: ApiClient[] = [];
  let sockets: SocketSample | undefined;
  let sampler: SaleSampler | undefined;
  let ticker: NodeJS.Timeout | undefined;

  progress.say(
    `simulation: ${o.shoppers.toLocaleString('en')} shoppers (${o.prequeue.toLocaleString('en')} in the pre-queue), ` +
      `${o.stock.toLocaleString('en')} units, ${o.ratePerMinute.toLocaleString('en')}/min, mode ${o.mode}, window ${o.windowSeconds} s, ` +
      `${o.bots} bots, socket sample ${o.socketSample}` +
      (o.shards > 1 ? `, ${o.shards} shards` : ''),
  );
  try {
    let clusterNodes = o.redisClusterNodes;
    if (!o.baseUrl && o.shards > 1 && clusterNodes === undefined) {
      progress.say('starting a private three-master Redis Cluster for the sale over shards');
      cluster = await startRedisCluster(3);
      clusterNodes = cluster.nodes;
    }
    if (!o.baseUrl) {
      progress.say('starting an isolated gateway and order worker (own database, queue and Redis prefix)');
      stack = await startIsolatedStack({
        label: 'sim',
        redisUrl,
        ...(clusterNodes ? { redisClusterNodes: clusterNodes } : {}),
        gatewayEnv: {
          TICK_MS: String(o.tickMs),
          OVERSUBSCRIPTION: String(o.oversubscription),
          // the simulator sends each shopper's own address as X-Forwarded-For
          TRUST_PROXY: 'true',
          // always explicit: 0 is the simulator's "off" (the gateway's own default is 300)
          RATE_LIMIT_PER_IP: String(o.perIpLimit),
          ...(o.abandonGraceSeconds !== undefined ? { ABANDON_GRACE_SECONDS: String(o.abandonGraceSeconds) } : {}),
        },
      });
    }
    const baseUrl = stack?.baseUrl ?? o.baseUrl!;
    const adminKey = stack?.adminKey ?? o.adminKey!;
    const pool = stack?.pool ?? (ownPool = new pg.Pool({ connectionString: o.databaseUrl, max: 4 }));
    const prefix = stack?.prefix ?? o.redisKeyPrefix;
    const redisTarget = stack?.redisTarget ?? redisTargetOf(redisUrl, clusterNodes);
    const gatewayPid = stack?.gateway.pid ?? o.gatewayPid;

    const api = new ApiClient(baseUrl, { connections: o.connections, maxInFlight: o.concurrency, timeoutMs: 60_000 });
    const botApi = new ApiClient(baseUrl, { connections: Math.max(1, o.bots), maxInFlight: Math.max(1, o.bots), timeoutMs: 60_000 });
    const admin = new ApiClient(baseUrl, { connections: 2, maxInFlight: 4, timeoutMs: 60_000 });
    clients.push(api, botApi, admin);

    // 1. the sale
    const saleId = o.saleId ?? uniqueId('sim-');
    const plannedStart = Date.now() + o.prequeueSeconds * 1000;
    const created = await admin.call('admin', 'POST', '/api/admin/sales', {
      token: adminKey,
      body: {
        id: saleId,
        name: `Simulated flash sale ${saleId}`,
        stock: o.stock,
        startsAt: new Date(plannedStart).toISOString(),
        ratePerMinute: o.ratePerMinute,
        checkoutSeconds: o.checkoutSeconds,
        maxPerShopper: 1,
        queueMode: o.mode,
        windowSeconds: o.windowSeconds,
        ...(o.shards > 1 ? { shards: o.shards } : {}),
      },
    });
    if (created.status !== 201) throw new Error(`creating the sale failed: ${created.status} ${JSON.stringify(created.body)}`);
    const createdStart = (created.body as { startsAt?: unknown } | undefined)?.startsAt;
    const startsAt = typeof createdStart === 'string' ? Date.parse(createdStart) : plannedStart;

    sampler = new SaleSampler({
      admin,
      adminKey,
      saleId,
      gatewayPid,
      workerPid: stack?.worker?.pid,
      requestCount: () => api.completed + botApi.completed,
      t0,
    });
    sampler.start();
    const rssBefore = gatewayPid ? await readProcessMemory(gatewayPid) : undefined;

    const traits = drawTraits(
      o.shoppers,
      { abandon: o.abandon, retry: o.retry, impatient: o.impatient, socketSample: o.socketSample, closeAtTurn: o.closeAtTurn },
      o.seed,
    );
    const shoppers = traits.map((t, i) => newShopper(i, t, i < o.prequeue));
    sockets = o.socketSample > 0 || o.closeAtTurn > 0 ? new SocketSample(baseUrl, saleId) : undefined;
    const ctx: JourneyContext = {
      api,
      saleId,
      deadline: t0 + o.maxSeconds * 1000 * 0.85,
      maxPollMs: o.maxPollMs,
      thinkMs: o.thinkMs,
      random: seededRandom(o.seed ^ 0x5bd1e995),
      sockets,
      leaveAfterPolls: 2,
      news: new SaleNews(),
    };
    run.signal?.addEventListener('abort', () => {
      ctx.deadline = Date.now();
    });
    let phase = 'pre-queue';
    ticker = setInterval(() => {
      const latest = sampler?.latest();
      if (!ctx.news.told && latest && (latest.status === 'sold_out' || latest.status === 'ended')) ctx.news.broadcast();
      const joined = shoppers.reduce((n, s) => n + (s.visitorId ? 1 : 0), 0);
      const st = sampler?.latest();
      const since = `start${Date.now() >= startsAt ? '+' : ''}${((Date.now() - startsAt) / 1000).toFixed(1)}s`;
      progress.update(
        `[${since} ${phase}] joined ${joined.toLocaleString('en')}/${o.shoppers.toLocaleString('en')}` +
          (st
            ? ` | waiting ${st.waiting.toLocaleString('en')} admitted ${st.admitted} remaining ${st.remaining.toLocaleString('en')} sold ${st.sold.toLocaleString('en')}/${st.stock.toLocaleString('en')}`
            : '') +
          ` | ${api.completed.toLocaleString('en')} requests, ${api.inFlight} in flight, ${api.queued.toLocaleString('en')} queued | 5xx ${api.answers5xx} 503 ${api.answers503}`,
      );
    }, 500);

    // 2. the pre-queue: everyone at once (as fast as the connections allow), then wait for the start
    const journeys: Promise<void>[] = [];
    const tPre0 = Date.now();
    const preBots = Math.ceil(o.bots / 2);
    const botsPre = runBots(botApi, saleId, preBots, o.botJoins, ctx.deadline);
    const preJoins: Promise<unknown>[] = [];
    for (let i = 0; i < o.prequeue; i++) {
      const s = shoppers[i]!;
      const joined = joinQueue(ctx, s);
      preJoins.push(joined);
      journeys.push(joined.then((st) => (st ? afterJoin(ctx, s, st) : undefined)));
    }
    await Promise.all(preJoins);
    const botRunPre = await botsPre;
    const tPre1 = Date.now();
    const prequeueJoins = shoppers.slice(0, o.prequeue).filter((s) => s.visitorId).length + botRunPre.identities.length;
    progress.say(
      `pre-queue: ${prequeueJoins.toLocaleString('en')} joins in ${((tPre1 - tPre0) / 1000).toFixed(1)} s ` +
        `(${Math.round(prequeueJoins / Math.max(0.001, (tPre1 - tPre0) / 1000)).toLocaleString('en')}/s)`,
    );
    const redisPrequeue = prefix ? await measureQueueMemory(redisTarget, prefix, saleId, o.shards).catch(() => null) : null;
    const rssWithQueue = gatewayPid ? await readProcessMemory(gatewayPid) : undefined;
    progress.say(`the sale starts at ${new Date(startsAt).toISOString()} (in ${((startsAt - Date.now()) / 1000).toFixed(1)} s)`);

    // 3. the start (on its own, at the time set when the sale was made), and the arrivals after it
    if (Date.now() > startsAt) {
      progress.say(
        `note: the pre-queue joins took longer than --prequeue-seconds ${o.prequeueSeconds}; the late ones joined after the start`,
      );
    }
    phase = 'sale';
    const botsStart: Promise<BotRun> = sleep(startsAt - Date.now()).then(() =>
      runBots(botApi, saleId, o.bots - preBots, o.botJoins, ctx.deadline, preBots),
    );
    const later = shoppers.slice(o.prequeue);
    const offsets = arrivalOffsetsMs(later.length, o.arrivalSeconds * 1000, o.arrivalProfile);
    const laterJoins: Promise<unknown>[] = [];
    for (let k = 0; k < later.length; k++) {
      const due = startsAt + offsets[k]!;
      if (due > Date.now()) await sleep(due - Date.now());
      if (Date.now() >= ctx.deadline) break;
      const s = later[k]!;
      const joined = joinQueue(ctx, s);
      laterJoins.push(joined);
      journeys.push(joined.then((st) => (st ? afterJoin(ctx, s, st) : undefined)));
    }
    await Promise.all(laterJoins);
    const botRunStart = await botsStart;
    const redisPeak = prefix ? await measureQueueMemory(redisTarget, prefix, saleId, o.shards).catch(() => null) : null;
    phase = 'until sold out';
    await Promise.all(journeys);
    const tJourneysEnd = Date.now();

    // 5. the worker drains; then the verdicts
    phase = 'draining';
    const told = new Set<string>();
    const accepted = new Set<string>();
    for (const s of shoppers) {
      if (s.orderId) told.add(s.orderId);
      for (const id of s.accepted) {
        told.add(id);
        accepted.add(id);
      }
    }
    await waitForOrders(pool, saleId, told.size, 60_000);
    let leftovers = prefix ? await readSaleLeftovers(redisTarget, prefix, saleId, o.shards).catch(() => undefined) : undefined;
    for (let i = 0; i < 75 && leftovers && leftovers.pending > 0; i++) {
      await sleep(200);
      leftovers = await readSaleLeftovers(redisTarget, prefix!, saleId, o.shards).catch(() => undefined);
    }
    // the pages closed last are freed a grace after they closed: wait for them (bounded)
    const closed = shoppers.filter((s) => s.end === 'closed').length;
    const graceMs = (o.abandonGraceSeconds ?? 20) * 1_000;
    for (const until = Date.now() + graceMs + 10_000; graceMs > 0 && leftovers && leftovers.freed < closed && Date.now() < until;) {
      await sleep(250);
      leftovers = await readSaleLeftovers(redisTarget, prefix!, saleId, o.shards).catch(() => undefined);
    }
    await sleep(600); // one more sample after the drain, for the charts
    await sampler.sampleOnce();
    sampler.stop();
    clearInterval(ticker);
    ticker = undefined;
    progress.done();
    sockets?.close();
    const ledger = await readSaleLedger(pool, saleId);
    const gatewayAlive = stack ? stack.gateway.alive() : await healthy(admin);
    // the gateway's own report of the sale (recorded in PostgreSQL as it ran: the counters move
    // about once a second), kept beside the simulator's figures
    await sleep(2_000);
    const saleReport = gatewayAlive
      ? await admin.call('admin', 'GET', `/api/admin/sales/${encodeURIComponent(saleId)}/report`, { token: adminKey })
      : undefined;
    const exitCodes = stack ? await stack.stop() : { gateway: null, worker: null };

    const bots: BotIdentity[] = [...botRunPre.identities, ...botRunStart.identities];
    const fairness = analyseFairness({ shoppers, bots, botCount: o.bots, mode: o.mode, windowSeconds: o.windowSeconds, startsAt });
    const retried = shoppers.filter((s) => s.traits.retry !== 'none' && s.orderId !== undefined);
    const buyersWanting = shoppers.filter((s) => s.traits.abandon === 'none' && !s.traits.closeAtTurn).length;
    const journeysEnded = countBy(shoppers, (s) => s.end);
    const facts: PromiseFacts = {
      stock: ledger.stock,
      sold: ledger.sold,
      confirmedQuantity: ledger.confirmedQuantity,
      confirmedOrders: ledger.confirmedOrders,
      rejectedOrders: ledger.rejectedOrders,
      visitorsWithSeveralOrders: ledger.visitorsWithSeveralOrders,
      accepted: accepted.size,
      ordersTold: told.size,
      acceptedNotConfirmed: [...accepted].filter((id) => !ledger.confirmed.has(id)).length,
      retriedPurchases: retried.length,
      retryMismatches: shoppers.filter((s) => s.retryMismatch).length,
      buyersWanting,
      outboxLeft: leftovers?.pending ?? null,
      fairness: {
        mode: o.mode,
        prequeueShoppers: fairness.prequeueShoppers,
        prequeueRho: fairness.prequeueRho,
        inversions: fairness.windows.inversions,
        windowsCompared: fairness.windows.windows,
        windowDisagreements: fairness.windowDisagreements,
        rejoins: fairness.rejoins,
        rejoinMismatches: fairness.rejoinMismatches,
        duplicateIdentities: fairness.duplicateIdentities,
        botJoins: bots.length,
        botDistinctIdentities: fairness.bots.distinctIdentities,
      },
      stability: {
        answers5xx: api.answers5xx + botApi.answers5xx + admin.answers5xx,
        answers503: api.answers503 + botApi.answers503 + admin.answers503,
        missingRetryAfter: api.missingRetryAfter + botApi.missingRetryAfter + admin.missingRetryAfter,
        networkErrors: api.networkErrors + botApi.networkErrors + admin.networkErrors,
        protocolErrors: api.protocolErrors + botApi.protocolErrors + admin.protocolErrors,
        gatewayAlive,
        peakRssBytes: sampler.peakGatewayRss > 0 ? sampler.peakGatewayRss : null,
        rssLimitBytes: o.rssLimitMb * 2 ** 20,
        unfinishedJourneys: (journeysEnded.timed_out ?? 0) + (journeysEnded.pending ?? 0),
      },
    };
    const checks = evaluatePromises(facts);

    // figures
    const startT = Math.round((startsAt - t0) / 10) / 100;
    const series = seriesOf(sampler);
    const afterStart = sampler.samples.filter((s) => s.t >= startT && s.stats);
    const firstAt = (pred: (x: NonNullable<(typeof afterStart)[number]['stats']>) => boolean) => {
      const hit = afterStart.find((s) => pred(s.stats!));
      return hit ? Math.round((hit.t - startT) * 10) / 10 : null;
    };
    const joinTimes = [...shoppers.filter((s) => s.visitorId).map((s) => s.answeredAt), ...bots.map((b) => b.sentAt)];
    const perSecond = countBy(joinTimes, (t) => String(Math.floor(t / 1000)));
    const requests = api.completed + botApi.completed;
    const lastStats = sampler.latest();
    const latency = new Map<string, LatencyHistogram>();
    for (const c of clients) {
      for (const [e, h] of c.latency) {
        let m = latency.get(e);
        if (!m) latency.set(e, (m = new LatencyHistogram()));
        m.merge(h);
      }
    }
    const statusCodes: Record<string, Record<string, number>> = {};
    for (const c of clients) {
      for (const [e, m] of c.statuses) {
        const into = (statusCodes[e] ??= {});
        for (const [code, n] of m) into[code] = (into[code] ?? 0) + n;
      }
    }
    const finishedAt = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const socketFigures = sockets?.figures() ?? {
      sampled: 0,
      connected: 0,
      failed: 0,
      saleUpdates: 0,
      saleUpdatesPerSocketSecond: 0,
      admittedEvents: 0,
      orderUpdates: 0,
      admittedByPush: 0,
      firstError: null,
    };
    const report: SimulationReport = {
      kind: 'velvet-rope-simulation',
      version: 1,
      startedAt: new Date(t0).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationSeconds: Math.round((finishedAt - t0) / 100) / 10,
      passed: checks.every((c) => c.pass),
      options: { ...o, adminKey: o.adminKey ? '***' : undefined, databaseUrl: redactUrl(o.databaseUrl), redisUrl: redactUrl(o.redisUrl) },
      target: {
        baseUrl,
        spawned: stack !== undefined,
        gatewayExitCode: exitCodes.gateway,
        workerExitCode: exitCodes.worker,
        isolation: stack ? { database: stack.databaseName, ordersQueue: stack.queue, redisKeyPrefix: stack.prefix } : null,
      },
      sale: {
        id: saleId,
        stock: o.stock,
        ratePerMinute: o.ratePerMinute,
        checkoutSeconds: o.checkoutSeconds,
        mode: o.mode,
        windowSeconds: o.windowSeconds,
        shards: o.shards,
        startsAt: new Date(startsAt).toISOString(),
        startT,
      },
      checks,
      figures: {
        joins: {
          total: joinTimes.length,
          prequeue: prequeueJoins,
          prequeueSeconds: Math.round((tPre1 - tPre0) / 100) / 10,
          prequeuePerSecond: Math.round(prequeueJoins / Math.max(0.001, (tPre1 - tPre0) / 1000)),
          peakPerSecond: Math.max(0, ...Object.values(perSecond)),
        },
        requests: {
          total: requests,
          perSecond: Math.round(requests / Math.max(0.001, (tJourneysEnd - tPre0) / 1000)),
          peakPerSecond: Math.round(Math.max(0, ...series.map((p) => p.requestsPerSecond ?? 0))),
        },
        sellOut: {
          reservedSeconds: firstAt((st) => st.remaining === 0),
          committedSeconds: firstAt((st) => st.sold >= st.stock),
          rateAllowsSeconds: Math.round((o.stock / (o.ratePerMinute / 60)) * 10) / 10,
          admittedTotal: lastStats?.admittedTotal ?? null,
        },
        pagesGone: {
          closedAtTurn: journeysEnded.closed ?? 0,
          freed: leftovers?.freed ?? null,
          walkedAway: leftovers?.walkedAway ?? null,
        },
        memory: {
          gatewayRssBeforeMb: mib(rssBefore?.rssBytes),
          gatewayRssWithQueueMb: mib(rssWithQueue?.rssBytes),
          gatewayPeakRssMb: sampler.peakGatewayRss > 0 ? mib(sampler.peakGatewayRss) : null,
          workerPeakRssMb: mib(Math.max(0, ...sampler.samples.map((s) => s.workerRssBytes ?? 0)) || null),
          redis: redisPeak ?? null,
          redisPrequeue: redisPrequeue ?? null,
        },
        simulator: {
          cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
          maxQueued: api.maxQueued,
          slotWaitP99Ms: Math.round(api.clientWait.percentile(99) * 10) / 10,
          slotWaitMeanMs: Math.round(api.clientWait.mean * 10) / 10,
        },
        orders: {
          accepted: accepted.size,
          told: told.size,
          confirmed: ledger.confirmedOrders,
          rejected: ledger.rejectedOrders,
          sold: ledger.sold,
          stock: ledger.stock,
          retried: retried.length,
          retryMismatches: facts.retryMismatches,
        },
      },
      saleReport: saleReport?.status === 200 ? saleReport.body : null,
      journeys: journeysEnded,
      behaviours: {
        'abandon while waiting': traits.filter((t) => t.abandon === 'while-waiting').length,
        'abandon at checkout': traits.filter((t) => t.abandon === 'at-checkout').length,
        'purchase twice, one after the other': traits.filter((t) => t.retry === 'sequential').length,
        'purchase twice at once (double click)': traits.filter((t) => t.retry === 'concurrent').length,
        'impatient (polls too often, re-joins)': traits.filter((t) => t.impatient).length,
        'socket.io sample': traits.filter((t) => t.socket).length,
        'close the page at their turn': traits.filter((t) => t.closeAtTurn).length,
        'admitted by socket push first': shoppers.filter((s) => s.admittedByPush).length,
      },
      latency: Object.fromEntries([...latency].map(([e, h]) => [e, h.summary()])),
      latencyBuckets: Object.fromEntries([...latency].map(([e, h]) => [e, h.coarseBuckets(20)])),
      statusCodes,
      fairness,
      socket: socketFigures,
      series,
      scatter: {
        prequeue: shoppers.filter((s) => s.prequeue && s.admission !== undefined).map((s) => [s.index, s.admission!] as const),
        later: shoppers.filter((s) => !s.prequeue && s.admission !== undefined).map((s) => [s.index, s.admission!] as const),
      },
      problems: [
        ...clients.flatMap((c) => c.problems),
        ...(stack && (exitCodes.gateway !== 0 || exitCodes.worker !== 0)
          ? [`exit codes after SIGTERM: gateway ${exitCodes.gateway}, worker ${exitCodes.worker}`]
          : []),
      ],
    };
    const files = o.out ? await writeReport(o.out, report) : undefined;
    if (o.out && stack) {
      // what the processes printed (warnings and errors only, at LOG_LEVEL warn), for diagnosis
      await writeFile(join(o.out, 'gateway.log'), stack.gateway.output());
      await writeFile(join(o.out, 'worker.log'), stack.worker?.output() ?? '');
    }
    if (o.out && o.dumpShoppers) {
      await writeFile(join(o.out, 'shoppers.ndjson'), shoppers.map((s) => JSON.stringify({ ...s, ticket: undefined })).join('\n') + '\n');
    }
    progress.say(summaryLine(report));
    const funnel = (report.saleReport as { funnel?: unknown } | null)?.funnel;
    if (funnel) progress.say(`sale report funnel: ${JSON.stringify(funnel)}`);
    if (files) progress.say(`report: ${files.html}`);
    return { report, files };
  } catch (err) {
    if (stack) {
      const tail = (s: string) => s.slice(-3000);
      (err as Error).message +=
        `\n--- gateway output ---\n${tail(stack.gateway.output())}\n--- worker output ---\n${tail(stack.worker?.output() ?? '')}`;
    }
    throw err;
  } finally {
    if (ticker) clearInterval(ticker);
    sampler?.stop();
    sockets?.close();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await ownPool?.end().catch(() => undefined);
    try {
      if (stack) await stack.cleanup();
    } finally {
      await cluster?.stop();
    }
  }
}

async function healthy(admin: ApiClient): Promise<boolean> {
  const a = await admin.call('admin', 'GET', '/healthz');
  return a.status === 200;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) {
    const k = key(it);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function seriesOf(sampler: SaleSampler): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let prev: { t: number; requests: number } | undefined;
  for (const s of sampler.samples) {
    const st = s.stats;
    const rps = prev && s.t > prev.t ? Math.round((s.requests - prev.requests) / (s.t - prev.t)) : null;
    prev = { t: s.t, requests: s.requests };
    out.push({
      t: s.t,
      waiting: st?.waiting ?? null,
      admitted: st?.admitted ?? null,
      admittedTotal: st?.admittedTotal ?? null,
      remaining: st?.remaining ?? null,
      pending: st?.pending ?? null,
      sold: st?.sold ?? null,
      gatewayRssMb: mib(s.gatewayRssBytes),
      workerRssMb: mib(s.workerRssBytes),
      requestsPerSecond: rps,
    });
  }
  return out;
}

export function summaryLine(r: SimulationReport): string {
  const checks = r.checks.map((c) => `${c.id} ${c.pass ? 'ok' : 'BROKEN'}`).join(', ');
  const l = r.latency;
  const p99 = ['join', 'status', 'purchase'].map((e) => `${e} p99 ${l[e]?.p99 ?? '–'} ms`).join(', ');
  return (
    `${r.passed ? 'PASSED' : 'FAILED'}: ${checks}. ${r.figures.orders.sold}/${r.figures.orders.stock} sold; ` +
    `sold out ${r.figures.sellOut.reservedSeconds ?? '–'} s after the start (rate allows ${r.figures.sellOut.rateAllowsSeconds} s); ` +
    (r.figures.pagesGone && r.figures.pagesGone.closedAtTurn > 0
      ? `${r.figures.pagesGone.closedAtTurn} closed the page at their turn, ${r.figures.pagesGone.freed ?? '–'} turns freed; `
      : '') +
    `joins ${r.figures.joins.prequeuePerSecond}/s in the pre-queue; ${p99}; rho ${r.fairness.prequeueRho.toFixed(4)}, inversions ${r.fairness.windows.inversions}`
  );
}
