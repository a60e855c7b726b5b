/**
 * Where shoppers' credentials come from: `Authorization: Bearer <token>` (apps, load tools)
 * or the cookies join sets (browsers).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '@velvet-rope/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { TICKET_LIFETIME_SECONDS } from '../tokens/queue-ticket.js';
import { ACCOUNT_COOKIE } from '../tokens/account.js';
import { SIGN_IN_COOKIE } from '../tokens/sign-in-state.js';

/** how long a signed-in session of a shop account lasts in the browser */
export const ACCOUNT_SESSION_SECONDS = 12 * 3600;

export const TICKET_COOKIE = 'vr_ticket';
export const VISITOR_COOKIE = 'vr_vid';
/** the gate's cookie of one sale is `vr_gate_<saleId>` (gate/gate.ts) */
export const GATE_COOKIE_PREFIX = 'vr_gate_';

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

/** the cookies' attributes after `name=value`, over http and over https: every cookie of the gateway is HttpOnly and SameSite=Lax */
const cookieAttributes = (maxAge: number, path = '/') => {
  const plain = `; Max-Age=${maxAge}; Path=${path}; HttpOnly; SameSite=Lax`;
  return { http: plain, https: `${plain}; Secure` };
};
const schemeOf = (req: FastifyRequest) => (req.protocol === 'https' ? 'https' : 'http');
const TICKET_ATTRIBUTES = cookieAttributes(TICKET_LIFETIME_SECONDS);
const VISITOR_ATTRIBUTES = cookieAttributes(365 * 24 * 3600);
const ACCOUNT_ATTRIBUTES = cookieAttributes(ACCOUNT_SESSION_SECONDS);
const COOKIE_VALUE_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Sets the ticket and sealed-visitor cookies. Written directly, not through a cookie
 * library's serializer (@fastify/cookie's cost about a tenth of a join's CPU): both values are
 * ours and URL-safe base64 with dots (checked), so nothing needs encoding.
 */
export function setShopperCookies(
  reply: FastifyReply,
  req: FastifyRequest,
  ticket: string,
  sealedVisitor: string,
  /** the signed-in session of a shop account (tokens/account.ts), when the join brought one */
  accountSession?: string,
): void {
  if (!COOKIE_VALUE_RE.test(ticket) || !COOKIE_VALUE_RE.test(sealedVisitor)) throw new Error('cookie value outside the safe alphabet');
  const scheme = schemeOf(req);
  reply.header('set-cookie', [
    `${TICKET_COOKIE}=${ticket}${TICKET_ATTRIBUTES[scheme]}`,
    `${VISITOR_COOKIE}=${sealedVisitor}${VISITOR_ATTRIBUTES[scheme]}`,
    ...(accountSession !== undefined ? [accountCookieHeader(req, accountSession)] : []),
  ]);
}

/** `Set-Cookie` of the signed-in session of a shop account (tokens/account.ts) */
export function accountCookieHeader(req: FastifyRequest, accountSession: string): string {
  if (!COOKIE_VALUE_RE.test(accountSession)) throw new Error('cookie value outside the safe alphabet');
  return `${ACCOUNT_COOKIE}=${accountSession}${ACCOUNT_ATTRIBUTES[schemeOf(req)]}`;
}

/** `Set-Cookie` that ends the signed-in session (`/auth/logout`) */
export function accountCookieCleared(req: FastifyRequest): string {
  return `${ACCOUNT_COOKIE}=${cookieAttributes(0)[schemeOf(req)]}`;
}

/**
 * `Set-Cookie` of a sign-in under way (tokens/sign-in-state.ts), sent back to `/auth` only;
 * `null`: the sign-in is over (used once, whatever its outcome). SameSite=Lax: the provider's
 * redirect back is a top-level navigation from another site, which Lax lets the cookie ride.
 */
export function signInCookieHeader(req: FastifyRequest, sealed: string | null, maxAgeSeconds: number): string {
  if (sealed !== null && !COOKIE_VALUE_RE.test(sealed)) throw new Error('cookie value outside the safe alphabet');
  return `${SIGN_IN_COOKIE}=${sealed ?? ''}${cookieAttributes(sealed === null ? 0 : maxAgeSeconds, '/auth')[schemeOf(req)]}`;
}

/**
 * The gate's cookie for one sale (gate/gate.ts), living as long as the admission: the shop's
 * gated pages open to this browser until the admission ends.
 */
export function setGateCookie(reply: FastifyReply, req: FastifyRequest, saleId: string, value: string, expiresAt: number): void {
  if (!COOKIE_VALUE_RE.test(value) || !COOKIE_VALUE_RE.test(saleId)) throw new Error('cookie value outside the safe alphabet');
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  reply.header('set-cookie', `${GATE_COOKIE_PREFIX}${saleId}=${value}${cookieAttributes(maxAge)[schemeOf(req)]}`);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The bucket failed admin authentications count in for an address: an IPv4 address itself
 * (also when IPv4-mapped), an IPv6 address's /64, which one subscriber usually holds whole
 * (a per-/128 count would hand an attacker 2^64 fresh budgets).
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const bare = ip.split('%')[0]!.toLowerCase();
  const [head = '', tail = ''] = bare.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = bare.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = bare.includes('::')
    ? [...headGroups, ...new Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** How failed admin authentications are limited per address (in Redis: every gateway counts the same). */
export interface AdminAuthLimit {
  readonly redis: RedisClient;
  /** the counter's key for an address */
  readonly keyFor: (address: string) => string;
  /** wrong keys an address may send per window; 0: not limited */
  readonly failures: number;
  readonly windowMs: number;
}

/**
 * onRequest hook for marketer routes (before the body is read or validated, so a caller
 * without the key learns nothing of the schema): the admin key, compared in constant time.
 * With a limit, an address that sent `failures` wrong keys within the window is locked out
 * until the window ends, whatever key it sends next: were a right key still let through, each
 * further guess would be answered right or wrong, and the limit would bound nothing.
 */
export function requireAdminKey(adminApiKey: string, limit?: AdminAuthLimit) {
  return requireApiKey(adminApiKey, 'admin API key', limit);
}

/**
 * The same check for the shop's API (routes/shop.ts), under its own key (SHOP_API_KEY) and
 * its own failure counter. No key configured: every call is refused (401), the shop API is off.
 */
export function requireShopKey(shopApiKey: string | undefined, limit?: AdminAuthLimit) {
  if (shopApiKey === undefined) {
    return async (): Promise<void> => {
      throw new AppError('UNAUTHORIZED', 'the shop API is not enabled on this deployment (SHOP_API_KEY is not set)');
    };
  }
  return requireApiKey(shopApiKey, 'shop API key', limit);
}

function requireApiKey(apiKey: string, what: string, limit?: AdminAuthLimit) {
  const want = digest(apiKey);
  const limited = limit !== undefined && limit.failures > 0 ? limit : undefined;
  return async (req: FastifyRequest): Promise<void> => {
    const counter = limited?.keyFor(addressBucket(req.ip));
    if (limited && counter) {
      const [failures, ttl] = await Promise.all([limited.redis.get(counter), limited.redis.pttl(counter)]);
      if (Number(failures ?? 0) >= limited.failures) {
        const seconds = Math.max(1, Math.ceil((ttl > 0 ? ttl : limited.windowMs) / 1000));
        throw new AppError('RATE_LIMITED', `too many wrong ${what}s from this address; retry later`, undefined, seconds);
      }
    }
    const given = bearerToken(req);
    if (!given || !timingSafeEqual(digest(given), want)) {
      if (limited && counter && given) {
        // the window starts at the address's first failure
        await limited.redis.multi().set(counter, '0', 'PX', limited.windowMs, 'NX').incr(counter).exec();
      }
      throw new AppError('UNAUTHORIZED', `the ${what} is missing or wrong (Authorization: Bearer <key>)`);
    }
  };
}
