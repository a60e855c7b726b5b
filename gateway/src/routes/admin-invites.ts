/**
 * The invite list of an invite-only drop (issue 15 item 2): the marketer uploads the accounts
 * (a JSON array of account ids, or CSV: one per line) and reads the count back. A new list
 * replaces the old one at once; joins check it live (join.lua). Registered inside
 * routes/admin.ts, so the admin key is checked first.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { MAX_INVITES, parseInvites } from '../sales/sale-invites.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';

const errors = { 401: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, ...commonErrors };

const InviteAnswer = Type.Object({
  saleId: Type.String(),
  count: Type.Integer({ description: 'accounts invited' }),
  accounts: Type.Array(Type.String(), { description: 'the first accounts, sorted (at most `limit`)' }),
  truncated: Type.Boolean(),
});

/** ~60 bytes an account at most on average: a million accounts fit */
const BODY_LIMIT = 64 * 1024 * 1024;

const adminInvites: FastifyPluginAsyncTypebox = async (app) => {
  // CSV as text, for the console's upload and `curl --data-binary @invites.csv`
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.get(
    '/api/admin/sales/:saleId/invites',
    {
      schema: {
        tags: ['admin'],
        summary: "the sale's invite list: how many accounts, and the first of them",
        params: SaleIdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) }),
        response: { 200: InviteAnswer, ...errors },
      },
    },
    async (req) => {
      const list = await app.invites.stored(req.params.saleId, req.query.limit ?? 1_000);
      if (!list) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
      return { saleId: req.params.saleId, ...list, accounts: [...list.accounts] };
    },
  );

  app.put(
    '/api/admin/sales/:saleId/invites',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: ['admin'],
        summary: `replace the invite list (a JSON array of account ids, or text/csv with one per line; at most ${MAX_INVITES}); live at once`,
        params: SaleIdParams,
        response: { 200: InviteAnswer, ...errors },
      },
    },
    async (req) => {
      const { saleId } = req.params;
      const accounts = parseInvites(req.body);
      const count = await app.invites.replace(saleId, accounts);
      req.log.info({ saleId, count }, 'invite list replaced');
      const list = await app.invites.stored(saleId, 100);
      return { saleId, count, accounts: [...(list?.accounts ?? [])], truncated: count > (list?.accounts.length ?? 0) };
    },
  );
};

export default adminInvites;
