/**
 * What the load tools read from Redis: memory of a sale's queue state (I6: state lives in
 * Redis, and costs this much per shopper), the outbox left over (I4), and the removal of a
 * run's own keys. Never touches a key outside the given prefix.
 */
import { saleKeys } from '@velvet-rope/contracts';
import { Redis } from 'ioredis';

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

function connect(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
}

/** `MEMORY USAGE ... SAMPLES 0` (exact) of the sale's queue and visitors keys. */
export async function measureQueueMemory(url: string, prefix: string, saleId: string): Promise<QueueMemory> {
  const redis = connect(url);
  try {
    const k = saleKeys(saleId, prefix);
    const [queued, visitors, queueBytes, visitorsBytes] = await Promise.all([
      redis.zcard(k.queue),
      redis.hlen(k.visitors),
      redis.call('MEMORY', 'USAGE', k.queue, 'SAMPLES', '0') as Promise<number | null>,
      redis.call('MEMORY', 'USAGE', k.visitors, 'SAMPLES', '0') as Promise<number | null>,
    ]);
    let rateLimitBytes = 0;
    for (const key of await scanKeys(redis, `${k.config}:rl:*`)) {
      rateLimitBytes += ((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null) ?? 0;
    }
    const bytesPerShopper = (queued > 0 ? (queueBytes ?? 0) / queued : 0) + (visitors > 0 ? (visitorsBytes ?? 0) / visitors : 0);
    return {
      queued,
      visitors,
      queueBytes: queueBytes ?? 0,
      visitorsBytes: visitorsBytes ?? 0,
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

export async function readSaleLeftovers(url: string, prefix: string, saleId: string): Promise<SaleLeftovers> {
  const redis = connect(url);
  try {
    const k = saleKeys(saleId, prefix);
    const [pending, admitted, queued, remaining, [freed, walkedAway]] = await Promise.all([
      redis.hlen(k.pending),
      redis.zcard(k.admitted),
      redis.zcard(k.queue),
      redis.get(k.stock),
      redis.hmget(k.state, 'freedTotal', 'walkedAwayTotal'),
    ]);
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

/** Every key matching a glob pattern (SCAN, never KEYS). */
async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Unlinks every key under `<prefix>:` (SCAN, never KEYS or FLUSH). */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_.-]{3,40}$/.test(prefix)) throw new Error(`refusing to delete keys for prefix ${JSON.stringify(prefix)}`);
  const redis = connect(url);
  try {
    const keys = await scanKeys(redis, `${prefix}:*`);
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 1000) deleted += await redis.unlink(...keys.slice(i, i + 1000));
    return deleted;
  } finally {
    redis.disconnect();
  }
}
