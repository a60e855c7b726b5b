/**
 * Issue 12 item 9: the admin routes validated the body before checking the key (an
 * unauthenticated caller learned the schema: "body must have required property 'name'"),
 * and 500 wrong keys in a second all got 401 with no slowdown.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createHarness, type Harness } from '../../support/harness.js';

const LIMIT = 5;
let h: Harness;
let gateways: FastifyInstance[];
beforeAll(async () => {
  h = await createHarness({ ADMIN_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
  gateways = [h.app(), await h.addGateway()];
});
afterAll(async () => {
  await h?.close();
});

const wrongKey = { authorization: 'Bearer not-the-admin-key-at-all' };

describe('issue 12 item 9: admin routes validated the body before the key, and wrong keys were not slowed', () => {
  it('answers 401 to an unauthenticated request whatever its body, and tells nothing of the schema', async () => {
    const bodies: unknown[] = [{}, { id: 'x' }, { name: 42 }, 'not json at all'];
    for (const [i, payload] of bodies.entries()) {
      for (const headers of [{}, wrongKey]) {
        const res = await h.app().inject({
          method: i % 2 ? 'PATCH' : 'POST',
          url: i % 2 ? '/api/admin/sales/some-sale' : '/api/admin/sales',
          headers: { ...headers, 'content-type': 'application/json' },
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
          remoteAddress: '198.51.100.1',
        });
        expect(res.statusCode, res.body).toBe(401);
        expect(res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
        expect(res.body).not.toMatch(/property|must|body|schema|json/i);
      }
    }
  });

  it('locks an address out after too many wrong keys, on every gateway, while the right key works elsewhere', async () => {
    const attacker = '203.0.113.7';
    for (let i = 0; i < LIMIT; i++) {
      const res = await gateways[i % 2]!.inject({ method: 'GET', url: '/api/admin/sales', headers: wrongKey, remoteAddress: attacker });
      expect(res.statusCode).toBe(401);
    }
    for (const app of gateways) {
      const res = await app.inject({ method: 'GET', url: '/api/admin/sales', headers: wrongKey, remoteAddress: attacker });
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      // locked out for the window whatever the key: a right guess is not told apart
      const right = await app.inject({ method: 'GET', url: '/api/admin/sales', headers: adminHeaders, remoteAddress: attacker });
      expect(right.statusCode).toBe(429);
    }
    const elsewhere = await gateways[1]!.inject({
      method: 'GET',
      url: '/api/admin/sales',
      headers: adminHeaders,
      remoteAddress: '192.0.2.50',
    });
    expect(elsewhere.statusCode).toBe(200);
  });

  it('counts an IPv6 /64 as one address', async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await h
        .app()
        .inject({ method: 'GET', url: '/api/admin/sales', headers: wrongKey, remoteAddress: `2001:db8:7:7::${i + 1}` });
      expect(res.statusCode).toBe(401);
    }
    const neighbour = await h
      .app()
      .inject({ method: 'GET', url: '/api/admin/sales', headers: wrongKey, remoteAddress: '2001:db8:7:7:ffff::99' });
    expect(neighbour.statusCode).toBe(429);
    const otherNetwork = await h
      .app()
      .inject({ method: 'GET', url: '/api/admin/sales', headers: adminHeaders, remoteAddress: '2001:db8:7:8::1' });
    expect(otherNetwork.statusCode).toBe(200);
  });
});
