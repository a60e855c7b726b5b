/**
 * The shop's shopper identities (Velvet Rope issue 15 item 1): a signed-in shopper of the shop
 * gets a short-lived JWT (ES256, `iss`, `aud`, `sub` = the account, `exp` in 10 minutes) that
 * Velvet Rope takes on join (`X-Shopper-Identity`, or the link `/sales/<id>?identity=<jwt>`),
 * checked against the keys served at `/.well-known/jwks.json`. A real shop signs these after
 * its own sign-in; the example shop's sign-in is pretend (any account name), as its payments
 * are. `rotate()` makes a new key the signing one and drops the old, as a key rotation does.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const IDENTITY_LIFETIME_SECONDS = 600;

export interface IdentitySigner {
  /** the public keys, as `/.well-known/jwks.json` serves them */
  jwks(): { keys: JWK[] };
  sign(
    account: string,
    lifetimeSeconds?: number,
    claims?: { iss?: string; aud?: string },
  ): Promise<{ identity: string; expiresAt: number }>;
  /** a new signing key; the old one leaves the key set */
  rotate(): Promise<string>;
}

interface Key {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export async function identitySigner(issuer: string, audience: string): Promise<IdentitySigner> {
  let current = await newKey();
  return {
    jwks: () => ({ keys: [current.jwk] }),
    async sign(account, lifetimeSeconds = IDENTITY_LIFETIME_SECONDS, claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const identity = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
        .setIssuer(claims.iss ?? issuer)
        .setAudience(claims.aud ?? audience)
        .setSubject(account)
        .setIssuedAt(now)
        .setExpirationTime(now + lifetimeSeconds)
        .sign(current.privateKey);
      return { identity, expiresAt: (now + lifetimeSeconds) * 1000 };
    },
    async rotate() {
      current = await newKey();
      return current.kid;
    },
  };
}
