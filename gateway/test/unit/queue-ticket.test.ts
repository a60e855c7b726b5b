import { createHmac } from 'node:crypto';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { TICKET_LIFETIME_SECONDS, TicketSigner, type TicketResult } from '../../src/tokens/queue-ticket.js';

const SECRET = 'ticket-secret-0123456789abcdef-0123456789';
const OLD_SECRET = 'old-ticket-secret-abcdefghijklmnopqrstuvwxyz';
const ISSUER = 'velvet-rope';
const NOW = 1_750_000_000;
const VISITOR = 'AbCdEfGhIjKlMnOpQrStUv';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString('utf8')) as Record<string, unknown>;

function hs256(secret: string, header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function expectInvalid(result: TicketResult): void {
  expect(result).toEqual({ ok: false, code: 'INVALID_TICKET' });
}

describe('TicketSigner', () => {
  const signer = new TicketSigner([SECRET], ISSUER);

  it('signs a ticket that verifies, with its claims', () => {
    const token = signer.sign(VISITOR, 'drop-1', 3.25, undefined, NOW);
    expect(signer.verify(token, 'drop-1', NOW + 1)).toEqual({
      ok: true,
      claims: { sub: VISITOR, sale: 'drop-1', scr: 3.25, iss: ISSUER, iat: NOW, exp: NOW + TICKET_LIFETIME_SECONDS },
    });
  });

  it('verifies without a sale filter', () => {
    const result = signer.verify(signer.sign(VISITOR, 'drop-1', 0.5, undefined, NOW), undefined, NOW);
    expect(result.ok && result.claims.sale).toBe('drop-1');
  });

  it('keeps a score with all 48 bits of the fraction', () => {
    const score = 17 + (2 ** 48 - 3) / 2 ** 48;
    const result = signer.verify(signer.sign(VISITOR, 'drop-1', score, undefined, NOW), 'drop-1', NOW);
    expect(result.ok && result.claims.scr).toBe(score);
  });

  it('refuses a ticket of another sale with WRONG_SALE', () => {
    expect(signer.verify(signer.sign(VISITOR, 'drop-1', 1, undefined, NOW), 'drop-2', NOW)).toEqual({ ok: false, code: 'WRONG_SALE' });
  });

  it('refuses an expired ticket with TOKEN_EXPIRED (at exp and after)', () => {
    const token = signer.sign(VISITOR, 'drop-1', 1, undefined, NOW);
    expect(signer.verify(token, 'drop-1', NOW + TICKET_LIFETIME_SECONDS - 1).ok).toBe(true);
    expect(signer.verify(token, 'drop-1', NOW + TICKET_LIFETIME_SECONDS)).toEqual({ ok: false, code: 'TOKEN_EXPIRED' });
    expect(signer.verify(token, 'drop-1', NOW + TICKET_LIFETIME_SECONDS + 3600)).toEqual({ ok: false, code: 'TOKEN_EXPIRED' });
  });

  it.each([
    ['a better score', { scr: 0 }],
    ['another visitor', { sub: 'ZzZzZzZzZzZzZzZzZzZzZz' }],
    ['another sale', { sale: 'drop-2' }],
    ['a later expiry', { exp: NOW + 10 * TICKET_LIFETIME_SECONDS }],
  ])('refuses a payload changed to %s under the original signature', (_label, change) => {
    const token = signer.sign(VISITOR, 'drop-1', 5.5, undefined, NOW);
    const [header, , signature] = parts(token);
    const forged = `${header}.${b64({ ...payloadOf(token), ...change })}.${signature}`;
    expectInvalid(signer.verify(forged, undefined, NOW));
  });

  it('refuses a changed signature', () => {
    const [header, payload, signature] = parts(signer.sign(VISITOR, 'drop-1', 1, undefined, NOW));
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expectInvalid(signer.verify(`${header}.${payload}.${flipped}`, 'drop-1', NOW));
    expectInvalid(signer.verify(`${header}.${payload}.`, 'drop-1', NOW));
    expectInvalid(signer.verify(`${header}.${payload}.${signature.slice(0, -4)}`, 'drop-1', NOW));
  });

  // regression: base64url decoding skips stray characters and ignores the last char's spare bits
  it('accepts exactly one spelling of a ticket: stray or altered signature characters are refused', () => {
    const token = signer.sign(VISITOR, 'drop-1', 1, undefined, NOW);
    const [header, payload, signature] = parts(token);
    const last = signature.at(-1)!;
    const sibling = String.fromCharCode(last.charCodeAt(0) ^ 1);
    for (const variant of [
      `${token}~~`,
      `${token}=`,
      `${header}.${payload}.${signature.slice(0, 5)}!${signature.slice(5)}`,
      `${header}.${payload}.${signature.slice(0, -1)}${sibling}`,
    ]) {
      expectInvalid(signer.verify(variant, 'drop-1', NOW));
    }
  });

  it('refuses alg none with an empty signature', () => {
    const payload = payloadOf(signer.sign(VISITOR, 'drop-1', 0, undefined, NOW));
    expectInvalid(signer.verify(`${b64({ alg: 'none' })}.${b64(payload)}.`, 'drop-1', NOW));
    expectInvalid(signer.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`, 'drop-1', NOW));
  });

  it('refuses an HS512 header, even correctly signed with the secret', () => {
    const payload = payloadOf(signer.sign(VISITOR, 'drop-1', 0, undefined, NOW));
    const input = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(payload)}`;
    const token = `${input}.${createHmac('sha512', SECRET).update(input).digest('base64url')}`;
    expectInvalid(signer.verify(token, 'drop-1', NOW));
  });

  it('refuses an HS256 header written differently (key order), even correctly signed', () => {
    const payload = payloadOf(signer.sign(VISITOR, 'drop-1', 0, undefined, NOW));
    expectInvalid(signer.verify(hs256(SECRET, { typ: 'JWT', alg: 'HS256' }, payload), 'drop-1', NOW));
  });

  it('accepts a hand-made HS256 token with the same header and secret (the format is plain JWT)', () => {
    const payload = payloadOf(signer.sign(VISITOR, 'drop-1', 0, undefined, NOW));
    expect(signer.verify(hs256(SECRET, { alg: 'HS256', typ: 'JWT' }, payload), 'drop-1', NOW).ok).toBe(true);
  });

  it('refuses a ticket signed with another secret', () => {
    const other = new TicketSigner(['another-secret-0123456789abcdef-xyz'], ISSUER);
    expectInvalid(signer.verify(other.sign(VISITOR, 'drop-1', 1, undefined, NOW), 'drop-1', NOW));
  });

  it('refuses a ticket of another issuer signed with the same secret', () => {
    const other = new TicketSigner([SECRET], 'someone-else');
    expectInvalid(signer.verify(other.sign(VISITOR, 'drop-1', 1, undefined, NOW), 'drop-1', NOW));
  });

  it("carries the shop's account (`acct`) when signed with one, and none otherwise", () => {
    const result = signer.verify(signer.sign(VISITOR, 'drop-1', 2, 'carol@example.com', NOW), 'drop-1', NOW);
    expect(result.ok && result.claims.acct).toBe('carol@example.com');
    expect(payloadOf(signer.sign(VISITOR, 'drop-1', 2, undefined, NOW))).not.toHaveProperty('acct');
  });

  it.each([
    ['no sub', { sub: undefined }],
    ['an empty account', { acct: '' }],
    ['a numeric account', { acct: 7 }],
    ['an account over 255 characters', { acct: 'x'.repeat(256) }],
    ['a numeric sub', { sub: 12 }],
    ['a string score', { scr: '1' }],
    ['a null score', { scr: null }],
    ['no exp', { exp: undefined }],
  ])('refuses a correctly signed ticket with %s', (_label, change) => {
    const payload = { ...payloadOf(signer.sign(VISITOR, 'drop-1', 1, undefined, NOW)), ...change };
    expectInvalid(signer.verify(hs256(SECRET, { alg: 'HS256', typ: 'JWT' }, payload), 'drop-1', NOW));
  });

  it('refuses a correctly signed payload that is not JSON', () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${Buffer.from('not json').toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expectInvalid(signer.verify(token, 'drop-1', NOW));
  });

  it('rotation: a signer with [new, old] verifies tickets of [old] and signs with new', () => {
    const oldSigner = new TicketSigner([OLD_SECRET], ISSUER);
    const rotated = new TicketSigner([SECRET, OLD_SECRET], ISSUER);
    expect(rotated.verify(oldSigner.sign(VISITOR, 'drop-1', 2, undefined, NOW), 'drop-1', NOW).ok).toBe(true);
    const fresh = rotated.sign(VISITOR, 'drop-1', 2, undefined, NOW);
    expect(signer.verify(fresh, 'drop-1', NOW).ok).toBe(true);
    expectInvalid(oldSigner.verify(fresh, 'drop-1', NOW));
  });

  describe('tickets verified lately', () => {
    it('answers a repeat from memory with the same claims, still checking sale and expiry', () => {
      const recent = new TicketSigner([SECRET], ISSUER);
      const token = recent.sign(VISITOR, 'drop-1', 4, undefined, NOW);
      const first = recent.verify(token, 'drop-1', NOW);
      expect(recent.remembered).toBe(1);
      const again = recent.verify(token, 'drop-1', NOW + 5);
      expect(again).toEqual(first);
      expect(again.ok && again.claims).toBe(first.ok && first.claims);
      expect(recent.verify(token, 'drop-2', NOW + 5)).toEqual({ ok: false, code: 'WRONG_SALE' });
      expect(recent.verify(token, 'drop-1', NOW + TICKET_LIFETIME_SECONDS)).toEqual({ ok: false, code: 'TOKEN_EXPIRED' });
      expect(recent.remembered).toBe(1);
    });

    it('never remembers a ticket that failed, nor answers a changed copy of one it remembers', () => {
      const recent = new TicketSigner([SECRET], ISSUER);
      const token = recent.sign(VISITOR, 'drop-1', 4, undefined, NOW);
      expect(recent.verify(token, 'drop-1', NOW).ok).toBe(true);
      const [h, p, sig] = parts(token);
      const betterPlace = `${h}.${b64({ ...payloadOf(token), scr: 0 })}.${sig}`;
      const otherSignature = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
      expectInvalid(recent.verify(betterPlace, 'drop-1', NOW));
      expectInvalid(recent.verify(otherSignature, 'drop-1', NOW));
      expectInvalid(recent.verify(`${token} `, 'drop-1', NOW));
      expect(recent.remembered).toBe(1);
    });

    it('hands out claims nobody can change', () => {
      const recent = new TicketSigner([SECRET], ISSUER);
      const result = recent.verify(recent.sign(VISITOR, 'drop-1', 4, undefined, NOW), 'drop-1', NOW);
      expect(result.ok && Object.isFrozen(result.claims)).toBe(true);
    });

    it('remembers at most two generations, and verifies the forgotten ones again', () => {
      const recent = new TicketSigner([SECRET], ISSUER, 3);
      const tokens = Array.from({ length: 10 }, (_, i) => recent.sign(`${VISITOR}${i}`, 'drop-1', i, undefined, NOW));
      for (const t of tokens) expect(recent.verify(t, 'drop-1', NOW).ok).toBe(true);
      expect(recent.remembered).toBeLessThanOrEqual(6);
      for (const [i, t] of tokens.entries()) {
        const again = recent.verify(t, 'drop-1', NOW);
        expect(again.ok && again.claims.sub).toBe(`${VISITOR}${i}`);
      }
      expect(recent.remembered).toBeLessThanOrEqual(6);
    });
  });

  it('refuses to be built without a secret', () => {
    expect(() => new TicketSigner([], ISSUER)).toThrow();
  });

  it.each([
    ['empty', ''],
    ['one dot', 'a.b'],
    ['two dots', 'a.b.c'],
    ['four parts', 'a.b.c.d'],
    ['only dots', '...'],
    ['5000 characters', 'x'.repeat(5000)],
    ['5000 characters with dots', `${'x'.repeat(2000)}.${'y'.repeat(2000)}.${'z'.repeat(998)}`],
    ['unicode', 'é.ü.🎉'],
  ])('refuses garbage (%s) without throwing', (_label, token) => {
    let result: TicketResult | undefined;
    expect(() => {
      result = signer.verify(token, 'drop-1', NOW);
    }).not.toThrow();
    expectInvalid(result!);
  });

  it('refuses non-string input without throwing', () => {
    for (const value of [undefined, null, 42, {}]) {
      expectInvalid(signer.verify(value as unknown as string, 'drop-1', NOW));
    }
  });

  it('interop: jose verifies a ticket with the secret (HS256)', async () => {
    const token = signer.sign(VISITOR, 'drop-1', 4.5, undefined, NOW);
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      currentDate: new Date((NOW + 60) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: VISITOR, sale: 'drop-1', scr: 4.5, iss: ISSUER, iat: NOW });
  });

  it('interop: jose refuses a ticket with the wrong secret (guards the interop test)', async () => {
    const token = signer.sign(VISITOR, 'drop-1', 4.5, undefined, NOW);
    await expect(
      jwtVerify(token, new TextEncoder().encode(OLD_SECRET), { algorithms: ['HS256'], currentDate: new Date(NOW * 1000) }),
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});
