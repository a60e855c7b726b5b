/**
 * The order worker's commit rate: a queue filled with `orders` orders while no worker runs,
 * then one worker drains it into PostgreSQL, timed from its "ready" to the sale's `sold`
 * reaching them all. Used by the bench (its `worker` row) and on its own, A/B against another
 * checkout's built worker in the same stack and run, alternating:
 *
 *   node loadtests/dist/worker-bench.js [--orders N] [--runs R] [--checkout] [--against DIR]
 *   node loadtests/dist/worker-bench.js --unpartitioned DIR [--orders N] [--runs R] [--checkout]
 *
 * `--checkout`: the sale hands orders to a shop (issue 14), so each order also carries a
 * payment deadline and the shop's events. `--against DIR`: DIR's `order-worker/dist/server.js`
 * (e.g. a clone at an earlier commit, built) runs before each run of this checkout's worker.
 * With the shop's outbox present it also reports when the outbox was empty after the last commit.
 *
 * `--unpartitioned DIR`: orders before and after migration 0015 (partitioned by sale) in one
 * run. DIR is a build of a commit before 0015; its gateway and worker run on a stack of their
 * own whose database is migrated to 0014 (`orders` one table), this checkout's on another
 * migrated to 0015, alternating, one drain each per run; then the medians and their ratio.
 */
import { join } from 'node:path';
import { fillOrdersQueue } from './amqp-admin.js';
import { parseFlags, runIfInvoked } from './cli.js';
import { startIsolatedStack, uniqueId, WORKER_SCRIPT, type IsolatedStack } from './isolated-stack.js';

export interface WorkerFigures {
  readonly orders: number;
  readonly fillSeconds: number;
  /** from the worker's "ready" to the last order committed */
  readonly commitSeconds: number;
  /** the same, from the moment the worker process was started */
  readonly fromSpawnSeconds: number;
  readonly perSecond: number;
  /** the shop's outbox (`shop_events`) empty this long after the last commit; absent without one */
  readonly outboxEmptySeconds?: number;
}

export interface WorkerRunOptions {
  readonly orders: number;
  /** the sale's checkoutUrl: its orders are handed to a shop */
  readonly checkoutUrl?: string;
  /** the worker's script (default this checkout's) */
  readonly script?: string;
  readonly say?: (s: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const round2 = (n: number) => Math.round(n * 100) / 100;

async function outboxRows(stack: IsolatedStack): Promise<number | undefined> {
  try {
    const { rows } = await stack.pool.query<{ n: string }>('SELECT count(*) AS n FROM shop_events');
    return Number(rows[0]!.n);
  } catch {
    return undefined; // a schema without the shop's outbox
  }
}

/** One measured drain on `stack`: its own sale and queue, one worker started for it and stopped after. */
export async function measureWorker(stack: IsolatedStack, o: WorkerRunOptions): Promise<WorkerFigures> {
  const say = o.say ?? (() => undefined);
  const saleId = uniqueId('bench-worker-');
  const queue = uniqueId('vr-bench-worker-');
  const res = await fetch(`${stack.baseUrl}/api/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: saleId,
      name: 'bench worker',
      stock: o.orders,
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      ratePerMinute: 0,
      ...(o.checkoutUrl ? { checkoutUrl: o.checkoutUrl } : {}),
    }),
  });
  if (res.status !== 201) throw new Error(`creating the worker's sale failed: ${res.status} ${await res.text()}`);
  say(`worker: filling a queue with ${o.orders} orders`);
  const tFill = Date.now();
  await fillOrdersQueue(stack.amqpUrl, queue, saleId, o.orders);
  const fillSeconds = (Date.now() - tFill) / 1000;
  say('worker: starting the worker, timing the commits');
  const worker = await stack.startWorker(queue, {}, o.script);
  try {
    const tReady = performance.now();
    let sold = 0;
    const deadline = Date.now() + 600_000;
    while (sold < o.orders) {
      if (Date.now() > deadline) throw new Error(`worker: ${sold} of ${o.orders} committed after 10 minutes`);
      if (!worker.alive()) throw new Error(`worker exited:\n${worker.output().slice(-3000)}`);
      await sleep(50);
      const { rows } = await stack.pool.query<{ sold: number }>('SELECT sold FROM sales WHERE id = $1', [saleId]);
      sold = rows[0]?.sold ?? 0;
    }
    const commitSeconds = (performance.now() - tReady) / 1000;
    const fromSpawnSeconds = (Date.now() - worker.startedAt) / 1000;
    let outboxEmptySeconds: number | undefined;
    if ((await outboxRows(stack)) !== undefined) {
      while (((await outboxRows(stack)) ?? 0) > 0) {
        if (Date.now() > deadline) throw new Error('worker: the shop outbox never emptied');
        await sleep(50);
      }
      outboxEmptySeconds = round2((performance.now() - tReady) / 1000 - commitSeconds);
    }
    return {
      orders: o.orders,
      fillSeconds: round2(fillSeconds),
      commitSeconds: round2(commitSeconds),
      fromSpawnSeconds: round2(fromSpawnSeconds),
      perSecond: Math.round(o.orders / commitSeconds),
      ...(outboxEmptySeconds === undefined ? {} : { outboxEmptySeconds }),
    };
  } finally {
    await worker.stop();
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** What a stack's `orders` is: 'table' (0014 and before) or 'partitioned', and the migration it is at. */
async function ordersSchema(stack: IsolatedStack): Promise<string> {
  const { rows } = await stack.pool.query<{ kind: string; version: number }>(
    `SELECT (SELECT relkind::text FROM pg_class WHERE relname = 'orders' AND relnamespace = 'public'::regnamespace) AS kind,
            (SELECT max(version) FROM schema_migrations) AS version`,
  );
  const r = rows[0]!;
  return `${r.kind === 'p' ? 'partitioned' : 'table'} at ${String(r.version).padStart(4, '0')}`;
}

/** The same drains on a 0014 stack (DIR's build) and a 0015 stack (this checkout), alternating. */
async function beforeAfterPartitions(dir: string, orders: number, runs: number, checkoutUrl: string | undefined): Promise<number> {
  const gatewayEnv = { REPUBLISH_AFTER_MS: '3600000' };
  const sides = [
    {
      name: 'orders at 0014',
      script: join(dir, 'order-worker/dist/server.js'),
      stack: await startIsolatedStack({
        label: 'wb14',
        startWorker: false,
        gatewayEnv,
        gatewayScript: join(dir, 'gateway/dist/server.js'),
        migrateTo: 14,
      }),
      rates: [] as number[],
    },
  ];
  try {
    sides.push({
      name: 'orders at 0015',
      script: WORKER_SCRIPT,
      stack: await startIsolatedStack({ label: 'wb15', startWorker: false, gatewayEnv }),
      rates: [],
    });
    for (const side of sides) process.stdout.write(`${side.name}: ${await ordersSchema(side.stack)}, worker ${side.script}\n`);
    for (let r = 1; r <= runs; r++) {
      for (const side of sides) {
        const f = await measureWorker(side.stack, { orders, script: side.script, ...(checkoutUrl ? { checkoutUrl } : {}) });
        side.rates.push(f.perSecond);
        process.stdout.write(
          `run ${r} ${side.name} (${await ordersSchema(side.stack)}): ${f.perSecond} orders/s (${f.orders} in ${f.commitSeconds} s after ready${checkoutUrl ? ', checkout sale' : ''})\n`,
        );
      }
    }
    const [before, after] = sides.map((s) => median(s.rates));
    process.stdout.write(
      `median over ${runs} runs: 0014 ${before} orders/s, 0015 ${after} orders/s, 0015/0014 = ${(after! / before!).toFixed(3)}\n`,
    );
  } finally {
    for (const side of sides) await side.stack.cleanup();
  }
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const values = parseFlags(argv, {
    orders: { type: 'string' },
    runs: { type: 'string' },
    checkout: { type: 'boolean' },
    against: { type: 'string' },
    unpartitioned: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (!values) return 2;
  if (values.help) {
    process.stdout.write(
      'usage: node loadtests/dist/worker-bench.js [--orders N] [--runs R] [--checkout] [--against DIR | --unpartitioned DIR]\n',
    );
    return 0;
  }
  const orders = Number(values.orders ?? 100_000);
  const runs = Number(values.runs ?? 3);
  if (!Number.isInteger(orders) || orders < 1 || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write('--orders and --runs take positive whole numbers\n');
    return 2;
  }
  const checkoutUrl = values.checkout ? 'http://127.0.0.1:9/checkout' : undefined;
  if (values.unpartitioned !== undefined) {
    if (values.against !== undefined) {
      process.stderr.write('--against and --unpartitioned do not go together\n');
      return 2;
    }
    return beforeAfterPartitions(values.unpartitioned, orders, runs, checkoutUrl);
  }
  const sides: { name: string; script: string }[] = [
    ...(values.against ? [{ name: `against ${values.against}`, script: join(values.against, 'order-worker/dist/server.js') }] : []),
    { name: 'this checkout', script: WORKER_SCRIPT },
  ];
  const stack = await startIsolatedStack({ label: 'wbench', startWorker: false, gatewayEnv: { REPUBLISH_AFTER_MS: '3600000' } });
  try {
    for (let r = 1; r <= runs; r++) {
      for (const side of sides) {
        const f = await measureWorker(stack, { orders, script: side.script, ...(checkoutUrl ? { checkoutUrl } : {}) });
        const outbox = f.outboxEmptySeconds === undefined ? '' : `; shop outbox empty ${f.outboxEmptySeconds} s after the last commit`;
        process.stdout.write(
          `run ${r} ${side.name}: ${f.perSecond} orders/s (${f.orders} in ${f.commitSeconds} s after ready${checkoutUrl ? ', checkout sale' : ''}${outbox})\n`,
        );
      }
    }
  } finally {
    await stack.cleanup();
  }
  return 0;
}

runIfInvoked(import.meta.url, 'worker-bench', main);
