/**
 * The marketer API: create, list, change and watch sales. Every change is written to
 * PostgreSQL and to the Redis hot copy, so it is effective at the next tick on every gateway.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { seedCommitment } from '../queue/fairness-score.js';
import { requireAdminKey } from '../http/credentials.js';
import type { SaleChanges, SaleRecord } from '../sales/sale-store.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';
import { AdminSale, CreateSaleBody, SaleStats, UpdateSaleBody } from '../schemas/sale.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const time = (s: string | null | undefined) => (s === undefined ? undefined : s === null ? null : Date.parse(s));

function view(s: SaleRecord) {
  return {
    id: s.id,
    name: s.name,
    stock: s.stock,
    sold: s.sold,
    startsAt: iso(s.startsAt)!,
    prequeueOpensAt: iso(s.prequeueOpensAt),
    endsAt: iso(s.endsAt),
    ratePerMinute: s.ratePerMinute,
    maxActive: s.maxActive,
    checkoutSeconds: s.checkoutSeconds,
    maxPerShopper: s.maxPerShopper,
    queueMode: s.queueMode,
    windowSeconds: s.windowSeconds,
    paused: s.paused,
    powDifficulty: s.powDifficulty,
    adaptiveRate: s.adaptiveRate,
    minRatePerMinute: s.minRatePerMinute,
    seedCommitment: seedCommitment(s.seed),
    createdAt: iso(s.createdAt)!,
    updatedAt: iso(s.updatedAt)!,
  };
}

const adminErrors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, ...commonErrors };

const admin: FastifyPluginAsyncTypebox = async (app) => {
  // onRequest: the key is checked before the body is parsed or validated (issue 12 item 9)
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
    '/api/admin/sales',
    { schema: { tags: ['admin'], body: CreateSaleBody, response: { 201: AdminSale, ...adminErrors } } },
    async (req, reply) => {
      const b = req.body;
      const sale = await app.sales.create({
        id: b.id,
        name: b.name,
        stock: b.stock,
        startsAt: Date.parse(b.startsAt),
        prequeueOpensAt: time(b.prequeueOpensAt) ?? null,
        endsAt: time(b.endsAt) ?? null,
        ratePerMinute: b.ratePerMinute,
        maxActive: b.maxActive ?? Math.max(1, b.stock),
        checkoutSeconds: b.checkoutSeconds ?? 120,
        maxPerShopper: b.maxPerShopper ?? 1,
        queueMode: b.queueMode ?? 'prequeue-random',
        windowSeconds: b.windowSeconds ?? 30,
        paused: b.paused ?? false,
        powDifficulty: b.powDifficulty ?? 0,
        adaptiveRate: b.adaptiveRate ?? false,
        minRatePerMinute: b.minRatePerMinute ?? 0,
      });
      req.log.info({ saleId: sale.id }, 'sale created');
      return reply.code(201).send(view(sale));
    },
  );

  app.get(
    '/api/admin/sales',
    { schema: { tags: ['admin'], response: { 200: Type.Object({ sales: Type.Array(AdminSale) }), ...adminErrors } } },
    async () => ({ sales: (await app.sales.list()).map(view) }),
  );

  app.get(
    '/api/admin/sales/:saleId',
    { schema: { tags: ['admin'], params: SaleIdParams, response: { 200: AdminSale, ...adminErrors } } },
    async (req) => {
      const sale = await app.sales.get(req.params.saleId);
      if (!sale) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
      return view(sale);
    },
  );

  app.patch(
    '/api/admin/sales/:saleId',
    { schema: { tags: ['admin'], params: SaleIdParams, body: UpdateSaleBody, response: { 200: AdminSale, ...adminErrors } } },
    async (req) => {
      const b = req.body;
      // only the keys sent: an absent key keeps its value (undefined would hide it from the checks)
      const { startsAt, prequeueOpensAt, endsAt, ...rest } = b;
      const changes: SaleChanges = {
        ...rest,
        ...(startsAt !== undefined ? { startsAt: Date.parse(startsAt) } : {}),
        ...(prequeueOpensAt !== undefined ? { prequeueOpensAt: time(prequeueOpensAt) ?? null } : {}),
        ...(endsAt !== undefined ? { endsAt: time(endsAt) ?? null } : {}),
      };
      const sale = await app.sales.update(req.params.saleId, changes);
      req.log.info({ saleId: sale.id, changed: Object.keys(b) }, 'sale changed');
      return view(sale);
    },
  );

  app.get(
    '/api/admin/sales/:saleId/stats',
    { schema: { tags: ['admin'], params: SaleIdParams, response: { 200: SaleStats, ...adminErrors } } },
    async (req) => {
      const { saleId } = req.params;
      const [live, db] = await Promise.all([app.sales.live(saleId), app.sales.confirmedFigures(saleId)]);
      if (!live) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
      return {
        id: saleId,
        status: live.status,
        stock: live.stock,
        waiting: live.waiting,
        admitted: live.admitted,
        admittedTotal: live.admittedTotal,
        remaining: live.remaining,
        pending: live.pending,
        sold: db.sold,
        confirmedOrders: db.confirmedOrders,
        rejectedOrders: db.rejectedOrders,
        ratePerMinute: live.ratePerMinute,
        effectiveRatePerMinute: live.effectiveRatePerMinute,
        adaptiveRate: live.adaptiveRate,
        maxActive: live.maxActive,
        paused: live.paused,
        at: new Date(live.now).toISOString(),
      };
    },
  );
};

export default admin;
