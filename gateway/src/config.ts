/**
 * Gateway configuration, from the environment, validated at boot: a wrong value stops the
 * process with a message that names the variable.
 */
import { readFileSync } from 'node:fs';
import { shopUrlProblem } from './lib/shop-url.js';
import { isWebhookSecret } from './webhooks/webhook-input.js';
import { parseCidr } from './http/bypass.js';
import { parseBrand, type Brand } from './pages/branding.js';
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
  envRedisTarget,
  envRaw,
  envServiceUrls,
  envString,
  envUrlList,
  SERVICE_DEFAULTS,
  type Env,
  type LogLevel,
  type RedisTarget,
} from '@velvet-rope/contracts';

export { ConfigError };

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string;
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when set, used instead of redisUrl */
  readonly redisClusterNodes: readonly { host: string; port: number }[] | undefined;
  /** where Redis is: one server, a cluster or Sentinels (contracts' envRedisTarget) */
  readonly redisTarget: RedisTarget;
  /**
   * a Redis command unanswered this long fails (REDIS_COMMAND_TIMEOUT_MS): a Redis that stops
   * answering without closing the connection (a partition) costs shoppers a 503, not a hang
   */
  readonly redisCommandTimeoutMs: number;
  /** the RabbitMQ node, or the nodes of one cluster, in the order they are tried (AMQP_URL) */
  readonly amqpUrls: readonly string[];
  readonly databaseUrl: string;
  readonly adminApiKey: string;
  /** the shop's key for its API (routes/shop.ts); undefined: the shop API refuses every call (401) */
  readonly shopApiKey: string | undefined;
  /** one webhook endpoint registered at boot from WEBHOOK_URL + WEBHOOK_SECRET (kept in step with them) */
  readonly webhook: { readonly url: string; readonly secret: string } | undefined;
  /**
   * the shop's signed shopper identities, for sales with `identity: shop` (issue 15):
   * SHOP_JWKS_URL (its public keys, fetched and cached, rotation followed) or
   * SHOP_IDENTITY_SECRET (HS256), with SHOP_ISSUER and SHOP_AUDIENCE pinned
   */
  readonly shopIdentity: ShopIdentityConfig | undefined;
  /** the shop's OpenID Connect provider, for shoppers who arrive without a link (issue 15 item 3) */
  readonly oidc: OidcConfig | undefined;
  /** the shop's site behind the gate (PROTECTED_ORIGIN): sales' protectedPaths are proxied there for admitted visitors */
  readonly protectedOrigin: string | undefined;
  /** PostgreSQL connections this gateway's pool may open (PG_POOL_MAX) */
  readonly pgPoolMax: number;
  /**
   * PostgreSQL read replicas (DATABASE_READ_URL, a comma list): the reads that may be a little
   * behind go there (postgres/read-pool.ts); empty: everything reads DATABASE_URL
   */
  readonly databaseReadUrls: readonly string[];
  /** connections each replica's pool may open (PG_READ_POOL_MAX) */
  readonly pgReadPoolMax: number;
  /** wrong admin keys an address may send per minute before it is locked out for the minute (0: no limit) */
  readonly adminAuthFailuresPerMinute: number;
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
  /**
   * an admitted shopper whose pages (sockets) are all closed for this long loses the turn
   * early (issue 16); 0: never, and no presence is tracked
   */
  readonly abandonGraceSeconds: number;
  /** a pending order not confirmed after this long is published again */
  readonly republishAfterMs: number;
  readonly publishTimeoutMs: number;
  readonly issuer: string;
  readonly logLevel: LogLevel;
  /** static files of the waiting-room page and console, when built */
  readonly uiDir: string | undefined;
  /** the shopper page's branding (BRAND_SHOP_NAME, BRAND_LOGO_URL, BRAND_ACCENT, BRAND_NOTICE) */
  readonly brand: Brand;
  readonly publicUrl: string | undefined;
  /**
   * the origins (`scheme://host[:port]`) whose pages may open a socket.io connection: those of
   * PUBLIC_URL and ALLOWED_ORIGINS; empty: the request's own origin only (its Host header)
   */
  readonly allowedOrigins: readonly string[];
  readonly trustProxy: boolean;
  /** staff and monitoring skip the room (http/bypass.ts): X-Bypass-Key keys and client CIDRs */
  readonly bypass: { readonly keys: readonly string[]; readonly cidrs: readonly string[] };
  /** what bounds a slow or idle client (milliseconds; see the README) */
  readonly http: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly connectionTimeoutMs: number;
    /** connections past this are closed at once: below the descriptor limit, with a reserve */
    readonly maxConnections: number;
  };
  /** where GET /metrics is served: its own port (undefined: not served there) */
  readonly metricsPort: number | undefined;
  /** also (or only) on the public port: an explicit opt-in, off by default */
  readonly metricsOnPublicPort: boolean;
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
     * per address and minute: new places (joins without a valid ticket of that sale, counted
     * across every sale) and purchase attempts that prove no admission; 0: off (an explicit
     * opt-out, warned about at boot and in /readyz). Many shoppers can share an address
     * (carrier NAT): the default is sized for that
     */
    readonly perIpPerMinute: number;
    /**
     * per address and minute: requests to the OpenID Connect sign-in (`/auth/login`,
     * `/auth/callback`, `/auth/logout`, counted together), each of which may cost the shop's
     * provider a round trip; a sign-in is two or three of them
     */
    readonly signInPerIpPerMinute: number;
  };
  /**
   * how long a finished sale (ended, or sold out for good) keeps its Redis keys before one
   * gateway archives it in PostgreSQL and removes them (SALE_RETENTION)
   */
  readonly saleRetentionMs: number;
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
/**
 * The default of RATE_LIMIT_PER_IP: new places per address and minute. A carrier-grade NAT
 * puts tens to a few hundred subscribers behind one public IPv4 address (RFC 6888 port
 * blocks of 1-2k ports give at most ~30-60 per address; mobile carriers go further); even if
 * a hundred of them open the sale in the same minute on two devices each, 300 lets them all
 * in, while a client minting identities gets 5 places a second instead of thousands.
 */
export const DEFAULT_NEW_PLACES_PER_IP = 300;

/**
 * The default of RATE_LIMIT_SIGN_IN_PER_IP: sign-in requests per address and minute. A sign-in
 * is a login and a callback (and maybe a logout), so 120 lets some 40 shoppers behind one
 * carrier NAT sign in each minute, while one client cannot make the gateway hammer the shop's
 * provider (every login and callback may cost it a round trip).
 */
export const DEFAULT_SIGN_INS_PER_IP = 120;

/**
 * What the operator switched off that leaves the waiting room open to a client that mints
 * identities: logged loudly at boot and listed in `/readyz` details.
 */
export function protectionWarnings(config: Pick<GatewayConfig, 'rateLimits'>): string[] {
  const rl = config.rateLimits;
  if (!rl.enabled) return ['RATE_LIMIT_ENABLED=false: no rate limit at all; one client can take unbounded places in every queue'];
  if (rl.perIpPerMinute === 0) {
    return ['RATE_LIMIT_PER_IP=0: new places per address are not limited; one client can take unbounded places in every queue'];
  }
  return [];
}

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
  const shopApiKey = envRaw(env, 'SHOP_API_KEY');
  if (shopApiKey !== undefined) {
    if (shopApiKey.length < 16) throw new ConfigError('SHOP_API_KEY', 'must be at least 16 characters');
    if (shopApiKey === adminApiKey)
      throw new ConfigError('SHOP_API_KEY', 'must differ from ADMIN_API_KEY: the shop must not hold the admin key');
  }
  const webhook = webhookFromEnv(envRaw(env, 'WEBHOOK_URL'), envRaw(env, 'WEBHOOK_SECRET'));
  const headersTimeoutMs = envInt(env, 'HEADERS_TIMEOUT_MS', 10_000, 1_000, 600_000);
  const requestTimeoutMs = envInt(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000);
  // Node refuses a request timeout shorter than the headers timeout (the headers are part of it)
  if (requestTimeoutMs < headersTimeoutMs)
    throw new ConfigError('REQUEST_TIMEOUT_MS', `must be at least HEADERS_TIMEOUT_MS (${headersTimeoutMs})`);
  const metricsPort = envInt(env, 'METRICS_PORT', 0, 0, 65535);
  const publicUrl = envRaw(env, 'PUBLIC_URL');
  return {
    port: envInt(env, 'PORT', 3000, 0, 65535),
    host: envString(env, 'HOST', '127.0.0.1'),
    ...envServiceUrls(env),
    redisClusterNodes: envRedisClusterNodes(env),
    redisTarget: envRedisTarget(env),
    redisCommandTimeoutMs: envInt(env, 'REDIS_COMMAND_TIMEOUT_MS', 5_000, 100, 60_000),
    adminApiKey,
    shopApiKey,
    shopIdentity: shopIdentityFromEnv(env),
    oidc: oidcFromEnv(env, publicUrl),
    protectedOrigin: protectedOriginFromEnv(envRaw(env, 'PROTECTED_ORIGIN')),
    pgPoolMax: envInt(env, 'PG_POOL_MAX', 10, 1, 1_000),
    databaseReadUrls: envUrlList(env, 'DATABASE_READ_URL', ['postgres:', 'postgresql:']) ?? [],
    pgReadPoolMax: envInt(env, 'PG_READ_POOL_MAX', 4, 1, 1_000),
    webhook,
    adminAuthFailuresPerMinute: envInt(env, 'ADMIN_AUTH_FAILURES_PER_MINUTE', 20, 0, 1_000_000),
    signingKeys,
    ticketSecret,
    ordersQueue: envQueueName(env, 'ORDERS_QUEUE', SERVICE_DEFAULTS.ordersQueue),
    redisKeyPrefix: envKeyPrefix(env, 'REDIS_KEY_PREFIX'),
    tickMs: envInt(env, 'TICK_MS', 250, 20, 10_000),
    oversubscription: envNumber(env, 'OVERSUBSCRIPTION', 1, 1, 10),
    maxOversubscription: envNumber(env, 'MAX_OVERSUBSCRIPTION', 2, 1, 10),
    abandonGraceSeconds: envInt(env, 'ABANDON_GRACE_SECONDS', 20, 0, 3_600),
    republishAfterMs: envInt(env, 'REPUBLISH_AFTER_MS', 10_000, 500, 3_600_000),
    publishTimeoutMs: envInt(env, 'PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
    issuer: envString(env, 'TOKEN_ISSUER', 'velvet-rope'),
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
    uiDir: envRaw(env, 'UI_DIR'),
    brand: brandFromEnv(env),
    publicUrl,
    allowedOrigins: allowedOrigins(publicUrl, envRaw(env, 'ALLOWED_ORIGINS')),
    trustProxy: envBool(env, 'TRUST_PROXY', false),
    bypass: bypassFromEnv(envRaw(env, 'BYPASS_KEYS'), envRaw(env, 'BYPASS_CIDRS'), adminApiKey),
    maxEventLoopDelayMs: envInt(env, 'MAX_EVENT_LOOP_DELAY_MS', 1_000, 0, 60_000),
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: envInt(env, 'KEEP_ALIVE_TIMEOUT_MS', 72_000, 1_000, 600_000),
      connectionTimeoutMs: envInt(env, 'CONNECTION_TIMEOUT_MS', 120_000, 0, 3_600_000),
      maxConnections: envInt(env, 'MAX_CONNECTIONS', defaultMaxConnections(openFilesLimit()), 1, 10_000_000),
    },
    metricsPort: metricsPort === 0 ? undefined : metricsPort,
    metricsOnPublicPort: envBool(env, 'METRICS_ON_PUBLIC_PORT', false),
    rateLimits: {
      enabled: envBool(env, 'RATE_LIMIT_ENABLED', true),
      store: envChoice(env, 'RATE_LIMIT_STORE', 'redis', ['redis', 'memory'] as const),
      joinPerVisitorPerMinute: envInt(env, 'RATE_LIMIT_JOIN_PER_VISITOR', 30, 1, 1_000_000),
      statusPerVisitorPerMinute: envInt(env, 'RATE_LIMIT_STATUS_PER_VISITOR', 240, 1, 1_000_000),
      purchasePerVisitorPerMinute: envInt(env, 'RATE_LIMIT_PURCHASE_PER_VISITOR', 30, 1, 1_000_000),
      perIpPerMinute: envInt(env, 'RATE_LIMIT_PER_IP', DEFAULT_NEW_PLACES_PER_IP, 0, 100_000_000),
      signInPerIpPerMinute: envInt(env, 'RATE_LIMIT_SIGN_IN_PER_IP', DEFAULT_SIGN_INS_PER_IP, 1, 100_000_000),
    },
    saleRetentionMs: envDurationMs(env, 'SALE_RETENTION', 24 * 3_600_000, 1_000, 366 * 24 * 3_600_000),
    audit: {
      maxStreams: envInt(env, 'AUDIT_MAX_STREAMS', 8, 1, 10_000),
      maxStreamsPerAddress: envInt(env, 'AUDIT_MAX_STREAMS_PER_IP', 2, 1, 10_000),
    },
  };
}

function brandFromEnv(env: Env): Brand {
  const brand = parseBrand(env);
  if (Array.isArray(brand)) throw new ConfigError(brand[0], brand[1]);
  return brand;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration: a number with a unit (`250ms`, `2s`, `30m`, `24h`, `7d`) or a bare number of
 * seconds; in milliseconds, between `min` and `max`.
 */
export function envDurationMs(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = envRaw(env, name);
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new ConfigError(name, `must be a duration such as 24h, 30m, 2s or a number of seconds, got ${JSON.stringify(raw)}`);
  const ms = Math.round(Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 's']!);
  if (ms < min || ms > max) throw new ConfigError(name, `must be between ${min / 1000} s and ${max / 1000} s, got ${JSON.stringify(raw)}`);
  return ms;
}

function protectedOriginFromEnv(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('PROTECTED_ORIGIN', `must be an absolute http(s) URL such as http://shop:8080, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('PROTECTED_ORIGIN', 'must be an http(s) URL');
  if (url.username || url.password) throw new ConfigError('PROTECTED_ORIGIN', 'must not carry credentials');
  if (url.pathname !== '/' || url.search || url.hash)
    throw new ConfigError('PROTECTED_ORIGIN', 'must be an origin only (no path, query or fragment)');
  return url.origin;
}

export interface ShopIdentityConfig {
  readonly jwksUrl?: string;
  readonly secret?: string;
  readonly issuer: string;
  readonly audience: string;
}

function shopIdentityFromEnv(env: Env): ShopIdentityConfig | undefined {
  const jwksUrl = envRaw(env, 'SHOP_JWKS_URL');
  const secret = envRaw(env, 'SHOP_IDENTITY_SECRET');
  const issuer = envRaw(env, 'SHOP_ISSUER');
  const audience = envRaw(env, 'SHOP_AUDIENCE');
  if (jwksUrl === undefined && secret === undefined) {
    if (issuer !== undefined || audience !== undefined) {
      throw new ConfigError(issuer !== undefined ? 'SHOP_ISSUER' : 'SHOP_AUDIENCE', 'needs SHOP_JWKS_URL or SHOP_IDENTITY_SECRET');
    }
    return undefined;
  }
  // one kind of key: a deployment that takes both could be fooled into HS256 with a public key
  if (jwksUrl !== undefined && secret !== undefined) {
    throw new ConfigError(
      'SHOP_IDENTITY_SECRET',
      'set either SHOP_JWKS_URL (the shop signs with its private keys) or SHOP_IDENTITY_SECRET, not both',
    );
  }
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError('SHOP_JWKS_URL', `must be an absolute http(s) URL, got ${JSON.stringify(jwksUrl)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('SHOP_JWKS_URL', 'must be an http(s) URL');
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('SHOP_IDENTITY_SECRET', 'must be at least 32 bytes (HS256 with a short secret can be guessed)');
  }
  if (issuer === undefined)
    throw new ConfigError('SHOP_ISSUER', 'must be set with SHOP_JWKS_URL or SHOP_IDENTITY_SECRET (the iss the shop signs)');
  if (audience === undefined)
    throw new ConfigError(
      'SHOP_AUDIENCE',
      'must be set with SHOP_JWKS_URL or SHOP_IDENTITY_SECRET (the aud the shop signs for Velvet Rope)',
    );
  return { ...(jwksUrl !== undefined ? { jwksUrl } : {}), ...(secret !== undefined ? { secret } : {}), issuer, audience };
}

export interface OidcConfig {
  /** OIDC_ISSUER: the provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`) */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `<PUBLIC_URL>/auth/callback`: the redirect URI registered at the provider */
  readonly redirectUri: string;
  /** OIDC_SCOPES: space-separated, always with `openid` */
  readonly scopes: string;
  /**
   * OIDC_ACCOUNT_ISSUER: the issuer an account's `sub` is namespaced by (tokens/account.ts);
   * default the provider's issuer. Set it to SHOP_ISSUER when the shop's signed identities and
   * its provider name the same accounts with the same `sub`: both then hold one place.
   */
  readonly accountIssuer: string;
}

/**
 * OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, all or none; PUBLIC_URL is then required
 * (the callback URL). The issuer is https, or http on a loopback host only (a development
 * provider): the client secret and the tokens cross that connection.
 */
function oidcFromEnv(env: Env, publicUrl: string | undefined): OidcConfig | undefined {
  const names = ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const;
  const [issuer, clientId, clientSecret] = names.map((n) => envRaw(env, n));
  const given = names.filter((_, i) => [issuer, clientId, clientSecret][i] !== undefined);
  if (given.length === 0) {
    for (const extra of ['OIDC_SCOPES', 'OIDC_ACCOUNT_ISSUER'])
      if (envRaw(env, extra) !== undefined) throw new ConfigError(extra, 'needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET');
    return undefined;
  }
  const missing = names.find((_, i) => [issuer, clientId, clientSecret][i] === undefined);
  if (missing) throw new ConfigError(missing, `must be set with ${given.join(' and ')} (OpenID Connect sign-in needs all three)`);
  let url: URL;
  try {
    url = new URL(issuer!);
  } catch {
    throw new ConfigError('OIDC_ISSUER', `must be an absolute https URL, got ${JSON.stringify(issuer)}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new ConfigError('OIDC_ISSUER', 'must be an https URL (http only on a loopback host, for development)');
  if (url.username || url.password || url.search || url.hash)
    throw new ConfigError('OIDC_ISSUER', 'must be the issuer URL only (no credentials, query or fragment)');
  if (publicUrl === undefined)
    throw new ConfigError('PUBLIC_URL', 'must be set with OIDC_ISSUER: the provider sends shoppers back to <PUBLIC_URL>/auth/callback');
  const scopes = (envRaw(env, 'OIDC_SCOPES') ?? 'openid').split(/\s+/).filter((s) => s !== '');
  if (!scopes.every((s) => /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
    throw new ConfigError('OIDC_SCOPES', 'must be space-separated scope names');
  if (!scopes.includes('openid')) scopes.unshift('openid');
  return {
    issuer: issuer!,
    clientId: clientId!,
    clientSecret: clientSecret!,
    redirectUri: `${publicOrigin(publicUrl)}/auth/callback`,
    scopes: scopes.join(' '),
    accountIssuer: envRaw(env, 'OIDC_ACCOUNT_ISSUER') ?? issuer!,
  };
}

function publicOrigin(publicUrl: string): string {
  try {
    return new URL(publicUrl).origin;
  } catch {
    throw new ConfigError('PUBLIC_URL', `must be an http(s) URL, got ${JSON.stringify(publicUrl)}`);
  }
}

/**
 * WEBHOOK_URL and WEBHOOK_SECRET, both or neither: an absolute http(s) URL without credentials
 * (at most 2048 characters) and a Standard Webhooks secret (`whsec_` + base64 of at least 16 bytes).
 */
function webhookFromEnv(url: string | undefined, secret: string | undefined): GatewayConfig['webhook'] {
  if (url === undefined && secret === undefined) return undefined;
  if (url === undefined) throw new ConfigError('WEBHOOK_URL', 'must be set when WEBHOOK_SECRET is');
  if (secret === undefined) throw new ConfigError('WEBHOOK_SECRET', 'must be set when WEBHOOK_URL is');
  const problem = shopUrlProblem(url);
  if (problem) throw new ConfigError('WEBHOOK_URL', problem);
  if (!isWebhookSecret(secret)) throw new ConfigError('WEBHOOK_SECRET', 'must be whsec_ followed by the base64 of at least 16 bytes');
  return { url, secret };
}

/** BYPASS_KEYS (comma list, each 16+ characters, never the admin key) and BYPASS_CIDRS (comma list of IPv4/IPv6 CIDRs) */
function bypassFromEnv(keyList: string | undefined, cidrList: string | undefined, adminApiKey: string): GatewayConfig['bypass'] {
  const items = (list: string | undefined) =>
    (list ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
  const keys = items(keyList);
  for (const k of keys) {
    if (k.length < 16) throw new ConfigError('BYPASS_KEYS', 'each key must be at least 16 characters');
    if (k === adminApiKey) throw new ConfigError('BYPASS_KEYS', 'must differ from ADMIN_API_KEY');
  }
  const cidrs = items(cidrList);
  for (const c of cidrs) if (!parseCidr(c)) throw new ConfigError('BYPASS_CIDRS', `must be IPv4 or IPv6 CIDRs, got ${JSON.stringify(c)}`);
  return { keys, cidrs };
}

/** PUBLIC_URL's origin and ALLOWED_ORIGINS' (a comma list), each an http(s) origin */
function allowedOrigins(publicUrl: string | undefined, list: string | undefined): string[] {
  const origins: string[] = [];
  const add = (variable: string, value: string) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(variable, `must be http(s) URLs, got ${JSON.stringify(value)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(variable, `must be http(s) URLs, got ${JSON.stringify(value)}`);
    if (!origins.includes(url.origin)) origins.push(url.origin);
  };
  if (publicUrl !== undefined) add('PUBLIC_URL', publicUrl);
  for (const part of (list ?? '').split(',')) if (part.trim() !== '') add('ALLOWED_ORIGINS', part.trim());
  return origins;
}

/** descriptors kept for everything but client connections: Redis, PostgreSQL, RabbitMQ, logs, files, Node's own */
export const DESCRIPTOR_RESERVE = 128;

/**
 * The soft limit on open files (RLIMIT_NOFILE), from /proc/self/limits on Linux; undefined
 * where it cannot be read.
 */
export function openFilesLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/**
 * Client connections the gateway accepts at once: the descriptor limit less a reserve (a
 * quarter of a small limit), so that a flood of connections is refused one by one instead of
 * the process running out of descriptors. Unknown limit: 10,000 connections.
 */
export function defaultMaxConnections(limit: number | undefined): number {
  if (limit === undefined) return 10_000;
  return Math.max(1, limit - Math.min(DESCRIPTOR_RESERVE, Math.ceil(limit / 4)));
}
