/**
 * Builds a real gateway (real Redis, RabbitMQ, PostgreSQL) isolated for one test file: its
 * own database, its own orders queue, its own Redis key prefix. Cleans up only what it made.
 */
import { createRedisClient, envRedisClusterNodes, parseOrderMessages, type OrderMessage, type RedisClient } from '@velvet-rope/contracts';
import { connect as amqpConnect } from 'amqplib';
import type { FastifyInstance } from 'fastify';
import { Cluster } from 'ioredis';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type GatewayConfig } from '../../src/config.js';
import { RedisCommands } from '../../src/redis/commands.js';
import { ReportRecorder } from '../../src/report/report-recorder.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** set when the suite runs in the `cluster` project: a local Redis Cluster's nodes */
export const REDIS_CLUSTER_NODES: string | undefined = inject('redisClusterNodes') || process.env.TEST_REDIS_CLUSTER_NODES || undefined;

/** the Redis settings a gateway or worker process gets in tests (a single server or the cluster) */
export function redisEnv(): Record<string, string> {
  return REDIS_CLUSTER_NODES ? { REDIS_URL, REDIS_CLUSTER_NODES } : { REDIS_URL };
}

/** a connected client to the tests' Redis (single or cluster) */
export async function testRedis(): Promise<RedisClient> {
  const client = createRedisClient({ url: REDIS_URL, clusterNodes: envRedisClusterNodes(redisEnv()) }, { enableOfflineQueue: true });
  await client.connect();
  return client;
}

export interface Harness {
  readonly config: GatewayConfig;
  readonly db: TestDatabase;
  readonly prefix: string;
  readonly queue: string;
  /** gateways built so far (several share the same database, queue and prefix) */
  readonly apps: FastifyInstance[];
  app(): FastifyInstance;
  addGateway(extraEnv?: Record<string, string>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** receives every log line the gateways write (JSON), e.g. to check what they log */
  readonly logStream?: { write(line: string): void };
}

export async function createHarness(extraEnv: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const prefix = uniqueId('vrt').toLowerCase();
  const queue = uniqueId('vr-test-orders-');
  const baseEnv = {
    ADMIN_API_KEY: ADMIN_KEY,
    DATABASE_URL: db.url,
    ...redisEnv(),
    AMQP_URL,
    ORDERS_QUEUE: queue,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    TICK_MS: '100',
    // tests drive many joins from 127.0.0.1: the per-address new-place limit (default 300 a
    // minute) set out of the way, still counted; a test of the limit sets its own ('' for the default)
    RATE_LIMIT_PER_IP: '1000000',
    // load shedding off: these gateways share a test worker's event loop with the test itself,
    // which on a busy machine lags past a second and would turn a test's requests into 503s
    // (load-shedding.test.ts sets its own)
    MAX_EVENT_LOOP_DELAY_MS: '0',
  };
  const config = loadConfig({ ...baseEnv, ...extraEnv });
  const apps: FastifyInstance[] = [];
  const harness: Harness = {
    config,
    db,
    prefix,
    queue,
    apps,
    app: () => apps[0]!,
    async addGateway(more = {}) {
      // tests drive admission ticks by hand, so their figures do not depend on timing
      const cfg = loadConfig({ ...baseEnv, ...extraEnv, ...more });
      const app = await buildApp(cfg, {
        admission: { autostart: false },
        ...(options.logStream ? { logger: { level: 'trace', stream: options.logStream } } : {}),
      });
      await app.ready();
      apps.push(app);
      return app;
    },
    async close() {
      for (const app of apps) await app.close();
      await cleanupRedis(prefix);
      await deleteQueues([queue, `${queue}.dead`]);
      await db.drop();
    },
  };
  await harness.addGateway();
  return harness;
}

/** Deletes every key of a test's prefix (on every master of a cluster), and nothing else. */
export async function cleanupRedis(prefix: string): Promise<void> {
  const redis = await testRedis();
  try {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        // one key per command: keys of different slots cannot share one on a cluster node
        if (keys.length) await Promise.all(keys.map((k) => node.unlink(k)));
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

export async function deleteQueues(queues: string[]): Promise<void> {
  const conn = await amqpConnect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    await ch.close();
  } finally {
    await conn.close();
  }
}

export async function queueDepth(queue: string): Promise<number> {
  const conn = await amqpConnect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close();
  }
}

/**
 * Takes every message off `queue` (acknowledged: gone) and answers the orders they carry:
 * purchases publish the orders of one event-loop turn as one batch message, so a message
 * count says little about how many orders were published.
 */
export async function drainOrders(queue: string): Promise<OrderMessage[]> {
  const conn = await amqpConnect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const orders: OrderMessage[] = [];
    for (;;) {
      const msg = await ch.get(queue, { noAck: true });
      if (!msg) break;
      const parsed = parseOrderMessages(msg.content);
      if (!parsed.ok) throw new Error(`malformed message in ${queue}: ${parsed.reason}`);
      orders.push(...parsed.value);
    }
    await ch.close();
    return orders;
  } finally {
    await conn.close();
  }
}

export const adminHeaders = { authorization: `Bearer ${ADMIN_KEY}` };

/** a gateway's OpenID Connect sign-in against the provider at `issuer` (the example shop's, or none answering) */
export const oidcEnv = (issuer: string): Record<string, string> => ({
  OIDC_ISSUER: issuer,
  OIDC_CLIENT_ID: 'velvet-rope',
  OIDC_CLIENT_SECRET: 'a-client-secret-0123456789',
  PUBLIC_URL: 'http://127.0.0.1:3999',
});

export interface SaleInput {
  id?: string;
  stock?: number;
  startsInMs?: number;
  ratePerMinute?: number;
  maxActive?: number;
  checkoutSeconds?: number;
  maxPerShopper?: number;
  queueMode?: 'prequeue-random' | 'fifo' | 'random';
  windowSeconds?: number;
  endsInMs?: number;
  prequeueOpensInMs?: number;
  identity?: 'anonymous' | 'shop';
}

/** Creates a sale through the admin API; by default it started a moment ago. */
export async function createSale(app: FastifyInstance, input: SaleInput = {}): Promise<string> {
  const id = input.id ?? uniqueId('sale-');
  const now = Date.now();
  const res = await app.inject({
    method: 'POST',
    url: '/api/admin/sales',
    headers: adminHeaders,
    payload: {
      id,
      name: `Test sale ${id}`,
      stock: input.stock ?? 10,
      startsAt: new Date(now + (input.startsInMs ?? -1_000)).toISOString(),
      ...(input.endsInMs !== undefined ? { endsAt: new Date(now + input.endsInMs).toISOString() } : {}),
      ...(input.prequeueOpensInMs !== undefined ? { prequeueOpensAt: new Date(now + input.prequeueOpensInMs).toISOString() } : {}),
      ratePerMinute: input.ratePerMinute ?? 60_000,
      ...(input.maxActive !== undefined ? { maxActive: input.maxActive } : {}),
      checkoutSeconds: input.checkoutSeconds ?? 60,
      maxPerShopper: input.maxPerShopper ?? 1,
      queueMode: input.queueMode ?? 'prequeue-random',
      windowSeconds: input.windowSeconds ?? 10,
      ...(input.identity !== undefined ? { identity: input.identity } : {}),
    },
  });
  if (res.statusCode !== 201) throw new Error(`createSale: ${res.statusCode} ${res.body}`);
  return id;
}

export interface Joined {
  visitorId: string;
  ticket: string;
  status: string;
  position: number | null;
  retryAfterMs: number | null;
  statusCode: number;
  cookies: Record<string, string>;
}

export async function join(app: FastifyInstance, saleId: string, headers: Record<string, string> = {}): Promise<Joined> {
  const res = await app.inject({ method: 'POST', url: `/api/sales/${saleId}/queue`, headers, payload: {} });
  const body = res.json();
  const cookies: Record<string, string> = {};
  for (const c of res.cookies as { name: string; value: string }[]) cookies[c.name] = c.value;
  return { ...body, statusCode: res.statusCode, cookies };
}

export async function me(app: FastifyInstance, saleId: string, ticket: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/sales/${saleId}/queue/me`,
    headers: { authorization: `Bearer ${ticket}` },
  });
  return { statusCode: res.statusCode, body: res.json() };
}

/** n shoppers join, get admitted (ticking the sale's admission loop), and receive their admission tokens */
export async function admittedShoppers(app: FastifyInstance, saleId: string, n: number): Promise<(Joined & { token: string })[]> {
  const joined: Joined[] = [];
  for (let i = 0; i < n; i++) joined.push(await join(app, saleId));
  for (let i = 0; i < 50; i++) {
    const tick = await app.admissionLoop.tickSale(saleId);
    if (tick && tick.waiting === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Promise.all(
    joined.map(async (j) => {
      const s = await me(app, saleId, j.ticket);
      if (s.body.status !== 'admitted') throw new Error(`visitor ${j.visitorId} not admitted: ${JSON.stringify(s.body)}`);
      return { ...j, token: s.body.admission.token as string };
    }),
  );
}

export async function buy(app: FastifyInstance, saleId: string, token: string, quantity: unknown = 1) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/sales/${saleId}/purchases`,
    headers: { authorization: `Bearer ${token}` },
    payload: { quantity },
  });
  return { statusCode: res.statusCode, body: res.json(), headers: res.headers };
}

/** Ticks the admission loop until `until` holds or `maxTicks` ran, waiting `gapMs` between. */
export async function tickUntil(
  app: FastifyInstance,
  until: () => Promise<boolean> | boolean,
  { maxTicks = 100, gapMs = 50 } = {},
): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    await app.admissionLoop.tickAll();
    if (await until()) return;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  throw new Error('tickUntil: condition not reached');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `cond` holds, asking every `gapMs` at most `tries` times: a test waits for the
 * event it is about, not for a time a busy machine may overrun.
 */
export async function until(what: string, cond: () => Promise<boolean>, tries = 200, gapMs = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await sleep(gapMs);
  }
  throw new Error(`not reached: ${what}`);
}

/**
 * The sale report's funnel as the marketer reads it (`GET /api/admin/sales/:id/report`), after
 * moving the counters still in Redis to PostgreSQL as the leader does each second: the counters
 * live in Redis only until the next move, so a test reads them here, not in the hash.
 */
export async function reportFunnel(
  app: FastifyInstance,
  saleId: string,
): Promise<{
  joined: number;
  admitted: number;
  bought: number;
  walkedAway: number;
  lapsed: number;
  toldSoldOut: number;
  refused: number;
  freed: number;
}> {
  await new ReportRecorder(new RedisCommands(app.redis, app.keyspace), app.pg).record(saleId, {
    ratePerMinute: 0,
    waiting: 0,
    remaining: 0,
  });
  const res = await app.inject({ url: `/api/admin/sales/${saleId}/report`, headers: adminHeaders });
  if (res.statusCode !== 200) throw new Error(`report answered ${res.statusCode}: ${res.body}`);
  type Funnel = {
    joined: number;
    admitted: number;
    bought: number;
    walkedAway: number;
    lapsed: number;
    toldSoldOut: number;
    refused: number;
  };
  const body = res.json() as { funnel: Funnel; freed: number };
  return { ...body.funnel, freed: body.freed };
}
