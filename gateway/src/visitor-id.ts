/**
 * Visitor ids: 128 random bits, URL-safe. The `vr_vid` cookie carries the id with an HMAC so
 * that a shopper keeps one identity across sales and tabs, and nobody can pick someone
 * else's id (that would take their place in the queue).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const VISITOR_ID_RE = /^[A-Za-z0-9_-]{22}$/;

export function newVisitorId(): string {
  return randomBytes(16).toString('base64url');
}

export class VisitorCookie {
  readonly #secret: Buffer;
  constructor(secret: string) {
    this.#secret = Buffer.from(`visitor-cookie:${secret}`, 'utf8');
  }

  seal(visitorId: string): string {
    return `${visitorId}.${this.#mac(visitorId)}`;
  }

  /** The visitor id inside a sealed cookie value, or undefined when it was tampered with. */
  open(value: string | undefined): string | undefined {
    if (!value || value.length > 100) return undefined;
    const dot = value.indexOf('.');
    if (dot < 0) return undefined;
    const id = value.slice(0, dot);
    if (!VISITOR_ID_RE.test(id)) return undefined;
    const given = Buffer.from(value.slice(dot + 1), 'utf8');
    const want = Buffer.from(this.#mac(id), 'utf8');
    return given.length === want.length && timingSafeEqual(given, want) ? id : undefined;
  }

  #mac(id: string): string {
    return createHmac('sha256', this.#secret).update(id).digest('base64url').slice(0, 32);
  }
}
