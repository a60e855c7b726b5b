/**
 * Where shoppers' credentials come from: `Authorization: Bearer <token>` (apps, load tools)
 * or the cookies join sets (browsers).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { TICKET_LIFETIME_SECONDS } from '../queue-ticket.js';

export const TICKET_COOKIE = 'vr_ticket';
export const VISITOR_COOKIE = 'vr_vid';

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

export function setShopperCookies(reply: FastifyReply, req: FastifyRequest, ticket: string, sealedVisitor: string): void {
  const base = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: req.protocol === 'https' };
  reply.setCookie(TICKET_COOKIE, ticket, { ...base, maxAge: TICKET_LIFETIME_SECONDS });
  reply.setCookie(VISITOR_COOKIE, sealedVisitor, { ...base, maxAge: 365 * 24 * 3600 });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** preHandler for marketer routes: the admin key, compared in constant time. */
export function requireAdminKey(adminApiKey: string) {
  const want = digest(adminApiKey);
  return async (req: FastifyRequest): Promise<void> => {
    const given = bearerToken(req);
    if (!given || !timingSafeEqual(digest(given), want)) {
      throw new AppError('UNAUTHORIZED', 'the admin API key is missing or wrong (Authorization: Bearer <key>)');
    }
  };
}
