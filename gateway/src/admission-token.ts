/**
 * Admission tokens: EdDSA JWTs a shopper presents to buy, and that a shop's own services can
 * verify through the JWKS. `jti` is an unguessable id that Redis holds for the admitted
 * visitor; `exp` is the end of the checkout window.
 *
 * Ed25519 signatures are deterministic, so signing the same admission twice gives the same
 * token: `/queue/me` and the socket push can each sign on demand instead of storing tokens.
 */
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { KeyRing } from './signing-keys.js';

export interface AdmissionClaims {
  readonly sub: string;
  readonly sale: string;
  readonly jti: string;
  readonly max_qty: number;
  /** admission sequence number within the sale: the order in which shoppers got their turn */
  readonly adm: number;
  /** seconds */
  readonly exp: number;
}

export type AdmissionResult =
  | { ok: true; claims: AdmissionClaims }
  /** `expiredSubject`: a genuine token of this sale past its expiry: whose it was */
  | { ok: false; code: 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'WRONG_SALE'; expiredSubject?: string };

export interface Admission {
  readonly visitorId: string;
  readonly saleId: string;
  readonly jti: string;
  readonly maxQuantity: number;
  readonly sequence: number;
  /** ms */
  readonly expiresAt: number;
}

export class AdmissionTokens {
  constructor(
    private readonly keys: KeyRing,
    readonly issuer: string,
  ) {}

  sign(a: Admission): Promise<string> {
    const key = this.keys.active;
    return new SignJWT({ sale: a.saleId, max_qty: a.maxQuantity, adm: a.sequence })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(a.saleId)
      .setSubject(a.visitorId)
      .setJti(a.jti)
      .setExpirationTime(Math.floor(a.expiresAt / 1000))
      .sign(key.privateKey);
  }

  /**
   * Verifies with the algorithm pinned to EdDSA, the key chosen by `kid` from our own set,
   * issuer and audience (= the sale) checked. `currentDate` freezes the clock in tests.
   */
  async verify(token: string, saleId: string, currentDate?: Date): Promise<AdmissionResult> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.keys.byKid(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key.publicKey;
        },
        {
          algorithms: ['EdDSA'],
          issuer: this.issuer,
          requiredClaims: ['sub', 'jti', 'exp', 'aud'],
          ...(currentDate ? { currentDate } : {}),
        },
      ));
    } catch (err) {
      if (err instanceof errors.JWTExpired) {
        // jose checks the signature before the claims: this payload is genuine
        const p = err.payload;
        const ours = typeof p.sub === 'string' && p.sale === saleId && (Array.isArray(p.aud) ? p.aud : [p.aud]).includes(saleId);
        return { ok: false, code: 'TOKEN_EXPIRED', ...(ours ? { expiredSubject: p.sub as string } : {}) };
      }
      return { ok: false, code: 'INVALID_TOKEN' };
    }
    // audience checked here rather than by jose, so that a valid token of another sale gets
    // its own code (WRONG_SALE) instead of a generic refusal
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(saleId) || payload.sale !== saleId) return { ok: false, code: 'WRONG_SALE' };
    const maxQty = payload.max_qty;
    const adm = payload.adm;
    if (typeof maxQty !== 'number' || !Number.isInteger(maxQty) || maxQty < 1 || typeof adm !== 'number') {
      return { ok: false, code: 'INVALID_TOKEN' };
    }
    return {
      ok: true,
      claims: {
        sub: payload.sub!,
        sale: saleId,
        jti: payload.jti!,
        max_qty: maxQty,
        adm,
        exp: payload.exp!,
      },
    };
  }
}
