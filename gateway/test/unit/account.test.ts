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
  it('carries the account it was sealed with, of any characters, and still opens a session sealed without one', () => {
    for (const account of ['alice', 'dana+drops@example.com', 'a.b.c', 'ü'.repeat(255), '\u{1F600}'.repeat(127)]) {
      const sealed = cookie.seal({ visitorId, account, expiresAt: now + 60_000 });
      expect(sealed.length).toBeLessThan(1_500);
      expect(cookie.open(sealed, now)).toEqual({ visitorId, account, expiresAt: now + 60_000 });
    }
    // a cookie of a gateway before the account was in it: the visitor, no account
    expect(cookie.open(cookie.seal({ visitorId, expiresAt: now + 60_000 }), now)).toEqual({ visitorId, expiresAt: now + 60_000 });
  });
  it('refuses a changed or added account, and an empty one', () => {
    const sealed = cookie.seal({ visitorId, account: 'alice', expiresAt: now + 60_000 });
    const [id, exp, account, mac] = sealed.split('.') as [string, string, string, string];
    const bob = Buffer.from('bob').toString('base64url');
    const without = cookie.seal({ visitorId, expiresAt: now + 60_000 }).split('.') as [string, string, string];
    for (const bad of [
      `${id}.${exp}.${bob}.${mac}`,
      `${id}.${exp}.${mac}`,
      `${id}.${exp}.${bob}.${without[2]}`,
      `${id}.${exp}.${account}.x.${mac}`,
      cookie.seal({ visitorId, account: '', expiresAt: now + 60_000 }),
    ]) {
      expect(cookie.open(bad, now)).toBeUndefined();
    }
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
      'x'.repeat(2_000),
      `${id}.${mac}`,
    ]) {
      expect(cookie.open(bad, now)).toBeUndefined();
    }
  });
});
