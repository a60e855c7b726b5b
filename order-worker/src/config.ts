import { DEFAULT_KEY_PREFIX, isKeyPrefix } from '@velvet-rope/contracts';

/**
 * Order worker configuration, from the environment, validated at boot: a wrong value stops
 * the process with a message that names the variable. `loadConfig` is pure (it reads only
 * the object it is given), so tests pass their own environment.
 */

export interface WorkerConfig {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** must equal the gateway's: it names the Redis keys both sides touch */
  readonly redisKeyPrefix: string;
  readonly ordersQueue: string;
  /** most messages committed in one transaction */
  readonly batchMax: number;
  /** longest a message waits for its batch to fill, when no batch is in flight (ms) */
  readonly batchMs: number;
  /** unacknowledged messages RabbitMQ may hand this worker at once */
  readonly prefetch: number;
  readonly logLevel: LogLevel;
  /** port of the Prometheus `/metrics` endpoint; undefined: no endpoint */
  readonly metricsPort: number | undefined;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** An empty variable counts as unset: `FOO=` in a compose file means "use the default". */
function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(env: Env, name: string, fallback: string, protocols: readonly string[]): string {
  const v = raw(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    // never echo the value: it may hold a password
    throw new ConfigError(name, 'is not a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return v;
}

function queueName(env: Env, name: string, fallback: string): string {
  const v = raw(env, name) ?? fallback;
  // AMQP names are short strings (255 bytes); the dead-letter queue appends ".dead"
  if (Buffer.byteLength(v) > 250) throw new ConfigError(name, 'must be at most 250 bytes');
  if (v.startsWith('amq.')) throw new ConfigError(name, 'must not start with "amq." (reserved by RabbitMQ)');
  return v;
}

function keyPrefix(env: Env, name: string): string {
  const v = raw(env, name) ?? DEFAULT_KEY_PREFIX;
  if (!isKeyPrefix(v)) throw new ConfigError(name, 'must be 1-40 letters, digits, _ . or -');
  return v;
}

function logLevel(env: Env, name: string, fallback: LogLevel): LogLevel {
  const v = raw(env, name) ?? fallback;
  const level = LOG_LEVELS.find((l) => l === v);
  if (!level) throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(v)}`);
  return level;
}

export function loadConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const prefetch = int(env, 'PREFETCH', 1000, 1, 65_535); // basic.qos prefetch-count is a short
  const batchMax = int(env, 'BATCH_MAX', 500, 1, 10_000);
  if (batchMax > prefetch) {
    // RabbitMQ would never hand over enough messages to fill a batch
    throw new ConfigError('BATCH_MAX', `must not exceed PREFETCH (${prefetch}), got ${batchMax}`);
  }
  const metricsPort = int(env, 'METRICS_PORT', 0, 0, 65_535);
  return Object.freeze({
    amqpUrl: url(env, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/velvet_rope', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisKeyPrefix: keyPrefix(env, 'REDIS_KEY_PREFIX'),
    ordersQueue: queueName(env, 'ORDERS_QUEUE', 'orders'),
    batchMax,
    batchMs: int(env, 'BATCH_MS', 20, 0, 60_000),
    prefetch,
    logLevel: logLevel(env, 'LOG_LEVEL', 'info'),
    metricsPort: metricsPort === 0 ? undefined : metricsPort,
  });
}
