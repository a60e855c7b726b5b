/**
 * One built gateway process for the attack tests: its own database, orders queue and Redis
 * key prefix, removed afterwards. `wrap` runs it under another command (e.g. prlimit).
 */
import { uniqueId, createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { freePort, startService, waitForHttp, type Service } from '../../../../test-support/processes.js';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv } from '../../support/harness.js';

export const ADMIN_KEY = 'attack-admin-key-0123456789';

export interface OneGateway {
  readonly base: string;
  readonly port: number;
  readonly service: Service;
  alive(): boolean;
  createSale(body?: Record<string, unknown>): Promise<string>;
  /** a real shopper's join: its ticket */
  join(saleId: string): Promise<{ visitorId: string; ticket: string }>;
  close(): Promise<number | null>;
}

export async function startOneGateway(env: Record<string, string> = {}, wrap?: readonly string[]): Promise<OneGateway> {
  const db: TestDatabase = await createTestDatabase();
  const prefix = uniqueId('vra').toLowerCase();
  const queue = uniqueId('vr-attack-orders-');
  const port = await freePort();
  const service = startService(
    'gateway',
    'gateway/dist/server.js',
    {
      DATABASE_URL: db.url,
      ...redisEnv(),
      AMQP_URL,
      ORDERS_QUEUE: queue,
      REDIS_KEY_PREFIX: prefix,
      ADMIN_API_KEY: ADMIN_KEY,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    wrap,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/readyz`, service, 60_000);
  return {
    base,
    port,
    service,
    alive: () => service.child.exitCode === null && service.child.signalCode === null,
    async createSale(body = {}) {
      const id = uniqueId('atk-');
      const res = await fetch(`${base}/api/admin/sales`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          id,
          name: 'Attack',
          stock: 10,
          startsAt: new Date(Date.now() - 1000).toISOString(),
          ratePerMinute: 0,
          ...body,
        }),
      });
      if (res.status !== 201) throw new Error(`creating a sale answered ${res.status}: ${await res.text()}`);
      return id;
    },
    async join(saleId) {
      const res = await fetch(`${base}/api/sales/${saleId}/queue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`join answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { visitorId: string; ticket: string };
    },
    async close() {
      const code = await service.stop();
      await cleanupRedis(prefix);
      await deleteQueues([queue, `${queue}.dead`]);
      await db.drop();
      return code;
    },
  };
}
