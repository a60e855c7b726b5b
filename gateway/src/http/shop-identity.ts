/**
 * Who joins a sale for the shop's signed-in shoppers (`identity: shop`, issue 15 item 1):
 * an account, never a browser. In order:
 * - `X-Shopper-Identity: <jwt>`, the identity the shop signed (the page takes it from the link
 *   the shop sent): verified (tokens/shopper-identity.ts); the join then also sets the
 *   signed-in session cookie `vr_account`, so a reload or another tab needs no link;
 * - the `vr_account` session cookie;
 * - a ticket of this sale: every ticket of such a sale names an account's visitor id.
 * Anything else is refused 401 IDENTITY_REQUIRED, and an identity that does not verify 401
 * INVALID_IDENTITY: nobody takes a place in such a sale without an account. The visitor is
 * the account's visitor id (tokens/account.ts), the same from any browser, device or cookie
 * jar: one place and one order limit per account.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ShopAccounts } from '../accounts/shop-accounts.js';
import { AppError } from '../errors.js';
import { ACCOUNT_COOKIE, type AccountCookie } from '../tokens/account.js';
import type { ShopperIdentities } from '../tokens/shopper-identity.js';
import { ACCOUNT_SESSION_SECONDS, cookieValue } from './credentials.js';
import type { Identity } from './identity.js';

export const SHOPPER_IDENTITY_HEADER = 'x-shopper-identity';

/**
 * The visitor id of the account an identity header names, the account remembered behind it
 * (accounts/shop-accounts.ts); throws its refusal (401, or 503 when the shop's keys are out of reach).
 */
async function verifiedVisitor(
  shop: ShopperIdentities,
  accounts: ShopAccounts,
  header: string | string[],
): Promise<{ visitorId: string; account: string }> {
  const verified = await shop.verify(Array.isArray(header) ? '' : header);
  if (!verified.ok && verified.code === 'UNAVAILABLE') throw new AppError('UNAVAILABLE', verified.reason, undefined, 2);
  if (!verified.ok) throw new AppError('INVALID_IDENTITY', `the shopper identity is not valid: ${verified.reason}`);
  // not awaited: a join needs only Redis; the row follows within the turn (retried while PostgreSQL refuses)
  void accounts.remember(verified.visitorId, { issuer: verified.issuer, subject: verified.account });
  return { visitorId: verified.visitorId, account: verified.account };
}

/**
 * The shop account a request speaks for, outside a join (`GET /api/me/orders`): the
 * `X-Shopper-Identity` header, else the signed-in session cookie. Throws IDENTITY_REQUIRED
 * without either, INVALID_IDENTITY for an identity that does not verify.
 */
export async function shopAccount(
  req: FastifyRequest,
  shop: ShopperIdentities | undefined,
  sessions: AccountCookie,
  accounts: ShopAccounts,
): Promise<string> {
  const header = req.headers[SHOPPER_IDENTITY_HEADER];
  if (header !== undefined && shop) return (await verifiedVisitor(shop, accounts, header)).visitorId;
  const session = sessions.open(cookieValue(req, ACCOUNT_COOKIE));
  if (!session) throw new AppError('IDENTITY_REQUIRED', 'sign in at the shop (or follow its link) to see your orders');
  return session.visitorId;
}

/** A fresh signed-in session of an account: after a verified shop identity, or an OpenID Connect sign-in (routes/auth.ts). */
export function newAccountSession(sessions: AccountCookie, visitorId: string, account: string, now = Date.now()): string {
  return sessions.seal({ visitorId, account, expiresAt: now + ACCOUNT_SESSION_SECONDS * 1000 });
}

/**
 * Who joins this sale: on a sale for the shop's accounts (`identity: shop`) the account
 * (shopJoiner), else `who` as the credentials tell it. The one answer for every way in (the
 * API's join and the form of the page without JavaScript), so neither lets an anonymous
 * visitor into an account's sale.
 */
export async function saleJoiner(
  app: FastifyInstance,
  req: FastifyRequest,
  saleId: string,
  who: Identity,
): Promise<{ who: Identity; session?: string }> {
  if ((await app.sales.identityOf(saleId)) !== 'shop') return { who };
  const signInUrl = app.config.oidc ? `/auth/login?sale=${encodeURIComponent(saleId)}` : undefined;
  return shopJoiner(req, who, app.shopperIdentities, app.accountCookie, app.shopAccounts, signInUrl);
}

export async function shopJoiner(
  req: FastifyRequest,
  who: Identity,
  shop: ShopperIdentities | undefined,
  sessions: AccountCookie,
  accounts: ShopAccounts,
  /** where a shopper without an account signs in (`/auth/login?sale=<id>`), when OpenID Connect is configured */
  signInUrl?: string,
): Promise<{ who: Identity; session?: string }> {
  const header = req.headers[SHOPPER_IDENTITY_HEADER];
  let visitorId: string | undefined;
  let account: string | undefined;
  let session: string | undefined;
  if (header !== undefined) {
    if (!shop) {
      req.log.error('a sale asks for shop identities and this gateway has no SHOP_JWKS_URL or SHOP_IDENTITY_SECRET');
      throw new AppError('UNAVAILABLE', 'this gateway cannot check shop identities right now', undefined, 5);
    }
    ({ visitorId, account } = await verifiedVisitor(shop, accounts, header));
    session = newAccountSession(sessions, visitorId, account);
  } else {
    const opened = sessions.open(cookieValue(req, ACCOUNT_COOKIE));
    visitorId = opened?.visitorId;
    account = opened?.account;
  }
  if (visitorId === undefined) {
    // a ticket of this very sale was made for an account (nothing else gets a place here)
    if (who.provenBy === 'ticket') return { who };
    throw new AppError(
      'IDENTITY_REQUIRED',
      "this sale is for the shop's signed-in shoppers: open the link the shop sent you, or sign in",
      signInUrl !== undefined ? { signInUrl } : undefined,
    );
  }
  // the ticket's place only when it is this account's; the account as the identity or the
  // session names it, else as this account's ticket does (a session sealed before it carried one)
  const sameVisitor = who.provenBy === 'ticket' && who.visitorId === visitorId;
  account ??= sameVisitor ? who.account : undefined;
  const joiner: Identity = sameVisitor ? who : { visitorId, provenBy: 'shop-account', ...(who.proof ? { proof: who.proof } : {}) };
  return {
    who: account !== undefined ? { ...joiner, account } : joiner,
    ...(session !== undefined ? { session } : {}),
  };
}
