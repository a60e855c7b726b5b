import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { PurchaseService, scriptPurchaseLimit, scriptSenderLimit } from '../purchase/purchase-service.js';
import { limitsInScripts, protectionWarnings } from '../config.js';
import { MemoryNewPlaceLimit, RedisNewPlaceLimit, type NewPlaceLimit } from '../queue/new-place-limit.js';
import { NO_LIMITS, QueueService } from '../queue/queue-service.js';
import { SaleStore } from '../sales/sale-store.js';
import { SaleRepublisher } from '../sales/republish.js';
import { SaleNotices } from '../sales/sale-notice.js';
import { SaleInvites } from '../sales/sale-invites.js';
import { AppError } from '../errors.js';
import { FairnessAudit } from '../sales/fairness-audit.js';
import { Orders } from '../purchase/orders.js';
import { AdmissionRecords } from '../admission/admission-records.js';
import { WebhookStore } from '../webhooks/webhook-store.js';
import { OrderTokens } from '../tokens/order-token.js';
import { Bypass } from '../http/bypass.js';
import { ShopAccounts } from '../accounts/shop-accounts.js';

declare module 'fastify' {
  interface FastifyInstance {
    sales: SaleStore;
    republisher: SaleRepublisher;
    notices: SaleNotices;
    invites: SaleInvites;
    orders: Orders;
    admissionRecords: AdmissionRecords;
    queue: QueueService;
    purchases: PurchaseService;
    audit: FairnessAudit;
    webhooks: WebhookStore;
    orderTokens: OrderTokens;
    bypass: Bypass;
    shopAccounts: ShopAccounts;
  }
}

/** The domain services the routes call. */
export default fp(
  async (app) => {
    const sales = new SaleStore(app.pg, app.redis, app.keyspace, app.log, app.pgRead);
    const notices = new SaleNotices(app.pg, app.redis, app.keyspace);
    app.decorate('notices', notices);
    // an invited account is named as the shop's identities name it, else as its OpenID provider does
    const oidc = app.config.oidc;
    const invites = new SaleInvites(app.pg, app.redis, app.keyspace, (account) => {
      if (app.shopperIdentities) return app.shopperIdentities.visitorIdOf(account);
      if (oidc) return app.accountIds.visitorId({ issuer: oidc.accountIssuer, subject: account });
      throw new AppError('INVALID_SALE_CONFIG', 'SHOP_JWKS_URL, SHOP_IDENTITY_SECRET or OIDC_ISSUER is not set on this gateway');
    });
    app.decorate('invites', invites);
    const republisher = new SaleRepublisher(app.redis, app.keyspace, sales, (ids) =>
      Promise.all([notices.restore(ids), invites.restore(ids)]),
    );
    // a Redis that restarted empty gets every running sale's hot copy back
    const published = await republisher.publishAll(randomUUID());
    app.log.info(published, 'sales published to Redis');
    app.decorate('sales', sales);
    app.decorate('republisher', republisher);
    const shopAccounts = new ShopAccounts(app.pg, app.log);
    app.decorate('shopAccounts', shopAccounts);
    app.addHook('onClose', async () => shopAccounts.flush());
    const orders = new Orders(app.pg, app.redis, app.keyspace, app.pgRead);
    app.decorate('orders', orders);
    app.decorate('orderTokens', new OrderTokens(app.keys, app.config.issuer));
    const webhooks = new WebhookStore(app.pg);
    app.decorate('webhooks', webhooks);
    if (app.config.webhook) {
      // WEBHOOK_URL + WEBHOOK_SECRET: one endpoint kept in step with the configuration
      const { id, registered } = await webhooks.registerConfigured(app.config.webhook.url, app.config.webhook.secret);
      if (registered) app.log.info({ webhookId: id }, 'webhook endpoint registered from WEBHOOK_URL');
    }
    const bypass = new Bypass(app.config.bypass.keys, app.config.bypass.cidrs, app.config.trustProxy);
    app.decorate('bypass', bypass);
    if (bypass.enabled) {
      app.log.info({ keys: app.config.bypass.keys.length, cidrs: app.config.bypass.cidrs }, 'bypass rules: matching joins skip the room');
    }
    const admissionRecords = new AdmissionRecords(app.pg);
    app.decorate('admissionRecords', admissionRecords);
    const audit = new FairnessAudit(app.redis, app.keyspace, app.config.audit, sales.archive);
    app.decorate('audit', audit);
    app.addHook('onClose', async () => audit.close());
    const rl = app.config.rateLimits;
    const queueLimits = limitsInScripts(rl)
      ? { joinPerVisitor: rl.joinPerVisitorPerMinute, statusPerVisitor: rl.statusPerVisitorPerMinute }
      : NO_LIMITS;
    for (const warning of protectionWarnings(app.config))
      app.log.warn({ newPlacesPerIpPerMinute: rl.enabled ? rl.perIpPerMinute : 0 }, `UNPROTECTED: ${warning}`);
    let newPlaces: NewPlaceLimit | undefined;
    if (rl.enabled && rl.perIpPerMinute > 0) {
      newPlaces =
        rl.store === 'redis'
          ? new RedisNewPlaceLimit(app.redis, app.keyspace, rl.perIpPerMinute)
          : new MemoryNewPlaceLimit(rl.perIpPerMinute);
    }
    app.decorate(
      'queue',
      new QueueService(
        app.redis,
        app.keyspace,
        sales,
        admissionRecords,
        app.tickets,
        app.admissions,
        queueLimits,
        (n) => app.metrics.queueBatch.observe(n),
        newPlaces,
        app.log,
        (saleId) => app.requestStats.refused(saleId),
      ),
    );
    app.decorate(
      'purchases',
      new PurchaseService(
        app.redis,
        app.keyspace,
        orders,
        app.admissions,
        app.publisher,
        app.config.republishAfterMs,
        sales,
        scriptPurchaseLimit(app.config.rateLimits),
        scriptSenderLimit(app.config.rateLimits),
      ),
    );
  },
  { name: 'services', dependencies: ['metrics', 'postgres', 'redis', 'amqp', 'tokens', 'report'] },
);
