/**
 * Sign-in for shoppers who arrive without the shop's link (issue 15 item 3), on the real stack:
 * the built gateway and worker, and the example shop running its real OpenID provider
 * (oidc-provider). A shopper opens a sale for signed-in accounts in a browser, is refused
 * with "Sign in", signs in at the shop's provider (authorization code + PKCE), comes back,
 * joins, is admitted and buys; the account is the one the shop's signed identities name.
 * Callbacks the browser did not start, tampered with, cancelled or replayed are refused with
 * stable codes, and none of them sets a session.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../../test-support/browser.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Answer, type Stack } from './support/stack.js';

/** what the sign-in looks like, for people to look at (test-results/ is not committed) */
const SHOTS = join(fileURLToPath(new URL('../../../../', import.meta.url)), 'test-results', 'screenshots');
const shot = (page: Page, name: string) => {
  mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: join(SHOTS, `sign-in-${name}.png`), fullPage: true, animations: 'disabled' });
};

let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageProblems: string[] = [];

beforeAll(async () => {
  stack = await startStack({ oidc: true });
  browser = await launchChromium();
}, 180_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
  expect(pageProblems.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function newPage(): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, locale: 'en-GB' });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
  return { page, context };
}

const waitState = (page: Page, state: string, timeout = 20_000) => page.waitForSelector(`body[data-state="${state}"]`, { timeout });

const setCookies = (r: Answer): string[] => ([] as string[]).concat((r.headers['set-cookie'] as string | string[] | undefined) ?? []);
const sessionSet = (r: Answer) => setCookies(r).some((c) => /^vr_account=[^;]+/.test(c) && !/Max-Age=0/.test(c));

/** `/auth/login` over HTTP: the provider's URL it redirects to and the sign-in cookie it set */
async function startLogin(saleId: string): Promise<{ location: URL; cookie: string }> {
  const r = await stack.apiWith('GET', `/auth/login?sale=${saleId}`, {});
  expect(r.status).toBe(302);
  const location = new URL(String(r.headers.location));
  const cookie = setCookies(r).find((c) => c.startsWith('vr_sign_in='));
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Lax/);
  return { location, cookie: cookie!.split(';')[0]! };
}

describe('OpenID Connect sign-in at the shop’s provider', () => {
  it('signs a shopper in at the provider in a browser: back in the room, joins, is admitted, buys', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 3 });
    const { page, context } = await newPage();
    let callback: string | undefined;
    page.on('request', (req) => {
      if (req.url().startsWith(`${stack.base}/auth/callback?`)) callback = req.url();
    });
    await page.goto(`${stack.base}/sales/${saleId}`);
    await waitState(page, 'refused');
    expect(await page.textContent('#outcome-action')).toBe('Sign in');
    await shot(page, '1-room-asks-to-sign-in');
    await page.click('#outcome-action');

    // the shop's own login page, at its provider
    await page.waitForURL((url) => url.href.startsWith(`${stack.oidcBase}/interaction/`));
    const signInCookie = (await context.cookies(`${stack.base}/auth/callback`)).find((c) => c.name === 'vr_sign_in');
    expect(signInCookie?.httpOnly).toBe(true);
    await page.fill('#account', 'olivia');
    await page.fill('#password', 'not-the-password');
    await page.click('#sign-in');
    await page.waitForSelector('#sign-in-problem');
    await page.fill('#account', 'olivia');
    await page.fill('#password', 'velvet');
    await shot(page, '2-provider-login');
    await page.click('#sign-in');

    // back in the waiting room, signed in: the page joins and the turn comes (the sale is open)
    await page.waitForURL(`${stack.base}/sales/${saleId}`);
    await waitState(page, 'admitted');
    await shot(page, '3-back-signed-in-admitted');
    const session = (await context.cookies(stack.base)).find((c) => c.name === 'vr_account');
    expect(session?.httpOnly).toBe(true);
    // the session names the account: a join with it alone, from anywhere, gets the account's
    // ticket and turn, both naming it (`acct`)
    const viaSession = await stack.apiWith('POST', `/api/sales/${saleId}/queue`, { cookie: `vr_account=${session!.value}` }, {});
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(viaSession.body.status).toBe('admitted');
    expect(claims(viaSession.body.ticket as string).acct).toBe('olivia');
    expect(claims(viaSession.body.admission.token as string).acct).toBe('olivia');
    await page.click('#buy');
    await page.waitForURL((url) => url.href.startsWith(`${stack.shopBase}/checkout?`), { timeout: 20_000 });
    expect(await page.getAttribute('body', 'data-page')).toBe('checkout');
    const orderId = await page.getAttribute('#checkout', 'data-order');
    // the checkout knows which of the shop's accounts bought (the order token's acct)
    expect(await page.textContent('#account')).toBe('olivia');

    const { rows } = await stack.db.pool.query<{ status: string; visitor_id: string }>(
      'SELECT status, visitor_id FROM orders WHERE sale_id = $1',
      [saleId],
    );
    expect(rows.map((r) => r.status)).toEqual(['confirmed']);
    // the account is the shop's: a link the shop signs for olivia is the same visitor, told of its order
    const identity = (await stack.shopApi('POST', '/api/sign-in', { account: 'olivia' })).body.identity as string;
    const again = await stack.apiWith('POST', `/api/sales/${saleId}/queue`, { 'x-shopper-identity': identity }, {});
    expect({ visitorId: again.body.visitorId, status: again.body.status }).toEqual({ visitorId: rows[0]!.visitor_id, status: 'ordered' });
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);

    // the same callback again, with the sign-in cookie it had: the code was used, nothing is signed in
    expect(callback).toBeDefined();
    const replay = await stack.apiWith('GET', new URL(callback!).pathname + new URL(callback!).search, {
      cookie: `vr_sign_in=${signInCookie!.value}`,
    });
    expect({ status: replay.status, code: replay.body.code }).toEqual({ status: 400, code: 'SIGN_IN_FAILED' });
    expect(sessionSet(replay)).toBe(false);
  });

  it('a shopper who cancels at the provider comes back to a page that says so (403 SIGN_IN_DENIED)', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 1 });
    const { page, context } = await newPage();
    await page.goto(`${stack.base}/sales/${saleId}`);
    await waitState(page, 'refused');
    await page.click('#outcome-action');
    await page.waitForURL((url) => url.href.startsWith(`${stack.oidcBase}/interaction/`));
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${stack.base}/auth/callback?`)),
      page.click('#cancel'),
    ]);
    expect(answer.status()).toBe(403);
    expect(await page.getAttribute('#problem', 'data-code')).toBe('SIGN_IN_DENIED');
    expect((await context.cookies(stack.base)).some((c) => c.name === 'vr_account')).toBe(false);
    expect((await stack.api('GET', `/api/sales/${saleId}`)).body.waiting).toBe(0);
  });

  it('refuses callbacks this browser did not start, tampered ones and the provider’s refusal, setting no session', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 1 });
    const refusal = async (what: string, path: string, cookie: string | undefined, status: number, code: string) => {
      const r = await stack.apiWith('GET', path, cookie ? { cookie } : {});
      expect({ what, status: r.status, code: r.body?.code }).toEqual({ what, status, code });
      expect(sessionSet(r), `${what}: no session`).toBe(false);
    };
    const { location, cookie } = await startLogin(saleId);
    const state = location.searchParams.get('state')!;
    // what the gateway asked the provider for: a code, PKCE S256, its own callback
    expect(location.origin).toBe(stack.oidcBase);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(`${stack.base}/auth/callback`);
    expect(location.searchParams.get('nonce')).toBeTruthy();

    await refusal('no sign-in cookie', `/auth/callback?code=abc&state=${state}`, undefined, 400, 'SIGN_IN_STATE_INVALID');
    await refusal('another state', `/auth/callback?code=abc&state=${state}x`, cookie, 400, 'SIGN_IN_STATE_INVALID');
    const value = cookie.slice('vr_sign_in='.length);
    const flipped = `vr_sign_in=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    await refusal('a tampered cookie', `/auth/callback?code=abc&state=${state}`, flipped, 400, 'SIGN_IN_STATE_INVALID');
    await refusal(
      'error=access_denied',
      `/auth/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(stack.oidcBase!)}`,
      cookie,
      403,
      'SIGN_IN_DENIED',
    );
    await refusal('a code the provider never gave', `/auth/callback?code=made-up&state=${state}`, cookie, 400, 'SIGN_IN_FAILED');
    await refusal('an open redirect', `/auth/login?return=${encodeURIComponent('//evil.example/')}`, undefined, 400, 'INVALID_RETURN_PATH');
    await refusal('not a sale id', `/auth/login?sale=${encodeURIComponent('../admin')}`, undefined, 400, 'INVALID_RETURN_PATH');

    // and the refusal names the sign-in: a join without an account is told where to go
    const join = await stack.apiWith('POST', `/api/sales/${saleId}/queue`, {}, {});
    expect({ status: join.status, code: join.body.code, signInUrl: join.body.signInUrl }).toEqual({
      status: 401,
      code: 'IDENTITY_REQUIRED',
      signInUrl: `/auth/login?sale=${saleId}`,
    });
    expect((await stack.api('GET', `/api/sales/${saleId}`)).body.waiting, 'nothing took a place').toBe(0);

    // signing out: from the gateway's own page it clears the session; another site's page may not
    const crossSite = await stack.apiWith('POST', '/auth/logout', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect({ status: crossSite.status, code: crossSite.body?.code }).toEqual({ status: 403, code: 'FORBIDDEN_ORIGIN' });
    expect(
      setCookies(crossSite).some((c) => c.startsWith('vr_account=')),
      'the session left alone',
    ).toBe(false);
    const own = await stack.apiWith('POST', '/auth/logout', { origin: stack.base, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(204);
    expect(setCookies(own).some((c) => /^vr_account=;/.test(c) || /^vr_account=[^;]*;.*Max-Age=0/i.test(c))).toBe(true);
  });
});
