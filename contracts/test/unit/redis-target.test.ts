import { describe, expect, it } from 'vitest';
import { ConfigError, envRedisTarget, redisAddress, redisProbeUrl } from '../../src/index.js';

describe('where Redis is (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS)', () => {
  it('is the single server by default', () => {
    const t = envRedisTarget({});
    expect(t).toEqual({ url: 'redis://127.0.0.1:6379' });
    expect(redisProbeUrl(t)).toBe('redis://127.0.0.1:6379');
  });

  it('reads Sentinels and the primary name, and probes the first Sentinel', () => {
    const t = envRedisTarget({
      REDIS_URL: 'redis://:s3cret@ignored:6379/2',
      REDIS_SENTINELS: '10.0.0.1:26379, [::1]:26380',
      REDIS_SENTINEL_NAME: 'shop-primary',
    });
    expect(t.sentinels).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
    expect(t.sentinelName).toBe('shop-primary');
    expect(redisProbeUrl(t)).toBe('redis://10.0.0.1:26379');
    expect(redisAddress(t)).toBe('redis-sentinel://10.0.0.1:26379,::1:26380/shop-primary');
    expect(envRedisTarget({ REDIS_SENTINELS: '10.0.0.1:26379' }).sentinelName).toBe('mymaster');
  });

  it('hides the password of a single server in log lines', () => {
    expect(redisAddress(envRedisTarget({ REDIS_URL: 'redis://user:s3cret@cache:6379' }))).toBe('redis://user:***@cache:6379');
  });

  it('refuses what cannot work, naming the variable', () => {
    const refused = (env: Record<string, string>) => {
      try {
        envRedisTarget(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' })).toMatch(/REDIS_SENTINELS/);
    expect(refused({ REDIS_SENTINELS: 'sentinel-without-port' })).toMatch(/REDIS_SENTINELS/);
    expect(refused({ REDIS_SENTINEL_NAME: 'm' })).toMatch(/only with REDIS_SENTINELS/);
    expect(refused({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'no spaces' })).toMatch(/REDIS_SENTINEL_NAME/);
  });
});
