/**
 * DATABASE_READ_URL against real PostgreSQL: which reads a replica serves, and what the
 * gateway answers when the replica lacks an order (a database migrated but empty stands for a
 * replica that has not replayed it) or refuses connections (a port nobody listens on). The
 * streaming replica itself, stopped mid-sale, is chaos/test/chaos/postgres-replica.test.ts.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test-support/databases.js';
import { freePort } from '../../../test-support/processes.js';
import { adminHeaders, createHarness, createSale, join, type Harness } from '../support/harness.js';

let h: Harness;
let behind: TestDatabase;
beforeAll(async () => {
  h = await createHarness();
  behind = await createTestDatabase('vr_test_behind_');
});
afterAll(async () => {
  await h?.close();
  await behind?.drop();
});

async function sample(app: FastifyInstance, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function reads(app: FastifyInstance) {
  return {
    replica: await sample(app, 'vr_pg_reads_total', { served_by: 'replica' }),
    primary: await sample(app, 'vr_pg_reads_total', { served_by: 'primary' }),
    error: await sample(app, 'vr_pg_read_fallbacks_total', { reason: 'error' }),
    notFound: await sample(app, 'vr_pg_read_fallbacks_total', { reason: 'not_found' }),
    markedDown: await sample(app, 'vr_pg_replica_marked_down_total'),
  };
}

/** a sale, a shopper's ticket, and a confirmed order of theirs on the primary */
async function committedOrder(): Promise<{ saleId: string; orderId: string; ticket: string }> {
  const saleId = await createSale(h.app(), { stock: 5 });
  const shopper = await join(h.app(), saleId);
  const orderId = randomUUID();
  await h.db.pool.query(
    "INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at) VALUES ($1, $2, $3, 1, 'confirmed', now(), now())",
    [orderId, saleId, shopper.visitorId],
  );
  return { saleId, orderId, ticket: shopper.ticket };
}

const lookUp = (app: FastifyInstance, orderId: string, ticket: string) =>
  app.inject({ url: `/api/orders/${orderId}`, headers: { authorization: `Bearer ${ticket}` } });

describe('PostgreSQL read replicas (DATABASE_READ_URL)', () => {
  it("without one, every read is the primary's, as before, and none is counted", async () => {
    const app = h.app();
    const { orderId, ticket } = await committedOrder();
    const res = await lookUp(app, orderId, ticket);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ orderId, status: 'confirmed' });
    expect(app.pgRead.hasReplicas).toBe(false);
    expect(await reads(app)).toEqual({ replica: 0, primary: 0, error: 0, notFound: 0, markedDown: 0 });
  });

  it('serves order look-ups, stats and the report from the replica', async () => {
    // the primary's own database named as the replica: it has everything
    const app = await h.addGateway({ DATABASE_READ_URL: h.db.url });
    const { saleId, orderId, ticket } = await committedOrder();
    const before = await reads(app);
    expect((await lookUp(app, orderId, ticket)).json()).toMatchObject({ orderId, status: 'confirmed' });
    const afterLookUp = await reads(app);
    expect(afterLookUp.replica - before.replica).toBe(1);
    const stats = await app.inject({ url: `/api/admin/sales/${saleId}/stats`, headers: adminHeaders });
    expect(stats.statusCode).toBe(200);
    expect(stats.json()).toMatchObject({ id: saleId, confirmedOrders: 1 });
    const report = await app.inject({ url: `/api/admin/sales/${saleId}/report`, headers: adminHeaders });
    expect(report.statusCode).toBe(200);
    const after = await reads(app);
    expect(after.replica - afterLookUp.replica, 'the stats read and the report reads').toBeGreaterThan(1);
    expect(after.primary - before.primary).toBe(0);
    expect(after.notFound + after.error).toBe(0);
    expect(await sample(app, 'vr_pg_replica_up')).toBe(1);
  });

  it("asks the primary when the replica has not the order yet: the shopper reads it, never a 404 from a replica's miss", async () => {
    const app = await h.addGateway({ DATABASE_READ_URL: behind.url });
    const { orderId, ticket } = await committedOrder();
    const before = await reads(app);
    const res = await lookUp(app, orderId, ticket);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ orderId, status: 'confirmed' });
    const after = await reads(app);
    expect(after.notFound - before.notFound).toBe(1);
    expect(after.primary - before.primary).toBe(1);
    // an order that exists nowhere: 404, once the primary said so too
    const none = await lookUp(app, randomUUID(), ticket);
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('ORDER_NOT_FOUND');
    expect((await reads(app)).notFound - after.notFound).toBe(1);
  });

  it('answers from the primary when the replica refuses connections, and leaves it alone for a while', async () => {
    const port = await freePort();
    const app = await h.addGateway({ DATABASE_READ_URL: `postgres://postgres@127.0.0.1:${port}/velvet_rope` });
    const { saleId, orderId, ticket } = await committedOrder();
    const first = await lookUp(app, orderId, ticket);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ orderId, status: 'confirmed' });
    const down = await reads(app);
    expect(down).toMatchObject({ replica: 0, error: 1, markedDown: 1 });
    expect(await sample(app, 'vr_pg_replica_up')).toBe(0);
    // within the backoff: straight to the primary, no second error
    expect((await lookUp(app, orderId, ticket)).statusCode).toBe(200);
    expect((await app.inject({ url: `/api/admin/sales/${saleId}/stats`, headers: adminHeaders })).statusCode).toBe(200);
    const later = await reads(app);
    expect(later.error).toBe(1);
    expect(later.primary - down.primary).toBe(2);
  });
});
