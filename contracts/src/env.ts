/**
 * Reading configuration from the environment, the same way in every service: each reader
 * validates one variable and throws a ConfigError that names it, so a wrong value stops the
 * process at boot with a message an operator can act on.
 */
import { DEFAULT_KEY_PREFIX, isKeyPrefix } from './redis-keys.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Where the services are when nothing else is said: the local default ports. */
export const SERVICE_DEFAULTS = {
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/velvet_rope',
  redisUrl: 'redis://127.0.0.1:6379',
  ordersQueue: 'orders',
} as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An empty variable counts as unset: `FOO=` in a compose file means "use the default". */
export function envRaw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function envString(env: Env, name: string, fallback?: string): string {
  const v = envRaw(env, name) ?? fallback;
  if (v === undefined) throw new ConfigError(name, 'is required');
  return v;
}

export function envInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = envRaw(env, name);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function envNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = envRaw(env, name);
  if (v === undefined) return fallback;
  // decimal notation only: Number() would also take '0x2' or '1e3'
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new ConfigError(name, `must be a decimal number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const v = envRaw(env, name);
  if (v === undefined) return fallback;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(v)}`);
}

export function envUrl(env: Env, name: string, fallback: string, protocols: readonly string[]): string {
  const v = envRaw(env, name) ?? fallback;
  checkUrl(name, v, protocols, '');
  return v;
}

/**
 * A comma-separated list of one or more URLs (e.g. `DATABASE_READ_URL`); undefined when
 * unset. An item is named by its place in the list, never echoed: it may hold a password.
 */
export function envUrlList(env: Env, name: string, protocols: readonly string[]): string[] | undefined {
  const v = envRaw(env, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((part) => part.trim());
  items.forEach((item, i) => {
    const which = items.length > 1 ? `item ${i + 1} ` : '';
    if (item === '') throw new ConfigError(name, `${which}is empty (a comma-separated list of URLs)`);
    checkUrl(name, item, protocols, which);
  });
  return items;
}

function checkUrl(name: string, value: string, protocols: readonly string[], which: string): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // never echo the value: it may hold a password
    throw new ConfigError(name, `${which}is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `${which}must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
}

export function envQueueName(env: Env, name: string, fallback: string): string {
  const v = envRaw(env, name) ?? fallback;
  // AMQP names are short strings (255 bytes); the dead-letter queue appends ".dead"
  if (Buffer.byteLength(v) > 250) throw new ConfigError(name, 'must be at most 250 bytes');
  if (v.startsWith('amq.')) throw new ConfigError(name, 'must not start with "amq." (reserved by RabbitMQ)');
  return v;
}

export function envKeyPrefix(env: Env, name: string): string {
  const v = envRaw(env, name) ?? DEFAULT_KEY_PREFIX;
  if (!isKeyPrefix(v)) throw new ConfigError(name, 'must be 1-40 letters, digits, _ . or -');
  return v;
}

export function envLogLevel(env: Env, name: string, fallback: LogLevel): LogLevel {
  const v = envRaw(env, name) ?? fallback;
  const level = LOG_LEVELS.find((l) => l === v);
  if (!level) throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(v)}`);
  return level;
}

/**
 * `AMQP_URL`: the RabbitMQ node, or the nodes of one RabbitMQ cluster as a comma-separated
 * list (`amqp://u:p@mq-1:5672,amqp://u:p@mq-2:5672,...`): a process connects to one of them
 * and moves to the next when its node goes (contracts' AmqpAddresses). Each item must be an
 * amqp:// or amqps:// URL; the same address twice is refused (a typo, and it would make the
 * rotation try one node twice in a row).
 */
export function envAmqpUrls(env: Env): string[] {
  const urls = envUrlList(env, 'AMQP_URL', ['amqp:', 'amqps:']) ?? [SERVICE_DEFAULTS.amqpUrl];
  urls.forEach((url, i) => {
    if (urls.indexOf(url) !== i) throw new ConfigError('AMQP_URL', `item ${i + 1} repeats item ${urls.indexOf(url) + 1}`);
  });
  return urls;
}

/** The three services every process reads, with their defaults. */
export function envServiceUrls(env: Env): { amqpUrls: string[]; databaseUrl: string; redisUrl: string } {
  return {
    amqpUrls: envAmqpUrls(env),
    databaseUrl: envUrl(env, 'DATABASE_URL', SERVICE_DEFAULTS.databaseUrl, ['postgres:', 'postgresql:']),
    redisUrl: envUrl(env, 'REDIS_URL', SERVICE_DEFAULTS.redisUrl, ['redis:', 'rediss:']),
  };
}

export function envChoice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const v = envRaw(env, name) ?? fallback;
  const found = choices.find((c) => c === v);
  if (!found) throw new ConfigError(name, `must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return found;
}

/**
 * `REDIS_CLUSTER_NODES`: `host:port,host:port,...` of a Redis Cluster's seed nodes; when set,
 * it is used instead of REDIS_URL.
 */
export function envRedisClusterNodes(env: Env): { host: string; port: number }[] | undefined {
  return envHostPorts(env, 'REDIS_CLUSTER_NODES');
}

/** `host:port,host:port,...` (IPv6 in brackets); undefined when unset */
function envHostPorts(env: Env, name: string): { host: string; port: number }[] | undefined {
  const v = envRaw(env, name);
  if (v === undefined) return undefined;
  return v.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(part);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new ConfigError(name, `must be host:port[,host:port...], got ${JSON.stringify(part)}`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * Where Redis is, for every process: REDIS_URL (one server); or REDIS_CLUSTER_NODES (a Redis
 * Cluster); or REDIS_SENTINELS (`host:port,...` of Redis Sentinels) with REDIS_SENTINEL_NAME
 * (the monitored primary's name, default `mymaster`): the client asks the Sentinels where the
 * primary is and follows a failover. With Sentinels, REDIS_URL still gives the data nodes'
 * user, password and database number (its host is not used), and REDIS_SENTINEL_PASSWORD the
 * Sentinels' own password, if they have one.
 */
export function envRedisTarget(env: Env): RedisTargetConfig {
  const { redisUrl } = envServiceUrls(env);
  const clusterNodes = envRedisClusterNodes(env);
  const sentinels = envHostPorts(env, 'REDIS_SENTINELS');
  if (clusterNodes && sentinels) {
    throw new ConfigError('REDIS_SENTINELS', 'set either REDIS_CLUSTER_NODES (a Redis Cluster) or REDIS_SENTINELS, not both');
  }
  const sentinelName = envRaw(env, 'REDIS_SENTINEL_NAME');
  if (sentinelName !== undefined && !sentinels) throw new ConfigError('REDIS_SENTINEL_NAME', 'is used only with REDIS_SENTINELS');
  if (sentinelName !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(sentinelName)) {
    throw new ConfigError('REDIS_SENTINEL_NAME', `must be 1-64 letters, digits, . _ or -, got ${JSON.stringify(sentinelName)}`);
  }
  const sentinelPassword = envRaw(env, 'REDIS_SENTINEL_PASSWORD');
  return {
    url: redisUrl,
    clusterNodes,
    ...(sentinels ? { sentinels, sentinelName: sentinelName ?? 'mymaster', sentinelPassword } : {}),
  };
}

/** what envRedisTarget reads (contracts' redis-client.ts RedisTarget) */
export interface RedisTargetConfig {
  readonly url: string;
  readonly clusterNodes?: readonly { host: string; port: number }[] | undefined;
  readonly sentinels?: readonly { host: string; port: number }[] | undefined;
  readonly sentinelName?: string | undefined;
  readonly sentinelPassword?: string | undefined;
}
