/**
 * Shoppers from the shop (issue 15 item 1): a sale with `identity: shop` takes only shoppers
 * the shop vouches for, with a JWT it signed (`X-Shopper-Identity` on join; the page takes it
 * from the link the shop sent). Verified against the shop's keys: its JWKS (SHOP_JWKS_URL,
 * fetched and cached by jose's remote key set, which fetches again when a token names a key
 * it does not know: a rotation is followed) or a shared HS256 secret (SHOP_IDENTITY_SECRET),
 * never both, so a public key can never be used as an HMAC secret. The issuer and audience
 * are pinned; `sub` (the account) and a short `exp` are required; `alg: none` is refused.
 *
 * One place per account: the account's visitor id is derived from the account (account.ts), so
 * the same account from any browser, device or cookie jar is the same visitor of the sale: one
 * place in its queue, one order limit.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ShopIdentityConfig } from '../config.js';
import type { AccountIds } from './account.js';

/** the longest an identity may still be valid for: a link, not a session */
export const MAX_IDENTITY_LIFETIME_SECONDS = 3_600;
/** clock skew allowed between the shop and the gateway */
const CLOCK_TOLERANCE_SECONDS = 30;
/** the asymmetric algorithms a JWKS key may sign with */
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export type IdentityResult =
  | { readonly ok: true; readonly issuer: string; readonly account: string; readonly visitorId: string }
  | { readonly ok: false; readonly code: 'INVALID_IDENTITY'; readonly reason: string }
  /** the shop's keys could not be fetched: not the shopper's fault, try again in a moment */
  | { readonly ok: false; readonly code: 'UNAVAILABLE'; readonly reason: string };

export class ShopperIdentities {
  readonly #key: JWTVerifyGetKey | Uint8Array;
  readonly #algorithms: string[];

  constructor(
    private readonly config: ShopIdentityConfig,
    private readonly accounts: AccountIds,
  ) {
    if (config.jwksUrl) {
      // cached for 10 minutes; a token with an unknown `kid` (a rotated key) fetches again, at
      // most every 5 s, so a flood of forged kids costs the shop one fetch per 5 s
      this.#key = createRemoteJWKSet(new URL(config.jwksUrl), { cacheMaxAge: 600_000, cooldownDuration: 5_000, timeoutDuration: 5_000 });
      this.#algorithms = PUBLIC_KEY_ALGORITHMS;
    } else {
      this.#key = new TextEncoder().encode(config.secret!);
      this.#algorithms = ['HS256'];
    }
  }

  /** Verifies an identity; never throws (a JWKS that cannot be fetched is a refusal too). */
  async verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<IdentityResult> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8_192) return refused('not a JWT');
    try {
      const { payload } = await jwtVerify(token, this.#key as JWTVerifyGetKey, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.#algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(nowSeconds * 1000),
      });
      const sub = payload.sub!;
      if (sub.length === 0 || sub.length > 255) return refused('sub must be 1 to 255 characters');
      if (payload.exp! > nowSeconds + MAX_IDENTITY_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
        return refused(`exp is more than ${MAX_IDENTITY_LIFETIME_SECONDS} s away: an identity link must be short-lived`);
      }
      const { issuer } = this.config;
      return { ok: true, issuer, account: sub, visitorId: this.accounts.visitorId({ issuer, subject: sub }) };
    } catch (err) {
      if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError)) {
        return { ok: false, code: 'UNAVAILABLE', reason: "the shop's keys could not be fetched" };
      }
      return refused(reason(err));
    }
  }

  /** The visitor id an account of the shop joins every sale as (account.ts). */
  visitorIdOf(account: string): string {
    return this.accounts.visitorId({ issuer: this.config.issuer, subject: account });
  }
}

function refused(why: string): IdentityResult {
  return { ok: false, code: 'INVALID_IDENTITY', reason: why };
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim}: ${err.reason}`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return "no key of the shop's matches";
  return (err as errors.JOSEError).code;
}
