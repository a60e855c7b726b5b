import {
  ConfigError,
  DEFAULT_EVENTS_EXCHANGE,
  envInt,
  envKeyPrefix,
  envLogLevel,
  envQueueName,
  envRedisClusterNodes,
  envRedisTarget,
  envServiceUrls,
  LOG_LEVELS,
  SERVICE_DEFAULTS,
  type LogLevel,
  type RedisTarget,
} from '@velvet-rope/contracts';

/**
 * Order worker configuration, from the environment, validated at boot: a wrong value stops
 * the process with a message that names the variable. `loadConfig` is pure (it reads only
 * the object it is given), so tests pass their own environment.
 */

export interface WorkerConfig {
  /** the RabbitMQ node, or the nodes of one cluster, in the order they are tried (AMQP_URL) */
  readonly amqpUrls: readonly string[];
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when set, used instead of redisUrl */
  readonly redisClusterNodes: readonly { host: string; port: number }[] | undefined;
  /** where Redis is: one server, a cluster or Sentinels (contracts' envRedisTarget) */
  readonly redisTarget: RedisTarget;
  /** PostgreSQL connections the worker's commit pool may open (PG_POOL_MAX) */
  readonly pgPoolMax: number;
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
  /** telling the shop (issue 14): the events exchange and the webhook deliveries */
  readonly shop: ShopConfig;
}

export interface ShopConfig {
  /** the topic exchange the shop's events are published on (EVENTS_EXCHANGE) */
  readonly eventsExchange: string;
  /** one delivery attempt's bound, connect to last byte of the answer's headers (ms) */
  readonly webhookTimeoutMs: number;
  /** retries: exponential from this (ms), with full jitter ... */
  readonly webhookRetryBaseMs: number;
  /** ... up to this (ms) */
  readonly webhookRetryMaxMs: number;
  /** attempts of one delivery before it is `failed` */
  readonly webhookMaxAttempts: number;
  /** a delivery older than this (s) is `failed` at its next failed attempt */
  readonly webhookMaxAgeSeconds: number;
  /** deliveries in flight from this worker, in all and per endpoint */
  readonly webhookConcurrency: number;
  readonly webhookConcurrencyPerEndpoint: number;
  /** while the order commits are saturated, the dispatcher and deliverer wait at most this long in a row (ms; 0: never) */
  readonly maxDeferMs: number;
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
  const webhookRetryBaseMs = envInt(env, 'WEBHOOK_RETRY_BASE_MS', 1_000, 1, 3_600_000);
  const webhookRetryMaxMs = envInt(env, 'WEBHOOK_RETRY_MAX_MS', 300_000, 1, 86_400_000);
  if (webhookRetryMaxMs < webhookRetryBaseMs) {
    throw new ConfigError(
      'WEBHOOK_RETRY_MAX_MS',
      `must not be below WEBHOOK_RETRY_BASE_MS (${webhookRetryBaseMs}), got ${webhookRetryMaxMs}`,
    );
  }
  const webhookConcurrency = envInt(env, 'WEBHOOK_CONCURRENCY', 16, 1, 1_000);
  const webhookConcurrencyPerEndpoint = envInt(env, 'WEBHOOK_CONCURRENCY_PER_ENDPOINT', 4, 1, 1_000);
  if (webhookConcurrencyPerEndpoint > webhookConcurrency) {
    throw new ConfigError(
      'WEBHOOK_CONCURRENCY_PER_ENDPOINT',
      `must not exceed WEBHOOK_CONCURRENCY (${webhookConcurrency}), got ${webhookConcurrencyPerEndpoint}`,
    );
  }
  return Object.freeze({
    ...envServiceUrls(env),
    redisClusterNodes: envRedisClusterNodes(env),
    redisTarget: envRedisTarget(env),
    pgPoolMax: envInt(env, 'PG_POOL_MAX', 10, 1, 1_000),
    redisKeyPrefix: envKeyPrefix(env, 'REDIS_KEY_PREFIX'),
    ordersQueue: envQueueName(env, 'ORDERS_QUEUE', SERVICE_DEFAULTS.ordersQueue),
    batchMax,
    batchMs: envInt(env, 'BATCH_MS', 20, 0, 60_000),
    prefetch,
    commitsInFlight: envInt(env, 'COMMITS_IN_FLIGHT', 2, 1, 8),
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
    metricsPort: metricsPort === 0 ? undefined : metricsPort,
    shop: Object.freeze({
      eventsExchange: envQueueName(env, 'EVENTS_EXCHANGE', DEFAULT_EVENTS_EXCHANGE),
      webhookTimeoutMs: envInt(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
      webhookRetryBaseMs,
      webhookRetryMaxMs,
      webhookMaxAttempts: envInt(env, 'WEBHOOK_MAX_ATTEMPTS', 12, 1, 1_000),
      webhookMaxAgeSeconds: envInt(env, 'WEBHOOK_MAX_AGE_SECONDS', 259_200, 1, 31_536_000),
      webhookConcurrency,
      webhookConcurrencyPerEndpoint,
      // while the commits are saturated, events wait at most this long in a row (0: never)
      maxDeferMs: envInt(env, 'SHOP_EVENTS_MAX_DEFER_MS', 1_000, 0, 60_000),
    }),
  });
}
