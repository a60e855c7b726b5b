/**
 * What the load tools read from Redis: memory of a sale's queue state (I6: state lives in
 * Redis, and costs this much per shopper), the outbox left over (I4), and the removal of a
 * run's own keys. Never touches a key outside the given prefix. Redis is one server (a
 * redis:// address) or a Redis Cluster (`clusterNodes`); a sale over shards has its waiting
 * shoppers in its sub-queues, which are counted with the main queue.
 */
import { createRedisClient, dataNodes, saleKeys, shardKeys, type RedisClient, type RedisTarget } from '@velvet-rope/contracts';
import { Cluster } from 'ioredis';

export interface QueueMemory {
  /** entries in the queue sorted set when measured */
  readonly queued: number;
  /** records in the visitors hash */
  readonly visitors: number;
  readonly queueBytes: number;
  readonly visitorsBytes: number;
  /** what one queued shopper costs: queue bytes per entry + visitors bytes per record */
  readonly bytesPerShopper: number;
  /** the sale's rate-limit counters (one hash per route and minute, a field per visitor) */
  readonly rateLimitBytes: number;
  /** bytesPerShopper plus the rate-limit counters spread over the visitors */
  readonly bytesPerShopperWithLimits: number;
}

/** a redis:// address, or a target (a Redis Cluster's seed nodes) */
export type ProbeTarget = string | RedisTarget;

async function connect(target: ProbeTarget): Promise<RedisClient> {
  const redis = createRedisClient(typeof target === 'string' ? { url: target } : target, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  });
  // a cluster client knows its masters once it is ready: before, nodes('master') is empty and
  // a scan of every master would find nothing
  if (redis instanceof Cluster && redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.disconnect();
        reject(new Error('the Redis Cluster was not ready within 10 s'));
      }, 10_000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return redis;
}

/** the sorted sets and hashes that hold a sale's waiting shoppers: the main tag's, then each sub-queue's */
function queueKeyPairs(saleId: string, prefix: string, shards: number): { queue: string; visitors: string }[] {
  const main = saleKeys(saleId, prefix);
  const subs = shards > 1 ? Array.from({ length: shards }, (_, i) => shardKeys(saleId, i, prefix)) : [];
  return [main, ...subs].map((k) => ({ queue: k.queue, visitors: k.visitors }));
}

const memoryUsage = (redis: RedisClient, key: string) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number | null>;

/**
 * `MEMORY USAGE ... SAMPLES 0` (exact) of the sale's queue and visitors keys (of every
 * sub-queue too, for a sale over `shards`).
 */
export async function measureQueueMemory(target: ProbeTarget, prefix: string, saleId: string, shards = 1): Promise<QueueMemory> {
  const redis = await connect(target);
  try {
    let queued = 0;
    let visitors = 0;
    let queueBytes = 0;
    let visitorsBytes = 0;
    for (const k of queueKeyPairs(saleId, prefix, shards)) {
      const [q, v, qb, vb] = await Promise.all([
        redis.zcard(k.queue),
        redis.hlen(k.visitors),
        memoryUsage(redis, k.queue),
        memoryUsage(redis, k.visitors),
      ]);
      queued += q;
      visitors += v;
      queueBytes += qb ?? 0;
      visitorsBytes += vb ?? 0;
    }
    let rateLimitBytes = 0;
    for (const key of await scanKeys(redis, `${saleKeys(saleId, prefix).config}:rl:*`)) {
      rateLimitBytes += (await memoryUsage(redis, key)) ?? 0;
    }
    const bytesPerShopper = (queued > 0 ? queueBytes / queued : 0) + (visitors > 0 ? visitorsBytes / visitors : 0);
    return {
      queued,
      visitors,
      queueBytes,
      visitorsBytes,
      bytesPerShopper: Math.round(bytesPerShopper),
      rateLimitBytes,
      bytesPerShopperWithLimits: Math.round(bytesPerShopper + (visitors > 0 ? rateLimitBytes / visitors : 0)),
    };
  } finally {
    redis.disconnect();
  }
}

export interface SaleLeftovers {
  /** outbox entries not yet confirmed by the worker */
  readonly pending: number;
  readonly admitted: number;
  readonly queued: number;
  readonly remaining: number | null;
  /** turns freed because the shopper's pages were gone (the state's freedTotal) */
  readonly freed: number;
  /** waiting shoppers whose pages stayed gone past the grace (walkedAwayTotal) */
  readonly walkedAway: number;
}

export async function readSaleLeftovers(target: ProbeTarget, prefix: string, saleId: string, shards = 1): Promise<SaleLeftovers> {
  const redis = await connect(target);
  try {
    const k = saleKeys(saleId, prefix);
    const [pending, admitted, queueLengths, remaining, [freed, walkedAway]] = await Promise.all([
      redis.hlen(k.pending),
      redis.zcard(k.admitted),
      Promise.all(queueKeyPairs(saleId, prefix, shards).map((q) => redis.zcard(q.queue))),
      redis.get(k.stock),
      redis.hmget(k.state, 'freedTotal', 'walkedAwayTotal'),
    ]);
    const queued = queueLengths.reduce((a, b) => a + b, 0);
    return {
      pending,
      admitted,
      queued,
      remaining: remaining === null ? null : Number(remaining),
      freed: Number(freed ?? 0),
      walkedAway: Number(walkedAway ?? 0),
    };
  } finally {
    redis.disconnect();
  }
}

/** Every key matching a glob pattern (SCAN on every master, never KEYS). */
async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Unlinks every key under `<prefix>:` (SCAN, never KEYS or FLUSH). */
export async function deleteKeysWithPrefix(target: ProbeTarget, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_.-]{3,40}$/.test(prefix)) throw new Error(`refusing to delete keys for prefix ${JSON.stringify(prefix)}`);
  const redis = await connect(target);
  try {
    let deleted = 0;
    // per master, each key on its own: the keys of one master span many slots, and UNLINK of
    // several keys must stay in one slot on a cluster
    for (const node of dataNodes(redis)) {
      const keys = await scanKeys(node, `${prefix}:*`);
      for (let i = 0; i < keys.length; i += 1000) {
        const answers = await node.pipeline(keys.slice(i, i + 1000).map((key) => ['unlink', key])).exec();
        for (const [err, n] of answers ?? []) if (!err) deleted += Number(n);
      }
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}
