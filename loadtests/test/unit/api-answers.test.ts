import { describe, expect, it } from 'vitest';
import { parseError, parseJoin, parsePurchase, parseStanding, parseStats, retryAfterMs } from '../../src/api-answers.js';
import { decodeClaims, numericClaim } from '../../src/jwt-claims.js';

const jwt = (claims: object) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('gateway answers', () => {
  it('parses a join answer, and refuses one without the documented fields', () => {
    const body = { visitorId: 'v1', ticket: 't', status: 'prequeue', position: null, waiting: 3, etaSeconds: null, retryAfterMs: 1000 };
    expect(parseJoin(body)).toEqual({ visitorId: 'v1', ticket: 't', status: 'prequeue', position: null, waiting: 3, retryAfterMs: 1000 });
    expect(parseJoin({ ...body, ticket: 1 })).toBeUndefined();
    expect(parseJoin({ ...body, status: 'dancing' })).toBeUndefined();
    expect(parseJoin('nope')).toBeUndefined();
  });

  it('parses an admitted standing with its admission token', () => {
    const s = parseStanding({
      status: 'admitted',
      position: null,
      waiting: 0,
      retryAfterMs: 1000,
      admission: { token: 'a.b.c', expiresAt: '2030-01-01T00:00:00Z' },
    });
    expect(s?.admission?.token).toBe('a.b.c');
    expect(parseStanding({ status: 'admitted', position: null, waiting: 0, retryAfterMs: 1000, admission: { token: 1 } })).toBeUndefined();
  });

  it('parses purchases, errors and stats', () => {
    expect(parsePurchase({ orderId: 'o', status: 'pending' })).toEqual({ orderId: 'o', status: 'pending' });
    expect(parsePurchase({ orderId: 'o' })).toBeUndefined();
    expect(parseError({ statusCode: 409, code: 'TOKEN_USED', orderId: 'o' })).toEqual({ code: 'TOKEN_USED', orderId: 'o' });
    const stats = {
      status: 'open',
      stock: 10,
      waiting: 1,
      admitted: 1,
      admittedTotal: 2,
      remaining: 9,
      pending: 0,
      sold: 1,
      confirmedOrders: 1,
      rejectedOrders: 0,
    };
    expect(parseStats(stats)).toEqual(stats);
    expect(parseStats({ ...stats, sold: '1' })).toBeUndefined();
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(['1.5'])).toBe(1500);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('reads claims without verifying, and only numbers as numeric claims', () => {
    const t = jwt({ scr: 3.25, adm: 7, sub: 'v' });
    expect(decodeClaims(t)).toEqual({ scr: 3.25, adm: 7, sub: 'v' });
    expect(numericClaim(t, 'adm')).toBe(7);
    expect(numericClaim(t, 'sub')).toBeUndefined();
    expect(decodeClaims('not-a-jwt')).toBeUndefined();
    expect(decodeClaims('a.!!!.c')).toBeUndefined();
  });
});
