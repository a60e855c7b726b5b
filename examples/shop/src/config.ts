/**
 * The example shop's configuration, from the environment, checked at boot: a wrong value stops
 * the process with a message that names the variable.
 */

export class ConfigError extends Error {}

export interface ShopConfig {
  readonly port: number;
  readonly host: string;
  /** where Velvet Rope answers: its JWKS, its shop API, the waiting-room pages */
  readonly velvetRopeUrl: string;
  /** the issuer of Velvet Rope's tokens (its TOKEN_ISSUER) */
  readonly issuer: string;
  /** Velvet Rope's SHOP_API_KEY: the shop's key to `POST /api/shop/orders/:id/paid|cancel` */
  readonly shopApiKey: string;
  /** the Standard Webhooks signing secret of the shop's endpoint (`whsec_…`) */
  readonly webhookSecret: string;
  /**
   * the sales this shop sells: the first is the one the product page links to; an order token
   * of any other sale is refused. Empty: any sale of this Velvet Rope (its product page then has no link)
   */
  readonly saleIds: readonly string[];
  readonly productName: string;
  /** the share of payments that fail at random (0..1) */
  readonly paymentFailRate: number;
  /** every n-th payment fails (0: off), for runs that must be repeatable */
  readonly paymentFailEvery: number;
  /** `POST /api/test/outage` and friends, for tests only */
  readonly testControls: boolean;
  /** received webhook events kept in memory (the oldest go first) */
  readonly maxEvents: number;
  /** how long a call to Velvet Rope may take */
  readonly velvetRopeTimeoutMs: number;
  readonly logLevel: string;
  /**
   * the shopper identities the shop signs for Velvet Rope (sales with `identity: shop`): their
   * `iss` (Velvet Rope's SHOP_ISSUER) and `aud` (its SHOP_AUDIENCE); the keys are served at
   * `/.well-known/jwks.json` (its SHOP_JWKS_URL)
   */
  readonly identityIssuer: string;
  readonly identityAudience: string;
  /** the shop's OpenID Connect provider (identity-provider.ts), when SHOP_OIDC_CLIENT_SECRET is set */
  readonly oidc: ShopOidcConfig | undefined;
}

/**
 * The shop's own OpenID provider, on its own port in the shop's process, with one confidential
 * client: Velvet Rope (its OIDC_CLIENT_ID / OIDC_CLIENT_SECRET), sent back only to its
 * `/auth/callback`, PKCE (S256) required.
 */
export interface ShopOidcConfig {
  /** SHOP_OIDC_PORT (default 8081) */
  readonly port: number;
  /** SHOP_OIDC_ISSUER (default http://127.0.0.1:<SHOP_OIDC_PORT>): Velvet Rope's OIDC_ISSUER */
  readonly issuer: string;
  /** SHOP_OIDC_CLIENT_ID (default velvet-rope) */
  readonly clientId: string;
  readonly clientSecret: string;
  /** SHOP_OIDC_REDIRECT_URI (default <VELVET_ROPE_URL>/auth/callback) */
  readonly redirectUri: string;
  /** SHOP_DEMO_PASSWORD (default velvet): the example shop's accounts are pretend, any name with this password signs in */
  readonly demoPassword: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not ${raw}`);
  return n;
}

function url(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, not ${raw}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL, not ${raw}`);
  // no trailing slash, so paths join as `${url}/api/...`
  return parsed.href.replace(/\/+$/, '');
}

function required(env: Env, name: string): string {
  const raw = env[name];
  if (!raw) throw new ConfigError(`${name} is required`);
  return raw;
}

function oidcConfig(env: Env, velvetRopeUrl: string): ShopOidcConfig | undefined {
  const clientSecret = env.SHOP_OIDC_CLIENT_SECRET;
  if (!clientSecret) return undefined;
  if (clientSecret.length < 16) throw new ConfigError('SHOP_OIDC_CLIENT_SECRET must be at least 16 characters');
  const port = int(env, 'SHOP_OIDC_PORT', 8081, 0, 65535);
  return {
    port,
    issuer: url(env, 'SHOP_OIDC_ISSUER', `http://127.0.0.1:${port}`),
    clientId: env.SHOP_OIDC_CLIENT_ID || 'velvet-rope',
    clientSecret,
    redirectUri: env.SHOP_OIDC_REDIRECT_URI ? url(env, 'SHOP_OIDC_REDIRECT_URI', '') : `${velvetRopeUrl}/auth/callback`,
    demoPassword: env.SHOP_DEMO_PASSWORD || 'velvet',
  };
}

export function loadConfig(env: Env): ShopConfig {
  const webhookSecret = required(env, 'WEBHOOK_SECRET');
  if (!webhookSecret.startsWith('whsec_')) throw new ConfigError('WEBHOOK_SECRET must be a Standard Webhooks secret (whsec_…)');
  const shopApiKey = required(env, 'SHOP_API_KEY');
  const rate = env.PAYMENT_FAIL_RATE ? Number(env.PAYMENT_FAIL_RATE) : 0;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new ConfigError(`PAYMENT_FAIL_RATE must be a number from 0 to 1, not ${env.PAYMENT_FAIL_RATE}`);
  const saleIds = (env.SHOP_SALE_ID ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const id of saleIds) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new ConfigError(`SHOP_SALE_ID: ${id} is not a sale id`);
  }
  const velvetRopeUrl = url(env, 'VELVET_ROPE_URL', 'http://127.0.0.1:3000');
  return {
    port: int(env, 'SHOP_PORT', 8080, 0, 65535),
    host: env.SHOP_HOST || '127.0.0.1',
    velvetRopeUrl,
    issuer: env.VELVET_ROPE_ISSUER || 'velvet-rope',
    shopApiKey,
    webhookSecret,
    saleIds,
    productName: env.SHOP_PRODUCT_NAME || 'Velvet sneakers, limited drop',
    paymentFailRate: rate,
    paymentFailEvery: int(env, 'PAYMENT_FAIL_EVERY', 0, 0, 1_000_000),
    testControls: env.SHOP_TEST_CONTROLS === '1',
    maxEvents: int(env, 'SHOP_MAX_EVENTS', 100_000, 1, 10_000_000),
    velvetRopeTimeoutMs: int(env, 'VELVET_ROPE_TIMEOUT_MS', 10_000, 100, 600_000),
    logLevel: env.LOG_LEVEL || 'info',
    identityIssuer: env.SHOP_IDENTITY_ISSUER || `http://127.0.0.1:${int(env, 'SHOP_PORT', 8080, 0, 65535)}`,
    identityAudience: env.SHOP_IDENTITY_AUDIENCE || 'velvet-rope',
    oidc: oidcConfig(env, velvetRopeUrl),
  };
}
