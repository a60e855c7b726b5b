import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/velvet_rope',
      redisUrl: 'redis://127.0.0.1:6379',
      redisTarget: { url: 'redis://127.0.0.1:6379' },
      pgPoolMax: 10,
      redisKeyPrefix: 'vr',
      ordersQueue: 'orders',
      batchMax: 500,
      batchMs: 20,
      prefetch: 1000,
      commitsInFlight: 2,
      logLevel: 'info',
      metricsPort: undefined,
      shop: {
        eventsExchange: 'velvet-rope.events',
        webhookTimeoutMs: 10_000,
        webhookRetryBaseMs: 1_000,
        webhookRetryMaxMs: 300_000,
        webhookMaxAttempts: 12,
        webhookMaxAgeSeconds: 259_200,
        webhookConcurrency: 16,
        webhookConcurrencyPerEndpoint: 4,
        maxDeferMs: 1_000,
      },
    });
  });

  it('reads the shop hand-off variables', () => {
    const config = loadConfig({
      EVENTS_EXCHANGE: 'shop-events',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '60000',
      WEBHOOK_MAX_ATTEMPTS: '5',
      WEBHOOK_MAX_AGE_SECONDS: '3600',
      WEBHOOK_CONCURRENCY: '32',
      WEBHOOK_CONCURRENCY_PER_ENDPOINT: '8',
      SHOP_EVENTS_MAX_DEFER_MS: '0',
    });
    expect(config.shop).toEqual({
      eventsExchange: 'shop-events',
      webhookTimeoutMs: 2500,
      webhookRetryBaseMs: 50,
      webhookRetryMaxMs: 60_000,
      webhookMaxAttempts: 5,
      webhookMaxAgeSeconds: 3600,
      webhookConcurrency: 32,
      webhookConcurrencyPerEndpoint: 8,
      maxDeferMs: 0,
    });
  });

  it('refuses a retry ceiling below its base, and a per-endpoint share above the total', () => {
    expect(configError({ WEBHOOK_RETRY_BASE_MS: '5000', WEBHOOK_RETRY_MAX_MS: '1000' }).variable).toBe('WEBHOOK_RETRY_MAX_MS');
    expect(configError({ WEBHOOK_CONCURRENCY: '2', WEBHOOK_CONCURRENCY_PER_ENDPOINT: '3' }).variable).toBe(
      'WEBHOOK_CONCURRENCY_PER_ENDPOINT',
    );
  });

  it('reads every variable', () => {
    const config = loadConfig({
      AMQP_URL: 'amqps://u:p@mq:5671/vh',
      DATABASE_URL: 'postgresql://db/x',
      REDIS_URL: 'rediss://r:6380',
      REDIS_KEY_PREFIX: 'vr-staging',
      ORDERS_QUEUE: 'orders-eu',
      BATCH_MAX: '100',
      BATCH_MS: '0',
      PREFETCH: '300',
      COMMITS_IN_FLIGHT: '3',
      LOG_LEVEL: 'debug',
      METRICS_PORT: '9464',
    });
    expect(config).toMatchObject({
      amqpUrls: ['amqps://u:p@mq:5671/vh'],
      databaseUrl: 'postgresql://db/x',
      redisUrl: 'rediss://r:6380',
      redisKeyPrefix: 'vr-staging',
      ordersQueue: 'orders-eu',
      batchMax: 100,
      batchMs: 0,
      prefetch: 300,
      commitsInFlight: 3,
      logLevel: 'debug',
      metricsPort: 9464,
    });
  });

  it('treats an empty variable and METRICS_PORT=0 as unset', () => {
    expect(loadConfig({ BATCH_MAX: '', METRICS_PORT: '0' })).toMatchObject({ batchMax: 500, metricsPort: undefined });
  });

  it.each([
    ['BATCH_MAX', 'lots'],
    ['BATCH_MAX', '0'],
    ['BATCH_MAX', '-5'],
    ['BATCH_MS', '1.5'],
    ['PREFETCH', '70000'],
    ['COMMITS_IN_FLIGHT', '0'],
    ['COMMITS_IN_FLIGHT', '9'],
    ['METRICS_PORT', '65536'],
    ['LOG_LEVEL', 'verbose'],
    ['AMQP_URL', 'not a url'],
    ['AMQP_URL', 'http://127.0.0.1:5672'],
    ['DATABASE_URL', 'mysql://127.0.0.1/x'],
    ['REDIS_URL', '127.0.0.1:6379'],
    ['ORDERS_QUEUE', 'amq.orders'],
    ['REDIS_KEY_PREFIX', 'vr:{x}'],
    ['EVENTS_EXCHANGE', 'amq.topic'],
    ['WEBHOOK_TIMEOUT_MS', '10'],
    ['WEBHOOK_TIMEOUT_MS', 'soon'],
    ['WEBHOOK_RETRY_BASE_MS', '0'],
    ['WEBHOOK_MAX_ATTEMPTS', '0'],
    ['WEBHOOK_MAX_AGE_SECONDS', '-1'],
    ['WEBHOOK_CONCURRENCY', '0'],
    ['WEBHOOK_CONCURRENCY_PER_ENDPOINT', '1.5'],
  ])('a bad %s (%s) throws an error naming it', (variable, value) => {
    const err = configError({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}:`)).toBe(true);
  });

  it('refuses a batch larger than the prefetch (it could never fill)', () => {
    expect(configError({ BATCH_MAX: '600', PREFETCH: '500' }).variable).toBe('BATCH_MAX');
  });

  it('never echoes a URL that may carry a password', () => {
    const err = configError({ AMQP_URL: 'http://user:s3cret@mq' });
    expect(err.message).not.toContain('s3cret');
  });
});
