/**
 * On a private three-master Redis Cluster, the master holding the active-sales set (the sales
 * the admission loop ticks) is killed and restarted empty while a sale's own keys, on another
 * master, are intact. The set lives in the generation marker's slot (contracts' activeSalesKey),
 * so its loss is seen as a data loss: the running sales are re-published from PostgreSQL and
 * admission goes on. In a slot of its own the set came back empty unseen, every gateway found
 * no sale to tick, and the sale admitted nobody again (the stall of the sharded chaos test,
 * sharded-sale-shard-restarted.test.ts, whenever its restarted master held the set).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniqueId } from '../../../test-support/databases.js';
import { startRedisCluster, type LocalCluster } from '../../../test-support/redis-cluster.js';
import { createHarness, createSale, join, me, until, type Harness, type Joined } from '../support/harness.js';

let cluster: LocalCluster | undefined;
let h: Harness | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
  h = await createHarness({ REDIS_CLUSTER_NODES: cluster.nodes });
});

afterAll(async () => {
  await h?.close();
  await cluster?.stop();
});

/** ticks the admission loop (a tick may fail while the master is away) until `visitor` is admitted */
async function admitted(saleId: string, visitor: Joined): Promise<void> {
  const app = h!.app();
  await until(
    `visitor ${visitor.visitorId} admitted`,
    async () => {
      await app.admissionLoop.tickAll().catch(() => undefined);
      return (await me(app, saleId, visitor.ticket)).body.status === 'admitted';
    },
    300,
  );
}

it('a sale goes on admitting after the master holding the active-sales set restarted empty', async () => {
  const app = h!.app();
  const nodes = cluster!;
  const { keyspace } = app;
  const victim = await nodes.masterOf(keyspace.activeSales);
  expect(await nodes.masterOf(keyspace.generation), 'the set and the generation marker share a slot').toBe(victim);
  // a sale whose own keys sit on another master: only the set (and the marker) are lost
  let saleId = '';
  for (let tries = 0; tries < 50 && saleId === ''; tries++) {
    const id = uniqueId('sale-');
    if ((await nodes.masterOf(keyspace.sale(id).config)) !== victim) saleId = id;
  }
  expect(saleId, 'a sale id off the restarted master in 50 tries').not.toBe('');
  await createSale(app, { id: saleId, stock: 10 });
  const before = await join(app, saleId);
  expect(before.statusCode).toBe(201);
  await admitted(saleId, before);

  await nodes.restartEmpty(victim);
  expect(await app.redis.sismember(keyspace.activeSales, saleId), 'the restart emptied the set').toBe(0);

  // a shopper who joins after the restart (a 503 while the cluster settles is tried again)
  let after: Joined | undefined;
  await until('a join after the restart', async () => {
    const j = await join(app, saleId);
    if (j.statusCode === 201) after = j;
    return after !== undefined;
  });
  await admitted(saleId, after!);
  expect(await app.redis.sismember(keyspace.activeSales, saleId), 'the sale is back in the set').toBe(1);
});
