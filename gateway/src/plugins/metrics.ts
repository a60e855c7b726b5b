import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly purchases: Counter<'outcome'>;
}

/**
 * Prometheus metrics on a registry of this app's own (several apps can live in one test
 * process). HTTP latency is labelled by route pattern, never by raw URL.
 */
export default fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'vr_gateway_' });
    const httpDuration = new Histogram({
      name: 'vr_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const purchases = new Counter({
      name: 'vr_purchases_total',
      help: 'purchase answers by outcome (accepted, repeated, or the error code)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    app.decorate('metrics', { registry, httpDuration, purchases });

    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      if (route === '/api/sales/:saleId/purchases') {
        const outcome =
          reply.statusCode === 202 ? 'accepted' : reply.statusCode === 200 ? 'repeated' : String(reply.statusCode);
        purchases.inc({ outcome });
      }
    });

    app.get('/metrics', async (_req, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
