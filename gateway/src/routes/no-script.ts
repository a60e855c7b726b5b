/**
 * The waiting room without JavaScript (issue 16 item 9). The static page's `<noscript>` form
 * posts to `POST /sales/:saleId` (or `/sales/:saleId/join`), which joins through the same
 * queue service, identity and cookies as the API, so the place is the one a page with
 * JavaScript would see; then `GET /sales/:saleId/wait` renders where the shopper stands,
 * refreshing itself at the advised interval; at the turn, its form posts to
 * `/sales/:saleId/buy`, which buys through the purchase service with the admission the
 * ticket cookie's standing holds. Every POST is answered `303` to the wait page, which also
 * shows the order. Refusals are pages, with the error's status, to a request that accepts HTML
 * (a browser's always does); JSON errors from the catalogue to one that does not. Every page
 * is in the shopper's language (`?lang=`, then Accept-Language, as the shopper's page), its
 * words from the same catalogue (pages/page-texts.ts), branded as the shopper's page.
 */
import { isSaleId, type Notice } from '@velvet-rope/contracts';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { setShopperCookies } from '../http/credentials.js';
import { saleJoiner } from '../http/shop-identity.js';
import { formPostAllowed } from '../http/origin.js';
import { renderProblemPage, renderWaitPage, type PageLook, type PageOrder, type WaitView } from '../pages/no-script-page.js';
import { orderAnswer } from '../purchase/orders.js';
import { languageHeaders } from '../plugins/page-look.js';

/**
 * A refusal as a page in the shopper's language (its status and Retry-After kept), to a
 * request that asks for HTML; undefined (the app's JSON answers) otherwise, or when the
 * pages are not built. Shared by these routes and the sign-in's (routes/auth.ts).
 */
export function problemPage(
  req: FastifyRequest,
  reply: FastifyReply,
  err: AppError,
  look: PageLook | undefined,
  sale: { id: string; name: string } | null = null,
  notice: Notice | null = null,
): string | undefined {
  if (!look || !(req.headers.accept ?? '').includes('text/html')) return undefined;
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  const retry = err.retryAfterSeconds ?? (err.code === 'UNAVAILABLE' ? 2 : undefined);
  reply.code(err.statusCode).type('text/html; charset=utf-8').header('cache-control', 'no-store');
  languageHeaders(reply, look.text.lang);
  const signInUrl = typeof err.details?.signInUrl === 'string' ? err.details.signInUrl : undefined;
  return renderProblemPage(
    sale,
    { code: err.code, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}), ...(signInUrl ? { signInUrl } : {}) },
    notice,
    look,
  );
}

const noScript: FastifyPluginAsync = async (app) => {
  // forms only here (encapsulated): the API stays JSON
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1_024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const saleIdOf = (req: FastifyRequest): string => {
    const { saleId } = req.params as { saleId: string };
    if (!isSaleId(saleId)) throw new AppError('SALE_NOT_FOUND', 'no such sale');
    return saleId;
  };
  const html = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  // the language the address chose goes along (pages/page-look.ts)
  const toWait = (req: FastifyRequest, reply: FastifyReply, saleId: string) =>
    reply.redirect(`/sales/${encodeURIComponent(saleId)}/wait${app.pageLook.forRequest(req)?.langQuery ?? ''}`, 303);
  const checkForm = (req: FastifyRequest) => {
    if (!formPostAllowed(req, app.config.allowedOrigins, app.config.trustProxy)) {
      throw new AppError('FORBIDDEN_ORIGIN', 'this form was sent from another site');
    }
  };

  // a refusal is a page (with its status) for a browser, which asks for HTML on every form post
  // and navigation; a client that does not (a script, an API client) gets the catalogue's JSON
  // from the app's handler, as does anything that is not a refusal
  app.setErrorHandler(async (err, req, reply) => {
    const look = app.pageLook.forRequest(req);
    if (!(err instanceof AppError) || !look || !(req.headers.accept ?? '').includes('text/html')) throw err;
    const { saleId } = (req.params ?? {}) as { saleId?: string };
    const known = saleId !== undefined && isSaleId(saleId) ? saleId : undefined;
    const [sale, notice] = known
      ? await Promise.all([app.sales.live(known).catch(() => undefined), app.notices.current(known)])
      : [undefined, null];
    const page = problemPage(req, reply, err, look, sale ? { id: sale.id, name: sale.name } : null, notice);
    if (page === undefined) throw err;
    return page;
  });

  const join = async (req: FastifyRequest, reply: FastifyReply) => {
    const saleId = saleIdOf(req);
    checkForm(req);
    // a sale for the shop's accounts takes the account here too (it let anyone in by this form)
    const { who, session } = await saleJoiner(app, req, saleId, app.identity.joiner(req, saleId));
    const joined = await app.queue.join(saleId, who, req.ip);
    setShopperCookies(reply, req, joined.ticket, app.visitorCookie.seal(joined.visitorId), session);
    return toWait(req, reply, saleId);
  };
  app.post('/sales/:saleId', { onRequest: app.limits.join }, join);
  app.post('/sales/:saleId/join', { onRequest: app.limits.join }, join);

  app.get('/sales/:saleId/wait', { onRequest: app.limits.status }, async (req, reply) => {
    const saleId = saleIdOf(req);
    const look = app.pageLook.forRequest(req);
    if (!look) throw new AppError('ROUTE_NOT_FOUND', 'the waiting-room page is not built (npm run build)');
    const [sale, notice] = await Promise.all([app.sales.live(saleId), app.notices.current(saleId)]);
    if (!sale) throw await app.sales.missing(saleId);
    const ticket = app.identity.ticketFor(req, saleId);
    let view: WaitView = { kind: 'not-joined' };
    if (ticket?.ok) {
      const s = await app.queue.status(saleId, ticket.claims);
      let order: PageOrder | undefined;
      if (s.status === 'ordered' && s.orderId) {
        const read = await app.orders.findOrder(s.orderId, ticket.claims.sub, saleId);
        if (read) {
          const answer = await orderAnswer(read, app.orderTokens);
          order = {
            orderId: answer.orderId,
            status: answer.status,
            quantity: answer.quantity,
            ...(answer.checkout ? { checkoutUrl: answer.checkout.url } : {}),
          };
        } else {
          order = { orderId: s.orderId, status: 'pending', quantity: 0 };
        }
      }
      view = {
        kind: 'standing',
        status: s.status,
        position: s.position,
        waiting: s.waiting,
        etaSeconds: s.etaSeconds,
        retryAfterMs: s.retryAfterMs,
        ...(s.admission ? { expiresAt: s.admission.expiresAt } : {}),
        ...(order ? { order } : {}),
      };
    }
    languageHeaders(reply, look.text.lang);
    return html(reply, renderWaitPage({ id: sale.id, name: sale.name, maxPerShopper: sale.maxPerShopper }, view, notice, look));
  });

  app.post('/sales/:saleId/buy', { onRequest: app.limits.purchase }, async (req, reply) => {
    const saleId = saleIdOf(req);
    checkForm(req);
    const standing = await app.queue.status(saleId, app.identity.ticketClaims(req, saleId));
    // a second press of the button, or a refresh of the POST: the order is on the wait page
    if (standing.status === 'ordered') return toWait(req, reply, saleId);
    if (!standing.admission) throw new AppError('NOT_ADMITTED', 'it is not your turn yet');
    const { quantity } = (req.body ?? {}) as { quantity?: unknown };
    const result = await app.purchases.buy(saleId, standing.admission.token, Number(quantity ?? 1), req.ip);
    if (result.remaining === 0) {
      // as the API's purchase does: every waiting page hears of the last unit now
      const live = await app.sales.live(saleId).catch(() => undefined);
      if (live) app.realtime.soldOut(saleId, live);
    }
    return toWait(req, reply, saleId);
  });
};

export default noScript;
