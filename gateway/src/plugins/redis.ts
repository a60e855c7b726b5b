import { createRedisClient, type RedisClient } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import { KeySpace } from '../redis/keyspace.js';
import { defineScripts } from '../redis/script-loader.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient;
    keyspace: KeySpace;
  }
}

/**
 * Redis: one connection (or one cluster client) for commands and scripts. Commands fail fast
 * while Redis is away (no offline queue): the gateway answers 503 instead of piling requests
 * up in memory.
 */
export default fp(
  async (app) => {
    const redis = createRedisClient(
      app.config.redisTarget,
      // commands issued in the same tick travel in one write: many shoppers, few packets. The
      // batched scripts are left out: each call already carries a whole turn's requests, and
      // wrapping it in an auto-pipeline of one cost a status request a fifth of its CPU (profiled)
      {
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: ['join', 'reserve'],
        // a partitioned Redis keeps the connection open and answers nothing: fail the command
        commandTimeout: app.config.redisCommandTimeoutMs,
      },
    );
    redis.on('error', (err: Error) => app.log.warn({ err: err.message }, 'Redis connection error'));
    defineScripts(redis);
    await redis.connect();
    app.decorate<RedisClient>('redis', redis);
    app.decorate('keyspace', new KeySpace(app.config.redisKeyPrefix));
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis', dependencies: ['config'] },
);
