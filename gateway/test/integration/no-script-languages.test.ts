/**
 * The gateway's own pages in the shopper's language (issue 15 item 5): the page without
 * JavaScript (`/sales/:id/wait`), a refusal page and the sign-in's refusal take every word from
 * the shopper page's catalogue, chosen by Accept-Language or `?lang=` as the shopper's page is,
 * with `<html lang dir>` set; in German no English text of the catalogue is left (the check the
 * shopper page's browser test uses, which finds English on the English page), Arabic is right
 * to left, and the sign-in's refusal carries the brand's stylesheet as the other pages do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES } from '../../../waiting-room-ui/src/catalogue.js';
import { englishLeft } from '../../../waiting-room-ui/test/english-left.js';
import { freePort } from '../../../test-support/processes.js';
import { createHarness, createSale, join, oidcEnv, type Harness } from '../support/harness.js';

let h: Harness;
const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const sameSite = { host: 'gateway.test', origin: 'http://gateway.test', 'sec-fetch-site': 'same-origin' };

beforeAll(async () => {
  // a provider nobody answers at: the callback's refusal below comes before any talk with it
  h = await createHarness({ BRAND_ACCENT: '#0a7d5a', ...oidcEnv(`http://127.0.0.1:${await freePort()}`) });
});

afterAll(async () => {
  await h?.close();
});

/** what the page shows: its text without tags, entities decoded */
const shown = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const cookieOf = (res: { cookies: unknown }) =>
  (res.cookies as { name: string; value: string }[]).map((c) => `${c.name}=${c.value}`).join('; ');

describe('the page without JavaScript and the refusals, in the shopper’s language', () => {
  it('German: not joined, in line and refused, with no English left; English is found on the English page', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    for (let i = 0; i < 3; i++) await join(app, saleId);
    const de = { 'accept-language': 'de-AT,de;q=0.9,en;q=0.5' };

    const notJoined = await app.inject({ url: `/sales/${saleId}/wait`, headers: de });
    expect(notJoined.statusCode).toBe(200);
    expect(notJoined.headers['content-language']).toBe('de');
    expect(notJoined.headers.vary).toMatch(/accept-language/i);
    expect(notJoined.body).toMatch(/^<!doctype html><html lang="de" dir="ltr">/);
    expect(notJoined.body).toContain(CATALOGUES.de.notJoinedText);
    expect(englishLeft('de', shown(notJoined.body))).toEqual([]);
    // the check can fail: the same page in English is full of it
    const english = await app.inject({ url: `/sales/${saleId}/wait`, headers: { 'accept-language': 'en-GB' } });
    expect(english.body).toMatch(/^<!doctype html><html lang="en" dir="ltr">/);
    expect(englishLeft('de', shown(english.body)).length).toBeGreaterThan(1);

    const joined = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}/join`,
      headers: { ...form, ...sameSite, ...de },
      payload: '',
    });
    expect(joined.statusCode, joined.body).toBe(303);
    const queued = await app.inject({ url: `/sales/${saleId}/wait`, headers: { ...de, cookie: cookieOf(joined) } });
    expect(queued.body).toContain('data-state="queued"');
    expect(queued.body).toContain(`<dt>${CATALOGUES.de.positionLabel}</dt><dd id="position" class="big-number">4</dd>`);
    expect(englishLeft('de', shown(queued.body))).toEqual([]);

    // refused: a sale for the shop's accounts, and no account
    const members = await createSale(app, { identity: 'shop', ratePerMinute: 60 });
    const refused = await app.inject({
      method: 'POST',
      url: `/sales/${members}/join`,
      headers: { ...form, ...sameSite, ...de },
      payload: '',
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-language']).toBe('de');
    expect(refused.body).toContain('data-code="IDENTITY_REQUIRED"');
    expect(refused.body).toContain(CATALOGUES.de.signInToJoinText);
    // the form let anyone into an account's sale: now it asks for the account as the API does,
    // and offers the sign-in (OpenID Connect is configured here)
    expect(refused.body).toContain(`<a id="sign-in" class="button primary" href="/auth/login?sale=${members}">${CATALOGUES.de.signIn}</a>`);
    expect((await app.inject({ url: `/api/sales/${members}` })).json().waiting).toBe(0);
    expect(englishLeft('de', shown(refused.body))).toEqual([]);
  });

  it('Arabic by ?lang=: right to left, and the language kept through the join', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0, queueMode: 'fifo' });
    const page = await app.inject({ url: `/sales/${saleId}/wait?lang=ar`, headers: { 'accept-language': 'de' } });
    expect(page.headers['content-language']).toBe('ar');
    expect(page.body).toMatch(/^<!doctype html><html lang="ar" dir="rtl">/);
    expect(page.body).toContain(`action="/sales/${saleId}/join?lang=ar"`);
    expect(englishLeft('ar', shown(page.body))).toEqual([]);
    const joined = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}/join?lang=ar`,
      headers: { ...form, ...sameSite },
      payload: '',
    });
    expect(joined.statusCode).toBe(303);
    expect(joined.headers.location).toBe(`/sales/${saleId}/wait?lang=ar`);
    const queued = await app.inject({ url: joined.headers.location as string, headers: { cookie: cookieOf(joined) } });
    expect(queued.body).toMatch(/^<!doctype html><html lang="ar" dir="rtl">/);
    expect(queued.body).toContain(CATALOGUES.ar.queueTitle);
    expect(englishLeft('ar', shown(queued.body))).toEqual([]);
  });

  it('the sign-in’s refusal is a page in the shopper’s language, with the brand’s stylesheet', async () => {
    const app = h.app();
    const res = await app.inject({
      url: '/auth/callback?code=x&state=y',
      headers: { accept: 'text/html', 'accept-language': 'de-DE' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-language']).toBe('de');
    expect(res.body).toMatch(/^<!doctype html><html lang="de" dir="ltr">/);
    expect(res.body).toContain('data-code="SIGN_IN_STATE_INVALID"');
    expect(res.body).toContain(CATALOGUES.de.problemSignInAgain);
    expect(res.body).toMatch(/<link rel="stylesheet" href="\/brand\.css\?v=[0-9a-f]{12}">/);
    expect(englishLeft('de', shown(res.body))).toEqual([]);
    const ar = await app.inject({ url: '/auth/callback?code=x&state=y', headers: { accept: 'text/html', 'accept-language': 'ar' } });
    expect(ar.body).toMatch(/^<!doctype html><html lang="ar" dir="rtl">/);
    // a client that does not ask for HTML gets the catalogue's JSON
    const json = await app.inject({ url: '/auth/callback?code=x&state=y' });
    expect(json.json().code).toBe('SIGN_IN_STATE_INVALID');
  });
});
