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
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/velvet_rope',
      redisUrl: 'redis://127.0.0.1:6379',
      redisKeyPrefix: 'vr',
      ordersQueue: 'orders',
      batchMax: 500,
      batchMs: 20,
      prefetch: 1000,
      commitsInFlight: 2,
      logLevel: 'info',
      metricsPort: undefined,
    });
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
      amqpUrl: 'amqps://u:p@mq:5671/vh',
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
