import { describe, expect, it } from 'vitest';
import { ConfigError, defaultMaxConnections, loadConfig, openFilesLimit } from '../../src/config.js';

const ADMIN = 'admin-key-0123456789';
const base = { ADMIN_API_KEY: ADMIN };

/** The ConfigError that loadConfig(env) throws (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('limits the sign-in per address, 120 a minute unless RATE_LIMIT_SIGN_IN_PER_IP says otherwise', () => {
    expect(loadConfig(base).rateLimits.signInPerIpPerMinute).toBe(120);
    expect(loadConfig({ ...base, RATE_LIMIT_SIGN_IN_PER_IP: '30' }).rateLimits.signInPerIpPerMinute).toBe(30);
    expect(configError({ ...base, RATE_LIMIT_SIGN_IN_PER_IP: '0' }).message).toMatch(/RATE_LIMIT_SIGN_IN_PER_IP/);
  });

  // toMatchObject, not toEqual: a new setting must not break these, but every listed value must hold
  it('has defaults for everything but ADMIN_API_KEY', () => {
    expect(loadConfig(base)).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      redisUrl: 'redis://127.0.0.1:6379',
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/velvet_rope',
      adminApiKey: ADMIN,
      signingKeys: undefined,
      ticketSecret: undefined,
      ordersQueue: 'orders',
      tickMs: 250,
      oversubscription: 1,
      republishAfterMs: 10_000,
      publishTimeoutMs: 5_000,
      issuer: 'velvet-rope',
      logLevel: 'info',
      uiDir: undefined,
      publicUrl: undefined,
      trustProxy: false,
    });
  });

  it('frees the turns of pages gone for 20 s by default; 0 turns it off; refuses what is not a whole number of seconds', () => {
    expect(loadConfig(base).abandonGraceSeconds).toBe(20);
    expect(loadConfig({ ...base, ABANDON_GRACE_SECONDS: '0' }).abandonGraceSeconds).toBe(0);
    expect(loadConfig({ ...base, ABANDON_GRACE_SECONDS: '3' }).abandonGraceSeconds).toBe(3);
    for (const bad of ['-1', '1.5', 'soon', '3601']) {
      expect(() => loadConfig({ ...base, ABANDON_GRACE_SECONDS: bad }), bad).toThrow(/ABANDON_GRACE_SECONDS/);
    }
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ ...base, PORT: '', REDIS_URL: '', TICKET_SECRET: '', SIGNING_KEYS: '', TRUST_PROXY: '' });
    expect(config).toMatchObject({
      port: 3000,
      redisUrl: 'redis://127.0.0.1:6379',
      ticketSecret: undefined,
      signingKeys: undefined,
      trustProxy: false,
    });
  });

  it('reads every variable it is given', () => {
    const signingKeys = JSON.stringify({ keys: [] });
    const config = loadConfig({
      ...base,
      PORT: '8080',
      HOST: '0.0.0.0',
      REDIS_URL: 'rediss://cache.example:6380',
      AMQP_URL: 'amqps://mq.example',
      DATABASE_URL: 'postgresql://db.example/vr',
      SIGNING_KEYS: signingKeys,
      TICKET_SECRET: 't'.repeat(32),
      ORDERS_QUEUE: 'orders.v2',
      TICK_MS: '100',
      OVERSUBSCRIPTION: '1.5',
      REPUBLISH_AFTER_MS: '2000',
      PUBLISH_TIMEOUT_MS: '1000',
      TOKEN_ISSUER: 'shop',
      LOG_LEVEL: 'debug',
      UI_DIR: '/srv/ui',
      PUBLIC_URL: 'https://shop.example',
      TRUST_PROXY: 'true',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      redisUrl: 'rediss://cache.example:6380',
      amqpUrls: ['amqps://mq.example'],
      databaseUrl: 'postgresql://db.example/vr',
      adminApiKey: ADMIN,
      signingKeys,
      ticketSecret: 't'.repeat(32),
      ordersQueue: 'orders.v2',
      tickMs: 100,
      oversubscription: 1.5,
      republishAfterMs: 2000,
      publishTimeoutMs: 1000,
      issuer: 'shop',
      logLevel: 'debug',
      uiDir: '/srv/ui',
      publicUrl: 'https://shop.example',
      trustProxy: true,
    });
  });

  it.each([
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['0', false],
    ['no', false],
    ['False', false],
  ])('reads TRUST_PROXY %j as %s', (value, expected) => {
    expect(loadConfig({ ...base, TRUST_PROXY: value }).trustProxy).toBe(expected);
  });

  it.each([
    ['missing ADMIN_API_KEY', {}, 'ADMIN_API_KEY'],
    ['empty ADMIN_API_KEY', { ADMIN_API_KEY: '' }, 'ADMIN_API_KEY'],
    ['short ADMIN_API_KEY (15 chars)', { ADMIN_API_KEY: 'k'.repeat(15) }, 'ADMIN_API_KEY'],
    ['PORT abc', { ...base, PORT: 'abc' }, 'PORT'],
    ['PORT 70000', { ...base, PORT: '70000' }, 'PORT'],
    ['PORT -1', { ...base, PORT: '-1' }, 'PORT'],
    ['PORT 80.5', { ...base, PORT: '80.5' }, 'PORT'],
    ['REDIS_URL http://x', { ...base, REDIS_URL: 'http://x' }, 'REDIS_URL'],
    ['REDIS_URL not a URL', { ...base, REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    ['AMQP_URL redis://x', { ...base, AMQP_URL: 'redis://x' }, 'AMQP_URL'],
    ['DATABASE_URL mysql://x', { ...base, DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    ['SIGNING_KEYS not JSON', { ...base, SIGNING_KEYS: 'not json' }, 'SIGNING_KEYS'],
    ['SIGNING_KEYS without a keys array', { ...base, SIGNING_KEYS: '{"keys":{}}' }, 'SIGNING_KEYS'],
    ['SIGNING_KEYS null', { ...base, SIGNING_KEYS: 'null' }, 'SIGNING_KEYS'],
    ['SIGNING_KEYS an array', { ...base, SIGNING_KEYS: '[]' }, 'SIGNING_KEYS'],
    ['TICKET_SECRET too short (31 chars)', { ...base, TICKET_SECRET: 's'.repeat(31) }, 'TICKET_SECRET'],
    ['TICK_MS 10 (below 20)', { ...base, TICK_MS: '10' }, 'TICK_MS'],
    ['TICK_MS 10001', { ...base, TICK_MS: '10001' }, 'TICK_MS'],
    ['TICK_MS fast', { ...base, TICK_MS: 'fast' }, 'TICK_MS'],
    ['OVERSUBSCRIPTION 0.5', { ...base, OVERSUBSCRIPTION: '0.5' }, 'OVERSUBSCRIPTION'],
    ['OVERSUBSCRIPTION 11', { ...base, OVERSUBSCRIPTION: '11' }, 'OVERSUBSCRIPTION'],
    ['OVERSUBSCRIPTION NaN', { ...base, OVERSUBSCRIPTION: 'NaN' }, 'OVERSUBSCRIPTION'],
    ['REPUBLISH_AFTER_MS 499', { ...base, REPUBLISH_AFTER_MS: '499' }, 'REPUBLISH_AFTER_MS'],
    ['PUBLISH_TIMEOUT_MS 60001', { ...base, PUBLISH_TIMEOUT_MS: '60001' }, 'PUBLISH_TIMEOUT_MS'],
    ['ORDERS_QUEUE in the reserved amq. namespace', { ...base, ORDERS_QUEUE: 'amq.orders' }, 'ORDERS_QUEUE'],
    ['OVERSUBSCRIPTION in hex', { ...base, OVERSUBSCRIPTION: '0x2' }, 'OVERSUBSCRIPTION'],
    ['LOG_LEVEL loud', { ...base, LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['TRUST_PROXY maybe', { ...base, TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
  ] as [string, Record<string, string>, string][])('refuses %s, naming the variable', (_label, env, variable) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.name).toBe('ConfigError');
  });

  it('accepts the bounds: PORT 0 and 65535, TICK_MS 20 and 10000, OVERSUBSCRIPTION 1 and 10, TICKET_SECRET of 32', () => {
    expect(loadConfig({ ...base, PORT: '0' }).port).toBe(0);
    expect(loadConfig({ ...base, PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ ...base, TICK_MS: '20' }).tickMs).toBe(20);
    expect(loadConfig({ ...base, TICK_MS: '10000' }).tickMs).toBe(10_000);
    expect(loadConfig({ ...base, OVERSUBSCRIPTION: '10' }).oversubscription).toBe(10);
    expect(loadConfig({ ...base, TICKET_SECRET: 's'.repeat(32) }).ticketSecret).toBe('s'.repeat(32));
    expect(loadConfig({ ...base, ADMIN_API_KEY: 'k'.repeat(16) }).adminApiKey).toBe('k'.repeat(16));
  });
});

describe('issue 12 items 2 and 10: timeouts, connections, metrics and origins', () => {
  it('has timeouts sized for a waiting room, metrics off the public port', () => {
    expect(loadConfig(base)).toMatchObject({
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, connectionTimeoutMs: 120_000 },
      metricsPort: undefined,
      metricsOnPublicPort: false,
      allowedOrigins: [],
    });
    expect(loadConfig({ ...base, METRICS_PORT: '9464', MAX_CONNECTIONS: '500' })).toMatchObject({
      metricsPort: 9464,
      http: { maxConnections: 500 },
    });
  });

  it('refuses a request timeout shorter than the headers timeout', () => {
    expect(configError({ ...base, HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }).variable).toBe('REQUEST_TIMEOUT_MS');
  });

  it('takes the allowed origins from PUBLIC_URL and ALLOWED_ORIGINS, and refuses what is not an http(s) URL', () => {
    expect(
      loadConfig({ ...base, PUBLIC_URL: 'https://shop.example/sales/', ALLOWED_ORIGINS: 'https://m.shop.example, https://shop.example' })
        .allowedOrigins,
    ).toEqual(['https://shop.example', 'https://m.shop.example']);
    expect(configError({ ...base, ALLOWED_ORIGINS: 'shop.example' }).variable).toBe('ALLOWED_ORIGINS');
    expect(configError({ ...base, PUBLIC_URL: 'ftp://shop.example' }).variable).toBe('PUBLIC_URL');
  });

  it('keeps MAX_CONNECTIONS below the soft descriptor limit, with a reserve', () => {
    const limits = (soft: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`;
    expect(openFilesLimit(() => limits('600'))).toBe(600);
    expect(openFilesLimit(() => limits('unlimited'))).toBeUndefined();
    expect(
      openFilesLimit(() => {
        throw new Error('no /proc');
      }),
    ).toBeUndefined();
    expect(defaultMaxConnections(600)).toBe(472);
    expect(defaultMaxConnections(1024)).toBe(896);
    expect(defaultMaxConnections(100)).toBe(75);
    expect(defaultMaxConnections(undefined)).toBe(10_000);
  });
});

describe('bypass settings (BYPASS_KEYS, BYPASS_CIDRS)', () => {
  it('reads comma lists, none by default', () => {
    expect(loadConfig(base).bypass).toEqual({ keys: [], cidrs: [] });
    expect(
      loadConfig({ ...base, BYPASS_KEYS: 'staff-key-0123456789, monitor-key-0123456789', BYPASS_CIDRS: '10.0.0.0/8, 2001:db8::/32' })
        .bypass,
    ).toEqual({
      keys: ['staff-key-0123456789', 'monitor-key-0123456789'],
      cidrs: ['10.0.0.0/8', '2001:db8::/32'],
    });
  });

  it('refuses short keys, the admin key and what is not a CIDR, naming the variable', () => {
    expect(configError({ ...base, BYPASS_KEYS: 'short' }).variable).toBe('BYPASS_KEYS');
    expect(configError({ ...base, BYPASS_KEYS: ADMIN }).variable).toBe('BYPASS_KEYS');
    expect(configError({ ...base, BYPASS_CIDRS: '10.0.0.0/40' }).variable).toBe('BYPASS_CIDRS');
    expect(configError({ ...base, BYPASS_CIDRS: 'office' }).variable).toBe('BYPASS_CIDRS');
  });
});

describe('issue 16 item 2: SALE_RETENTION', () => {
  it('defaults to 24 hours and reads a duration with a unit, or seconds', () => {
    expect(loadConfig(base).saleRetentionMs).toBe(86_400_000);
    for (const [given, ms] of [
      ['24h', 86_400_000],
      ['30m', 1_800_000],
      ['2s', 2_000],
      ['1500ms', 1_500],
      ['7d', 604_800_000],
      ['90', 90_000],
      ['2.5s', 2_500],
    ] as const) {
      expect(loadConfig({ ...base, SALE_RETENTION: given }).saleRetentionMs, given).toBe(ms);
    }
  });

  it('refuses what is not a duration, and durations out of bounds, naming the variable', () => {
    for (const given of ['soon', '-1h', '1y', '10 minutes', '0', '500ms', '400d']) {
      const err = configError({ ...base, SALE_RETENTION: given });
      expect(err.variable, given).toBe('SALE_RETENTION');
    }
  });
});

describe("the shop's shopper identities (SHOP_JWKS_URL, SHOP_IDENTITY_SECRET, SHOP_ISSUER, SHOP_AUDIENCE)", () => {
  const shop = { SHOP_ISSUER: 'https://shop.example', SHOP_AUDIENCE: 'velvet-rope' };
  it('is off by default, and takes a key set URL or a secret with the issuer and audience pinned', () => {
    expect(loadConfig(base).shopIdentity).toBeUndefined();
    expect(loadConfig({ ...base, ...shop, SHOP_JWKS_URL: 'https://shop.example/.well-known/jwks.json' }).shopIdentity).toEqual({
      jwksUrl: 'https://shop.example/.well-known/jwks.json',
      issuer: 'https://shop.example',
      audience: 'velvet-rope',
    });
    expect(loadConfig({ ...base, ...shop, SHOP_IDENTITY_SECRET: 'x'.repeat(32) }).shopIdentity?.secret).toBe('x'.repeat(32));
  });

  it('refuses what would weaken the check, naming the variable', () => {
    const jwks = 'https://shop.example/jwks';
    expect(configError({ ...base, ...shop, SHOP_JWKS_URL: jwks, SHOP_IDENTITY_SECRET: 'x'.repeat(32) }).message).toMatch(
      /SHOP_IDENTITY_SECRET/,
    );
    expect(configError({ ...base, ...shop, SHOP_IDENTITY_SECRET: 'short' }).message).toMatch(/SHOP_IDENTITY_SECRET.*32 bytes/);
    expect(configError({ ...base, SHOP_AUDIENCE: 'a', SHOP_JWKS_URL: jwks }).message).toMatch(/SHOP_ISSUER/);
    expect(configError({ ...base, SHOP_ISSUER: 'a', SHOP_JWKS_URL: jwks }).message).toMatch(/SHOP_AUDIENCE/);
    expect(configError({ ...base, ...shop, SHOP_JWKS_URL: 'ftp://shop.example/jwks' }).message).toMatch(/SHOP_JWKS_URL/);
    expect(configError({ ...base, ...shop }).message).toMatch(/SHOP_ISSUER.*needs SHOP_JWKS_URL/);
  });
});

describe('OpenID Connect sign-in (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)', () => {
  const oidc = {
    OIDC_ISSUER: 'https://id.shop.example/realms/shop',
    OIDC_CLIENT_ID: 'velvet-rope',
    OIDC_CLIENT_SECRET: 's3cret-s3cret',
    PUBLIC_URL: 'https://queue.shop.example/',
  };
  it('is off by default; all three with PUBLIC_URL give the callback URL, openid scope and the account issuer', () => {
    expect(loadConfig(base).oidc).toBeUndefined();
    expect(loadConfig({ ...base, ...oidc }).oidc).toEqual({
      issuer: oidc.OIDC_ISSUER,
      clientId: 'velvet-rope',
      clientSecret: 's3cret-s3cret',
      redirectUri: 'https://queue.shop.example/auth/callback',
      scopes: 'openid',
      accountIssuer: oidc.OIDC_ISSUER,
    });
    const more = loadConfig({ ...base, ...oidc, OIDC_SCOPES: 'email  profile', OIDC_ACCOUNT_ISSUER: 'https://shop.example' }).oidc;
    expect(more).toMatchObject({ scopes: 'openid email profile', accountIssuer: 'https://shop.example' });
    // a development provider on this machine may be plain http
    expect(loadConfig({ ...base, ...oidc, OIDC_ISSUER: 'http://127.0.0.1:8081' }).oidc?.issuer).toBe('http://127.0.0.1:8081');
  });

  it('takes all or none, and names the variable that is missing or wrong', () => {
    expect(configError({ ...base, ...oidc, OIDC_CLIENT_SECRET: undefined }).message).toMatch(/^OIDC_CLIENT_SECRET: must be set with/);
    expect(configError({ ...base, OIDC_CLIENT_ID: 'x' }).message).toMatch(/^OIDC_ISSUER/);
    expect(configError({ ...base, ...oidc, PUBLIC_URL: undefined }).message).toMatch(/^PUBLIC_URL: .*auth\/callback/);
    expect(configError({ ...base, ...oidc, OIDC_ISSUER: 'http://id.shop.example' }).message).toMatch(/^OIDC_ISSUER: must be an https URL/);
    expect(configError({ ...base, ...oidc, OIDC_ISSUER: 'not a url' }).message).toMatch(/^OIDC_ISSUER/);
    expect(configError({ ...base, ...oidc, OIDC_ISSUER: 'https://id.example/?x=1' }).message).toMatch(/^OIDC_ISSUER/);
    expect(configError({ ...base, ...oidc, OIDC_SCOPES: 'openid "quoted"' }).message).toMatch(/^OIDC_SCOPES/);
    expect(configError({ ...base, OIDC_SCOPES: 'email' }).message).toMatch(/^OIDC_SCOPES: needs OIDC_ISSUER/);
  });
});

describe('PG_POOL_MAX', () => {
  it('sizes the PostgreSQL pool, 10 by default, 1 to 1000', () => {
    expect(loadConfig(base).pgPoolMax).toBe(10);
    expect(loadConfig({ ...base, PG_POOL_MAX: '25' }).pgPoolMax).toBe(25);
    expect(configError({ ...base, PG_POOL_MAX: '0' }).message).toMatch(/PG_POOL_MAX/);
  });
});

describe('DATABASE_READ_URL', () => {
  it('is none by default: every read goes to DATABASE_URL', () => {
    expect(loadConfig(base).databaseReadUrls).toEqual([]);
    expect(loadConfig({ ...base, DATABASE_READ_URL: '  ' }).databaseReadUrls).toEqual([]);
  });

  it('takes one URL or a comma list of them', () => {
    expect(loadConfig({ ...base, DATABASE_READ_URL: 'postgres://r1:5432/vr' }).databaseReadUrls).toEqual(['postgres://r1:5432/vr']);
    expect(loadConfig({ ...base, DATABASE_READ_URL: 'postgres://r1/vr, postgresql://r2/vr' }).databaseReadUrls).toEqual([
      'postgres://r1/vr',
      'postgresql://r2/vr',
    ]);
  });

  it('refuses a bad item at boot, naming the variable and the item but not echoing it (a password)', () => {
    const bad = configError({ ...base, DATABASE_READ_URL: 'postgres://r1/vr,mysql://u:secret@r2/vr' });
    expect(bad.message).toMatch(/^DATABASE_READ_URL: item 2 must start with postgres:/);
    expect(bad.message).not.toContain('secret');
    expect(configError({ ...base, DATABASE_READ_URL: 'not a url' }).message).toMatch(/^DATABASE_READ_URL: is not a URL/);
    expect(configError({ ...base, DATABASE_READ_URL: 'postgres://r1/vr,' }).message).toMatch(/DATABASE_READ_URL: item 2 is empty/);
  });

  it('sizes each replica pool with PG_READ_POOL_MAX (4 by default)', () => {
    expect(loadConfig(base).pgReadPoolMax).toBe(4);
    expect(loadConfig({ ...base, PG_READ_POOL_MAX: '8' }).pgReadPoolMax).toBe(8);
    expect(configError({ ...base, PG_READ_POOL_MAX: '0' }).message).toMatch(/PG_READ_POOL_MAX/);
  });
});
