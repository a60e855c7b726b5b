/**
 * One way to connect to Redis for every process: a single server (REDIS_URL) or a Redis
 * Cluster (REDIS_CLUSTER_NODES). Every multi-key script and transaction stays inside one
 * sale's hash tag, so the same code runs on both.
 *
 * Commands fail fast while Redis is away (no offline queue): a service answers 503 rather
 * than pile requests up in memory.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  readonly url: string;
  readonly clusterNodes?: readonly { host: string; port: number }[] | undefined;
}

export function createRedisClient(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    ...options,
  };
  if (target.clusterNodes?.length) {
    // no auto-pipelining on a cluster: ioredis's cluster client runs a delayed auto-pipeline
    // after the client closed and leaves its rejection unhandled (seen in this project's tests)
    const { enableAutoPipelining: _ignored, enableOfflineQueue, lazyConnect, ...redisOptions } = base;
    return new Cluster([...target.clusterNodes], {
      lazyConnect,
      enableOfflineQueue,
      redisOptions,
      clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
      // a restarted node can take a moment to know the slots again
      slotsRefreshTimeout: 2_000,
    });
  }
  return new Redis(target.url, base);
}

/** Where a Redis target lives, for boot checks and log lines. */
export function redisAddress(target: RedisTarget): string {
  return target.clusterNodes?.length ? `redis-cluster://${target.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}` : target.url;
}

/** Another connection with the same settings (pub/sub needs connections of its own). */
export function duplicateRedisClient(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}
