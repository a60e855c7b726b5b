/**
 * Shop accounts (issue 15): a shopper the shop signed in, known by the shop's issuer and the
 * account's `sub`. Everything the gateway keys on a visitor (the place, the admission, the
 * order limit, the orders) is keyed on a visitor id; an account's visitor id is derived from
 * the account, the same on every gateway, browser, device and cookie jar, so an account holds
 * one place and one order limit per sale whatever it joins from.
 *
 * - `accountVisitorId` derives that id: 128 bits of HMAC(secret, issuer, subject), the shape of
 *   every other visitor id (visitor-id.ts), so no route, script or table changes for it.
 * - `AccountCookie` is the signed-in session the gateway keeps for the browser (`vr_account`,
 *   HttpOnly): set when a join brings a shop identity (`X-Shopper-Identity`) and at the end of
 *   the OpenID Connect sign-in. It carries the visitor id, the expiry and a MAC; it is opened
 *   without any round trip.
 */
import { timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac.js';
import { VISITOR_ID_RE } from './visitor-id.js';

export const ACCOUNT_COOKIE = 'vr_account';

/** A shopper the shop vouches for. */
export interface Account {
  /** the shop's issuer (`iss` of its identity token, or the OpenID provider's issuer) */
  readonly issuer: string;
  /** the account (`sub`) */
  readonly subject: string;
}

/** What a signed-in session cookie proves. */
export interface AccountSession {
  readonly visitorId: string;
  /** epoch ms */
  readonly expiresAt: number;
}

/** The visitor id of an account: the same for the same account on every gateway. */
export class AccountIds {
  readonly #mac: HmacSha256;
  constructor(secret: string) {
    this.#mac = new HmacSha256(`account-visitor:${secret}`);
  }

  visitorId(account: Account): string {
    // a separator no issuer URL or subject can hold ambiguously: the lengths come first
    const message = `${account.issuer.length}:${account.issuer}\n${account.subject.length}:${account.subject}`;
    return this.#mac.digest(message).subarray(0, 16).toString('base64url');
  }
}

export class AccountCookie {
  readonly #mac: HmacSha256;
  constructor(secret: string) {
    this.#mac = new HmacSha256(`account-cookie:${secret}`);
  }

  /** `<visitorId>.<expiresAt in seconds, base 36>.<mac>` */
  seal(session: AccountSession): string {
    const body = `${session.visitorId}.${Math.ceil(session.expiresAt / 1000).toString(36)}`;
    return `${body}.${this.#sign(body)}`;
  }

  /** The session inside a cookie value; undefined when tampered with or expired. */
  open(value: string | undefined, now = Date.now()): AccountSession | undefined {
    if (!value || value.length > 100) return undefined;
    const last = value.lastIndexOf('.');
    if (last < 0) return undefined;
    const body = value.slice(0, last);
    const given = Buffer.from(value.slice(last + 1), 'utf8');
    const want = Buffer.from(this.#sign(body), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
    const [visitorId, exp] = body.split('.');
    if (!visitorId || !VISITOR_ID_RE.test(visitorId) || !exp || !/^[0-9a-z]{1,10}$/.test(exp)) return undefined;
    const expiresAt = parseInt(exp, 36) * 1000;
    return expiresAt > now ? { visitorId, expiresAt } : undefined;
  }

  #sign(body: string): string {
    return this.#mac.digest(body).toString('base64url').slice(0, 32);
  }
}
