import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, adminHeaders, createHarness, createSale, join, type Harness } from '../support/harness.js';

const logs: string[] = [];
let h: Harness;
beforeAll(async () => {
  h = await createHarness(
    {
      RATE_LIMIT_STATUS_PER_VISITOR: '5',
      RATE_LIMIT_JOIN_PER_VISITOR: '3',
      RATE_LIMIT_PER_IP: '1000',
      TICKET_SECRET: 'a-ticket-secret-that-is-long-enough-0123',
    },
    { logStream: { write: (line) => void logs.push(line) } },
  );
});
afterAll(async () => {
  await h?.close();
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the per-visitor limit, for that visitor only', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    const a = await join(app, sale);
    const b = await join(app, sale);
    const status = (ticket: string) => app.inject({ url: `/api/sales/${sale}/queue/me`, headers: { authorization: `Bearer ${ticket}` } });
    for (let i = 0; i < 5; i++) expect((await status(a.ticket)).statusCode).toBe(200);
    const limited = await status(a.ticket);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await status(b.ticket)).statusCode).toBe(200);
  });

  it('limits joins per visitor, and a limited join changes nothing', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    // a first join has no identity yet: only the per-IP limit counts it
    const a = await join(app, sale);
    const again = () => join(app, sale, { authorization: `Bearer ${a.ticket}` });
    for (let i = 0; i < 3; i++) expect((await again()).statusCode).toBe(200);
    const limited = await again();
    expect(limited.statusCode).toBe(429);
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.waiting).toBe(1);
  });
});

describe('headers, bodies and the marketer API', () => {
  it('sets security headers and no CORS headers', async () => {
    const res = await h.app().inject({ url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    // the API's JSON answers: the short set for APIs, framing and sniffing still refused
    const api = await h.app().inject({ url: '/api/sales/no-such-sale-x', headers: { origin: 'https://evil.example' } });
    expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['x-frame-options']).toBe('DENY');
    expect(api.headers['cross-origin-resource-policy']).toBe('same-site');
    expect(api.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await h.app().inject({
      method: 'OPTIONS',
      url: '/api/admin/sales',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a body over the limit with 413 and the admin API without the key with 401', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    const big = await app.inject({
      method: 'POST',
      url: `/api/sales/${sale}/queue`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(20_000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
    for (const authorization of [undefined, 'Bearer wrong-key-0123456789', `Bearer ${ADMIN_KEY}x`, ADMIN_KEY, `Basic ${ADMIN_KEY}`]) {
      const res = await app.inject({ url: '/api/admin/sales', headers: authorization ? { authorization } : {} });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.json().code).toBe('UNAUTHORIZED');
    }
    expect((await app.inject({ url: '/api/admin/sales', headers: adminHeaders })).statusCode).toBe(200);
  });

  it('writes no secret to any log line', async () => {
    const app = h.app();
    const sale = await createSale(app, { ratePerMinute: 0 });
    const j = await join(app, sale);
    // requests that log: refusals, errors, an admin change
    await app.inject({ url: '/api/admin/sales', headers: { authorization: 'Bearer not-the-key-but-secret-looking' } });
    await app.inject({ method: 'PATCH', url: `/api/admin/sales/${sale}`, headers: adminHeaders, payload: { ratePerMinute: 5 } });
    await app.inject({
      method: 'POST',
      url: `/api/sales/${sale}/purchases`,
      headers: { authorization: `Bearer ${j.ticket}` },
      payload: { quantity: 1 },
    });
    await app.inject({ url: `/api/sales/${sale}/queue/me`, headers: { cookie: `vr_ticket=${j.ticket}` } });
    const text = logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [ADMIN_KEY, j.ticket, 'a-ticket-secret-that-is-long-enough-0123']) {
      expect(text.includes(secret), `a log line holds ${secret.slice(0, 8)}…`).toBe(false);
    }
  });
});
