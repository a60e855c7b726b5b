import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { protectionWarnings } from '../config.js';

const DependencyState = Type.Object({
  // blocked: RabbitMQ is up but blocks publishing (a memory or disk alarm): no order can be accepted
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('blocked')]),
  error: Type.Optional(Type.String()),
});
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  dependencies: Type.Object({ redis: DependencyState, postgres: DependencyState, rabbitmq: DependencyState }),
  details: Type.Object({
    newPlacesPerIpPerMinute: Type.Integer({ description: 'new places per address and minute, across sales (0: not limited)' }),
    warnings: Type.Array(Type.String(), { description: 'protections the configuration switched off' }),
  }),
});

async function check(fn: () => Promise<unknown>, timeoutMs = 1_000): Promise<{ status: 'up' | 'down'; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const health: FastifyPluginAsyncTypebox = async (app) => {
  const rl = app.config.rateLimits;
  const details = { newPlacesPerIpPerMinute: rl.enabled ? rl.perIpPerMinute : 0, warnings: protectionWarnings(app.config) };
  app.get(
    '/healthz',
    {
      schema: { tags: ['operations'], summary: 'liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
      // a gateway shedding load is busy, not dead: liveness answers, so that no supervisor
      // restarts a process for being loaded (readiness sheds, and takes it out of rotation)
      config: { shedUnderLoad: false },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'readiness, naming each dependency', response: { 200: Readiness, 503: Readiness } } },
    async (_req, reply) => {
      const [redis, postgres, broker] = await Promise.all([
        check(() => app.redis.ping()),
        check(() => app.pg.query('SELECT 1')),
        check(async () => {
          if (!app.publisher.ready) throw new Error(app.publisher.lastError ?? 'not connected');
        }),
      ]);
      const rabbitmq = app.publisher.blocked !== undefined && broker.status === 'down' ? { ...broker, status: 'blocked' as const } : broker;
      const ready = redis.status === 'up' && postgres.status === 'up' && rabbitmq.status === 'up';
      // like every other 503 of the gateway: when to ask again (a probe or a load balancer may read it)
      if (!ready) reply.header('retry-after', '5');
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', dependencies: { redis, postgres, rabbitmq }, details });
    },
  );

  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['operations'], summary: 'public keys that verify admission tokens' } },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return app.keys.jwks();
    },
  );

  // the figures list sale ids, live stock and descriptor counts: served on METRICS_PORT (by
  // server.ts), and on the public port only when the operator opts in
  if (app.config.metricsOnPublicPort) {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.type(app.metrics.registry.contentType);
      return app.metrics.registry.metrics();
    });
  }
};

export default health;
