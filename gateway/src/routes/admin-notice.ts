/**
 * The sale's notice, for the marketer (issue 16 item 8): set, clear and read the message every
 * page of the sale shows. Registered inside routes/admin.ts, so the admin key is checked first.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkNotice } from '../sales/sale-notice.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';
import { NoticeAnswer, NoticeBody } from '../schemas/notice.js';

const errors = { 401: ErrorResponse, 404: ErrorResponse, ...commonErrors };

const adminNotice: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/admin/sales/:saleId/notice',
    { schema: { tags: ['admin'], summary: "the sale's notice", params: SaleIdParams, response: { 200: NoticeAnswer, ...errors } } },
    async (req) => ({ notice: await app.notices.stored(req.params.saleId) }),
  );

  app.put(
    '/api/admin/sales/:saleId/notice',
    {
      schema: {
        tags: ['admin'],
        summary: 'show a notice to every page of the sale, live (400 INVALID_NOTICE: empty, too long, control characters, bad level)',
        params: SaleIdParams,
        body: NoticeBody,
        response: { 200: NoticeAnswer, ...errors },
      },
    },
    async (req) => {
      const notice = await app.notices.set(req.params.saleId, checkNotice(req.body));
      req.log.info({ saleId: req.params.saleId, level: notice.level, length: notice.message.length }, 'sale notice set');
      return { notice };
    },
  );

  app.delete(
    '/api/admin/sales/:saleId/notice',
    { schema: { tags: ['admin'], summary: "clear the sale's notice", params: SaleIdParams, response: { 200: NoticeAnswer, ...errors } } },
    async (req) => {
      await app.notices.clear(req.params.saleId);
      req.log.info({ saleId: req.params.saleId }, 'sale notice cleared');
      return { notice: null };
    },
  );
};

export default adminNotice;
