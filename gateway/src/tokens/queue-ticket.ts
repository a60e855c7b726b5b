/**
 * Queue tickets: a compact JWS (HS256) that carries the visitor id, the sale and the
 * visitor's fairness score. Only gateways read tickets, so they are signed with a secret all
 * gateways share: an HMAC costs a few microseconds where an Ed25519 signature costs tens, and
 * join and status are the two hottest paths. The tokens are standard JWTs (any JOSE library
 * verifies them with the secret); this module signs and verifies them with node:crypto
 * directly because it accepts exactly one header, which rules out `alg: none` and algorithm
 * confusion by construction.
 *
 * The score in the ticket is what lets a restarted, empty Redis rebuild the queue: a
 * shopper who presents a valid ticket goes back at the place it names.
 *
 * A waiting page presents the same ticket on every poll, and the pages near the front poll
 * every second or two: the tickets verified lately are remembered by their exact text, so a
 * repeat costs a map lookup instead of two hashes, a base64 decode and a JSON parse. Expiry
 * and sale are still checked on every use; only a ticket whose signature verified is ever
 * remembered, so a forged one can never be answered from memory.
 */
import { timingSafeEqual } from 'node:crypto';
import { isAccountId } from './account.js';
import { HmacSha256 } from './hmac.js';

export interface TicketClaims {
  /** visitor id */
  readonly sub: string;
  readonly sale: string;
  /** fairness score */
  readonly scr: number;
  /** the shop's account (its identity's `sub`) on a sale for the shop's signed-in shoppers (`identity: shop`) */
  readonly acct?: string;
  readonly iss: string;
  readonly iat: number;
  readonly exp: number;
}

export type TicketResult = { ok: true; claims: TicketClaims } | { ok: false; code: 'INVALID_TICKET' | 'TOKEN_EXPIRED' | 'WRONG_SALE' };

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
/** tickets outlive any sale's queue; a week is plenty and bounds replay of very old ones */
export const TICKET_LIFETIME_SECONDS = 7 * 24 * 3600;

/** tickets remembered per generation: two generations at most, ~25 MB at ~250 B a ticket */
export const RECENT_TICKETS = 50_000;

type Verified = { readonly ok: true; readonly claims: TicketClaims };

/**
 * The tickets verified lately, by their text. Two generations: when the current one is full
 * it becomes the previous one and the one before is dropped whole (no per-entry bookkeeping);
 * a ticket found in the previous generation moves to the current one.
 */
class RecentlyVerified {
  #current = new Map<string, Verified>();
  #previous = new Map<string, Verified>();

  constructor(private readonly perGeneration: number) {}

  get(token: string): Verified | undefined {
    const hit = this.#current.get(token);
    if (hit !== undefined || this.#previous.size === 0) return hit;
    const old = this.#previous.get(token);
    if (old !== undefined) this.add(token, old);
    return old;
  }

  add(token: string, verified: Verified): void {
    if (this.#current.size >= this.perGeneration) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(token, verified);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}

export class TicketSigner {
  readonly #secrets: HmacSha256[];
  readonly #recent: RecentlyVerified;

  /** The first secret signs; all of them verify (rotation). */
  constructor(
    secrets: readonly string[],
    readonly issuer: string,
    recentTickets = RECENT_TICKETS,
  ) {
    if (secrets.length === 0) throw new Error('TicketSigner needs at least one secret');
    this.#secrets = secrets.map((s) => new HmacSha256(s));
    this.#recent = new RecentlyVerified(recentTickets);
  }

  /** tickets remembered as verified (at most twice the generation size) */
  get remembered(): number {
    return this.#recent.size;
  }

  /** `account`: the shop's account the visitor id was made from (tokens/account.ts), for `identity: shop` sales */
  sign(visitorId: string, saleId: string, score: number, account?: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
    const claims: TicketClaims = {
      sub: visitorId,
      sale: saleId,
      scr: score,
      ...(account !== undefined ? { acct: account } : {}),
      iss: this.issuer,
      iat: nowSeconds,
      exp: nowSeconds + TICKET_LIFETIME_SECONDS,
    };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${signingInput}.${this.#mac(this.#secrets[0]!, signingInput).toString('base64url')}`;
  }

  /** Verifies signature, issuer, expiry and (when given) the sale; never throws. */
  verify(token: string, saleId?: string, nowSeconds = Math.floor(Date.now() / 1000)): TicketResult {
    if (typeof token !== 'string' || token.length > 2048) return { ok: false, code: 'INVALID_TICKET' };
    const verified = this.#recent.get(token) ?? this.#verifySignature(token);
    if (!verified.ok) return verified;
    const { claims } = verified;
    if (claims.exp <= nowSeconds) return { ok: false, code: 'TOKEN_EXPIRED' };
    if (saleId !== undefined && claims.sale !== saleId) return { ok: false, code: 'WRONG_SALE' };
    return verified;
  }

  /** Signature, header and claims' shape; remembers the ticket when all are right. */
  #verifySignature(token: string): Verified | { ok: false; code: 'INVALID_TICKET' } {
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return { ok: false, code: 'INVALID_TICKET' };
    if (token.slice(0, first) !== HEADER) return { ok: false, code: 'INVALID_TICKET' };
    const signingInput = token.slice(0, second);
    // compare the signature as text: base64url decoding is lenient (it skips stray characters
    // and ignores trailing bits), and one ticket must have exactly one spelling
    const given = Buffer.from(token.slice(second + 1), 'utf8');
    if (!this.#secrets.some((s) => safeEqual(Buffer.from(this.#mac(s, signingInput).toString('base64url')), given))) {
      return { ok: false, code: 'INVALID_TICKET' };
    }
    let claims: Partial<TicketClaims>;
    try {
      claims = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')) as Partial<TicketClaims>;
    } catch {
      return { ok: false, code: 'INVALID_TICKET' };
    }
    if (
      typeof claims !== 'object' ||
      claims === null ||
      typeof claims.sub !== 'string' ||
      typeof claims.sale !== 'string' ||
      typeof claims.scr !== 'number' ||
      !Number.isFinite(claims.scr) ||
      typeof claims.exp !== 'number' ||
      (claims.acct !== undefined && !isAccountId(claims.acct)) ||
      claims.iss !== this.issuer
    ) {
      return { ok: false, code: 'INVALID_TICKET' };
    }
    // shared by every later request with this ticket: nobody may change it
    const verified: Verified = Object.freeze({ ok: true, claims: Object.freeze(claims as TicketClaims) });
    this.#recent.add(token, verified);
    return verified;
  }

  #mac(secret: HmacSha256, input: string): Buffer {
    return secret.digest(input);
  }
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
