import { describe, expect, it } from 'vitest';
import { AccountCookie, AccountIds } from '../../src/tokens/account.js';
import { VISITOR_ID_RE } from '../../src/tokens/visitor-id.js';

const SECRET = 'account-secret-0123456789abcdef';

describe('AccountIds', () => {
  const ids = new AccountIds(SECRET);
  it('gives one visitor id per account, shaped like every visitor id', () => {
    const a = ids.visitorId({ issuer: 'https://shop.example', subject: 'alice' });
    expect(a).toMatch(VISITOR_ID_RE);
    expect(ids.visitorId({ issuer: 'https://shop.example', subject: 'alice' })).toBe(a);
    expect(new AccountIds(SECRET).visitorId({ issuer: 'https://shop.example', subject: 'alice' })).toBe(a);
  });
  it('tells accounts apart, across issuers and where a naive join would collide', () => {
    const seen = new Set([
      ids.visitorId({ issuer: 'https://shop.example', subject: 'alice' }),
      ids.visitorId({ issuer: 'https://shop.example', subject: 'bob' }),
      ids.visitorId({ issuer: 'https://other.example', subject: 'alice' }),
      ids.visitorId({ issuer: 'a\n1:b', subject: 'c' }),
      ids.visitorId({ issuer: 'a', subject: 'b\n1:c' }),
      new AccountIds(`${SECRET}x`).visitorId({ issuer: 'https://shop.example', subject: 'alice' }),
    ]);
    expect(seen.size).toBe(6);
  });
});

describe('AccountCookie', () => {
  const cookie = new AccountCookie(SECRET);
  const visitorId = 'AbCdEfGhIjKlMnOpQrStUv';
  const now = 1_800_000_000_000;
  it('opens what it sealed until it expires', () => {
    const sealed = cookie.seal({ visitorId, expiresAt: now + 60_000 });
    expect(cookie.open(sealed, now)).toEqual({ visitorId, expiresAt: now + 60_000 });
    expect(cookie.open(sealed, now + 60_000)).toBeUndefined();
  });
  it('refuses a changed id, expiry or mac, another secret and junk', () => {
    const sealed = cookie.seal({ visitorId, expiresAt: now + 60_000 });
    const [id, exp, mac] = sealed.split('.') as [string, string, string];
    const later = (parseInt(exp, 36) + 3600).toString(36);
    for (const bad of [
      `${id.replace('A', 'B')}.${exp}.${mac}`,
      `${id}.${later}.${mac}`,
      `${id}.${exp}.${mac.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`,
      new AccountCookie(`${SECRET}x`).seal({ visitorId, expiresAt: now + 60_000 }),
      '',
      '.',
      'x'.repeat(200),
      `${id}.${mac}`,
    ]) {
      expect(cookie.open(bad, now)).toBeUndefined();
    }
  });
});
