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
 *   the OpenID Connect sign-in. It carries the visitor id, the expiry, the account (for the
 *   tickets' and admission tokens' `acct`) and a MAC; it is opened
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

/** An account as the tokens name it (the `acct` claim): its `sub`, 1 to 255 characters. */
export function isAccountId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 255;
}

/** What a signed-in session cookie proves. */
export interface AccountSession {
  readonly visitorId: string;
  /**
   * the account (`sub`) the visitor id was made from, for the ticket's and the admission
   * token's `acct`; absent in a session sealed before the cookie carried it
   */
  readonly account?: string;
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

/** the longest session cookie: a visitor id, an expiry, an account of 255 characters (up to 4 bytes each) in base64url, a MAC */
const MAX_COOKIE_LENGTH = 1_500;

export class AccountCookie {
  readonly #mac: HmacSha256;
  constructor(secret: string) {
    this.#mac = new HmacSha256(`account-cookie:${secret}`);
  }

  /** `<visitorId>.<expiresAt in seconds, base 36>[.<account, base64url>].<mac>` */
  seal(session: AccountSession): string {
    const account = session.account !== undefined ? `.${Buffer.from(session.account, 'utf8').toString('base64url')}` : '';
    const body = `${session.visitorId}.${Math.ceil(session.expiresAt / 1000).toString(36)}${account}`;
    return `${body}.${this.#sign(body)}`;
  }

  /** The session inside a cookie value; undefined when tampered with or expired. */
  open(value: string | undefined, now = Date.now()): AccountSession | undefined {
    if (!value || value.length > MAX_COOKIE_LENGTH) return undefined;
    const last = value.lastIndexOf('.');
    if (last < 0) return undefined;
    const body = value.slice(0, last);
    const given = Buffer.from(value.slice(last + 1), 'utf8');
    const want = Buffer.from(this.#sign(body), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
    const [visitorId, exp, encodedAccount, extra] = body.split('.');
    if (!visitorId || !VISITOR_ID_RE.test(visitorId) || !exp || !/^[0-9a-z]{1,10}$/.test(exp) || extra !== undefined) return undefined;
    const expiresAt = parseInt(exp, 36) * 1000;
    if (expiresAt <= now) return undefined;
    if (encodedAccount === undefined) return { visitorId, expiresAt };
    const account = Buffer.from(encodedAccount, 'base64url').toString('utf8');
    return isAccountId(account) ? { visitorId, expiresAt, account } : undefined;
  }

  #sign(body: string): string {
    return this.#mac.digest(body).toString('base64url').slice(0, 32);
  }
}
