/**
 * Gateway configuration, from the environment, validated at boot: a wrong value stops the
 * process with a message that names the variable.
 */
import { isKeyPrefix } from '@velvet-rope/contracts';

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string;
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
  /** a pending order not confirmed after this long is published again */
  readonly republishAfterMs: number;
  readonly publishTimeoutMs: number;
  readonly issuer: string;
  readonly logLevel: string;
  /** static files of the waiting-room page and console, when built */
  readonly uiDir: string | undefined;
  readonly publicUrl: string | undefined;
  readonly trustProxy: boolean;
}

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

function str(env: Env, name: string, fallback?: string): string {
  const v = env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new ConfigError(name, 'is required');
    return fallback;
  }
  return v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = str(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

export function loadConfig(env: Env = process.env): GatewayConfig {
  const adminApiKey = str(env, 'ADMIN_API_KEY');
  if (adminApiKey.length < 16) throw new ConfigError('ADMIN_API_KEY', 'must be at least 16 characters');
  const ticketSecret = env.TICKET_SECRET || undefined;
  if (ticketSecret !== undefined && ticketSecret.length < 32) {
    throw new ConfigError('TICKET_SECRET', 'must be at least 32 characters');
  }
  const signingKeys = env.SIGNING_KEYS || undefined;
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
  const ordersQueue = str(env, 'ORDERS_QUEUE', 'orders');
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(ordersQueue)) throw new ConfigError('ORDERS_QUEUE', 'has characters a queue name cannot have');
  const redisKeyPrefix = str(env, 'REDIS_KEY_PREFIX', 'vr');
  if (!isKeyPrefix(redisKeyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1-40 letters, digits, _ . or -');
  }
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `unknown level ${JSON.stringify(logLevel)}`);
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: str(env, 'HOST', '127.0.0.1'),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    amqpUrl: url(env, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/velvet_rope', ['postgres:', 'postgresql:']),
    adminApiKey,
    signingKeys,
    ticketSecret,
    ordersQueue,
    redisKeyPrefix,
    tickMs: int(env, 'TICK_MS', 250, 20, 10_000),
    oversubscription: num(env, 'OVERSUBSCRIPTION', 1, 1, 10),
    republishAfterMs: int(env, 'REPUBLISH_AFTER_MS', 10_000, 500, 3_600_000),
    publishTimeoutMs: int(env, 'PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
    issuer: str(env, 'TOKEN_ISSUER', 'velvet-rope'),
    logLevel,
    uiDir: env.UI_DIR || undefined,
    publicUrl: env.PUBLIC_URL || undefined,
    trustProxy: bool(env, 'TRUST_PROXY', false),
  };
}
