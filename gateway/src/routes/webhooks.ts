/**
 * The webhook admin API (issue 14): the shop's endpoints and their delivery log, under the
 * admin key like the other marketer routes. A new endpoint's signing secret is answered once,
 * at its creation; the log is the worker's deliverer's (webhooks/webhook-store.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SHOP_EVENT_TYPES } from '@velvet-rope/contracts';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { requireAdminKey } from '../http/credentials.js';
import { MAX_SHOP_URL_LENGTH, shopUrlProblem } from '../lib/shop-url.js';
import { DateTime, ErrorResponse, Nullable, StringEnum, commonErrors } from '../schemas/common.js';

const EventType = StringEnum(SHOP_EVENT_TYPES);

const WebhookFields = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventType),
  source: StringEnum(['api', 'config'], { description: "'config': registered from WEBHOOK_URL at boot" }),
  createdAt: DateTime,
};
const WebhookResponse = Type.Object(WebhookFields);
const CreatedWebhook = Type.Object({
  ...WebhookFields,
  secret: Type.String({ description: 'whsec_…: the Standard Webhooks signing secret, shown only in this answer' }),
});
const Delivery = Type.Object({
  id: Type.Integer(),
  eventId: Type.String({ description: 'the webhook-id header: the same on every attempt' }),
  eventType: EventType,
  status: StringEnum(['pending', 'delivering', 'delivered', 'failed']),
  attempts: Type.Integer(),
  responseStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  latencyMs: Nullable(Type.Integer()),
  createdAt: DateTime,
  deliveredAt: Nullable(DateTime),
  nextAttemptAt: Nullable(DateTime, { description: 'when it is tried next (null once delivered or failed)' }),
});

const WebhookParams = Type.Object({ id: Type.String({ pattern: '^wh_[A-Za-z0-9_-]{1,64}$' }) });
const DeliveryParams = Type.Object({
  id: Type.String({ pattern: '^wh_[A-Za-z0-9_-]{1,64}$' }),
  deliveryId: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }),
});
const errors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...commonErrors };

const webhooks: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.webhooks;
  app.addHook(
    'onRequest',
    requireAdminKey(app.config.adminApiKey, {
      redis: app.redis,
      keyFor: (address) => `${app.keyspace.prefix}:admin-auth-failures:${address}`,
      failures: app.config.adminAuthFailuresPerMinute,
      windowMs: 60_000,
    }),
  );

  app.post(
    '/api/admin/webhooks',
    {
      schema: {
        tags: ['admin'],
        summary: 'register a shop endpoint; its signing secret is in this answer only',
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: MAX_SHOP_URL_LENGTH, description: 'absolute http(s), no credentials' }),
            events: Type.Optional(
              Type.Array(EventType, { minItems: 1, uniqueItems: true, description: 'the event types it receives; absent: every type' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedWebhook, ...errors },
      },
    },
    async (req, reply) => {
      const problem = shopUrlProblem(req.body.url);
      if (problem) throw new AppError('VALIDATION_FAILED', `url ${problem}`);
      const created = await store.create(req.body.url, req.body.events);
      req.log.info({ webhookId: created.id }, 'webhook endpoint registered');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/admin/webhooks',
    { schema: { tags: ['admin'], response: { 200: Type.Object({ webhooks: Type.Array(WebhookResponse) }), ...errors } } },
    async () => ({ webhooks: await store.list() }),
  );

  app.delete(
    '/api/admin/webhooks/:id',
    { schema: { tags: ['admin'], params: WebhookParams, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      if (!(await store.remove(req.params.id))) throw new AppError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
      req.log.info({ webhookId: req.params.id }, 'webhook endpoint removed');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/admin/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['admin'],
        summary: "an endpoint's delivery log, newest first",
        params: WebhookParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1 to 500, default 50' })),
        }),
        response: { 200: Type.Object({ deliveries: Type.Array(Delivery) }), ...errors },
      },
    },
    async (req) => {
      const limit = Math.min(500, Number(req.query.limit ?? 50));
      // a removed endpoint's log stays readable
      if (!(await store.exists(req.params.id, false))) throw new AppError('WEBHOOK_NOT_FOUND', `no webhook ${req.params.id}`);
      return { deliveries: await store.deliveries(req.params.id, limit) };
    },
  );

  app.post(
    '/api/admin/webhooks/:id/deliveries/:deliveryId/retry',
    {
      schema: {
        tags: ['admin'],
        summary: 'a failed (or pending) delivery tried again now, its attempts kept',
        params: DeliveryParams,
        response: { 200: Delivery, ...errors },
      },
    },
    async (req) => {
      const { id, deliveryId } = req.params;
      if (!(await store.exists(id, true))) throw new AppError('WEBHOOK_NOT_FOUND', `no webhook ${id}`);
      const r = await store.retry(id, deliveryId);
      if (r.outcome === 'not_found') throw new AppError('DELIVERY_NOT_FOUND', `no delivery ${deliveryId} of webhook ${id}`);
      if (r.outcome === 'not_retryable') {
        throw new AppError(
          'DELIVERY_NOT_RETRYABLE',
          r.status === 'delivered' ? 'this delivery was delivered already' : 'this delivery is being attempted right now',
        );
      }
      req.log.info({ webhookId: id, deliveryId }, 'webhook delivery retried by hand');
      return r.delivery;
    },
  );
};

export default webhooks;
