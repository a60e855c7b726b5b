/**
 * The frame every chaos scenario shares: a fleet on private services, a sale with a few
 * thousand shoppers in its pre-queue, and helpers to time the fault.
 */
import { startFleet, type Fleet, type FleetOptions, type Gateway } from './fleet.js';
import { DEFAULT_SALE, SaleRun, sleep, type SaleOptions } from './sale.js';

export interface ScenarioOptions {
  readonly gateways?: number;
  readonly workerEnv?: Record<string, string>;
  readonly gatewayEnv?: Record<string, string>;
  readonly sale?: Partial<SaleOptions>;
  /**
   * runs once the private services are up, before any gateway or worker: e.g. puts a fault
   * proxy in front of one; the environment it returns per process (by name: gateway-1, ...,
   * worker-1) is added to that process's
   */
  readonly wire?: (fleet: Fleet) => Promise<(gatewayName: string) => Record<string, string>>;
  /** Redis as a primary, a replica and Sentinels (fleet.ts FleetOptions) */
  readonly sentinel?: FleetOptions['sentinel'];
  /** RabbitMQ as a private cluster of this many nodes (fleet.ts FleetOptions) */
  readonly rabbitCluster?: FleetOptions['rabbitCluster'];
  /** a private Redis Cluster of this many masters (fleet.ts FleetOptions) */
  readonly cluster?: FleetOptions['cluster'];
}

export interface Stage {
  readonly fleet: Fleet;
  readonly run: SaleRun;
}

/** Starts the fleet, creates the sale and lets every shopper join its pre-queue. */
export async function setUpScenario(opts: ScenarioOptions = {}): Promise<Stage> {
  const { fleet } = await startScenarioFleet(opts);
  try {
    const run = new SaleRun(fleet, { ...DEFAULT_SALE, ...opts.sale });
    await run.createSale();
    await run.joinAll();
    return { fleet, run };
  } catch (err) {
    await fleet.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The fleet of a scenario without its sale: private services, the wiring, gateway-1 (which
 * creates and migrates the database), then the worker and the other gateways. `env(name)` is
 * what a process of that name was started with, for a restart in its place.
 */
export async function startScenarioFleet(
  opts: Omit<ScenarioOptions, 'sale'> = {},
): Promise<{ fleet: Fleet; env: (name: string) => Record<string, string> }> {
  const fleet = await startFleet({
    ...(opts.sentinel ? { sentinel: opts.sentinel } : {}),
    ...(opts.rabbitCluster ? { rabbitCluster: opts.rabbitCluster } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
  });
  try {
    const wired = opts.wire ? await opts.wire(fleet) : () => ({});
    const env = (name: string) =>
      name.startsWith('worker') ? { ...opts.workerEnv, ...wired(name) } : { ...opts.gatewayEnv, ...wired(name) };
    await fleet.startGateway('gateway-1', { env: env('gateway-1') });
    await Promise.all([
      fleet.startWorker('worker-1', env('worker-1')),
      ...Array.from({ length: (opts.gateways ?? 1) - 1 }, (_, i) =>
        fleet.startGateway(`gateway-${i + 2}`, { env: env(`gateway-${i + 2}`) }),
      ),
    ]);
    // fleet.gateways is in start order; keep it sorted by name for the shoppers' homes
    fleet.gateways.sort((a, b) => a.name.localeCompare(b.name));
    return { fleet, env };
  } catch (err) {
    await fleet.close().catch(() => undefined);
    throw err;
  }
}

export async function tearDownScenario(stage: Stage | undefined): Promise<void> {
  await stage?.run.close();
  await stage?.fleet.close();
}

/** Resolves once `n` purchases were answered 202; fails if the shoppers finished first. */
export async function untilAccepted(run: SaleRun, shopping: Promise<void>, n: number): Promise<void> {
  await Promise.race([
    run.acceptedAtLeast(n),
    shopping.then(() => {
      throw new Error(`the shoppers finished before ${n} purchases were accepted (${run.rec.accepted.length})`);
    }),
  ]);
}

/** The sale's live figures from one gateway (undefined when it does not answer 200). */
export async function liveSale(
  run: SaleRun,
  gw: Gateway,
): Promise<{ admittedTotal: number; admitted: number; remaining: number; status: string } | undefined> {
  try {
    const a = await run.call(gw, 'GET', `/api/sales/${run.saleId}`);
    return a.status === 200 ? a.body : undefined;
  } catch {
    return undefined;
  }
}

/** Confirmed orders of the sale in PostgreSQL right now (undefined while it is away). */
export async function confirmedNow(stage: Stage): Promise<number | undefined> {
  try {
    const { rows } = await stage.fleet.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
      [stage.run.saleId],
    );
    return Number(rows[0]!.n);
  } catch {
    return undefined;
  }
}

export { sleep };

/** purchases (or any answers) counted by status: { '202': 19, '503': 4 } */
export function countByStatus(answers: readonly { status: number | string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[String(a.status)] = (out[String(a.status)] ?? 0) + 1;
  return out;
}

/** Waits (at most `timeoutMs`) for a moment with at least `n` purchases in flight on `gw`. */
export async function purchasesInFlight(run: SaleRun, gw: Gateway, n: number, timeoutMs = 5_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = run.rec.inFlight.get(gw.name) ?? 0;
    if (now >= n) return now;
    await new Promise((r) => setImmediate(r));
  }
  return run.rec.inFlight.get(gw.name) ?? 0;
}

/**
 * Samples the sale's live figures once a second from the first gateway that answers, until
 * `stop()` is called; the timeline helps explain a slow or stuck sale.
 */
export function sampleTimeline(run: SaleRun): { stop(): string[] } {
  const lines: string[] = [];
  let running = true;
  void (async () => {
    while (running) {
      for (const gw of run.gateways) {
        const sale = (await liveSale(run, gw)) as Record<string, unknown> | undefined;
        if (sale) {
          lines.push(
            `${Math.round((Date.now() - run.openedAt) / 100) / 10}s ${sale.status} adm=${sale.admittedTotal} act=${sale.admitted} ` +
              `rem=${sale.remaining} wait=${sale.waiting} rate=${sale.ratePerMinute} acc=${run.rec.accepted.length}`,
          );
          break;
        }
      }
      await sleep(1_000);
    }
  })();
  return {
    stop() {
      running = false;
      return lines;
    },
  };
}
