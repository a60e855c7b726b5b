/**
 * The keys that sign admission tokens (EdDSA / Ed25519) and the shared ticket secret.
 *
 * Every gateway must sign with the same key, so the keys come from `SIGNING_KEYS` (a private
 * JWK set) or, when it is absent, are made once and kept in PostgreSQL: the first gateway to
 * start makes them under an advisory lock, the others read them. The newest key signs; every
 * key in the set verifies and is published in the JWKS (rotation: add a key, keep the old one
 * until its tokens expired).
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type pg from 'pg';
import { inTransaction } from '@velvet-rope/contracts';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export class KeyRing {
  readonly #byKid: Map<string, SigningKey>;
  constructor(
    /** newest first: the first one signs */
    readonly keys: readonly SigningKey[],
  ) {
    if (keys.length === 0) throw new Error('KeyRing needs at least one key');
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
  }
  get active(): SigningKey {
    return this.keys[0]!;
  }
  byKid(kid: string | undefined): SigningKey | undefined {
    return kid === undefined ? undefined : this.#byKid.get(kid);
  }
  /** The public half, for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}

const KEYS_LOCK_ID = 0x76_72_6b_79; // "vrky"

export async function keyFromPrivateJwk(jwk: JWK): Promise<SigningKey> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new Error('signing keys must be private Ed25519 JWKs (kty OKP, crv Ed25519, with d)');
  }
  const publicJwkBase: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwkBase));
  const privateKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  const publicKey = (await importJWK({ ...publicJwkBase, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { kid, privateKey, publicKey, publicJwk: { ...publicJwkBase, kid, alg: 'EdDSA', use: 'sig' } };
}

export async function generatePrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x! });
  return jwk;
}

/** Keys from a private JWK set given in the environment. */
export async function keyRingFromJwks(json: string): Promise<KeyRing> {
  const set = JSON.parse(json) as { keys: JWK[] };
  return new KeyRing(await Promise.all(set.keys.map((k) => keyFromPrivateJwk(k))));
}

/** Keys kept in PostgreSQL, made on first start. */
export async function keyRingFromDatabase(pool: pg.Pool): Promise<KeyRing> {
  const rows = await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [KEYS_LOCK_ID]);
    const found = await client.query<{ private_jwk: JWK }>(
      'SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC',
    );
    if (found.rows.length > 0) return found.rows;
    const jwk = await generatePrivateJwk();
    await client.query('INSERT INTO signing_keys (kid, private_jwk) VALUES ($1, $2)', [jwk.kid, jwk]);
    return [{ private_jwk: jwk }];
  });
  return new KeyRing(await Promise.all(rows.map((r) => keyFromPrivateJwk(r.private_jwk))));
}

/** A shared secret by name: the configured one, or one made once and kept in PostgreSQL. */
export async function sharedSecret(pool: pg.Pool, name: string, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const candidate = randomBytes(32).toString('base64url');
  await pool.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, candidate]);
  const { rows } = await pool.query<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name]);
  return rows[0]!.value;
}
