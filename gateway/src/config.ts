/**
 * Gateway configuration, from the environment, validated at boot: a wrong value stops the
 * process with a message that names the variable.
 */
import {
  ConfigError,
  envBool,
  envChoice,
  envInt,
  envKeyPrefix,
  envLogLevel,
  envNumber,
  envQueueName,
  envRedisClusterNodes,
  envRaw,
  envServiceUrls,
  envString,
  SERVICE_DEFAULTS,
  type Env,
  type LogLevel,
} from '@velvet-rope/contracts';

export { ConfigError };

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string;
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when set, used instead of redisUrl */
  readonly redisClusterNodes: readonly { host: string; port: number }[] | undefined;
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  readonly adminApiKey: string;
  /** a private JWK set (JSON) for admission tokens; absent: made once and kept in PostgreSQL */
  readonly signingKeys: string | undefined;
  /** HMAC secret for queue tickets; absent: made once and kept in PostgreSQL */
  readonly ticketSecret: string | undefined;
  readonly ordersQueue: string;
  /** separates deployments (and test runs) that share one Redis */
  readonly redisKeyPrefix: string;
  readonly tickMs: number;
  /** how many admitted shoppers per unit of remaining stock (1 = exactly matched) */
  readonly oversubscription: number;
  /** the most it may grow to match the abandonment seen in a sale (1: never grows) */
  readonly maxOversubscription: number;
  /** a pending order not confirmed after this long is published again */
  readonly republishAfterMs: number;
  readonly publishTimeoutMs: number;
  readonly issuer: string;
  readonly logLevel: LogLevel;
  /** static files of the waiting-room page and console, when built */
  readonly uiDir: string | undefined;
  readonly publicUrl: string | undefined;
  readonly trustProxy: boolean;
  /** past this event-loop delay the gateway answers 503 + Retry-After (0: off) */
  readonly maxEventLoopDelayMs: number;
  readonly rateLimits: {
    readonly enabled: boolean;
    /** redis: every gateway counts the same; memory: each gateway counts alone */
    readonly store: 'redis' | 'memory';
    readonly joinPerVisitorPerMinute: number;
    readonly statusPerVisitorPerMinute: number;
    readonly purchasePerVisitorPerMinute: number;
    /**
     * requests without an identity (a new visitor's first join) per address; 0: off. Many
     * shoppers can share an address (carrier NAT): size it to your traffic
     */
    readonly perIpPerMinute: number;
  };
  /** fairness audit downloads this gateway serves at once, in all and per address */
  readonly audit: {
    readonly maxStreams: number;
    readonly maxStreamsPerAddress: number;
  };
}

/**
 * Whether the shopper routes' rate limits are counted inside their own Redis scripts (join,
 * status, purchase: one round trip per request instead of two), rather than by the
 * @fastify/rate-limit plugin. They are whenever the limits are on and counted in Redis.
 */
export function limitsInScripts(limits: GatewayConfig['rateLimits']): boolean {
  return limits.enabled && limits.store === 'redis';
}

export function loadConfig(env: Env = process.env): GatewayConfig {
  const adminApiKey = envString(env, 'ADMIN_API_KEY');
  if (adminApiKey.length < 16) throw new ConfigError('ADMIN_API_KEY', 'must be at least 16 characters');
  const ticketSecret = envRaw(env, 'TICKET_SECRET');
  if (ticketSecret !== undefined && ticketSecret.length < 32) {
    throw new ConfigError('TICKET_SECRET', 'must be at least 32 characters');
  }
  const signingKeys = envRaw(env, 'SIGNING_KEYS');
  if (signingKeys !== undefined) {
    try {
      const parsed: unknown = JSON.parse(signingKeys);
      if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { keys?: unknown }).keys)) {
        throw new Error('no keys array');
      }
    } catch (err) {
      throw new ConfigError('SIGNING_KEYS', `must be a JSON Web Key Set ({"keys":[...]}): ${(err as Error).message}`);
    }
  }
  return {
    port: envInt(env, 'PORT', 3000, 0, 65535),
    host: envString(env, 'HOST', '127.0.0.1'),
    ...envServiceUrls(env),
    redisClusterNodes: envRedisClusterNodes(env),
    adminApiKey,
    signingKeys,
    ticketSecret,
    ordersQueue: envQueueName(env, 'ORDERS_QUEUE', SERVICE_DEFAULTS.ordersQueue),
    redisKeyPrefix: envKeyPrefix(env, 'REDIS_KEY_PREFIX'),
    tickMs: envInt(env, 'TICK_MS', 250, 20, 10_000),
    oversubscription: envNumber(env, 'OVERSUBSCRIPTION', 1, 1, 10),
    maxOversubscription: envNumber(env, 'MAX_OVERSUBSCRIPTION', 2, 1, 10),
    republishAfterMs: envInt(env, 'REPUBLISH_AFTER_MS', 10_000, 500, 3_600_000),
    publishTimeoutMs: envInt(env, 'PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
    issuer: envString(env, 'TOKEN_ISSUER', 'velvet-rope'),
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
    uiDir: envRaw(env, 'UI_DIR'),
    publicUrl: envRaw(env, 'PUBLIC_URL'),
    trustProxy: envBool(env, 'TRUST_PROXY', false),
    maxEventLoopDelayMs: envInt(env, 'MAX_EVENT_LOOP_DELAY_MS', 1_000, 0, 60_000),
    rateLimits: {
      enabled: envBool(env, 'RATE_LIMIT_ENABLED', true),
      store: envChoice(env, 'RATE_LIMIT_STORE', 'redis', ['redis', 'memory'] as const),
      joinPerVisitorPerMinute: envInt(env, 'RATE_LIMIT_JOIN_PER_VISITOR', 30, 1, 1_000_000),
      statusPerVisitorPerMinute: envInt(env, 'RATE_LIMIT_STATUS_PER_VISITOR', 240, 1, 1_000_000),
      purchasePerVisitorPerMinute: envInt(env, 'RATE_LIMIT_PURCHASE_PER_VISITOR', 30, 1, 1_000_000),
      perIpPerMinute: envInt(env, 'RATE_LIMIT_PER_IP', 0, 0, 100_000_000),
    },
    audit: {
      maxStreams: envInt(env, 'AUDIT_MAX_STREAMS', 8, 1, 10_000),
      maxStreamsPerAddress: envInt(env, 'AUDIT_MAX_STREAMS_PER_IP', 2, 1, 10_000),
    },
  };
}
