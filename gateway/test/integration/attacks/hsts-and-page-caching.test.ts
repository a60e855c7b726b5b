/**
 * Issue 12 item 13: Strict-Transport-Security was sent over plain http, and the pages answered
 * `cache-control: public, max-age=0` (send's own header replaced the `no-cache` the code set).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, createSale, type Harness } from '../../support/harness.js';

let h: Harness;
let saleId: string;
beforeAll(async () => {
  h = await createHarness({ TRUST_PROXY: 'true' });
  saleId = await createSale(h.app());
});
afterAll(async () => {
  await h?.close();
});

describe('issue 12 item 13a: HSTS was sent over plain http', () => {
  for (const url of ['/admin', () => `/api/sales/${saleId}`, '/healthz']) {
    const path = () => (typeof url === 'string' ? url : url());
    it(`sends strict-transport-security on ${typeof url === 'string' ? url : '/api/sales/:saleId'} over https only`, async () => {
      const plain = await h.app().inject({ url: path() });
      expect(plain.statusCode).toBeLessThan(400);
      expect(plain.headers['strict-transport-security']).toBeUndefined();
      // the other security headers stay on http
      expect(plain.headers['x-content-type-options']).toBe('nosniff');
      const tls = await h.app().inject({ url: path(), headers: { 'x-forwarded-proto': 'https' } });
      expect(tls.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    });
  }
});

describe('issue 12 item 13b: pages answered public, max-age=0 instead of no-cache', () => {
  it('answers the HTML pages with exactly no-cache', async () => {
    for (const url of [`/sales/${saleId}`, '/admin']) {
      const res = await h.app().inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('revalidates a page with its ETag: unchanged is a 304 without the page, per language', async () => {
    for (const url of [`/sales/${saleId}`, `/sales/${saleId}?lang=de`, '/admin']) {
      const first = await h.app().inject({ url });
      const etag = first.headers.etag as string;
      expect(etag, url).toMatch(/^(W\/)?"[^"]+"$/);
      const again = await h.app().inject({ url, headers: { 'if-none-match': etag } });
      expect({ url, status: again.statusCode, body: again.body }).toEqual({ url, status: 304, body: '' });
      expect(again.headers['cache-control']).toBe('no-cache');
    }
    const en = await h.app().inject({ url: `/sales/${saleId}` });
    const de = await h.app().inject({ url: `/sales/${saleId}?lang=de` });
    expect(en.headers.etag, 'each language its own').not.toBe(de.headers.etag);
  });

  it('keeps the hashed assets cached for a year, immutable', async () => {
    const page = await h.app().inject({ url: '/admin' });
    const asset = /\/assets\/[^"']+\.js/.exec(page.body)?.[0];
    expect(asset).toBeDefined();
    const res = await h.app().inject({ url: asset! });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });
});
