/**
 * Issue 12 item 13c: `/fairness` read PostgreSQL and the audit streamed the whole visitors hash
 * on every request, uncached and unlimited (20 at once: 19 MB in 6 s). Now `/fairness` is
 * cached per gateway and tells caches so; the audit is built once per ended sale and served
 * with an ETag; downloads at once are bounded per gateway and per address, with a clear
 * 429 / 503 and Retry-After beyond.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createHarness, createSale, join, type Harness } from '../../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ AUDIT_MAX_STREAMS: '3', AUDIT_MAX_STREAMS_PER_IP: '2' });
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('issue 12 item 13c: /fairness and the audit hit PostgreSQL or streamed the whole visitors hash per request, uncached and unlimited', () => {
  let sale: string;
  beforeAll(async () => {
    const app = h.app();
    sale = await createSale(app, { stock: 5 });
    for (let i = 0; i < 300; i++) await join(app, sale);
    const end = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${sale}`,
      headers: adminHeaders,
      payload: { endsAt: new Date(Date.now() + 200).toISOString() },
    });
    expect(end.statusCode).toBe(200);
    for (let i = 0; i < 100; i++) {
      if ((await app.inject({ url: `/api/sales/${sale}/fairness` })).json().seed !== null) break;
      await sleep(100);
    }
  }, 120_000);

  it('tells caches how long /fairness holds', async () => {
    const res = await h.app().inject({ url: `/api/sales/${sale}/fairness` });
    expect(res.statusCode).toBe(200);
    expect(res.json().seed).not.toBeNull();
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
  });

  it('builds the audit once for many concurrent downloads, and answers an unchanged one 304', async () => {
    const app = h.app();
    const before = app.audit.builds;
    // ten addresses at once, within the gateway's bound of three: every answer is the full
    // audit or a clear refusal to retry, and the visitors hash is read once
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => app.inject({ url: `/api/sales/${sale}/fairness/audit`, remoteAddress: `10.0.0.${i + 1}` })),
    );
    expect(app.audit.builds - before).toBe(1);
    const ok = answers.filter((a) => a.statusCode === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const a of answers.filter((x) => x.statusCode !== 200)) {
      expect(a.statusCode).toBe(503);
      expect(a.json().code).toBe('UNAVAILABLE');
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
    }
    for (const a of ok) {
      expect(a.body.split('\n').filter(Boolean)).toHaveLength(300);
      expect(a.body).toBe(ok[0]!.body);
      expect(a.headers['etag']).toBe(ok[0]!.headers['etag']);
    }
    const again = await app.inject({
      url: `/api/sales/${sale}/fairness/audit`,
      headers: { 'if-none-match': String(ok[0]!.headers['etag']) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(app.audit.builds - before).toBe(1);
  });

  it('refuses downloads beyond the per-address and per-gateway bounds with 429 and 503, Retry-After, and serves again once they end', async () => {
    const app = h.app();
    const url = `/api/sales/${sale}/fairness/audit`;
    // two downloads in progress from one address (slots taken as a slow download takes them)
    expect(app.audit.acquire('10.1.1.1')).toBe('ok');
    expect(app.audit.acquire('10.1.1.1')).toBe('ok');
    const third = await app.inject({ url, remoteAddress: '10.1.1.1' });
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // one more from elsewhere fills the gateway's three
    expect(app.audit.acquire('10.2.2.2')).toBe('ok');
    const full = await app.inject({ url, remoteAddress: '10.3.3.3' });
    expect(full.statusCode).toBe(503);
    expect(full.json()).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
    // the downloads end: served again, and a served download gives its slot back
    app.audit.release('10.1.1.1');
    app.audit.release('10.1.1.1');
    app.audit.release('10.2.2.2');
    for (let i = 0; i < 5; i++) expect((await app.inject({ url, remoteAddress: '10.1.1.1' })).statusCode).toBe(200);
  });
});
