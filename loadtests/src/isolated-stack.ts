/**
 * A Velvet Rope deployment of its own on the shared local services, the way the end-to-end
 * test isolates itself: its own PostgreSQL database, its own orders queue, its own Redis key
 * prefix, the built gateway and worker as child processes. `cleanup()` removes exactly what
 * it made, nothing else.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureDatabase, envRedisTarget, loadMigrations, migrate } from '@velvet-rope/contracts';
import { deleteQueues } from './amqp-admin.js';
import { deleteKeysWithPrefix, type ProbeTarget } from './redis-probe.js';
import { freePort, spawnService, waitForHttp, waitForOutput, type ServiceProcess } from './service-process.js';

export const DEFAULT_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DEFAULT_AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_PG_ROOT_URL = process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** the built services (relative to the repository root); override to measure another build */
export const GATEWAY_SCRIPT = process.env.LOADTEST_GATEWAY_SCRIPT ?? 'gateway/dist/server.js';
export const WORKER_SCRIPT = process.env.LOADTEST_WORKER_SCRIPT ?? 'order-worker/dist/server.js';
/** Node flags for the gateway, space-separated: `LOADTEST_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=prof'` */
const GATEWAY_NODE_ARGS = (process.env.LOADTEST_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Node flags for the order workers, the same way: `LOADTEST_WORKER_NODE_ARGS='--cpu-prof'` */
const WORKER_NODE_ARGS = (process.env.LOADTEST_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** A unique, short, lowercase id for database names, queue names and key prefixes. */
export function uniqueId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`.toLowerCase();
}

export interface StackOptions {
  readonly redisUrl?: string;
  /** a Redis Cluster's seed nodes (`host:port,...`, REDIS_CLUSTER_NODES); then used instead of redisUrl */
  readonly redisClusterNodes?: string;
  readonly amqpUrl?: string;
  readonly pgRootUrl?: string;
  /** extra gateway environment (TICK_MS, OVERSUBSCRIPTION, ...) */
  readonly gatewayEnv?: Record<string, string>;
  readonly workerEnv?: Record<string, string>;
  /** default true */
  readonly startWorker?: boolean;
  /** a name part for the database, queue and prefix */
  readonly label?: string;
  /** another checkout's built gateway (default this checkout's) */
  readonly gatewayScript?: string;
  /** migrate the database only up to this version (a build from before the later ones) */
  readonly migrateTo?: number;
}

export interface IsolatedStack {
  readonly baseUrl: string;
  readonly adminKey: string;
  readonly databaseUrl: string;
  readonly databaseName: string;
  readonly redisUrl: string;
  /** where the processes' Redis is: redisUrl, or the cluster's seed nodes */
  readonly redisTarget: ProbeTarget;
  readonly amqpUrl: string;
  readonly prefix: string;
  readonly queue: string;
  readonly pool: pg.Pool;
  readonly gateway: ServiceProcess;
  worker: ServiceProcess | undefined;
  /** starts an order worker on `queue` (default: the stack's own); `script`: another checkout's built worker */
  startWorker(queue?: string, env?: Record<string, string>, script?: string): Promise<ServiceProcess>;
  /** stops the processes (SIGTERM, graceful); their exit codes */
  stop(): Promise<{ gateway: number | null; worker: number | null }>;
  /** stops what still runs, then removes the Redis keys, queues and database it made */
  cleanup(extraQueues?: readonly string[]): Promise<void>;
}

export async function startIsolatedStack(opts: StackOptions = {}): Promise<IsolatedStack> {
  const redisUrl = opts.redisUrl ?? DEFAULT_REDIS_URL;
  const amqpUrl = opts.amqpUrl ?? DEFAULT_AMQP_URL;
  const pgRoot = opts.pgRootUrl ?? DEFAULT_PG_ROOT_URL;
  const label = opts.label ?? 'lt';
  const databaseName = uniqueId(`vr_${label}_`).replace(/[^a-z0-9_]/g, '_');
  const databaseUrl = `${pgRoot}/${databaseName}`;
  const prefix = uniqueId(`vr${label}`).replace(/[^a-z0-9]/g, '');
  const queue = uniqueId(`vr-${label}-orders-`);
  const adminKey = `lt-admin-${randomBytes(12).toString('hex')}`;
  const workers: ServiceProcess[] = [];
  const queues = new Set<string>([queue, `${queue}.dead`]);

  await ensureDatabase(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  let gateway: ServiceProcess | undefined;

  const clusterNodes = opts.redisClusterNodes;
  const redisTarget = redisTargetOf(redisUrl, clusterNodes);
  const common = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    AMQP_URL: amqpUrl,
    REDIS_KEY_PREFIX: prefix,
  };
  const cleanupAll = async (extraQueues: readonly string[] = []) => {
    await Promise.all([gateway?.stop(), ...workers.map((w) => w.stop())]);
    await pool.end().catch(() => undefined);
    const problems: string[] = [];
    await deleteKeysWithPrefix(redisTarget, prefix).catch((e: Error) => problems.push(`redis: ${e.message}`));
    await deleteQueues(amqpUrl, [...queues, ...extraQueues]).catch((e: Error) => problems.push(`rabbitmq: ${e.message}`));
    await dropDatabase(pgRoot, databaseName).catch((e: Error) => problems.push(`postgres: ${e.message}`));
    if (problems.length) throw new Error(`cleanup incomplete: ${problems.join('; ')}`);
  };

  try {
    const upTo = opts.migrateTo;
    await migrate(pool, upTo === undefined ? undefined : loadMigrations().filter((m) => m.version <= upTo));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    gateway = spawnService('gateway', {
      script: opts.gatewayScript ?? GATEWAY_SCRIPT,
      nodeArgs: GATEWAY_NODE_ARGS,
      env: {
        ...common,
        ORDERS_QUEUE: queue,
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'warn',
        TICK_MS: '100',
        // load tools drive many joins from one address (127.0.0.1): the per-address new-place
        // limit (default 300 a minute) out of the way, still counted; a tool may set its own
        RATE_LIMIT_PER_IP: '100000000',
        ...opts.gatewayEnv,
      },
    });
    const startWorker = async (q = queue, env: Record<string, string> = {}, script = WORKER_SCRIPT) => {
      queues.add(q);
      queues.add(`${q}.dead`);
      const w = spawnService(`order-worker(${q})`, {
        script,
        nodeArgs: WORKER_NODE_ARGS,
        env: { ...common, ORDERS_QUEUE: q, LOG_LEVEL: 'info', ...opts.workerEnv, ...env },
      });
      workers.push(w);
      await waitForOutput(w, 'order-worker ready');
      return w;
    };
    const worker = opts.startWorker === false ? undefined : await startWorker();
    await waitForHttp(`${baseUrl}/readyz`, gateway);
    const g = gateway;
    const stack: IsolatedStack = {
      baseUrl,
      adminKey,
      databaseUrl,
      databaseName,
      redisUrl,
      redisTarget,
      amqpUrl,
      prefix,
      queue,
      pool,
      gateway: g,
      worker,
      async startWorker(q, env, script) {
        const w = await startWorker(q, env, script);
        if (q === undefined || q === queue) stack.worker = w;
        return w;
      },
      async stop() {
        const [gw, ...ws] = await Promise.all([g.stop(), ...workers.map((w) => w.stop())]);
        return { gateway: gw ?? null, worker: ws.length ? (ws.find((c) => c !== 0) ?? ws[0] ?? null) : null };
      },
      cleanup: cleanupAll,
    };
    return stack;
  } catch (err) {
    await cleanupAll().catch(() => undefined);
    throw err;
  }
}

/**
 * Where the services' Redis is: the cluster's seed nodes (`host:port,...`, read the way the
 * services read REDIS_CLUSTER_NODES) when given, else the one server at `redisUrl`
 */
export function redisTargetOf(redisUrl: string, clusterNodes: string | undefined): ProbeTarget {
  return clusterNodes ? envRedisTarget({ REDIS_CLUSTER_NODES: clusterNodes }) : redisUrl;
}

export async function dropDatabase(pgRoot: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${pgRoot}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
