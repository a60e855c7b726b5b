/**
 * The marketer API: create, list, change and watch sales. Every change is written to
 * PostgreSQL and to the Redis hot copy, so it is effective at the next tick on every gateway.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { requireAdminKey } from '../http/credentials.js';
import { adminView, changesFromApi, configFromApi, statsView } from '../sales/sale.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';
import { AdminSale, CreateSaleBody, SaleStats, UpdateSaleBody } from '../schemas/sale.js';
import adminInvites from './admin-invites.js';
import adminNotice from './admin-notice.js';
import reportRoutes from './report.js';

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

  /** one page, one sale's gate: a prefix another live sale gates (as this gateway last read them) is refused */
  const checkGatedPaths = (saleId: string, paths: readonly string[]): void => {
    if (paths.length === 0) return;
    if (!app.gate) {
      throw new AppError('INVALID_SALE_CONFIG', 'protectedPaths needs the shop behind the gateway: set PROTECTED_ORIGIN on every gateway');
    }
    const clash = app.gate.table.clash(saleId, paths);
    if (clash) throw new AppError('INVALID_SALE_CONFIG', `protectedPaths: ${clash.path} overlaps what sale ${clash.saleId} gates`);
  };

  app.post(
    '/api/admin/sales',
    { schema: { tags: ['admin'], body: CreateSaleBody, response: { 201: AdminSale, ...adminErrors } } },
    async (req, reply) => {
      const config = configFromApi(req.body);
      // accounts come from the shop's signed identities, or its OpenID provider (routes/auth.ts)
      if (config.identity === 'shop' && !app.shopperIdentities && !app.config.oidc) {
        throw new AppError(
          'INVALID_SALE_CONFIG',
          'identity "shop" needs the shop\'s accounts on every gateway: set SHOP_JWKS_URL (or SHOP_IDENTITY_SECRET), SHOP_ISSUER and SHOP_AUDIENCE, or OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET',
        );
      }
      checkGatedPaths(config.id, config.protectedPaths);
      const sale = await app.sales.create(config);
      req.log.info({ saleId: sale.id }, 'sale created');
      // its protected paths gated from this gateway at once (the others within their refresh)
      await app.gate?.table.refresh();
      return reply.code(201).send(adminView(sale));
    },
  );

  app.get(
    '/api/admin/sales',
    { schema: { tags: ['admin'], response: { 200: Type.Object({ sales: Type.Array(AdminSale) }), ...adminErrors } } },
    async () => ({ sales: (await app.sales.list()).map(adminView) }),
  );

  app.get(
    '/api/admin/sales/:saleId',
    { schema: { tags: ['admin'], params: SaleIdParams, response: { 200: AdminSale, ...adminErrors } } },
    async (req) => {
      const sale = await app.sales.get(req.params.saleId);
      if (!sale) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
      return adminView(sale);
    },
  );

  app.patch(
    '/api/admin/sales/:saleId',
    { schema: { tags: ['admin'], params: SaleIdParams, body: UpdateSaleBody, response: { 200: AdminSale, ...adminErrors } } },
    async (req) => {
      const b = req.body;
      const changes = changesFromApi(b);
      if (changes.protectedPaths) checkGatedPaths(req.params.saleId, changes.protectedPaths);
      const sale = await app.sales.update(req.params.saleId, changes);
      req.log.info({ saleId: sale.id, changed: Object.keys(b) }, 'sale changed');
      await app.gate?.table.refresh();
      return adminView(sale);
    },
  );

  app.get(
    '/api/admin/sales/:saleId/stats',
    { schema: { tags: ['admin'], params: SaleIdParams, response: { 200: SaleStats, ...adminErrors } } },
    async (req) => {
      const { saleId } = req.params;
      const [live, db] = await Promise.all([app.sales.live(saleId), app.orders.confirmedFigures(saleId)]);
      // a retired sale: its final live figures, from PostgreSQL
      const sale = live ?? (await app.sales.retiredView(saleId));
      if (!sale) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
      return statsView(sale, db);
    },
  );

  await app.register(adminNotice);
  await app.register(adminInvites);
  // the sale report, behind the same key check
  await app.register(reportRoutes);
};

export default admin;
