/**
 * The private services the chaos scenarios break: they start on ports of their own, stop,
 * start again with (PostgreSQL, RabbitMQ) or without (Redis) their data, and leave nothing
 * behind. The shared services on the default ports are never touched.
 */
import { connect as amqpConnect } from 'amqplib';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupPrivateServices,
  startPrivatePostgres,
  startPrivatePostgresReplica,
  startPrivateRabbitMQ,
  startPrivateRabbitMQCluster,
  startPrivateRedis,
} from '../../../test-support/private-services.js';

afterAll(async () => {
  await cleanupPrivateServices();
});

const DEFAULT_PORTS = [5432, 6379, 5672, 25672, 15672, 4369];

describe('private services for chaos tests', () => {
  it('Redis: own port, SIGKILL, restart empty', async () => {
    const redis = await startPrivateRedis();
    expect(DEFAULT_PORTS).not.toContain(redis.port);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    await redis.kill();
    expect(redis.running).toBe(false);
    await redis.restartEmpty();
    // the client reconnects by itself; the data is gone
    await expect.poll(async () => client.ping().catch(() => 'down'), { timeout: 5_000 }).toBe('PONG');
    expect(await client.get('k')).toBeNull();
    client.disconnect();
    const dir = redis.dir;
    await redis.destroy();
    expect(existsSync(dir)).toBe(false);
    process.stdout.write(`private redis: started in ${redis.lastStartMs} ms\n`);
  });

  it('PostgreSQL: own cluster, fast shutdown, start again with the data', async () => {
    const t0 = Date.now();
    const pgs = await startPrivatePostgres();
    const initAndStart = Date.now() - t0;
    expect(DEFAULT_PORTS).not.toContain(pgs.port);
    const pool = new pg.Pool({ connectionString: pgs.url, max: 2 });
    pool.on('error', () => undefined);
    await pool.query('CREATE TABLE t (x int)');
    await pool.query('INSERT INTO t VALUES (42)');
    await pgs.stop();
    expect(pgs.running).toBe(false);
    await expect(pool.query('SELECT 1')).rejects.toThrow();
    await pgs.start();
    const { rows } = await pool.query<{ x: number }>('SELECT x FROM t');
    expect(rows).toEqual([{ x: 42 }]);
    await pool.end();
    await pgs.destroy();
    process.stdout.write(`private postgres: initdb + start ${initAndStart} ms, restart ${pgs.lastStartMs} ms\n`);
  });

  it('PostgreSQL replica: a streaming copy of a private primary, read-only, stopped at once, catching up after', async () => {
    const primary = await startPrivatePostgres();
    const p = new pg.Pool({ connectionString: primary.url, max: 2 });
    p.on('error', () => undefined);
    await p.query('CREATE TABLE t (x int)');
    await p.query('INSERT INTO t VALUES (1)');
    const t0 = Date.now();
    const replica = await startPrivatePostgresReplica(primary);
    const copyAndStart = Date.now() - t0;
    expect(DEFAULT_PORTS).not.toContain(replica.port);
    expect(replica.port).not.toBe(primary.port);
    const r = new pg.Pool({ connectionString: replica.url, max: 2 });
    r.on('error', () => undefined);
    const xs = async () => (await r.query<{ x: number }>('SELECT x FROM t ORDER BY x')).rows.map((row) => row.x);
    expect(await xs()).toEqual([1]);
    expect((await r.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]!.standby).toBe(true);
    await expect(r.query('INSERT INTO t VALUES (9)')).rejects.toMatchObject({ code: '25006' }); // read-only transaction
    // streamed: a write on the primary shows on the replica
    await p.query('INSERT INTO t VALUES (2)');
    await expect.poll(xs, { timeout: 10_000 }).toEqual([1, 2]);
    await replica.stopImmediately();
    expect(replica.running).toBe(false);
    await expect(r.query('SELECT 1')).rejects.toThrow();
    await p.query('INSERT INTO t VALUES (3)');
    await replica.start();
    await expect.poll(xs, { timeout: 10_000 }).toEqual([1, 2, 3]);
    await Promise.all([p.end(), r.end()]);
    const dir = replica.dir;
    await replica.destroy();
    await primary.destroy();
    expect(existsSync(dir)).toBe(false);
    process.stdout.write(`private postgres replica: base backup + start ${copyAndStart} ms, restart ${replica.lastStartMs} ms\n`);
  });

  it('RabbitMQ: a second node, stop and start with its durable queue', async () => {
    const t0 = Date.now();
    const rabbit = await startPrivateRabbitMQ();
    const firstStart = Date.now() - t0;
    expect(DEFAULT_PORTS).not.toContain(rabbit.port);
    let conn = await amqpConnect(rabbit.url);
    let ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('q', Buffer.from('hello'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();

    const s0 = Date.now();
    await rabbit.stop();
    const stopMs = Date.now() - s0;
    expect(rabbit.running).toBe(false);
    await rabbit.start();
    conn = await amqpConnect(rabbit.url);
    ch = await conn.createConfirmChannel();
    const msg = await ch.get('q', { noAck: true });
    expect(msg && msg.content.toString()).toBe('hello');
    await conn.close();
    const k0 = Date.now();
    await rabbit.kill();
    const killMs = Date.now() - k0;
    await rabbit.destroy();
    process.stdout.write(
      `private rabbitmq ${rabbit.nodeName}: first start ${firstStart} ms, stop ${stopMs} ms, ` +
        `restart ${rabbit.lastStartMs} ms, kill ${killMs} ms\n`,
    );
  });

  it('RabbitMQ cluster: three nodes of their own, a quorum queue on all three, one killed', async () => {
    const t0 = Date.now();
    const cluster = await startPrivateRabbitMQCluster(3);
    const startMs = Date.now() - t0;
    const names = cluster.nodes.map((n) => n.nodeName);
    expect(new Set(names).size).toBe(3);
    for (const n of cluster.nodes) expect(DEFAULT_PORTS).not.toContain(n.port);
    expect(await cluster.runningNodes()).toEqual([...names].sort());
    expect(cluster.amqpUrl.split(',')).toEqual(cluster.nodes.map((n) => n.url));

    // declared through node 2: the replicas are on every node, the leader where it was declared
    const conn = await amqpConnect(cluster.nodes[1]!.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('q', Buffer.from('hello'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    const before = await cluster.queueReplicas('q');
    expect(before?.members).toEqual([...names].sort());
    expect(before?.leader).toBe(names[1]);

    // the leader SIGKILLed: another node leads, the message is still there
    const k0 = Date.now();
    await cluster.node(before!.leader).kill();
    await expect
      .poll(async () => (await cluster.queueReplicas('q').catch(() => undefined))?.leader, { timeout: 30_000, interval: 500 })
      .toSatisfy((leader) => typeof leader === 'string' && leader !== before!.leader);
    const electedMs = Date.now() - k0;
    const survivor = cluster.nodes.find((n) => n.running)!;
    const c2 = await amqpConnect(survivor.url);
    const ch2 = await c2.createChannel();
    const msg = await ch2.get('q', { noAck: true });
    expect(msg && msg.content.toString()).toBe('hello');
    await c2.close();
    const dirs = cluster.nodes.map((n) => n.dir);
    await Promise.all(cluster.nodes.map((n) => n.destroy()));
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    process.stdout.write(
      `private rabbitmq cluster ${names.join(', ')}: started and joined in ${startMs} ms, new leader in ${electedMs} ms\n`,
    );
  });
});
