/**
 * Admission tokens: EdDSA JWTs a shopper presents to buy, and that a shop's own services can
 * verify through the JWKS. `jti` is an unguessable id that Redis holds for the admitted
 * visitor; `exp` is the end of the checkout window, in whole seconds rounded up (`tokenExpiry`).
 * On a sale for the shop's signed-in shoppers (`identity: shop`) `acct` names the shop's own
 * account (its identity's `sub`), so the shop's checkout knows whose turn this is without asking.
 *
 * Ed25519 signatures are deterministic, so signing the same admission twice gives the same
 * token: `/queue/me` and the socket push can each sign on demand instead of storing tokens.
 */
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { isAccountId } from './account.js';
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
  /** the shop's account (its identity's `sub`), on a sale for the shop's signed-in shoppers */
  readonly acct?: string;
}

export type AdmissionResult =
  | { ok: true; claims: AdmissionClaims }
  /** `expiredSubject`: a genuine token of this sale past its expiry: whose it was */
  | { ok: false; code: 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'WRONG_SALE'; expiredSubject?: string };

/**
 * What the purchase path reads from a token before (or instead of) verifying it: enough to
 * find the admission in Redis. Not proof of anything by itself (see `decodeUnverified`).
 */
export interface UnverifiedAdmission {
  readonly sub: string;
  readonly jti: string;
  /** the claims the reserve script compares with what Redis holds for this admission */
  readonly exp: number;
  readonly adm: number;
  readonly max_qty: number;
}

/** every claim an admission token carries (`sign` below); a token with any other is not ours */
const ADMISSION_CLAIMS = new Set(['sale', 'max_qty', 'adm', 'acct', 'iss', 'aud', 'sub', 'jti', 'exp']);

/** base64url, no padding: what a compact JWS part is made of */
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
/** an Ed25519 signature (64 bytes) in base64url */
const ED25519_SIGNATURE_LENGTH = 86;
const VISITOR_RE = /^[A-Za-z0-9_-]{16,64}$/;

export interface Admission {
  readonly visitorId: string;
  readonly saleId: string;
  readonly jti: string;
  readonly maxQuantity: number;
  readonly sequence: number;
  /** ms */
  readonly expiresAt: number;
  /** the shop's account the visitor id was made from (`identity: shop` sales): the `acct` claim */
  readonly account?: string | undefined;
}

/**
 * The token's `exp` (whole seconds) for an admission that ends at `expiresAtMs`: rounded UP,
 * so the token is never expired before the `expiresAt` the API announces (rounded down, a
 * purchase up to a second before it was refused). Redis holds the exact expiry and is the
 * authority: the reserve script refuses from `expiresAt` on, whatever the token says.
 */
export function tokenExpiry(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000);
}

export class AdmissionTokens {
  constructor(
    private readonly keys: KeyRing,
    readonly issuer: string,
  ) {}

  sign(a: Admission): Promise<string> {
    const key = this.keys.active;
    return new SignJWT({ sale: a.saleId, max_qty: a.maxQuantity, adm: a.sequence, ...(a.account !== undefined ? { acct: a.account } : {}) })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(a.saleId)
      .setSubject(a.visitorId)
      .setJti(a.jti)
      .setExpirationTime(tokenExpiry(a.expiresAt))
      .sign(key.privateKey);
  }

  /**
   * Reads a token without checking its signature, strictly: a compact JWS whose header is
   * `alg: EdDSA` with a `kid` of our key ring (and nothing that asks for special handling),
   * whose payload has exactly the claims we sign: this sale as `sale` and `aud`, our issuer,
   * a visitor id as `sub`, a `jti`, whole numbers `adm` and `max_qty`, and an `exp` not past
   * (the same instant jose calls expired). Anything else is `undefined`: the caller then
   * verifies fully and answers what verification says.
   *
   * This is not a verification. The purchase path may act on it only where Redis proves the
   * rest: the reserve script succeeds only for the visitor whose admission record holds this
   * very jti, which only the admitted shopper received, and only when `exp`, `adm` and
   * `max_qty` are what Redis holds for that admission (see purchase-service.ts).
   */
  decodeUnverified(token: string, saleId: string, nowMs: number = Date.now()): UnverifiedAdmission | undefined {
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) return undefined;
    const h = token.slice(0, dot1);
    const p = token.slice(dot1 + 1, dot2);
    const sig = token.slice(dot2 + 1);
    if (sig.length !== ED25519_SIGNATURE_LENGTH || !B64URL_RE.test(h) || !B64URL_RE.test(p) || !B64URL_RE.test(sig)) {
      return undefined;
    }
    const header = parseJsonObject(h);
    if (!header || header.alg !== 'EdDSA' || typeof header.kid !== 'string' || !this.keys.byKid(header.kid)) return undefined;
    if (header.crit !== undefined || header.b64 !== undefined) return undefined;
    const c = parseJsonObject(p);
    if (!c) return undefined;
    if (typeof c.sub !== 'string' || !VISITOR_RE.test(c.sub) || typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > 128) {
      return undefined;
    }
    if (c.sale !== saleId || c.aud !== saleId || c.iss !== this.issuer) return undefined;
    // jose: expired when exp <= now in whole seconds; a token near its end goes the slow way
    if (typeof c.exp !== 'number' || !Number.isFinite(c.exp) || c.exp <= Math.floor(nowMs / 1000)) return undefined;
    if (!Number.isSafeInteger(c.adm) || !Number.isSafeInteger(c.max_qty)) return undefined;
    if (c.acct !== undefined && !isAccountId(c.acct)) return undefined;
    for (const claim in c) if (!ADMISSION_CLAIMS.has(claim)) return undefined;
    return { sub: c.sub, jti: c.jti, exp: c.exp, adm: c.adm as number, max_qty: c.max_qty as number };
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
    if (payload.acct !== undefined && !isAccountId(payload.acct)) return { ok: false, code: 'INVALID_TOKEN' };
    return {
      ok: true,
      claims: {
        sub: payload.sub!,
        sale: saleId,
        jti: payload.jti!,
        max_qty: maxQty,
        adm,
        exp: payload.exp!,
        ...(payload.acct !== undefined ? { acct: payload.acct } : {}),
      },
    };
  }

  /**
   * Verifies a token for the sale it names: its `sale` claim, read before verifying, picks
   * the audience, which the verification then checks like any other (a token whose claim was
   * altered fails its signature). Undefined when the token names no sale (not a compact JWS,
   * or no string `sale` claim). For callers that have no sale in hand: the order look-up.
   */
  async verifyForItsSale(token: string): Promise<AdmissionResult | undefined> {
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) !== -1) return undefined;
    const sale = parseJsonObject(token.slice(dot1 + 1, dot2))?.sale;
    return typeof sale === 'string' ? this.verify(token, sale) : undefined;
  }
}

function parseJsonObject(b64url: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(b64url, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
