/**
 * The OpenID Connect sign-in's routes (`/auth/login`, `/auth/callback`, `/auth/logout`) are
 * rate limited per address, together (RATE_LIMIT_SIGN_IN_PER_IP): past the limit a client
 * gets `429 RATE_LIMITED` with Retry-After (JSON, or the problem page in its language for a
 * browser), another address is not held back, and the shopper routes are not counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/processes.js';
import { createHarness, createSale, oidcEnv, type Harness } from '../support/harness.js';

const LIMIT = 4;
let h: Harness;

beforeAll(async () => {
  // no provider answers: the limit comes first, and what the routes answer under it does not matter
  h = await createHarness({ RATE_LIMIT_SIGN_IN_PER_IP: String(LIMIT), ...oidcEnv(`http://127.0.0.1:${await freePort()}`) });
});

afterAll(async () => {
  await h?.close();
});

describe('the sign-in rate limit', () => {
  it('refuses an address past RATE_LIMIT_SIGN_IN_PER_IP a minute across /auth/*, 429 with Retry-After, and no other', async () => {
    const app = h.app();
    const from = (remoteAddress: string, url: string, method: 'GET' | 'POST' = 'GET', headers: Record<string, string> = {}) =>
      app.inject({ method, url, remoteAddress, headers });
    // the limit counts the three routes together
    const under = [
      await from('10.9.0.1', '/auth/login?return=/'),
      await from('10.9.0.1', '/auth/callback?code=x&state=y'),
      await from('10.9.0.1', '/auth/logout', 'POST'),
      await from('10.9.0.1', '/auth/login?return=/'),
    ];
    expect(under.map((r) => r.statusCode)).not.toContain(429);
    expect(under).toHaveLength(LIMIT);

    const over = await from('10.9.0.1', '/auth/callback?code=x&state=y');
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.headers['set-cookie'], 'a refused callback uses up no sign-in').toBeUndefined();

    // a browser gets the problem page, in its language
    const page = await from('10.9.0.1', '/auth/login?return=/', 'GET', { accept: 'text/html', 'accept-language': 'es' });
    expect(page.statusCode).toBe(429);
    expect(page.headers['retry-after']).toBeDefined();
    expect(page.body).toMatch(/^<!doctype html><html lang="es" dir="ltr">/);
    expect(page.body).toContain('data-code="RATE_LIMITED"');

    // another address is not held back, and the shopper routes are not counted by this limit
    expect((await from('10.9.0.2', '/auth/callback?code=x&state=y')).statusCode).not.toBe(429);
    const saleId = await createSale(app);
    expect((await from('10.9.0.1', `/api/sales/${saleId}`)).statusCode).toBe(200);
  });
});
