/**
 * The shopper API: sale, queue, purchase, order, fairness.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { AppError } from '../errors.js';
import { bearerToken, setGateCookie, setShopperCookies } from '../http/credentials.js';
import { saleJoiner, shopAccount } from '../http/shop-identity.js';
import type { Standing } from '../queue/queue-service.js';
import { orderAnswer } from '../purchase/orders.js';
import { FAIRNESS_ALGORITHM, seedCommitment } from '../sales/fairness-score.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';
import { JoinBody, JoinResponse, MyOrder, OrderResponse, PurchaseBody, PurchaseResponse, StandingResponse } from '../schemas/queue.js';
import { Fairness, PublicSale } from '../schemas/sale.js';
import { publicView } from '../sales/sale.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A standing as the API shows it: the response schema's serializer writes the public fields
 * and skips the rest (`saleStatus`) and the absent ones (`admission`, `orderId`), so the
 * object goes out as it is, without a copy.
 */
const standingBody = (s: Standing) => s;

/** Who is asking is answered by `app.identity` (http/identity.ts), for every route here. */
const shopper: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/sales/:saleId',
    {
      schema: {
        tags: ['shopper'],
        params: SaleIdParams,
        response: { 200: PublicSale, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      // a retired sale's final figures come from PostgreSQL (its Redis keys are gone)
      const [sale, notice] = await Promise.all([app.sales.liveOrRetired(req.params.saleId), app.notices.current(req.params.saleId)]);
      if (!sale) throw await app.sales.missing(req.params.saleId);
      return notice ? { ...publicView(sale), notice } : publicView(sale);
    },
  );

  /** an admitted visitor of a sale that gates the shop's pages gets the gate's cookie (gate/gate.ts) */
  const openGate = (
    reply: FastifyReply,
    req: FastifyRequest,
    saleId: string,
    standing: { readonly status: string; readonly visitorId?: string; readonly admission?: { readonly expiresAt: string } },
  ): void => {
    const gate = app.gate;
    if (!gate || standing.status !== 'admitted' || !standing.admission || !gate.table.gates(saleId)) return;
    const visitorId = standing.visitorId ?? app.identity.ticketClaims(req, saleId).sub;
    const expiresAt = Date.parse(standing.admission.expiresAt);
    setGateCookie(reply, req, saleId, gate.cookie.seal(saleId, visitorId, expiresAt), expiresAt);
  };

  app.post(
    '/api/sales/:saleId/queue',
    {
      schema: {
        tags: ['shopper'],
        summary: 'join the queue (or learn your place again)',
        params: SaleIdParams,
        body: Type.Optional(JoinBody),
        response: {
          200: JoinResponse,
          201: JoinResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          ...commonErrors,
        },
      },
      onRequest: app.limits.join,
    },
    async (req, reply) => {
      const { saleId } = req.params;
      let who = app.identity.joiner(req, saleId);
      const bypassRule = app.bypass.match(req);
      if (bypassRule) {
        // staff or monitoring: an admission at once, in no queue, figure, counter or audit (http/bypass.ts)
        const joined = await app.queue.bypass(saleId, who);
        req.log.info(
          { saleId, address: app.bypass.address(req), rule: bypassRule, visitorId: joined.visitorId },
          'bypass: skipped the room',
        );
        setShopperCookies(reply, req, joined.ticket, app.visitorCookie.seal(joined.visitorId));
        reply.code(200);
        return { visitorId: joined.visitorId, ticket: joined.ticket, ...standingBody(joined.standing) };
      }
      const proofHeader = req.headers['x-proof-of-work'];
      if (typeof proofHeader === 'string') {
        const proof = app.proofOfWork.verify(proofHeader, saleId);
        if (!proof.ok) app.requestStats.refused(saleId);
        if (!proof.ok) throw new AppError('POW_INVALID', `the proof of work is not valid: ${proof.reason}`);
        who = { ...who, proof: { nonce: proof.nonce, bits: proof.bits } };
      }
      // a sale for the shop's accounts: the account is the visitor (http/shop-identity.ts)
      const account = await saleJoiner(app, req, saleId, who);
      const joined = await app.queue.join(saleId, account.who, req.ip);
      setShopperCookies(reply, req, joined.ticket, app.visitorCookie.seal(joined.visitorId), account.session);
      openGate(reply, req, saleId, { ...joined.standing, visitorId: joined.visitorId });
      reply.code(joined.created ? 201 : 200);
      return { visitorId: joined.visitorId, ticket: joined.ticket, ...standingBody(joined.standing) };
    },
  );

  app.get(
    '/api/sales/:saleId/challenge',
    {
      schema: {
        tags: ['shopper'],
        summary: 'a proof-of-work challenge, for sales that ask for one on join',
        params: SaleIdParams,
        response: {
          200: Type.Object({
            challenge: Type.String(),
            difficulty: Type.Integer({ description: 'leading zero bits SHA-256(challenge + ":" + solution) must have' }),
            expiresAt: Type.String({ format: 'date-time' }),
          }),
          404: ErrorResponse,
          409: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (req, reply) => {
      const sale = await app.sales.live(req.params.saleId);
      if (!sale) throw await app.sales.missing(req.params.saleId);
      const { challenge, expiresAt } = app.proofOfWork.challenge(sale.id);
      reply.header('cache-control', 'no-store');
      return { challenge, difficulty: sale.powDifficulty, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
  );

  app.get(
    '/api/sales/:saleId/queue/me',
    {
      schema: {
        tags: ['shopper'],
        summary: 'where do I stand (polling fallback for live updates)',
        params: SaleIdParams,
        // 409: the sale was retired (sales/retirement.ts): SALE_ENDED or SOLD_OUT, as it ended
        response: {
          200: StandingResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          ...commonErrors,
        },
      },
      onRequest: app.limits.status,
    },
    async (req, reply) => {
      const { saleId } = req.params;
      const [standing, notice] = await Promise.all([
        app.queue.status(saleId, app.identity.ticketClaims(req, saleId)),
        app.notices.current(saleId),
      ]);
      reply.header('cache-control', 'no-store');
      openGate(reply, req, saleId, standing);
      // the notice from this gateway's copy (no round trip but once a second per sale)
      return notice ? { ...standingBody(standing), notice } : standingBody(standing);
    },
  );

  app.post(
    '/api/sales/:saleId/purchases',
    {
      schema: {
        tags: ['shopper'],
        summary: 'buy with an admission token',
        params: SaleIdParams,
        body: PurchaseBody,
        response: {
          200: PurchaseResponse,
          202: PurchaseResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          ...commonErrors,
        },
      },
      // empty when the reserve script counts the limit itself (one round trip)
      onRequest: app.limits.purchase,
    },
    async (req, reply) => {
      const { saleId } = req.params;
      const result = await app.purchases.buy(saleId, bearerToken(req), req.body.quantity, req.ip);
      if (result.remaining === 0) {
        // the last unit just went: every waiting shopper hears it now, not at the next tick
        const live = await app.sales.live(saleId).catch(() => undefined);
        if (live) app.realtime.soldOut(saleId, live);
      }
      reply.code(result.created ? 202 : 200);
      return { orderId: result.orderId, status: result.status };
    },
  );

  app.get(
    '/api/me/orders',
    {
      schema: {
        tags: ['shopper'],
        summary: "a signed-in shop account's orders across sales, newest first (X-Shopper-Identity, or the session cookie)",
        response: { 200: Type.Object({ orders: Type.Array(MyOrder) }), 401: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const visitorId = await shopAccount(req, app.shopperIdentities, app.accountCookie, app.shopAccounts);
      const orders = await app.orders.ordersOf(visitorId);
      return { orders: await Promise.all(orders.map(async (o) => ({ ...(await orderAnswer(o, app.orderTokens)), saleName: o.saleName }))) };
    },
  );

  app.get(
    '/api/orders/:orderId',
    {
      schema: {
        tags: ['shopper'],
        summary: 'an order, for its owner (queue ticket or admission token)',
        params: Type.Object({ orderId: Type.String({ format: 'uuid' }) }),
        response: { 200: OrderResponse, 401: ErrorResponse, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req) => {
      const owner = await app.identity.orderOwner(req);
      const order = await app.orders.findOrder(req.params.orderId, owner.visitorId, owner.saleId);
      if (!order) throw new AppError('ORDER_NOT_FOUND', 'no such order for this shopper');
      return orderAnswer(order, app.orderTokens);
    },
  );

  /**
   * `/fairness` changes only when the sale's end passes (and the end is not allowed to move
   * once passed): each gateway keeps each answer a few seconds, never across the end, and
   * tells caches the same. A short life, not forever: a marketer may still move a future end.
   */
  const FAIRNESS_CACHE_MS = 5_000;
  const fairnessCache = new Map<string, { body: Static<typeof Fairness>; until: number }>();
  async function fairnessOf(saleId: string): Promise<{ body: Static<typeof Fairness>; until: number } | undefined> {
    const now = Date.now();
    const cached = fairnessCache.get(saleId);
    if (cached && cached.until > now) return cached;
    const sale = await app.sales.get(saleId);
    if (!sale) return undefined;
    // a retired sale is over for good (ended, or sold out with nothing to come back): no place
    // can be taken any more, so its seed is revealed even when it had no end set
    const ended = sale.retiredAt !== null || (sale.endsAt !== null && now >= sale.endsAt);
    const body = {
      saleId: sale.id,
      mode: sale.queueMode,
      windowSeconds: sale.windowSeconds,
      startsAt: iso(sale.startsAt)!,
      endsAt: iso(sale.endsAt),
      seedCommitment: seedCommitment(sale.seed),
      seed: ended ? sale.seed.toString('hex') : null,
      algorithm: FAIRNESS_ALGORITHM,
      auditUrl: ended ? `/api/sales/${sale.id}/fairness/audit` : null,
    };
    const until = ended || sale.endsAt === null ? now + FAIRNESS_CACHE_MS : Math.min(now + FAIRNESS_CACHE_MS, sale.endsAt);
    // bounded: sale ids come from the URL
    if (fairnessCache.size >= 1_000) fairnessCache.clear();
    const entry = { body, until };
    fairnessCache.set(saleId, entry);
    return entry;
  }

  app.get(
    '/api/sales/:saleId/fairness',
    {
      schema: {
        tags: ['shopper'],
        summary: 'the fairness commitment, and the seed once the sale has ended',
        params: SaleIdParams,
        response: { 200: Fairness, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req, reply) => {
      const entry = await fairnessOf(req.params.saleId);
      if (!entry) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
      reply.header('cache-control', `public, max-age=${Math.max(0, Math.floor((entry.until - Date.now()) / 1000))}`);
      return entry.body;
    },
  );

  app.get(
    '/api/sales/:saleId/fairness/audit',
    {
      schema: {
        tags: ['shopper'],
        summary: 'NDJSON export of every place in the queue, once the sale has ended',
        params: SaleIdParams,
        response: {
          200: Type.Unknown({ description: 'application/x-ndjson: one place in the queue per line' }),
          304: Type.Null(),
          404: ErrorResponse,
          409: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (req, reply) => {
      const entry = await fairnessOf(req.params.saleId);
      if (!entry) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
      if (entry.body.seed === null) throw new AppError('SALE_NOT_OPEN', 'the audit is published once the sale has ended');
      const slot = app.audit.acquire(req.ip);
      if (slot === 'address') {
        throw new AppError('RATE_LIMITED', 'too many audit downloads at once from this address', undefined, 5);
      }
      if (slot === 'gateway') throw new AppError('UNAVAILABLE', 'too many audit downloads at once: retry in a moment', undefined, 5);
      let released = false;
      const release = () => {
        if (!released) app.audit.release(req.ip);
        released = true;
      };
      try {
        const sale = await app.sales.get(req.params.saleId);
        if (!sale) throw new AppError('SALE_NOT_FOUND', `no sale ${req.params.saleId}`);
        const audit = await app.audit.get({
          id: sale.id,
          startsAt: sale.startsAt,
          windowSeconds: sale.windowSeconds,
          seed: sale.seed,
          retired: sale.retiredAt !== null,
        });
        reply.header('etag', audit.etag).header('cache-control', 'public, max-age=300');
        if (req.headers['if-none-match'] === audit.etag) {
          release();
          return reply.code(304).send(null);
        }
        const stream = app.audit.open(audit);
        stream.once('close', release);
        reply.raw.once('close', release);
        return reply.type('application/x-ndjson').header('content-length', audit.bytes).send(stream);
      } catch (err) {
        release();
        throw err;
      }
    },
  );
};

export default shopper;
