/**
 * socket.io across gateway instances: two gateway processes share Redis; 2,000 socket clients
 * split between them. Only one gateway leads the sale's admission loop, so the other's clients
 * receive the ticks through the Redis adapter. Every client must receive every tick.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, type Service } from '../../../test-support/processes.js';
import { saleKeys } from '@velvet-rope/contracts';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv, testRedis } from '../support/harness.js';

const CLIENTS = 2_000;
const ADMIN_KEY = 'rt-admin-key-0123456789';
const TICK_MS = 250;

let db: TestDatabase;
const gateways: Service[] = [];
const bases: string[] = [];
const prefix = uniqueId('vrr').toLowerCase();
const queue = uniqueId('vr-rt-orders-');

beforeAll(async () => {
  db = await createTestDatabase();
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const gw = startService(`gateway-${i}`, 'gateway/dist/server.js', {
      DATABASE_URL: db.url,
      ...redisEnv(),
      AMQP_URL,
      ORDERS_QUEUE: queue,
      REDIS_KEY_PREFIX: prefix,
      ADMIN_API_KEY: ADMIN_KEY,
      PORT: String(port),
      // 2,000 clients join from 127.0.0.1: the per-address new-place limit set out of the way
      RATE_LIMIT_PER_IP: '1000000',
      TICK_MS: String(TICK_MS),
      LOG_LEVEL: 'warn',
    });
    gateways.push(gw);
    bases.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(gateways.map((gw, i) => waitForHttp(`${bases[i]}/readyz`, gw)));
});

afterAll(async () => {
  expect(await Promise.all(gateways.map((g) => g.stop()))).toEqual([0, 0]);
  await cleanupRedis(prefix);
  await deleteQueues([queue, `${queue}.dead`]);
  await db?.drop();
});

interface Update {
  /** ms from the leader's emit to this client's receipt */
  delay: number;
  /** the tick's emit time: identifies the tick */
  emittedAt: number;
}

describe('live updates across gateway instances', () => {
  it('delivers every tick to all 2,000 clients, whichever gateway they are on', async () => {
    const saleId = uniqueId('rt-');
    const res = await fetch(`${bases[0]}/api/admin/sales`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: saleId,
        name: 'Realtime',
        stock: 1_000_000,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        ratePerMinute: 60,
      }),
    });
    expect(res.status).toBe(201);

    const received: Update[][] = Array.from({ length: CLIENTS }, () => []);
    const sockets: Socket[] = [];
    const connected = Array.from({ length: CLIENTS }, (_, i) => {
      const socket = connect(bases[i % 2]!, { auth: { saleId }, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(socket);
      socket.on('sale:update', (e: { at: number }) => {
        received[i]!.push({ delay: Date.now() - e.at, emittedAt: e.at });
      });
      return new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    });
    await Promise.all(connected);

    // The ticks under test are chosen by when the leader emitted them, never by when they
    // arrived: on a busy machine a delivery can land several ticks late, and that is no miss.
    // Every client is in the room from `from` on; the window closes at the TICKS-th tick
    // emitted after it, however long the machine takes to emit them.
    const TICKS = 8;
    const from = Date.now() + 500;
    const emittedAfter = (t: number) => {
      const all = new Set<number>();
      for (const r of received) for (const u of r) if (u.emittedAt > t) all.add(u.emittedAt);
      return [...all].sort((a, b) => a - b);
    };
    const until = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 120_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(`${TICKS} ticks emitted`, () => emittedAfter(from).length >= TICKS);
    const ticks = emittedAfter(from).slice(0, TICKS);
    const last = ticks.at(-1)!;
    // socket.io delivers in order on each connection: a client that has seen a later tick has
    // been given every earlier one it will ever get
    await until('every client to see a tick after the window', () => received.every((r) => r.some((u) => u.emittedAt > last)));
    for (const s of sockets) s.disconnect();

    const missing = received.map((r) => {
      const got = new Set(r.map((u) => u.emittedAt));
      return ticks.filter((t) => !got.has(t)).length;
    });
    expect(missing.filter((m) => m > 0).length).toBe(0);
    const inner = new Set(ticks);

    const delays = received.flatMap((r) => r.map((u) => u.delay)).sort((a, b) => a - b);
    const p = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!;
    process.stdout.write(
      `socket.io across 2 gateways: clients=${CLIENTS} ticks=${inner.size} deliveries=${delays.length} ` +
        `delay p50=${p(0.5)}ms p99=${p(0.99)}ms max=${delays.at(-1)}ms\n`,
    );
    // each gateway served half: both delivered
    expect(delays.length).toBeGreaterThanOrEqual(CLIENTS * inner.size);
  });

  it("pushes each shopper's turn to their pages on whichever gateway holds them, the leader's or not", async () => {
    const SHOPPERS = 40;
    const saleId = uniqueId('rt-');
    const admin = (method: string, path: string, body: unknown) =>
      fetch(`${bases[0]}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // paused: nobody's turn comes before every page listens
    const created = await admin('POST', '/api/admin/sales', {
      id: saleId,
      name: 'Turns',
      stock: SHOPPERS,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      ratePerMinute: 60_000,
      paused: true,
    });
    expect(created.status).toBe(201);
    const shoppers = await Promise.all(
      Array.from({ length: SHOPPERS }, async (_, i) => {
        const r = await fetch(`${bases[i % 2]}/api/sales/${saleId}/queue`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(r.status).toBe(201);
        return (await r.json()) as { visitorId: string; ticket: string };
      }),
    );
    // shopper i's page on gateway i % 2, and shopper 0 with a second page on the other gateway
    const pushed = new Map<string, string[]>();
    const pages = [...shoppers.map((s, i) => ({ s, gateway: i % 2 })), { s: shoppers[0]!, gateway: 1 }].map(({ s, gateway }) => {
      const socket = connect(bases[gateway]!, {
        auth: { ticket: s.ticket },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      socket.on('queue:admitted', (e: { saleId: string; token: string }) => {
        expect(e.saleId).toBe(saleId);
        pushed.set(s.visitorId, [...(pushed.get(s.visitorId) ?? []), e.token]);
      });
      return socket;
    });
    try {
      await Promise.all(
        pages.map(
          (p) =>
            new Promise<void>((resolve, reject) =>
              p.connected ? resolve() : (p.once('connect', () => resolve()), p.once('connect_error', reject)),
            ),
        ),
      );
      expect((await admin('PATCH', `/api/admin/sales/${saleId}`, { paused: false })).status).toBe(200);
      const deadline = Date.now() + 60_000;
      while ([...pushed.values()].reduce((n, t) => n + t.length, 0) < SHOPPERS + 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      for (const p of pages) p.disconnect();
    }
    for (const [i, s] of shoppers.entries()) {
      const tokens = pushed.get(s.visitorId) ?? [];
      expect(tokens.length, `shopper ${i}'s pages told once each`).toBe(i === 0 ? 2 : 1);
      const me = (await (
        await fetch(`${bases[(i + 1) % 2]}/api/sales/${saleId}/queue/me`, { headers: { authorization: `Bearer ${s.ticket}` } })
      ).json()) as { status: string; admission: { token: string } };
      expect(me.status).toBe('admitted');
      // the push and the poll sign the same admission the same way, on either gateway
      for (const t of tokens) expect(t).toBe(me.admission.token);
    }
  });

  it("tells a buyer's pages on every gateway of the worker's order outcomes, batched or single", async () => {
    const saleId = uniqueId('rt-');
    const created = await fetch(`${bases[0]}/api/admin/sales`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: saleId,
        name: 'Orders',
        stock: 10,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        ratePerMinute: 0,
      }),
    });
    expect(created.status).toBe(201);
    const joined = (await (
      await fetch(`${bases[0]}/api/sales/${saleId}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    ).json()) as { visitorId: string; ticket: string };

    // the buyer has a page open on each gateway
    const got: { gateway: number; orderId: string; status: string }[][] = [[], []];
    const pages = bases.map((base, i) => {
      const socket = connect(base, { auth: { ticket: joined.ticket }, transports: ['websocket'], reconnection: false, forceNew: true });
      socket.on('order:update', (e: { saleId: string; orderId: string; status: string }) => {
        expect(e.saleId).toBe(saleId);
        got[i]!.push({ gateway: i, orderId: e.orderId, status: e.status });
      });
      return socket;
    });
    await Promise.all(
      pages.map(
        (s) =>
          new Promise<void>((resolve, reject) =>
            s.connected ? resolve() : (s.once('connect', () => resolve()), s.once('connect_error', reject)),
          ),
      ),
    );

    const redis = await testRedis();
    try {
      const channel = saleKeys(saleId, prefix).events;
      // what the worker publishes per batch (another buyer's outcome in it too), and the single
      // event of workers before batching
      await redis.publish(
        channel,
        JSON.stringify({
          type: 'order:updates',
          saleId,
          orders: [
            { visitorId: 'someone-else-0000000000', orderId: 'o-other', status: 'confirmed' },
            { visitorId: joined.visitorId, orderId: 'o-batched', status: 'confirmed' },
          ],
        }),
      );
      await redis.publish(
        channel,
        JSON.stringify({ type: 'order:update', saleId, visitorId: joined.visitorId, orderId: 'o-single', status: 'rejected' }),
      );
      const deadline = Date.now() + 60_000;
      while (got.some((g) => g.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await redis.quit();
      for (const s of pages) s.disconnect();
    }
    for (const [i, g] of got.entries()) {
      // two publishes of two orders: on a Redis Cluster each may reach the subscriber's node by
      // another path, so their order is not promised (each order's own events come in order)
      expect([...g].sort((a, b) => a.orderId.localeCompare(b.orderId))).toEqual([
        { gateway: i, orderId: 'o-batched', status: 'confirmed' },
        { gateway: i, orderId: 'o-single', status: 'rejected' },
      ]);
    }
  });
});
