/**
 * The order token Velvet Rope hands the shopper to the shop's checkout with (`?order=&token=`):
 * an EdDSA JWT signed with the key ring published at `/.well-known/jwks.json`, claims `iss`,
 * `aud` (the sale id), `sub` (the shopper), `order_id`, `qty`, `exp` (the payment deadline), and
 * for a shopper this shop signed in `acct`, this shop's own account id.
 * The shop trusts nothing in the link until this says so; every refusal is a value with a code.
 */
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface OrderClaims {
  readonly orderId: string;
  readonly saleId: string;
  readonly shopperId: string;
  readonly quantity: number;
  /** this shop's account that bought (`acct`: the shopper was signed in), else null */
  readonly account: string | null;
  /** the end of the payment window */
  readonly paymentDueAt: Date;
}

export type TokenRefusal =
  /** not a token signed by Velvet Rope for one of this shop's sales (forged, altered, another issuer or sale) */
  | 'INVALID_TOKEN'
  /** the payment window is over */
  | 'TOKEN_EXPIRED'
  /** the token is for another order than the link names */
  | 'ORDER_MISMATCH'
  /** Velvet Rope's keys could not be fetched: try again shortly */
  | 'UNAVAILABLE';

export type TokenCheck = { readonly ok: true; readonly claims: OrderClaims } | { readonly ok: false; readonly refused: TokenRefusal };

export interface OrderTokenVerifier {
  verify(token: string, orderId: string): Promise<TokenCheck>;
}

export interface VerifierOptions {
  readonly issuer: string;
  /** the sales the shop accepts tokens of; empty: whichever sale the token names */
  readonly saleIds: readonly string[];
  /** the key set: Velvet Rope's JWKS (tests pass a local one) */
  readonly keys: JWTVerifyGetKey;
}

/**
 * Velvet Rope's JWKS, fetched when first needed and cached (jose refetches on an unknown `kid`,
 * so a key rotation needs nothing here). Under VELVET_ROPE_URL's path, like every call to it.
 */
export function velvetRopeKeys(velvetRopeUrl: string, timeoutMs = 5_000): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(`${velvetRopeUrl.replace(/\/+$/, '')}/.well-known/jwks.json`), { timeoutDuration: timeoutMs });
}

export function orderTokenVerifier(opts: VerifierOptions): OrderTokenVerifier {
  return {
    async verify(token, orderId) {
      let audience: string | string[];
      if (opts.saleIds.length > 0) audience = [...opts.saleIds];
      else {
        // no sale configured: the audience the token names, which the signature then covers
        let aud: unknown;
        try {
          aud = decodeJwt(token).aud;
        } catch {
          return { ok: false, refused: 'INVALID_TOKEN' };
        }
        if (typeof aud !== 'string') return { ok: false, refused: 'INVALID_TOKEN' };
        audience = aud;
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, opts.keys, { issuer: opts.issuer, audience, algorithms: ['EdDSA'] }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) return { ok: false, refused: 'TOKEN_EXPIRED' };
        if (keysUnreachable(err)) return { ok: false, refused: 'UNAVAILABLE' };
        return { ok: false, refused: 'INVALID_TOKEN' };
      }
      const { order_id: claimedOrder, qty, aud, sub, exp, acct } = payload;
      if (typeof claimedOrder !== 'string' || typeof aud !== 'string' || typeof sub !== 'string' || typeof exp !== 'number') {
        return { ok: false, refused: 'INVALID_TOKEN' };
      }
      if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1) return { ok: false, refused: 'INVALID_TOKEN' };
      if (acct !== undefined && (typeof acct !== 'string' || acct.length === 0)) return { ok: false, refused: 'INVALID_TOKEN' };
      if (claimedOrder !== orderId) return { ok: false, refused: 'ORDER_MISMATCH' };
      return {
        ok: true,
        claims: {
          orderId: claimedOrder,
          saleId: aud,
          shopperId: sub,
          quantity: qty,
          account: acct ?? null,
          paymentDueAt: new Date(exp * 1000),
        },
      };
    },
  };
}

/** the key set could not be fetched: a timeout, a network error (not a jose error), or a non-200 answer (jose's generic error) */
function keysUnreachable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout) return true;
  if (!(err instanceof errors.JOSEError)) return true;
  return err.code === 'ERR_JOSE_GENERIC';
}
