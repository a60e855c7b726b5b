/**
 * Order tokens as Velvet Rope signs them (EdDSA, a `kid`, the claims), from a key pair
 * made here, and its public JWK set: for the shop's unit tests of token checks.
 */
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type CryptoKey } from 'jose';

export interface OrderTokenClaims {
  orderId: string;
  saleId: string;
  qty?: number;
  exp?: number;
  iss?: string;
  sub?: string;
  /** the `acct` claim: any JSON value, to try bad ones too */
  acct?: unknown;
}

export interface TestSigner {
  readonly jwks: JSONWebKeySet;
  sign(claims: OrderTokenClaims): Promise<string>;
}

export async function testSigner(kid = 'test-key-1'): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    sign: (c) => signWith(privateKey, kid, c),
  };
}

export async function signWith(key: CryptoKey, kid: string, c: OrderTokenClaims): Promise<string> {
  return new SignJWT({ order_id: c.orderId, qty: c.qty ?? 1, ...(c.acct !== undefined ? { acct: c.acct } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', kid })
    .setIssuer(c.iss ?? 'velvet-rope')
    .setAudience(c.saleId)
    .setSubject(c.sub ?? 'v_shopper')
    .setIssuedAt()
    .setExpirationTime(c.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(key);
}
