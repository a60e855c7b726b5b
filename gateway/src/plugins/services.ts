import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { PurchaseService, scriptPurchaseLimit, scriptSenderLimit } from '../purchase/purchase-service.js';
import { limitsInScripts, protectionWarnings } from '../config.js';
import { MemoryNewPlaceLimit, RedisNewPlaceLimit, type NewPlaceLimit } from '../queue/new-place-limit.js';
import { NO_LIMITS, QueueService } from '../queue/queue-service.js';
import { SaleStore } from '../sales/sale-store.js';
import { FairnessAudit } from '../sales/fairness-audit.js';

declare module 'fastify' {
  interface FastifyInstance {
    sales: SaleStore;
    queue: QueueService;
    purchases: PurchaseService;
    audit: FairnessAudit;
  }
}

/** The domain services the routes call. */
export default fp(
  async (app) => {
    const sales = new SaleStore(app.pg, app.redis, app.keyspace, app.log);
    // a Redis that restarted empty gets every running sale's hot copy back
    const published = await sales.publishAll(randomUUID());
    app.log.info(published, 'sales published to Redis');
    app.decorate('sales', sales);
    const audit = new FairnessAudit(app.redis, app.keyspace, app.config.audit);
    app.decorate('audit', audit);
    app.addHook('onClose', async () => audit.close());
    const rl = app.config.rateLimits;
    const queueLimits = limitsInScripts(rl) ? { joinPerVisitor: rl.joinPerVisitorPerMinute, statusPerVisitor: rl.statusPerVisitorPerMinute } : NO_LIMITS;
    for (const warning of protectionWarnings(app.config)) app.log.warn({ newPlacesPerIpPerMinute: rl.enabled ? rl.perIpPerMinute : 0 }, `UNPROTECTED: ${warning}`);
    let newPlaces: NewPlaceLimit | undefined;
    if (rl.enabled && rl.perIpPerMinute > 0) {
      newPlaces =
        rl.store === 'redis' ? new RedisNewPlaceLimit(app.redis, app.keyspace, rl.perIpPerMinute) : new MemoryNewPlaceLimit(rl.perIpPerMinute);
    }
    app.decorate(
      'queue',
      new QueueService(app.redis, app.keyspace, sales, app.tickets, app.admissions, queueLimits, (n) => app.metrics.queueBatch.observe(n), newPlaces),
    );
    app.decorate(
      'purchases',
      new PurchaseService(
        app.redis,
        app.keyspace,
        app.pg,
        app.admissions,
        app.publisher,
        app.config.republishAfterMs,
        sales,
        scriptPurchaseLimit(app.config.rateLimits),
        scriptSenderLimit(app.config.rateLimits),
      ),
    );
  },
  { name: 'services', dependencies: ['metrics', 'postgres', 'redis', 'amqp', 'tokens'] },
);
