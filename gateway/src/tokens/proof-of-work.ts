/**
 * Proof of work on join (hashcash style), optional per sale: every new place in the queue
 * costs the client about 2^difficulty SHA-256 hashes, and the server one HMAC and one
 * SHA-256 to check it, whatever the difficulty.
 *
 * A challenge is stateless and signed: `<payload>.<mac>`, payload = base64url of
 * `{ s: saleId, n: nonce, e: expiry (s) }`. The client finds a `solution` such that
 * SHA-256(`<challenge>:<solution>`) starts with `difficulty` zero bits, and sends
 * `X-Proof-Of-Work: <challenge>:<solution>`. Each challenge buys one place: the join script
 * records its nonce, so a solved challenge cannot be replayed for a second identity.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CHALLENGE_TTL_SECONDS = 120;

/** `bits`: the leading zero bits the proof has; the join script compares them to the sale's difficulty */
export type ProofCheck = { ok: true; nonce: string; bits: number } | { ok: false; reason: string };

export class ProofOfWork {
  readonly #key: Buffer;
  constructor(secret: string) {
    this.#key = Buffer.from(`proof-of-work:${secret}`);
  }

  challenge(saleId: string, nowSeconds = Math.floor(Date.now() / 1000)): { challenge: string; expiresAt: number } {
    const expiresAt = nowSeconds + CHALLENGE_TTL_SECONDS;
    const payload = Buffer.from(JSON.stringify({ s: saleId, n: randomBytes(12).toString('base64url'), e: expiresAt })).toString(
      'base64url',
    );
    return { challenge: `${payload}.${this.#mac(payload)}`, expiresAt };
  }

  /** Checks a `<challenge>:<solution>` header for this sale; never throws. */
  verify(header: string, saleId: string, nowSeconds = Math.floor(Date.now() / 1000)): ProofCheck {
    if (typeof header !== 'string' || header.length > 512) return { ok: false, reason: 'malformed' };
    const colon = header.lastIndexOf(':');
    const challenge = header.slice(0, colon);
    const solution = header.slice(colon + 1);
    const dot = challenge.indexOf('.');
    if (colon < 0 || dot < 0 || !/^[A-Za-z0-9_-]{1,64}$/.test(solution)) return { ok: false, reason: 'malformed' };
    const payload = challenge.slice(0, dot);
    const given = Buffer.from(challenge.slice(dot + 1));
    const want = Buffer.from(this.#mac(payload));
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'not our challenge' };
    let claims: { s?: unknown; n?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (claims.s !== saleId) return { ok: false, reason: 'for another sale' };
    if (typeof claims.e !== 'number' || claims.e <= nowSeconds) return { ok: false, reason: 'expired' };
    if (typeof claims.n !== 'string') return { ok: false, reason: 'malformed' };
    const bits = leadingZeroBits(createHash('sha256').update(`${challenge}:${solution}`).digest());
    return { ok: true, nonce: claims.n, bits };
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}

export function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The client's side (also what tests and the simulator use): finds a solution. */
export function solve(challenge: string, difficulty: number): string {
  for (let i = 0; ; i++) {
    const solution = i.toString(36);
    if (leadingZeroBits(createHash('sha256').update(`${challenge}:${solution}`).digest()) >= difficulty) return solution;
  }
}
