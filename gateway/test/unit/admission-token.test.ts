import { createHmac } from 'node:crypto';
import { decodeProtectedHeader, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdmissionTokens, type Admission, type AdmissionResult } from '../../src/tokens/admission-token.js';
import { generatePrivateJwk, KeyRing, keyFromPrivateJwk, keyRingFromJwks, type SigningKey } from '../../src/tokens/signing-keys.js';

const ISSUER = 'velvet-rope';
const EXPIRES_AT_MS = 1_750_000_600_000;
const EXP = EXPIRES_AT_MS / 1000;
const BEFORE_EXP = new Date(EXPIRES_AT_MS - 60_000);

const admission: Admission = {
  visitorId: 'AbCdEfGhIjKlMnOpQrStUv',
  saleId: 'drop-1',
  jti: 'jti-6f1c2b9e8d7a4c3b',
  maxQuantity: 2,
  sequence: 17,
  expiresAt: EXPIRES_AT_MS,
};

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const decode = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

const INVALID: AdmissionResult = { ok: false, code: 'INVALID_TOKEN' };

let oldKey: SigningKey;
let newKey: SigningKey;
let oldJwk: JWK;
let tokens: AdmissionTokens;

beforeAll(async () => {
  oldJwk = await generatePrivateJwk();
  oldKey = await keyFromPrivateJwk(oldJwk);
  newKey = await keyFromPrivateJwk(await generatePrivateJwk());
  tokens = new AdmissionTokens(new KeyRing([oldKey]), ISSUER);
});

describe('AdmissionTokens', () => {
  it('signs a token that verifies, with its claims', async () => {
    const token = await tokens.sign(admission);
    expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual({
      ok: true,
      claims: { sub: admission.visitorId, sale: 'drop-1', jti: admission.jti, max_qty: 2, adm: 17, exp: EXP },
    });
  });

  it("names the shop's account (`acct`) when the admission has one, and verifies it", async () => {
    const token = await tokens.sign({ ...admission, account: 'carol@example.com' });
    expect(decode(parts(token)[1]).acct).toBe('carol@example.com');
    expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual({
      ok: true,
      claims: { sub: admission.visitorId, sale: 'drop-1', jti: admission.jti, max_qty: 2, adm: 17, exp: EXP, acct: 'carol@example.com' },
    });
    expect(decode(parts(await tokens.sign(admission))[1])).not.toHaveProperty('acct');
  });

  it('signs with EdDSA, the key id and typ JWT in the header', async () => {
    expect(decodeProtectedHeader(await tokens.sign(admission))).toEqual({ alg: 'EdDSA', kid: oldKey.kid, typ: 'JWT' });
  });

  it('puts the sale in the audience and the issuer in iss', async () => {
    const payload = decode(parts(await tokens.sign(admission))[1]);
    expect(payload).toMatchObject({ aud: 'drop-1', iss: ISSUER, sale: 'drop-1', exp: EXP });
  });

  it('is deterministic: the same admission signed twice gives the same token', async () => {
    const first = await tokens.sign(admission);
    const second = await tokens.sign({ ...admission });
    expect(second).toBe(first);
    // and a different admission gives a different token (guards the assertion above)
    expect(await tokens.sign({ ...admission, sequence: 18 })).not.toBe(first);
  });

  it('refuses an expired token with TOKEN_EXPIRED (at exp and after)', async () => {
    const token = await tokens.sign(admission);
    expect(await tokens.verify(token, 'drop-1', new Date(EXPIRES_AT_MS - 1000))).toMatchObject({ ok: true });
    // a genuine token past its expiry still tells whose it was (so a late retry can find its order)
    expect(await tokens.verify(token, 'drop-1', new Date(EXPIRES_AT_MS))).toEqual({
      ok: false,
      code: 'TOKEN_EXPIRED',
      expiredSubject: admission.visitorId,
    });
    expect(await tokens.verify(token, 'drop-1', new Date(EXPIRES_AT_MS + 3_600_000))).toEqual({
      ok: false,
      code: 'TOKEN_EXPIRED',
      expiredSubject: admission.visitorId,
    });
  });

  it('names no subject for an expired token of another sale', async () => {
    const token = await tokens.sign(admission);
    expect(await tokens.verify(token, 'drop-2', new Date(EXPIRES_AT_MS + 1000))).toEqual({ ok: false, code: 'TOKEN_EXPIRED' });
  });

  it('refuses a token of another sale with WRONG_SALE', async () => {
    const token = await tokens.sign(admission);
    expect(await tokens.verify(token, 'drop-2', BEFORE_EXP)).toEqual({ ok: false, code: 'WRONG_SALE' });
  });

  it('refuses a token from another key ring (unknown kid) with INVALID_TOKEN', async () => {
    const stranger = new AdmissionTokens(new KeyRing([newKey]), ISSUER);
    expect(await tokens.verify(await stranger.sign(admission), 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it('refuses a token signed by another key under our kid with INVALID_TOKEN', async () => {
    const impostor = await keyFromPrivateJwk({ ...(await generatePrivateJwk()), kid: oldKey.kid });
    const forger = new AdmissionTokens(new KeyRing([impostor]), ISSUER);
    const token = await forger.sign(admission);
    expect(decodeProtectedHeader(token).kid).toBe(oldKey.kid);
    expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it('refuses an unsigned alg none token with INVALID_TOKEN', async () => {
    const payload = decode(parts(await tokens.sign(admission))[1]);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
    const withKid = `${b64({ alg: 'none', typ: 'JWT', kid: oldKey.kid })}.${b64(payload)}.`;
    expect(await tokens.verify(withKid, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it('refuses an HS256 token keyed with the public key bytes (algorithm confusion) with INVALID_TOKEN', async () => {
    const payload = decode(parts(await tokens.sign(admission))[1]);
    const x = oldKey.publicJwk.x!;
    for (const secret of [Buffer.from(x, 'base64url'), Buffer.from(x, 'utf8'), Buffer.from(JSON.stringify(oldKey.publicJwk))]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: oldKey.kid })}.${b64({ ...payload, max_qty: 1000 })}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
    }
  });

  it.each([
    ['max_qty raised', { max_qty: 1000 }],
    ['an earlier admission number', { adm: 1 }],
    ['another visitor', { sub: 'ZzZzZzZzZzZzZzZzZzZzZz' }],
    ['a later expiry', { exp: EXP + 86_400 }],
  ])('refuses a payload changed to %s under the original signature with INVALID_TOKEN', async (_label, change) => {
    const [header, payload, signature] = parts(await tokens.sign(admission));
    const forged = `${header}.${b64({ ...decode(payload), ...change })}.${signature}`;
    expect(await tokens.verify(forged, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it('refuses a changed signature with INVALID_TOKEN', async () => {
    const [header, payload, signature] = parts(await tokens.sign(admission));
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(await tokens.verify(`${header}.${payload}.${flipped}`, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it('refuses a token of another issuer with INVALID_TOKEN', async () => {
    const other = new AdmissionTokens(new KeyRing([oldKey]), 'someone-else');
    expect(await tokens.verify(await other.sign(admission), 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  it.each(['', 'a.b', 'a.b.c', 'x'.repeat(5000)])('refuses garbage %j with INVALID_TOKEN', async (token) => {
    expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
  });

  describe('key rotation', () => {
    it('a ring [new, old] verifies tokens of a ring [old]', async () => {
      const rotated = new AdmissionTokens(new KeyRing([newKey, oldKey]), ISSUER);
      const oldToken = await tokens.sign(admission);
      expect(await rotated.verify(oldToken, 'drop-1', BEFORE_EXP)).toMatchObject({ ok: true, claims: { jti: admission.jti } });
    });

    it('a ring [new, old] signs with the new key', async () => {
      const rotated = new AdmissionTokens(new KeyRing([newKey, oldKey]), ISSUER);
      const token = await rotated.sign(admission);
      expect(decodeProtectedHeader(token).kid).toBe(newKey.kid);
      expect(newKey.kid).not.toBe(oldKey.kid);
      // the old ring does not know the new key
      expect(await tokens.verify(token, 'drop-1', BEFORE_EXP)).toEqual(INVALID);
      expect(await rotated.verify(token, 'drop-1', BEFORE_EXP)).toMatchObject({ ok: true });
    });

    it('jwks() lists both public keys, EdDSA with kid and without the private d', () => {
      const ring = new KeyRing([newKey, oldKey]);
      const { keys } = ring.jwks();
      expect(keys.map((k) => k.kid)).toEqual([newKey.kid, oldKey.kid]);
      for (const k of keys) {
        expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
        expect(typeof k.x).toBe('string');
        expect(typeof k.kid).toBe('string');
        expect(k).not.toHaveProperty('d');
        expect(JSON.stringify(k)).not.toContain('"d"');
      }
    });
  });
});

describe('signing keys', () => {
  it('generatePrivateJwk makes a private Ed25519 JWK with a kid', () => {
    expect(oldJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(typeof oldJwk.d).toBe('string');
    expect(typeof oldJwk.x).toBe('string');
    expect(oldJwk.kid).toBe(oldKey.kid);
  });

  it('keyFromPrivateJwk derives the kid (RFC 7638 thumbprint) when the JWK has none', async () => {
    const { kid: _kid, ...noKid } = oldJwk;
    expect((await keyFromPrivateJwk(noKid)).kid).toBe(oldKey.kid);
  });

  it('keyFromPrivateJwk refuses a public JWK and other key types', async () => {
    const { d: _d, ...publicOnly } = oldJwk;
    await expect(keyFromPrivateJwk(publicOnly)).rejects.toThrow();
    await expect(keyFromPrivateJwk({ ...oldJwk, crv: 'X25519' })).rejects.toThrow();
    await expect(keyFromPrivateJwk({ kty: 'oct', k: 'c2VjcmV0' })).rejects.toThrow();
  });

  it('keyRingFromJwks loads a private key set, newest first', async () => {
    const newJwk = await generatePrivateJwk();
    const ring = await keyRingFromJwks(JSON.stringify({ keys: [newJwk, oldJwk] }));
    expect(ring.active.kid).toBe(newJwk.kid);
    expect(ring.byKid(oldJwk.kid)?.kid).toBe(oldJwk.kid);
    expect(ring.byKid('unknown')).toBeUndefined();
    expect(ring.byKid(undefined)).toBeUndefined();
  });

  it('KeyRing refuses to be empty', () => {
    expect(() => new KeyRing([])).toThrow();
  });
});

describe('AdmissionTokens.decodeUnverified (the purchase fast path: shape only, Redis is the proof)', () => {
  const NOW = EXPIRES_AT_MS - 60_000;
  const resign = (token: string, payload: Record<string, unknown>, header?: Record<string, unknown>) => {
    const [h, , s] = parts(token);
    return `${header ? b64(header) : h}.${b64(payload)}.${s}`;
  };

  it('reads sub, jti, exp, adm and max_qty of a token we signed', async () => {
    const token = await tokens.sign(admission);
    expect(tokens.decodeUnverified(token, 'drop-1', NOW)).toEqual({
      sub: admission.visitorId,
      jti: admission.jti,
      exp: EXP,
      adm: 17,
      max_qty: 2,
    });
  });

  it('reads a token naming an account, and refuses an account of the wrong shape', async () => {
    const token = await tokens.sign({ ...admission, account: 'carol@example.com' });
    expect(tokens.decodeUnverified(token, 'drop-1', NOW)?.jti).toBe(admission.jti);
    const payload = decode(parts(token)[1]);
    for (const acct of ['', 12, null, 'x'.repeat(256)]) {
      expect(tokens.decodeUnverified(resign(token, { ...payload, acct }), 'drop-1', NOW), String(acct)).toBeUndefined();
    }
  });

  it('does not check the signature: a changed signature still decodes (the reserve script must prove the rest)', async () => {
    const [h, p, s] = parts(await tokens.sign(admission));
    const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    expect(tokens.decodeUnverified(flipped, 'drop-1', NOW)?.jti).toBe(admission.jti);
  });

  it('is undefined for a token of another sale, another issuer, past its exp (at exp, as jose), or of an unknown kid', async () => {
    const token = await tokens.sign(admission);
    expect(tokens.decodeUnverified(token, 'drop-2', NOW)).toBeUndefined();
    expect(tokens.decodeUnverified(token, 'drop-1', EXPIRES_AT_MS)).toBeUndefined();
    expect(tokens.decodeUnverified(token, 'drop-1', EXPIRES_AT_MS - 1)).toBeDefined();
    const other = new AdmissionTokens(new KeyRing([newKey]), ISSUER);
    expect(tokens.decodeUnverified(await other.sign(admission), 'drop-1', NOW)).toBeUndefined();
    const otherIssuer = new AdmissionTokens(new KeyRing([oldKey]), 'someone-else');
    expect(tokens.decodeUnverified(await otherIssuer.sign(admission), 'drop-1', NOW)).toBeUndefined();
  });

  it('is undefined for anything but the exact shape we sign', async () => {
    const token = await tokens.sign(admission);
    const [h, p] = parts(token);
    const header = decode(h);
    const payload = decode(p);
    const cases: [string, string][] = [
      ['garbage', 'not-a-token'],
      ['two parts', `${h}.${p}`],
      ['four parts', `${token}.x`],
      ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`],
      ['alg HS256', resign(token, payload, { ...header, alg: 'HS256' })],
      ['a crit header', resign(token, payload, { ...header, crit: ['b64'], b64: false })],
      ['no kid', resign(token, payload, { alg: 'EdDSA', typ: 'JWT' })],
      ['a short signature', `${h}.${p}.abc`],
      ['padding in a part', `${h}=.${p}.${parts(token)[2]}`],
      ['a claim we never sign', resign(token, { ...payload, admin: true })],
      ['nbf', resign(token, { ...payload, nbf: 0 })],
      ['aud as a list', resign(token, { ...payload, aud: ['drop-1'] })],
      ['sale and aud that differ', resign(token, { ...payload, aud: 'drop-2' })],
      ['a visitor id of the wrong shape', resign(token, { ...payload, sub: 'a|b' })],
      ['no jti', resign(token, { ...payload, jti: undefined })],
      ['max_qty not a whole number', resign(token, { ...payload, max_qty: 1.5 })],
      ['adm a string', resign(token, { ...payload, adm: '17' })],
      ['exp a string', resign(token, { ...payload, exp: String(EXP) })],
      ['a payload that is a list', resign(token, [payload] as unknown as Record<string, unknown>)],
    ];
    for (const [name, t] of cases) expect(tokens.decodeUnverified(t, 'drop-1', NOW), name).toBeUndefined();
  });
});
