import { describe, expect, it } from 'vitest';
import { AdmissionTokens, type Admission } from '../../src/tokens/admission-token.js';
import { generatePrivateJwk, KeyRing, keyFromPrivateJwk } from '../../src/tokens/signing-keys.js';

/**
 * Issue 12 item 11: the token's `exp` was `floor(expiresAt / 1000)`, so a genuine admission
 * token was expired up to a second before the `expiresAt` the API announced (a purchase 101 ms
 * before it was refused). Now `exp` is rounded up, and Redis's exact expiry is the authority.
 */
describe('issue 12 item 11: the admission token expired before the announced expiresAt', () => {
  const admission = (expiresAt: number): Admission => ({
    visitorId: 'AbCdEfGhIjKlMnOpQrStUv',
    saleId: 'drop-1',
    jti: 'jti-6f1c2b9e8d7a4c3b',
    maxQuantity: 1,
    sequence: 3,
    expiresAt,
  });

  it('is valid, verified and on the fast path alike, until the announced expiresAt, whatever its milliseconds', async () => {
    const key = await keyFromPrivateJwk(await generatePrivateJwk());
    const tokens = new AdmissionTokens(new KeyRing([key]), 'velvet-rope');
    for (const expiresAt of [1_750_000_600_899, 1_750_000_600_101, 1_750_000_600_999, 1_750_000_601_000, 1_750_000_600_001]) {
      const token = await tokens.sign(admission(expiresAt));
      for (const before of [101, 1]) {
        const at = expiresAt - before;
        expect(await tokens.verify(token, 'drop-1', new Date(at)), `${expiresAt} at -${before} ms`).toMatchObject({ ok: true });
        expect(tokens.decodeUnverified(token, 'drop-1', at), `${expiresAt} at -${before} ms`).toBeDefined();
      }
      // and never more than a second past it (Redis refuses from expiresAt on: reserve.lua)
      expect(await tokens.verify(token, 'drop-1', new Date(expiresAt + 1000))).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
    }
  });
});
