/**
 * A whole Velvet Rope fleet for one chaos test file: private Redis, PostgreSQL and RabbitMQ
 * (test-support/private-services.ts), the built gateway(s) and order worker as real processes
 * against them, and the test's own clients to read PostgreSQL and Redis afterwards.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { startRedisCluster, type LocalCluster } from '../../../test-support/redis-cluster.js';
import pg from 'pg';
import { uniqueId } from '../../../test-support/databases.js';
import {
  chaosRunEnv,
  cleanupPrivateServices,
  startPrivatePostgres,
  startPrivateRabbitMQ,
  startPrivateRabbitMQCluster,
  startPrivateRedis,
  startPrivateRedisSentinel,
  trackChild,
  type PrivatePostgres,
  type PrivateRabbitMQ,
  type PrivateRabbitMQCluster,
  type PrivateRedis,
  type PrivateRedisSentinel,
} from '../../../test-support/private-services.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';

export const ADMIN_KEY = 'chaos-admin-key-0123456789';

export interface Gateway {
  readonly name: string;
  readonly port: number;
  readonly base: string;
  readonly service: Service;
  readonly pid: number;
}

export interface Fleet {
  /** the Redis the fleet uses (with `sentinel`: the node that started as the primary) */
  readonly redis: PrivateRedis;
  /** a primary, a replica and three Sentinels, when the fleet was started with them */
  readonly sentinel?: PrivateRedisSentinel;
  readonly postgres: PrivatePostgres;
  /** the RabbitMQ node (with `rabbitCluster`: the cluster's first node) */
  readonly rabbit: PrivateRabbitMQ;
  /** the private RabbitMQ cluster, when the fleet was started with one: AMQP_URL lists every node */
  readonly rabbitCluster?: PrivateRabbitMQCluster;
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly queue: string;
  /** the test's own pool on the private PostgreSQL (survives its restarts) */
  readonly db: pg.Pool;
  /** the test's own client on the private Redis (reconnects after a restart) */
  readonly redisClient: Redis;
  /**
   * with `cluster`: the private Redis Cluster every process uses (REDIS_CLUSTER_NODES; the
   * single `redis` is then started but unused), and the test's client on it
   */
  readonly cluster?: { readonly nodes: LocalCluster; readonly client: Cluster };
  readonly gateways: Gateway[];
  readonly workers: Service[];
  /** gateways or workers that exited without the test asking them to (who signalled them?) */
  readonly unexpectedExits: string[];
  /** Stops a gateway or worker on purpose (the exit is then expected); its exit code. */
  stop(service: Service, signal?: NodeJS.Signals): Promise<number | null>;
  /** how long the three services took to start, in ms */
  readonly startTimes: { redis: number; postgres: number; rabbitmq: number };
  startGateway(name: string, opts?: { port?: number; env?: Record<string, string> }): Promise<Gateway>;
  startWorker(name?: string, env?: Record<string, string>): Promise<Service>;
  /** everything the services printed, for a failing test's message */
  logs(): string;
  close(): Promise<void>;
}

export interface FleetOptions {
  /**
   * Redis as a primary with a replica and three Sentinels (test-support/private-services.ts);
   * every process then finds the primary through REDIS_SENTINELS
   */
  readonly sentinel?: Parameters<typeof startPrivateRedisSentinel>[0];
  /** RabbitMQ as a cluster of this many private nodes; every process is given all their addresses */
  readonly rabbitCluster?: number;
  /** a private Redis Cluster of this many masters for every process (test-support/redis-cluster.ts) */
  readonly cluster?: number;
}

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const t0 = Date.now();
  const timed = async <T>(p: Promise<T>): Promise<[T, number]> => [await p, Date.now() - t0];
  let redis: PrivateRedis | undefined;
  let sentinel: PrivateRedisSentinel | undefined;
  let postgres: PrivatePostgres | undefined;
  let rabbit: PrivateRabbitMQ | undefined;
  let rabbitCluster: PrivateRabbitMQCluster | undefined;
  let stopCluster: (() => Promise<void>) | undefined;
  try {
    const redisStart = opts.sentinel
      ? startPrivateRedisSentinel(opts.sentinel).then((group) => {
          sentinel = group;
          return group.nodes[0]!;
        })
      : startPrivateRedis();
    const rabbitStart = opts.rabbitCluster
      ? startPrivateRabbitMQCluster(opts.rabbitCluster).then((cluster) => {
          rabbitCluster = cluster;
          return cluster.nodes[0]!;
        })
      : startPrivateRabbitMQ();
    const [started, localCluster] = await Promise.all([
      Promise.all([timed(redisStart), timed(startPrivatePostgres()), timed(rabbitStart)]),
      // its stop is known as soon as it is up: a failed start of another service still stops it
      opts.cluster
        ? startRedisCluster(opts.cluster).then((c) => {
            stopCluster = c.stop;
            return c;
          })
        : Promise.resolve(undefined),
    ]);
    [[redis], [postgres], [rabbit]] = started;
    const startTimes = { redis: started[0][1], postgres: started[1][1], rabbitmq: started[2][1] };

    const databaseUrl = postgres.databaseUrl('velvet_rope');
    const prefix = uniqueId('vrc').toLowerCase();
    const queue = uniqueId('vr-chaos-orders-');
    const base = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      AMQP_URL: rabbitCluster ? rabbitCluster.amqpUrl : rabbit.url,
      ORDERS_QUEUE: queue,
      REDIS_KEY_PREFIX: prefix,
      ...(sentinel ? { REDIS_SENTINELS: sentinel.sentinelList, REDIS_SENTINEL_NAME: sentinel.name } : {}),
      ...(localCluster ? { REDIS_CLUSTER_NODES: localCluster.nodes } : {}),
      LOG_LEVEL: 'info',
      // marks the process as this run's, for the watchdog that cleans up after a killed runner
      ...chaosRunEnv(),
    };
    const gateways: Gateway[] = [];
    const workers: Service[] = [];
    const everyService: Service[] = [];
    const unexpectedExits: string[] = [];
    const expected = new Set<Service>();
    const watch = (service: Service) => {
      trackChild(service.name, service.child);
      everyService.push(service);
      service.child.once('exit', (code, signal) => {
        if (expected.has(service)) return;
        const last = service.output().trim().split('\n').slice(-40).join('\n');
        unexpectedExits.push(`${service.name} (pid ${service.child.pid}) exited by itself: ${code ?? signal}; last lines:\n${last}`);
      });
    };
    let db: pg.Pool | undefined;
    // the test's own Redis client: fails fast while Redis is away, reconnects by itself (with
    // Sentinels: to whichever node is the primary now)
    const clientOptions = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 200 };
    const redisClient = sentinel
      ? new Redis({
          ...clientOptions,
          sentinels: sentinel.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
          name: sentinel.name,
          failoverDetector: true,
        })
      : new Redis(redis.url, clientOptions);
    redisClient.on('error', () => undefined);
    await redisClient.connect();
    let cluster: Fleet['cluster'];
    if (localCluster) {
      const client = new Cluster(
        localCluster.ports.map((port) => ({ host: '127.0.0.1', port })),
        { lazyConnect: true, redisOptions: clientOptions, clusterRetryStrategy: () => 200 },
      );
      client.on('error', () => undefined);
      await client.connect();
      cluster = { nodes: localCluster, client };
    }

    const fleet: Fleet = {
      redis,
      ...(sentinel ? { sentinel } : {}),
      postgres,
      rabbit,
      ...(rabbitCluster ? { rabbitCluster } : {}),
      databaseUrl,
      prefix,
      queue,
      get db() {
        if (!db) throw new Error('the database exists once the first gateway started');
        return db;
      },
      redisClient,
      ...(cluster ? { cluster } : {}),
      gateways,
      workers,
      startTimes,
      unexpectedExits,
      async stop(service, signal = 'SIGTERM') {
        expected.add(service);
        return service.stop(signal);
      },
      async startGateway(name, opts = {}) {
        const port = opts.port ?? (await freePort());
        const service = startService(name, 'gateway/dist/server.js', {
          ...base,
          PORT: String(port),
          ADMIN_API_KEY: ADMIN_KEY,
          TICK_MS: '100',
          // many joins from 127.0.0.1: the per-address new-place limit set out of the way
          RATE_LIMIT_PER_IP: '1000000',
          REPUBLISH_AFTER_MS: '2000',
          ...opts.env,
        });
        watch(service);
        const gw: Gateway = { name, port, base: `http://127.0.0.1:${port}`, service, pid: service.child.pid! };
        await waitForHttp(`${gw.base}/readyz`, service, 60_000);
        gateways.push(gw);
        if (!db) {
          // the first gateway created and migrated the database
          db = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 3_000 });
          db.on('error', () => undefined);
        }
        return gw;
      },
      async startWorker(name = `worker-${workers.length + 1}`, env = {}) {
        const service = startService(name, 'order-worker/dist/server.js', { ...base, ...env });
        watch(service);
        await waitForOutput(service, 'order-worker ready', 60_000);
        workers.push(service);
        return service;
      },
      logs() {
        const tail = (s: string, n = 6_000) => (s.length > n ? `…${s.slice(-n)}` : s);
        return [
          ...everyService.map(
            (s) => `===== ${s.name} (pid ${s.child.pid}, exit ${s.child.exitCode ?? s.child.signalCode})\n${tail(s.output())}`,
          ),
          sentinel ? sentinel.output() : `===== redis\n${tail(redis!.output(), 2_000)}`,
          `===== postgres\n${tail(postgres!.output(), 2_000)}`,
          rabbitCluster ? rabbitCluster.output() : `===== rabbitmq\n${tail(rabbit!.output(), 3_000)}`,
        ].join('\n');
      },
      async close() {
        const logDir = process.env.CHAOS_LOG_DIR;
        if (logDir) {
          // keep every service's output for diagnosis: CHAOS_LOG_DIR=/tmp/chaos-logs
          mkdirSync(logDir, { recursive: true });
          const tag = `${Date.now()}-${prefix}`;
          for (const s of everyService) writeFileSync(join(logDir, `${tag}-${s.name}.log`), s.output());
          for (const node of rabbitCluster ? rabbitCluster.nodes : [rabbit!]) {
            writeFileSync(join(logDir, `${tag}-${node.name}.log`), node.output());
          }
          writeFileSync(join(logDir, `${tag}-postgres.log`), postgres!.output());
          writeFileSync(join(logDir, `${tag}-redis.log`), sentinel ? sentinel.output() : redis!.output());
          if (cluster) writeFileSync(join(logDir, `${tag}-redis-cluster.log`), cluster.nodes.logs());
        }
        // the services first (SIGTERM, then SIGKILL after 15 s), then the backing services
        for (const s of everyService) expected.add(s);
        await Promise.all(everyService.map((s) => s.stop('SIGTERM').catch(() => undefined)));
        redisClient.disconnect();
        cluster?.client.disconnect();
        await db?.end().catch(() => undefined);
        await cleanupPrivateServices();
        await cluster?.nodes.stop();
      },
    };
    return fleet;
  } catch (err) {
    await cleanupPrivateServices().catch(() => undefined);
    await stopCluster?.().catch(() => undefined);
    throw err;
  }
}
