/**
 * The example shop as a Fastify app: the routes and what they are built from. It never
 * listens (server.ts does); tests build it with their own key set or Velvet Rope stand-in.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { sendProblem } from './answers.js';
import type { ShopConfig } from './config.js';
import { orderTokenVerifier, velvetRopeKeys } from './order-token.js';
import { pretendPayments } from './pretend-payment.js';
import { checkoutRoutes } from './routes/checkout.js';
import { eventRoutes } from './routes/events.js';
import { productRoutes } from './routes/product.js';
import { testControlRoutes } from './routes/test-controls.js';
import { identityRoutes } from './routes/identity.js';
import { identitySigner, type IdentitySigner } from './identity.js';
import { webhookRoutes } from './routes/webhooks.js';
import { velvetRopeClient, type VelvetRopeClient } from './velvet-rope-client.js';
import { webhookInbox, type WebhookInbox } from './webhook-inbox.js';

export interface ShopParts {
  /** the key set order tokens are verified with (default: Velvet Rope's JWKS) */
  readonly keys?: JWTVerifyGetKey;
  readonly velvetRope?: VelvetRopeClient;
  readonly inbox?: WebhookInbox;
  readonly random?: () => number;
  readonly logger?: FastifyServerOptions['logger'];
  /** the signer of shopper identities (default: a fresh ES256 key) */
  readonly identities?: IdentitySigner;
}

export async function buildShop(config: ShopConfig, parts: ShopParts = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: parts.logger ?? { level: config.logLevel }, bodyLimit: 65_536 });
  const inbox = parts.inbox ?? webhookInbox(config.webhookSecret, config.maxEvents);
  const verifier = orderTokenVerifier({
    issuer: config.issuer,
    saleIds: config.saleIds,
    keys: parts.keys ?? velvetRopeKeys(config.velvetRopeUrl),
  });

  // the checkout form posts urlencoded fields (Fastify parses JSON only)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const statusCode = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (statusCode === 500) request.log.error({ err }, 'request failed');
    return sendProblem(request, reply, {
      statusCode,
      code: statusCode === 500 ? 'INTERNAL' : statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED',
      title: statusCode === 500 ? 'Something went wrong' : 'That request was not understood',
      message: statusCode === 500 ? 'The shop could not answer this time.' : err.message,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      statusCode: 404,
      code: 'ROUTE_NOT_FOUND',
      title: 'Not found',
      message: `${request.method} ${request.url}`,
    }),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(productRoutes(config));
  await app.register(
    checkoutRoutes({
      config,
      verifier,
      payments: pretendPayments({ failRate: config.paymentFailRate, failEvery: config.paymentFailEvery }, parts.random),
      velvetRope: parts.velvetRope ?? velvetRopeClient(config.velvetRopeUrl, config.shopApiKey, config.velvetRopeTimeoutMs),
    }),
  );
  const identities = parts.identities ?? (await identitySigner(config.identityIssuer, config.identityAudience));
  await app.register(identityRoutes(config, identities));
  await app.register(webhookRoutes(inbox));
  await app.register(eventRoutes(inbox));
  if (config.testControls) await app.register(testControlRoutes(inbox, identities));
  return app;
}
