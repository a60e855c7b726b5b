/**
 * Who is asking: the one answer for the shopper routes, the rate limits and the sockets.
 *
 * A request proves it speaks for a visitor with one of:
 * - a queue ticket (HS256, `Authorization: Bearer` first, else the `vr_ticket` cookie), of the
 *   sale asked about or of another sale;
 * - the sealed visitor cookie (`vr_vid`), on join only: it keeps one visitor across sales;
 * - an admission token (EdDSA), on the purchase route's limit and the order look-up.
 * Nothing unverified ever names a visitor: a forged token carrying a shopper's `sub` would
 * otherwise spend that shopper's budget or take their place.
 *
 * A request's ticket is verified once, whoever asks first (the rate limiter's key, then the
 * route): the verification (for signature, issuer and expiry, whatever the sale) is kept on
 * the request, and each sale's answer is derived from it.
 */
import type { FastifyRequest } from 'fastify';
import { isSaleId, type SocketData } from '@velvet-rope/contracts';
import { AppError } from '../errors.js';
import type { AdmissionTokens } from '../tokens/admission-token.js';
import type { TicketClaims, TicketResult, TicketSigner } from '../tokens/queue-ticket.js';
import type { VisitorCookie } from '../tokens/visitor-id.js';
import { bearerToken, cookieValue, TICKET_COOKIE, VISITOR_COOKIE } from './credentials.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the request's ticket, verified (identity.ts); `null` until first asked for */
    presentedTicket: PresentedTicket | null;
  }
}

/** How a visitor was proven. */
export type ProvenBy = 'ticket' | 'ticket-of-another-sale' | 'visitor-cookie' | 'admission-token' | 'shop-account';

/** who is asking a join: a visitor id we trust (from a ticket or the sealed cookie) and the ticket's score */
export interface Identity {
  readonly visitorId?: string;
  /** how `visitorId` was proven */
  readonly provenBy?: ProvenBy;
  /** the shop's account `visitorId` was made from (`identity: shop` sales): the ticket's and admission token's `acct` */
  readonly account?: string;
  /** the score of a valid ticket for this very sale */
  readonly ticketScore?: number;
  /** a valid ticket of this very sale came with the join: it cannot create a new place for a stranger */
  readonly ticketOfThisSale?: boolean;
  /** a verified proof of work (its nonce and strength), for sales that ask for one */
  readonly proof?: { readonly nonce: string; readonly bits: number };
}

/** The owner an order look-up is answered for. */
export interface OrderOwner {
  readonly visitorId: string;
  readonly saleId: string;
  readonly provenBy: 'ticket' | 'admission-token';
}

/** The ticket a request presents: the bearer token, else the ticket cookie; verified for any sale. */
export interface PresentedTicket {
  readonly token: string;
  /** it came in the Authorization header (a client that presents a ticket explicitly) */
  readonly fromHeader: boolean;
  /** signature, issuer and expiry; not the sale (see `forSale`) */
  readonly result: TicketResult;
}

/** why a socket's handshake is refused: the client's `connect_error`, with the code in `err.data.code` */
export type SocketRefusal = 'INVALID_TICKET' | 'TOKEN_EXPIRED' | 'WRONG_SALE';

/** what a socket's handshake presents (socket.io's `socket.handshake`) */
export interface Handshake {
  readonly auth: unknown;
  readonly headers: { cookie?: string | undefined };
}

const NO_TICKET: PresentedTicket = Object.freeze({
  token: '',
  fromHeader: false,
  result: Object.freeze({ ok: false, code: 'INVALID_TICKET' }),
});
const WRONG_SALE: TicketResult = Object.freeze({ ok: false, code: 'WRONG_SALE' });

/** Who a socket with this ticket speaks for. */
function socketOf(claims: TicketClaims): SocketData {
  return { saleId: claims.sale, visitorId: claims.sub, ...(claims.acct !== undefined ? { account: claims.acct } : {}) };
}

/**
 * A ticket verified for any sale, answered for sale `saleId`: the same as verifying it for
 * that sale (the sale is the verification's last check).
 */
function forSale(result: TicketResult, saleId: string | undefined): TicketResult {
  return result.ok && saleId !== undefined && result.claims.sale !== saleId ? WRONG_SALE : result;
}

export class Identities {
  constructor(
    private readonly tickets: TicketSigner,
    private readonly admissions: AdmissionTokens,
    private readonly visitorCookie: VisitorCookie,
  ) {}

  /** The ticket a request presents, verified once per request; undefined when it presents none. */
  presentedTicket(req: FastifyRequest): PresentedTicket | undefined {
    let presented = req.presentedTicket;
    if (presented === null) {
      const fromHeader = bearerToken(req);
      const token = fromHeader ?? cookieValue(req, TICKET_COOKIE);
      presented = token ? { token, fromHeader: fromHeader !== undefined, result: this.tickets.verify(token) } : NO_TICKET;
      req.presentedTicket = presented;
    }
    return presented === NO_TICKET ? undefined : presented;
  }

  /** The request's ticket verified for sale `saleId`; undefined when it presents none. */
  ticketFor(req: FastifyRequest, saleId: string): TicketResult | undefined {
    const presented = this.presentedTicket(req);
    return presented && forSale(presented.result, saleId);
  }

  /**
   * The ticket of this sale a status poll must present. Throws `INVALID_TICKET` without one,
   * and the verification's code for one that is not valid for this sale.
   */
  ticketClaims(req: FastifyRequest, saleId: string): TicketClaims {
    const result = this.ticketFor(req, saleId);
    if (!result) throw new AppError('INVALID_TICKET', 'a queue ticket is required: join the queue first');
    if (!result.ok) throw new AppError(result.code, 'the queue ticket is not valid for this sale');
    return result.claims;
  }

  /**
   * Who joins: a valid ticket of this sale (its visitor keeps the ticket's place), else a
   * ticket of another sale or the sealed visitor cookie (the same visitor, a new place in
   * this sale), else a stranger. A ticket presented in the Authorization header that is not
   * valid (other than being for another sale) is refused with its code rather than silently
   * given a new place; a bad ticket cookie falls back to the visitor cookie.
   */
  joiner(req: FastifyRequest, saleId: string): Identity {
    const presented = this.presentedTicket(req);
    if (presented) {
      const result = forSale(presented.result, saleId);
      if (result.ok) {
        const { claims } = result;
        return {
          visitorId: claims.sub,
          provenBy: 'ticket',
          ticketScore: claims.scr >= 0 ? claims.scr : undefined,
          ticketOfThisSale: true,
          ...(claims.acct !== undefined ? { account: claims.acct } : {}),
        };
      }
      if (presented.result.ok) return { visitorId: presented.result.claims.sub, provenBy: 'ticket-of-another-sale' };
      if (presented.fromHeader) throw new AppError(result.code, 'the queue ticket is not valid');
    }
    const visitorId = this.visitorCookie.open(cookieValue(req, VISITOR_COOKIE));
    return visitorId ? { visitorId, provenBy: 'visitor-cookie' } : {};
  }

  /**
   * The rate limiters' bucket: `v:<visitor>` for a request with a valid ticket (of any sale),
   * else `ip:<address>`.
   */
  rateLimitKey(req: FastifyRequest): string {
    const result = this.presentedTicket(req)?.result;
    return result?.ok ? `v:${result.claims.sub}` : `ip:${req.ip}`;
  }

  /**
   * The purchase limiter's bucket: a valid ticket's visitor, else the visitor of the bearer
   * admission token of the sale in the URL (fully verified: the purchase service may skip
   * that on its fast path, where Redis is the proof; here nothing else proves whose budget
   * this is), else the address.
   */
  async purchaseRateLimitKey(req: FastifyRequest): Promise<string> {
    const ticket = this.presentedTicket(req)?.result;
    if (ticket?.ok) return `v:${ticket.claims.sub}`;
    const token = bearerToken(req);
    const { saleId } = req.params as { saleId?: unknown };
    if (token && typeof saleId === 'string') {
      const verified = await this.admissions.verify(token, saleId);
      if (verified.ok) return `v:${verified.claims.sub}`;
    }
    return `ip:${req.ip}`;
  }

  /**
   * Whose orders a request may read: a valid ticket's visitor (of any sale), else the visitor
   * of a valid admission token (of the sale it names). Throws `INVALID_TICKET` when the
   * request presents no token, `INVALID_TOKEN` when it proves nobody.
   */
  async orderOwner(req: FastifyRequest): Promise<OrderOwner> {
    const presented = this.presentedTicket(req);
    if (!presented) throw new AppError('INVALID_TICKET', 'a queue ticket or admission token is required');
    const { token, result } = presented;
    if (result.ok) return { visitorId: result.claims.sub, saleId: result.claims.sale, provenBy: 'ticket' };
    const admission = await this.admissions.verifyForItsSale(token);
    if (admission?.ok) return { visitorId: admission.claims.sub, saleId: admission.claims.sale, provenBy: 'admission-token' };
    throw new AppError('INVALID_TOKEN', 'the token is not valid');
  }

  /**
   * Who a socket speaks for. Everything here comes from the client (the handshake's headers
   * and auth object): the function is total, and any failure is a refusal code.
   * - `auth.ticket`: must be a valid ticket (of `auth.saleId` when that names a sale);
   * - else the ticket cookie, which holds the ticket of the sale joined last: it speaks for
   *   this socket only when it is valid for the sale the page asks about (any, without one);
   * - else a page that names a sale (`auth.saleId`) follows that sale's room only.
   */
  socket(handshake: Handshake): SocketData | SocketRefusal {
    const given = handshake.auth;
    const auth = (given !== null && typeof given === 'object' ? given : {}) as { ticket?: unknown; saleId?: unknown };
    const wantedSale = typeof auth.saleId === 'string' && isSaleId(auth.saleId) ? auth.saleId : undefined;
    if (auth.ticket !== undefined) {
      if (typeof auth.ticket !== 'string') return 'INVALID_TICKET';
      const result = this.tickets.verify(auth.ticket, wantedSale);
      if (!result.ok) return result.code;
      return socketOf(result.claims);
    }
    const cookie = cookieValue(handshake, TICKET_COOKIE);
    const fromCookie = cookie ? this.tickets.verify(cookie, wantedSale) : undefined;
    if (fromCookie?.ok) return socketOf(fromCookie.claims);
    if (wantedSale) return { saleId: wantedSale };
    return 'INVALID_TICKET';
  }
}
