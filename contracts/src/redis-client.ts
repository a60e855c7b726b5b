/**
 * One way to connect to Redis for every process: a single server (REDIS_URL), a Redis
 * Cluster (REDIS_CLUSTER_NODES), or a primary with replicas watched by Redis Sentinels
 * (REDIS_SENTINELS, REDIS_SENTINEL_NAME), whose failovers the client follows. Every multi-key
 * script and transaction stays inside one sale's hash tag, so the same code runs on all three.
 *
 * Commands fail fast while Redis is away (no offline queue): a service answers 503 rather
 * than pile requests up in memory.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTargetConfig } from './env.js';
import { redactUrl } from './service-check.js';

export type RedisClient = Redis | Cluster;

/** where Redis is (envRedisTarget reads it from the environment) */
export type RedisTarget = RedisTargetConfig;

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
  if (target.sentinels?.length) {
    // the data nodes' credentials and database come from REDIS_URL; where the primary is, from
    // the Sentinels. `failoverDetector`: the client listens for +switch-master and moves at
    // once, instead of finding out from a dead connection
    const url = new URL(target.url);
    return new Redis({
      ...base,
      sentinels: [...target.sentinels],
      name: target.sentinelName ?? 'mymaster',
      role: 'master',
      failoverDetector: true,
      ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      db: Number(url.pathname.slice(1) || 0),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      sentinelRetryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    });
  }
  return new Redis(target.url, base);
}

/**
 * A redis:// address to check at boot that something listens: the single server, the first
 * cluster seed node or the first Sentinel.
 */
export function redisProbeUrl(target: RedisTarget): string {
  const first = target.sentinels?.[0] ?? target.clusterNodes?.[0];
  if (!first) return target.url;
  return `redis://${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;
}

/** Where a Redis target lives, for log lines (no password in it). */
export function redisAddress(target: RedisTarget): string {
  const list = (nodes: readonly { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (target.sentinels?.length) return `redis-sentinel://${list(target.sentinels)}/${target.sentinelName ?? 'mymaster'}`;
  return target.clusterNodes?.length ? `redis-cluster://${list(target.clusterNodes)}` : redactUrl(target.url);
}

/**
 * The servers that hold keys: every master of a cluster (known once the client is ready), or
 * the one server. What must see every key (SCAN) asks each of them.
 */
export function dataNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Another connection with the same settings (pub/sub needs connections of its own). */
export function duplicateRedisClient(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}
