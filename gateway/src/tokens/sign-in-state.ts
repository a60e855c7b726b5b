/**
 * What a browser's OpenID Connect sign-in (http/oidc-sign-in.ts) must carry from `/auth/login`
 * to `/auth/callback`: the `state` and `nonce` sent to the provider, the PKCE verifier whose
 * S256 challenge was sent, and where to go afterwards. It lives in the browser only, in a
 * short-lived HttpOnly cookie (`vr_sign_in`), sealed with AES-256-GCM under a key derived from
 * the gateways' shared secret: any gateway can open it, nobody can read the verifier out of
 * it or change a field without the seal breaking. No server state: a sign-in started on one
 * gateway finishes on another.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const SIGN_IN_COOKIE = 'vr_sign_in';
/** how long a shopper may take at the provider's login page */
export const SIGN_IN_SECONDS = 600;

export interface SignInState {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** a path of this gateway (return-path.ts) */
  readonly returnTo: string;
  /** epoch ms */
  readonly expiresAt: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * a sealed state is a few hundred characters, up to ~1,000 with the longest return path (512
 * ASCII characters, http/return-path.ts, sealed and base64url'd); anything far longer is not ours
 */
const MAX_SEALED = 2_048;

export class SignInStateCookie {
  readonly #key: Buffer;
  constructor(secret: string) {
    this.#key = createHash('sha256').update(`sign-in-state:${secret}`).digest();
  }

  /** `<iv>.<ciphertext+tag>`, both base64url: a cookie value with nothing to encode */
  seal(s: SignInState): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = JSON.stringify([s.state, s.nonce, s.codeVerifier, s.returnTo, s.expiresAt]);
    const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The state inside a cookie value; undefined when missing, tampered with, or expired. */
  open(value: string | undefined, now = Date.now()): SignInState | undefined {
    if (!value || value.length > MAX_SEALED) return undefined;
    const [ivText, sealedText, extra] = value.split('.');
    if (ivText === undefined || sealedText === undefined || extra !== undefined) return undefined;
    const iv = Buffer.from(ivText, 'base64url');
    const sealed = Buffer.from(sealedText, 'base64url');
    if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) return undefined;
    let fields: unknown;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const text = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      fields = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!Array.isArray(fields) || fields.length !== 5) return undefined;
    const [state, nonce, codeVerifier, returnTo, expiresAt] = fields as unknown[];
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string' || typeof returnTo !== 'string')
      return undefined;
    if (typeof expiresAt !== 'number' || expiresAt <= now) return undefined;
    return { state, nonce, codeVerifier, returnTo, expiresAt };
  }
}
