import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { KeySpace } from '../redis/keyspace.js';
import { defineScripts } from '../redis/script-loader.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    keyspace: KeySpace;
  }
}

/**
 * Redis: one connection for commands and scripts. Commands fail fast while Redis is away
 * (no offline queue): the gateway answers 503 instead of piling requests up in memory.
 */
export default fp(
  async (app) => {
    const redis = new Redis(app.config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // commands issued in the same tick travel in one write: many shoppers, few packets
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    });
    redis.on('error', (err: Error) => app.log.warn({ err: err.message }, 'Redis connection error'));
    defineScripts(redis);
    await redis.connect();
    app.decorate('redis', redis);
    app.decorate('keyspace', new KeySpace(app.config.redisKeyPrefix));
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis', dependencies: ['config'] },
);
