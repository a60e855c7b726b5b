/**
 * A sign-in whose code exchange fails at the shop's provider (issue 15 item 3): the provider
 * answering 5xx (with an OAuth error body or without) or not answering at all is a 502
 * IDENTITY_PROVIDER_UNAVAILABLE with Retry-After and a fresh sign-in's address (a retryable
 * problem page for a browser, in its language), while a genuinely bad callback (a code the
 * provider does not know, another state) stays a 4xx. The provider is the example shop's real
 * one; "failing" is a real HTTP peer on its port answering 503 or 500, then nothing at all.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider } from '../../../examples/shop/src/identity-provider.js';
import { freePort } from '../../../test-support/processes.js';
import { createHarness, oidcEnv, type Harness } from '../support/harness.js';

let h: Harness;
let port: number;
let provider: Awaited<ReturnType<typeof startIdentityProvider>> | undefined;
let peer: Server | undefined;

beforeAll(async () => {
  port = await freePort();
  const env = oidcEnv(`http://127.0.0.1:${port}`);
  provider = await startIdentityProvider(
    {
      port,
      issuer: env.OIDC_ISSUER!,
      clientId: env.OIDC_CLIENT_ID!,
      clientSecret: env.OIDC_CLIENT_SECRET!,
      redirectUri: `${env.PUBLIC_URL}/auth/callback`,
      demoPassword: 'velvet',
    },
    '127.0.0.1',
  );
  h = await createHarness(env);
});

afterAll(async () => {
  await provider?.close();
  await new Promise((r) => (peer ? peer.close(r) : r(undefined)));
  await h?.close();
});

/** a sign-in started at the gateway: its cookie and the state the provider would send back */
async function startSignIn(): Promise<{ cookie: string; state: string }> {
  const login = await h.app().inject({ url: '/auth/login?return=/sales/drop-1' });
  expect(login.statusCode, login.body).toBe(302);
  const state = new URL(String(login.headers.location)).searchParams.get('state')!;
  const cookie = (login.cookies as { name: string; value: string }[]).map((c) => `${c.name}=${c.value}`).join('; ');
  return { cookie, state };
}

/** the provider's redirect back, as it sends it (with `iss`: it advertises RFC 9207, so openid-client asks for it) */
const callback = async (query: string, cookie: string, headers: Record<string, string> = {}) =>
  h.app().inject({
    url: `/auth/callback?${query}&iss=${encodeURIComponent(`http://127.0.0.1:${port}`)}`,
    headers: { cookie, ...headers },
  });

/** a real HTTP peer on the provider's port, answering every request with this status and body */
async function failingPeer(status: number, body: string, contentType: string): Promise<void> {
  await new Promise((r) => (peer ? peer.close(r) : r(undefined)));
  peer = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': contentType }).end(body);
  });
  await new Promise<void>((resolve) => peer!.listen(port, '127.0.0.1', () => resolve()));
}

const expectUnavailable = (res: Awaited<ReturnType<typeof callback>>) => {
  expect(res.statusCode, res.body).toBe(502);
  expect(res.json()).toMatchObject({
    statusCode: 502,
    code: 'IDENTITY_PROVIDER_UNAVAILABLE',
    signInUrl: `/auth/login?return=${encodeURIComponent('/sales/drop-1')}`,
  });
  expect(res.headers['retry-after']).toBe('5');
  expect(String(res.headers['set-cookie'] ?? '')).not.toContain('vr_account=');
};

describe('the code exchange', () => {
  it('a bad callback stays 4xx while the provider answers; its failing is a 502 to retry', async () => {
    // the provider is up and the state is this browser's, but the code is none the provider gave
    const bad = await startSignIn();
    const badCode = await callback(`code=not-a-code&state=${bad.state}`, bad.cookie);
    expect(badCode.statusCode, badCode.body).toBe(400);
    expect(badCode.json().code).toBe('SIGN_IN_FAILED');
    // another state than the one this browser started: refused before the provider is asked
    const other = await startSignIn();
    const mismatch = await callback(`code=x&state=${other.state}x`, other.cookie);
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().code).toBe('SIGN_IN_STATE_INVALID');

    // the provider goes; on its port, something answers 503 without an OAuth body
    await provider!.close();
    provider = undefined;
    await failingPeer(503, 'Service Unavailable', 'text/plain');
    const plain = await startSignIn();
    expectUnavailable(await callback(`code=c&state=${plain.state}`, plain.cookie));

    // a 500 with an OAuth error body (server_error)
    await failingPeer(500, JSON.stringify({ error: 'server_error' }), 'application/json');
    const oauth = await startSignIn();
    expectUnavailable(await callback(`code=c&state=${oauth.state}`, oauth.cookie));

    // a browser gets a problem page in its language with a button to sign in again, and no
    // refresh that would go round the failing provider by itself every few seconds
    const browser = await startSignIn();
    const page = await callback(`code=c&state=${browser.state}`, browser.cookie, { accept: 'text/html', 'accept-language': 'de' });
    expect(page.statusCode).toBe(502);
    expect(page.headers['retry-after']).toBe('5');
    expect(page.body).toMatch(/^<!doctype html><html lang="de" dir="ltr">/);
    expect(page.body).toContain('data-code="IDENTITY_PROVIDER_UNAVAILABLE"');
    expect(page.body).toContain('Die Anmeldung des Shops ist gerade nicht erreichbar.');
    expect(page.body).toContain(`<a id="sign-in" class="button primary" href="/auth/login?return=${encodeURIComponent('/sales/drop-1')}">`);
    expect(page.body).not.toContain('http-equiv="refresh"');

    // nobody on the port at all (a network failure)
    await new Promise((r) => peer!.close(r));
    peer = undefined;
    const gone = await startSignIn();
    expectUnavailable(await callback(`code=c&state=${gone.state}`, gone.cookie));
  });
});
