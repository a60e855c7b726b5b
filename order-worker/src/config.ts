import {
  ConfigError,
  envInt,
  envKeyPrefix,
  envLogLevel,
  envQueueName,
  envRedisClusterNodes,
  envServiceUrls,
  LOG_LEVELS,
  SERVICE_DEFAULTS,
  type LogLevel,
} from '@velvet-rope/contracts';

/**
 * Order worker configuration, from the environment, validated at boot: a wrong value stops
 * the process with a message that names the variable. `loadConfig` is pure (it reads only
 * the object it is given), so tests pass their own environment.
 */

export interface WorkerConfig {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when set, used instead of redisUrl */
  readonly redisClusterNodes: readonly { host: string; port: number }[] | undefined;
  /** must equal the gateway's: it names the Redis keys both sides touch */
  readonly redisKeyPrefix: string;
  readonly ordersQueue: string;
  /** most messages committed in one transaction */
  readonly batchMax: number;
  /** longest a message waits for its batch to fill, when no batch is in flight (ms) */
  readonly batchMs: number;
  /** unacknowledged messages RabbitMQ may hand this worker at once */
  readonly prefetch: number;
  /** batches committing at once, each on its own PostgreSQL connection (COMMITS_IN_FLIGHT) */
  readonly commitsInFlight: number;
  readonly logLevel: LogLevel;
  /** port of the Prometheus `/metrics` endpoint; undefined: no endpoint */
  readonly metricsPort: number | undefined;
}

export { ConfigError, LOG_LEVELS, type LogLevel };

export function loadConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const prefetch = envInt(env, 'PREFETCH', 1000, 1, 65_535); // basic.qos prefetch-count is a short
  const batchMax = envInt(env, 'BATCH_MAX', 500, 1, 10_000);
  if (batchMax > prefetch) {
    // RabbitMQ would never hand over enough messages to fill a batch
    throw new ConfigError('BATCH_MAX', `must not exceed PREFETCH (${prefetch}), got ${batchMax}`);
  }
  const metricsPort = envInt(env, 'METRICS_PORT', 0, 0, 65_535);
  return Object.freeze({
    ...envServiceUrls(env),
    redisClusterNodes: envRedisClusterNodes(env),
    redisKeyPrefix: envKeyPrefix(env, 'REDIS_KEY_PREFIX'),
    ordersQueue: envQueueName(env, 'ORDERS_QUEUE', SERVICE_DEFAULTS.ordersQueue),
    batchMax,
    batchMs: envInt(env, 'BATCH_MS', 20, 0, 60_000),
    prefetch,
    commitsInFlight: envInt(env, 'COMMITS_IN_FLIGHT', 2, 1, 8),
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
    metricsPort: metricsPort === 0 ? undefined : metricsPort,
  });
}
