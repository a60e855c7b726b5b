/**
 * A sale over several shards (`shards: 3`, issue 17 item 1): its waiting shoppers in three
 * sub-queues on three hash tags (three slots: spread over the masters when this suite runs in
 * the `cluster` project), and still one line: positions exact over every sub-queue, admission
 * lowest score first across them, no unit sold twice, none left unsold, one order per admission.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminHeaders,
  buy,
  createHarness,
  drainOrders,
  join,
  me,
  sleep,
  testRedis,
  type Harness,
  type Joined,
} from '../support/harness.js';
import { uniqueId } from '../../../test-support/databases.js';
import { KeySpace } from '../../src/redis/keyspace.js';
import { RedisCommands } from '../../src/redis/commands.js';
import { mergeHeads } from '../../src/queue/sub-queues.js';
import { defineScripts } from '../../src/redis/script-loader.js';
import type { RedisClient } from '@velvet-rope/contracts';

let h: Harness;
let redis: RedisClient;
beforeAll(async () => {
  h = await createHarness();
  redis = await testRedis();
  defineScripts(redis);
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

async function createShardedSale(body: Record<string, unknown>) {
  const id = uniqueId('sale-');
  const res = await h.app().inject({
    method: 'POST',
    url: '/api/admin/sales',
    headers: adminHeaders,
    payload: {
      id,
      name: `Sharded ${id}`,
      stock: 10,
      startsAt: new Date(Date.now() - 1_000).toISOString(),
      ratePerMinute: 600_000,
      checkoutSeconds: 60,
      windowSeconds: 10,
      ...body,
    },
  });
  return { id, res };
}

/** the score a ticket carries (its JWT payload's `scr`) */
const scoreOf = (ticket: string): number => JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()).scr as number;

async function joinAll(saleId: string, n: number): Promise<Joined[]> {
  const out: Joined[] = [];
  // in parallel groups, so the gateway batches joins per sub-queue as under load
  for (let i = 0; i < n; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => join(h.app(), saleId)))));
  }
  return out;
}

describe('shards on a sale: validated, fixed', () => {
  it('refuses a shard count that is not an integer from 1 to 16, changing nothing', async () => {
    for (const shards of [0, 17, 2.5, '3', -1]) {
      const { id, res } = await createShardedSale({ shards });
      expect(res.statusCode, `shards ${String(shards)}`).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect((await h.app().inject({ url: `/api/admin/sales/${id}`, headers: adminHeaders })).statusCode).toBe(404);
    }
  });

  it('refuses what sub-queues cannot keep yet (strict FIFO, admission at join) with a stable code', async () => {
    for (const more of [
      { queueMode: 'fifo' },
      { windowSeconds: 0 },
      { flow: 'standby' },
      { flow: 'passthrough' },
      { powDifficulty: 8 },
      { maxQueue: 1_000 },
    ]) {
      const { res } = await createShardedSale({ shards: 3, ...more });
      expect(res.statusCode, JSON.stringify(more)).toBe(422);
      expect(res.json().code).toBe('INVALID_SALE_CONFIG');
    }
  });

  it('keeps the count it was created with: a change is refused', async () => {
    const { id, res } = await createShardedSale({ shards: 3 });
    expect(res.statusCode).toBe(201);
    expect(res.json().shards).toBe(3);
    const patch = await h.app().inject({ method: 'PATCH', url: `/api/admin/sales/${id}`, headers: adminHeaders, payload: { shards: 2 } });
    expect(patch.statusCode).toBe(422);
    expect(patch.json().code).toBe('INVALID_SALE_CONFIG');
    const flow = await h
      .app()
      .inject({ method: 'PATCH', url: `/api/admin/sales/${id}`, headers: adminHeaders, payload: { flow: 'standby' } });
    expect(flow.statusCode).toBe(422);
    const view = (await h.app().inject({ url: `/api/admin/sales/${id}`, headers: adminHeaders })).json();
    expect(view.shards).toBe(3);
    expect(view.flow).toBe('queue');
  });

  it('a sale without shards keeps its one queue on its own tag', async () => {
    const { id, res } = await createShardedSale({});
    expect(res.json().shards).toBe(1);
    await joinAll(id, 5);
    const keys = new KeySpace(h.prefix);
    expect(await redis.zcard(keys.sale(id).queue)).toBe(5);
    expect(await redis.exists(keys.shard(id, 0).queue)).toBe(0);
  });
});

describe('a sale over three shards', () => {
  it('keeps one line: exact positions, lowest scores admitted first, every unit sold once', async () => {
    const stock = 60;
    const n = 300;
    const { id, res } = await createShardedSale({ shards: 3, stock, maxActive: 25 });
    expect(res.statusCode).toBe(201);
    const keys = new KeySpace(h.prefix);
    const shoppers = await joinAll(id, n);
    expect(shoppers.filter((s) => s.statusCode !== 201).map((s) => JSON.stringify(s))).toEqual([]);

    // the places are in the three sub-queues, none on the sale's own tag
    const lengths = await Promise.all([0, 1, 2].map((k) => redis.zcard(keys.shard(id, k).queue)));
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(n);
    for (const l of lengths) expect(l).toBeGreaterThan(n / 6);
    expect(await redis.zcard(keys.sale(id).queue)).toBe(0);

    // positions: exactly 1..n in score order, as one queue would answer them
    const byScore = [...shoppers].sort((a, b) => scoreOf(a.ticket) - scoreOf(b.ticket));
    const positions = await Promise.all(byScore.map(async (s) => (await me(h.app(), id, s.ticket)).body));
    expect(positions.map((p) => p.position)).toEqual(byScore.map((_, i) => i + 1));
    expect(positions.every((p) => p.waiting === n)).toBe(true);
    expect((await h.app().inject({ url: `/api/sales/${id}` })).json().waiting).toBe(n);

    // a tick admits maxActive: exactly the 25 lowest scores across the three sub-queues
    await h.app().admissionLoop.tickSale(id);
    await sleep(50);
    const first = await h.app().admissionLoop.tickSale(id);
    const admittedNow = new Set([...(first?.admissions ?? [])].map((a) => a.visitorId));
    expect(first?.waiting).toBe(n - 25);
    const states = await Promise.all(byScore.map(async (s) => (await me(h.app(), id, s.ticket)).body));
    expect(states.slice(0, 25).every((s) => s.status === 'admitted')).toBe(true);
    expect(states.slice(25).every((s) => s.status === 'queued')).toBe(true);
    expect(states.slice(25).map((s) => s.position)).toEqual(byScore.slice(25).map((_, i) => i + 1));
    expect(byScore.slice(0, 25).every((s) => admittedNow.has(s.visitorId) || states[0]!.status === 'admitted')).toBe(true);

    // every admitted shopper buys; a retry answers the same order (one order per admission)
    const orders = new Map<string, string>();
    const sold = new Set<string>();
    for (let round = 0; round < 60 && sold.size < stock; round++) {
      const now = await Promise.all(byScore.map(async (s) => ({ s, st: (await me(h.app(), id, s.ticket)).body })));
      for (const { s, st } of now) {
        if (st.status !== 'admitted' || sold.has(s.visitorId)) continue;
        const bought = await buy(h.app(), id, st.admission.token as string);
        if (bought.statusCode === 202) {
          const again = await buy(h.app(), id, st.admission.token as string);
          expect(again.body.orderId).toBe(bought.body.orderId);
          orders.set(s.visitorId, bought.body.orderId as string);
          sold.add(s.visitorId);
        } else {
          expect(bought.body.code).toBe('SOLD_OUT');
        }
      }
      await h.app().admissionLoop.tickSale(id);
    }
    // no undersell, no oversell: exactly the stock, in Redis and in the orders sent on
    expect(sold.size).toBe(stock);
    expect(Number(await redis.get(keys.sale(id).stock))).toBe(0);
    const messages = (await drainOrders(h.queue)).filter((m) => m.saleId === id);
    expect(new Set(messages.map((m) => m.orderId)).size).toBe(stock);
    // (a retried purchase sends its message again, same order id: the worker takes it once)
    const units = new Map(messages.map((m) => [m.orderId, m.quantity]));
    expect([...units.values()].reduce((sum, q) => sum + q, 0)).toBe(stock);
    // the buyers are the lowest scores: nobody bought ahead of a better place that was still waiting
    const buyers = byScore.map((s) => sold.has(s.visitorId));
    expect(buyers.slice(0, stock).every(Boolean)).toBe(true);

    // a shopper who bought is told so, whichever sub-queue they waited in
    const ordered = byScore[0]!;
    const st = (await me(h.app(), id, ordered.ticket)).body;
    expect(st.status).toBe('ordered');
    expect(st.orderId).toBe(orders.get(ordered.visitorId));
  });

  it('a tick cut short between the main tag and a sub-queue admits nobody twice', async () => {
    const { id } = await createShardedSale({ shards: 3, stock: 100, maxActive: 10 });
    const shoppers = await joinAll(id, 40);
    const keys = new KeySpace(h.prefix);
    const commands = new RedisCommands(redis, keys);
    await h.app().admissionLoop.tickSale(id); // takes the lead
    const epoch = h.app().admissionLoop.leading.get(id)!;
    const owner = (await redis.get(keys.sale(id).leader))!;
    const a = {
      saleId: id,
      owner,
      jtiKey: 'k'.repeat(32),
      oversubscription: 1,
      maxBatch: 5,
      maxElapsedMs: 5_000,
      epoch,
      maxOversubscription: 1,
    };
    // steps 1 to 4 of a tick, then the leader "dies" before the sub-queues are settled
    const budget = await commands.admitBudget(a);
    expect(budget).toMatchObject({ outcome: 'BUDGET' });
    const n = 'budget' in budget ? budget.budget : 0;
    expect(n).toBeGreaterThan(0);
    const heads = await Promise.all(
      [0, 1, 2].map((shard) =>
        commands.shardHeads({ saleId: id, shard, n, remaining: null, admittedTotal: null, paidUnits: null, config: {} }),
      ),
    );
    const cut = await commands.admitGiven(
      a,
      40,
      mergeHeads(
        heads.map((x) => x.heads),
        n,
      ),
    );
    const cutShort = 'admissions' in cut ? cut.admissions.map((x) => x.visitorId) : [];
    expect(cutShort.length).toBe(n);
    // the next tick finds them at the heads, settles them and admits the next ones instead
    await sleep(30);
    const next = await h.app().admissionLoop.tickSale(id);
    const nextIds = (next?.admissions ?? []).map((x) => x.visitorId);
    for (const v of cutShort) expect(nextIds).not.toContain(v);
    expect(next?.settled.map((s) => s.visitorId).sort()).toEqual([...cutShort].sort());
    const states = await Promise.all(shoppers.map(async (s) => ({ id: s.visitorId, st: (await me(h.app(), id, s.ticket)).body })));
    const admitted = states.filter((x) => x.st.status === 'admitted').map((x) => x.id);
    expect(admitted.length).toBe(cutShort.length + nextIds.length);
    for (const v of cutShort) expect(admitted).toContain(v);
    // the admissions' sequence numbers are each used once
    const seqs = await redis.hget(keys.sale(id).state, 'admittedTotal');
    expect(Number(seqs)).toBe(admitted.length);
  });
});
