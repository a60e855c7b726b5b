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

/**
 * One cookie's value from the request's Cookie header, or undefined. The gateway reads only
 * its own two cookies, whose values it wrote from a URL-safe alphabet, so nothing is decoded;
 * a value in double quotes (RFC 6265 allows them) is unquoted. Read on demand: most requests
 * (load tools, apps, every status poll with a bearer ticket) never need a cookie parsed.
 */
export function cookieValue(req: { headers: { cookie?: string | undefined } }, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

/** the cookies' attributes after `name=value`, over http and over https */
const cookieAttributes = (maxAge: number) => {
  const plain = `; Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Lax`;
  return { http: plain, https: `${plain}; Secure` };
};
const TICKET_ATTRIBUTES = cookieAttributes(TICKET_LIFETIME_SECONDS);
const VISITOR_ATTRIBUTES = cookieAttributes(365 * 24 * 3600);
const COOKIE_VALUE_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Sets the ticket and sealed-visitor cookies. Written directly, not through a cookie
 * library's serializer (@fastify/cookie's cost about a tenth of a join's CPU): both values are
 * ours and URL-safe base64 with dots (checked), so nothing needs encoding.
 */
export function setShopperCookies(reply: FastifyReply, req: FastifyRequest, ticket: string, sealedVisitor: string): void {
  if (!COOKIE_VALUE_RE.test(ticket) || !COOKIE_VALUE_RE.test(sealedVisitor)) throw new Error('cookie value outside the safe alphabet');
  const scheme = req.protocol === 'https' ? 'https' : 'http';
  reply.header('set-cookie', [
    `${TICKET_COOKIE}=${ticket}${TICKET_ATTRIBUTES[scheme]}`,
    `${VISITOR_COOKIE}=${sealedVisitor}${VISITOR_ATTRIBUTES[scheme]}`,
  ]);
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
