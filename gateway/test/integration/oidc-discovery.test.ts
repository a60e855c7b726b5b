/**
 * A gateway whose OpenID provider is down boots and serves its sales; a sign-in meanwhile is a
 * clear 503 (JSON, or a page for a browser), never a hang or a 500; once the provider answers
 * (the example shop's real one, started late on the same port), sign-in works without a restart.
 */
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider } from '../../../examples/shop/src/identity-provider.js';
import { uniqueId } from '../../../test-support/databases.js';
import { adminHeaders, createHarness, oidcEnv, until, type Harness } from '../support/harness.js';

let h: Harness;
let port: number;
let provider: Awaited<ReturnType<typeof startIdentityProvider>> | undefined;

beforeAll(async () => {
  // a port nothing listens on yet: the provider comes up there later
  port = await new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  h = await createHarness(oidcEnv(`http://127.0.0.1:${port}`));
});

afterAll(async () => {
  await provider?.close();
  await h?.close();
});

describe('OpenID Connect discovery', () => {
  it('boots without the provider, answers sign-in 503 meanwhile, and signs in once the provider is up', async () => {
    const app = h.app();
    // a gateway with an OpenID provider and no shop keys takes sales for accounts
    const saleId = uniqueId('oidc-');
    const created = await app.inject({
      method: 'POST',
      url: '/api/admin/sales',
      headers: adminHeaders,
      payload: {
        id: saleId,
        name: 'x',
        stock: 1,
        startsAt: new Date(Date.now() - 1_000).toISOString(),
        ratePerMinute: 60,
        identity: 'shop',
      },
    });
    expect(created.statusCode).toBe(201);
    const join = await app.inject({ method: 'POST', url: `/api/sales/${saleId}/queue`, payload: {} });
    expect({ status: join.statusCode, code: join.json().code, signInUrl: join.json().signInUrl }).toEqual({
      status: 401,
      code: 'IDENTITY_REQUIRED',
      signInUrl: `/auth/login?sale=${saleId}`,
    });

    const down = await app.inject({ method: 'GET', url: `/auth/login?sale=${saleId}` });
    expect({ status: down.statusCode, code: down.json().code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
    expect(down.headers['retry-after']).toBeDefined();
    expect(down.headers['set-cookie'], 'no sign-in started').toBeUndefined();
    const page = await app.inject({ method: 'GET', url: `/auth/login?sale=${saleId}`, headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('data-code="UNAVAILABLE"');

    provider = await startIdentityProvider(
      {
        port,
        issuer: `http://127.0.0.1:${port}`,
        clientId: 'velvet-rope',
        clientSecret: 'a-client-secret-0123456789',
        redirectUri: 'http://127.0.0.1:3999/auth/callback',
        demoPassword: 'velvet',
      },
      '127.0.0.1',
    );
    let location = '';
    await until(
      'sign-in to work once the provider is up',
      async () => {
        const r = await app.inject({ method: 'GET', url: `/auth/login?sale=${saleId}` });
        location = String(r.headers.location ?? '');
        return r.statusCode === 302;
      },
      100,
      200,
    );
    expect(location.startsWith(`http://127.0.0.1:${port}/auth?`)).toBe(true);
    expect(new URL(location).searchParams.get('redirect_uri')).toBe('http://127.0.0.1:3999/auth/callback');
  });
});
