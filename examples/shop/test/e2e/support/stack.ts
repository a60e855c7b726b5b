/**
 * The whole journey's processes for one end-to-end test file: the built gateway, order worker
 * and example shop, on an isolated database, orders queue, events exchange and Redis prefix,
 * sharing the shop's key and webhook secret as `npm start -- --example-shop` does. The worker
 * can be SIGKILLed and started again; everything the stack made is removed afterwards.
 */
import { waitFor } from '../../../../../test-support/waiting.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as amqpConnect } from 'amqplib';
import { Pool } from 'undici';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv } from '../../../../../gateway/test/support/harness.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../../../test-support/processes.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

export interface StackOptions {
  readonly gatewayEnv?: Record<string, string>;
  readonly workerEnv?: Record<string, string>;
  readonly shopEnv?: Record<string, string>;
  /** the gateway's gate in front of this shop (PROTECTED_ORIGIN = the shop) */
  readonly protectShop?: boolean;
  /**
   * the shop runs its OpenID provider (src/identity-provider.ts) and the gateway signs shoppers
   * in there (OIDC_*), its accounts the same as the shop's signed identities'
   */
  readonly oidc?: boolean;
}

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface Stack {
  readonly db: TestDatabase;
  readonly base: string;
  readonly shopBase: string;
  /** the shop's OpenID provider (its issuer), with `oidc` */
  readonly oidcBase: string | undefined;
  readonly adminKey: string;
  readonly shopKey: string;
  readonly webhookSecret: string;
  readonly exchange: string;
  readonly prefix: string;
  gateway: Service;
  worker: Service;
  shop: Service;
  /** a call to the gateway (`token`: a bearer) */
  api(method: string, path: string, token?: string, body?: unknown): Promise<Answer>;
  /** a call to the gateway with headers of the test's choosing (cookies, identities) */
  apiWith(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer>;
  /** a call to the example shop, asking for JSON */
  shopApi(method: string, path: string, body?: unknown): Promise<Answer>;
  /** creates a sale whose checkout is the example shop's; by default it opened a second ago */
  createSale(fields?: Record<string, unknown>): Promise<string>;
  startWorker(): Promise<Service>;
  close(): Promise<void>;
}

const BUILT = ['gateway/dist/server.js', 'order-worker/dist/server.js', 'examples/shop/dist/server.js', 'waiting-room-ui/dist/sale.html'];

async function request(pool: Pool, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await pool.request({
    method: method as 'GET',
    path,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // an HTML page: kept as text
  }
  return { status: res.statusCode, body: parsed, headers: res.headers };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (!BUILT.every((f) => existsSync(join(ROOT, f)))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const db = await createTestDatabase('vr_shop_e2e_');
  const prefix = uniqueId('vrshop').toLowerCase();
  const queue = uniqueId('vr-shop-orders-');
  const exchange = uniqueId('vr-shop-events-');
  const [port, shopPort, oidcPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const shopBase = `http://127.0.0.1:${shopPort}`;
  const adminKey = `admin-${randomBytes(12).toString('hex')}`;
  const shopKey = `shop-${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const oidcBase = opts.oidc ? `http://127.0.0.1:${oidcPort}` : undefined;
  const oidcSecret = `oidc-${randomBytes(16).toString('hex')}`;
  const common = {
    DATABASE_URL: db.url,
    ...redisEnv(),
    AMQP_URL,
    ORDERS_QUEUE: queue,
    EVENTS_EXCHANGE: exchange,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  };
  const workerEnv = { ...common, LOG_LEVEL: 'info', ...opts.workerEnv };
  const gwPool = new Pool(base, { connections: 64, pipelining: 1 });
  const shopPool = new Pool(shopBase, { connections: 32, pipelining: 1 });

  const stack: Stack = {
    db,
    base,
    shopBase,
    oidcBase,
    adminKey,
    shopKey,
    webhookSecret,
    exchange,
    prefix,
    gateway: undefined as unknown as Service,
    worker: undefined as unknown as Service,
    shop: undefined as unknown as Service,
    api: (method, path, token, body) => request(gwPool, method, path, token ? { authorization: `Bearer ${token}` } : {}, body),
    apiWith: (method, path, headers, body) => request(gwPool, method, path, headers, body),
    shopApi: (method, path, body) => request(shopPool, method, path, { accept: 'application/json' }, body),
    async createSale(fields = {}) {
      const id = (fields.id as string | undefined) ?? uniqueId('shop-');
      const r = await stack.api('POST', '/api/admin/sales', adminKey, {
        id,
        name: 'Velvet sneakers drop',
        stock: 10,
        startsAt: new Date(Date.now() - 1_000).toISOString(),
        ratePerMinute: 60_000,
        checkoutSeconds: 30,
        maxPerShopper: 1,
        queueMode: 'fifo',
        checkoutUrl: `${shopBase}/checkout`,
        paymentSeconds: 60,
        ...fields,
      });
      if (r.status !== 201) throw new Error(`sale not created: ${r.status} ${JSON.stringify(r.body)}`);
      return id;
    },
    async startWorker() {
      const worker = startService('order-worker', 'order-worker/dist/server.js', workerEnv);
      stack.worker = worker;
      await waitForOutput(worker, 'order-worker ready', 60_000);
      return worker;
    },
    async close() {
      await Promise.all([gwPool.close(), shopPool.close()]);
      try {
        await Promise.all([stack.gateway?.stop(), stack.worker?.stop(), stack.shop?.stop()]);
      } finally {
        // what the run made goes even when a service failed to start
        await cleanupRedis(prefix);
        await deleteQueues([queue, `${queue}.dead`]);
        await deleteExchange(exchange);
        await db.drop();
      }
    },
  };

  stack.shop = startService('example-shop', 'examples/shop/dist/server.js', {
    SHOP_PORT: String(shopPort),
    VELVET_ROPE_URL: base,
    SHOP_API_KEY: shopKey,
    WEBHOOK_SECRET: webhookSecret,
    SHOP_TEST_CONTROLS: '1',
    LOG_LEVEL: 'warn',
    ...(opts.oidc ? { SHOP_OIDC_PORT: String(oidcPort), SHOP_OIDC_CLIENT_SECRET: oidcSecret } : {}),
    ...opts.shopEnv,
  });
  await stack.startWorker();
  stack.gateway = startService('gateway', 'gateway/dist/server.js', {
    ...common,
    PORT: String(port),
    ADMIN_API_KEY: adminKey,
    SHOP_API_KEY: shopKey,
    WEBHOOK_URL: `${shopBase}/webhooks/velvet-rope`,
    WEBHOOK_SECRET: webhookSecret,
    // the shop's signed shoppers (sales with identity "shop"): its keys, issuer and audience
    SHOP_JWKS_URL: `${shopBase}/.well-known/jwks.json`,
    SHOP_ISSUER: shopBase,
    SHOP_AUDIENCE: 'velvet-rope',
    TICK_MS: '100',
    ...(opts.protectShop ? { PROTECTED_ORIGIN: shopBase } : {}),
    // the shop's OpenID provider; its `sub` is the account the shop's identities name (SHOP_ISSUER)
    ...(oidcBase
      ? {
          OIDC_ISSUER: oidcBase,
          OIDC_CLIENT_ID: 'velvet-rope',
          OIDC_CLIENT_SECRET: oidcSecret,
          OIDC_ACCOUNT_ISSUER: shopBase,
          PUBLIC_URL: base,
        }
      : {}),
    // thousands of joins from 127.0.0.1: the per-address limits set out of the way
    RATE_LIMIT_PER_IP: '1000000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...opts.gatewayEnv,
  });
  await Promise.all([
    waitForHttp(`${base}/readyz`, stack.gateway, 60_000),
    waitForHttp(`${shopBase}/healthz`, stack.shop),
    ...(oidcBase ? [waitForHttp(`${oidcBase}/.well-known/openid-configuration`, stack.shop)] : []),
  ]);
  return stack;
}

/** Deletes an exchange this stack made (never another). */
async function deleteExchange(name: string): Promise<void> {
  const conn = await amqpConnect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteExchange(name);
    await ch.close();
  } finally {
    await conn.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { waitFor };

export { uniqueId };
