/**
 * The sale's notice through the admin API (issue 16 item 8): bad input is refused with a
 * stable code and changes nothing; a notice set is in PostgreSQL, in the Redis hot copy, in
 * the polling answers, and comes back when the hot copy is lost. And the pages without
 * JavaScript (item 9) as HTML: the join's form protections, the meta refresh at the advised
 * interval, the notice escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createHarness, createSale, join, me, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const noticePath = (saleId: string) => `/api/admin/sales/${saleId}/notice`;

async function storedState(saleId: string) {
  const app = h.app();
  const [rows, hot, admin, sale] = await Promise.all([
    h.db.pool.query('SELECT message, level FROM sale_notices WHERE sale_id = $1', [saleId]),
    app.redis.get(app.keyspace.sale(saleId).notice),
    app.inject({ url: noticePath(saleId), headers: adminHeaders }),
    app.inject({ url: `/api/sales/${saleId}` }),
  ]);
  return { rows: rows.rows, hot, admin: admin.json().notice, shopper: sale.json().notice };
}

describe('the sale notice API', () => {
  it('refuses bad input with 400 and a stable code, and changes nothing', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const before = await storedState(saleId);
    expect(before).toEqual({ rows: [], hot: null, admin: null, shopper: undefined });

    const bad: [unknown, string][] = [
      [{ message: '' }, 'INVALID_NOTICE'],
      [{ message: '   \n  ' }, 'INVALID_NOTICE'],
      [{ message: 'x'.repeat(501) }, 'INVALID_NOTICE'],
      [{ message: 'bell\u0007' }, 'INVALID_NOTICE'],
      [{ message: 'reversed \u202etext' }, 'INVALID_NOTICE'],
      [{ message: 'hello', level: 'shouting' }, 'INVALID_NOTICE'],
      [{ message: 5 }, 'VALIDATION_FAILED'],
      [{ message: 'hello', html: '<b>hi</b>' }, 'VALIDATION_FAILED'],
      [{}, 'VALIDATION_FAILED'],
    ];
    for (const [payload, code] of bad) {
      const res = await app.inject({ method: 'PUT', url: noticePath(saleId), headers: adminHeaders, payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json(), JSON.stringify(payload)).toMatchObject({ statusCode: 400, code });
    }
    const notJson = await app.inject({
      method: 'PUT',
      url: noticePath(saleId),
      headers: { ...adminHeaders, 'content-type': 'application/json' },
      payload: '{"message": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().code).toBe('INVALID_JSON');
    // exactly 500 characters (code points) is allowed: the cap is not off by one
    const atCap = await app.inject({
      method: 'PUT',
      url: noticePath(saleId),
      headers: adminHeaders,
      payload: { message: '€'.repeat(500) },
    });
    expect(atCap.statusCode).toBe(200);
    await app.inject({ method: 'DELETE', url: noticePath(saleId), headers: adminHeaders });

    expect(await storedState(saleId)).toEqual(before);
  });

  it('needs the admin key, and a sale that exists', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const anonymous = await app.inject({ method: 'PUT', url: noticePath(saleId), payload: { message: 'hi' } });
    expect(anonymous.statusCode).toBe(401);
    for (const method of ['PUT', 'DELETE', 'GET'] as const) {
      const res = await app.inject({
        method,
        url: noticePath('no-such-sale'),
        headers: adminHeaders,
        ...(method === 'PUT' ? { payload: { message: 'hi' } } : {}),
      });
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('SALE_NOT_FOUND');
    }
    expect((await storedState(saleId)).rows).toEqual([]);
  });

  it('stores a notice in PostgreSQL and Redis, carries it in the polling answers, clears it, and restores a lost hot copy', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const shopper = await join(app, saleId);
    const set = await app.inject({
      method: 'PUT',
      url: noticePath(saleId),
      headers: adminHeaders,
      payload: { message: '  Restock at 18:00.\r\nStay on this page.  ', level: 'warning' },
    });
    expect(set.statusCode).toBe(200);
    const notice = set.json().notice;
    expect(notice).toMatchObject({ message: 'Restock at 18:00.\nStay on this page.', level: 'warning' });
    expect(Date.parse(notice.at)).not.toBeNaN();

    const state = await storedState(saleId);
    expect(state.rows).toEqual([{ message: notice.message, level: 'warning' }]);
    expect(JSON.parse(state.hot!)).toEqual(notice);
    expect(state.admin).toEqual(notice);
    expect(state.shopper).toEqual(notice);
    expect((await me(app, saleId, shopper.ticket)).body.notice).toEqual(notice);

    // the hot copy lost (Redis restarted empty): the republisher puts it back from PostgreSQL
    await app.redis.del(app.keyspace.sale(saleId).notice);
    await app.republisher.publishAll('test');
    expect(JSON.parse((await app.redis.get(app.keyspace.sale(saleId).notice))!)).toEqual(notice);

    // a notice replaced, then cleared
    const info = await app.inject({ method: 'PUT', url: noticePath(saleId), headers: adminHeaders, payload: { message: 'All good' } });
    expect(info.json().notice).toMatchObject({ message: 'All good', level: 'info' });
    const cleared = await app.inject({ method: 'DELETE', url: noticePath(saleId), headers: adminHeaders });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toEqual({ notice: null });
    const after = await storedState(saleId);
    expect(after).toEqual({ rows: [], hot: null, admin: null, shopper: undefined });
    expect((await me(app, saleId, shopper.ticket)).body.notice).toBeUndefined();
    // clearing twice is fine
    expect((await app.inject({ method: 'DELETE', url: noticePath(saleId), headers: adminHeaders })).statusCode).toBe(200);
  });
});

describe('the pages without JavaScript', () => {
  // what a browser's form post sends
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  it('joins by form, then shows the place with a meta refresh at the interval the status API advises', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 6, queueMode: 'fifo' });
    // four shoppers ahead, who are not let in (rate 6 a minute: a few seconds per admission)
    for (let i = 0; i < 4; i++) await join(app, saleId);
    const host = 'gateway.test';
    const res = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}`,
      headers: { ...form, host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
      payload: '',
    });
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`/sales/${saleId}/wait`);
    const cookies = Object.fromEntries((res.cookies as { name: string; value: string }[]).map((c) => [c.name, c.value]));
    expect(cookies.vr_ticket).toBeTruthy();

    const cookie = `vr_ticket=${cookies.vr_ticket}; vr_vid=${cookies.vr_vid}`;
    const page = await app.inject({ url: `/sales/${saleId}/wait`, headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const status = await me(app, saleId, cookies.vr_ticket!);
    expect(status.body.status).toBe('queued');
    expect(page.body).toContain('data-state="queued"');
    expect(page.body).toContain(`<dd id="position" class="big-number">${status.body.position}</dd>`);
    const refresh = /<meta http-equiv="refresh" content="(\d+)">/.exec(page.body);
    expect(refresh, page.body).not.toBeNull();
    // the same figure the status API advises (the two reads are a moment apart: ±1 s)
    expect(Math.abs(Number(refresh![1]) - Math.ceil(status.body.retryAfterMs / 1000))).toBeLessThanOrEqual(1);

    // the same place as with JavaScript: the API join with those cookies answers 200, same visitor
    const again = await join(app, saleId, { cookie });
    expect(again.statusCode).toBe(200);
    expect(again.position).toBe(status.body.position);
  });

  it('escapes the notice it renders', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const message = `<script>alert("x")</script> & <img src=x onerror=alert(1)> 'quoted'`;
    await app.inject({ method: 'PUT', url: noticePath(saleId), headers: adminHeaders, payload: { message, level: 'warning' } });
    const page = await app.inject({ url: `/sales/${saleId}/wait` });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<script>');
    expect(page.body).not.toContain('<img');
    expect(page.body).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt; &#39;quoted&#39;',
    );
    expect(page.body).toContain('role="alert"');
    // not joined: a form to join, no refresh needed
    expect(page.body).toContain(`action="/sales/${saleId}/join"`);
  });

  it('refuses a form sent from another site, and makes no place', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    for (const headers of [
      { origin: 'https://evil.example', host: 'gateway.test' },
      { 'sec-fetch-site': 'cross-site', host: 'gateway.test' },
      { 'sec-fetch-site': 'same-site', host: 'gateway.test' },
      { 'sec-fetch-site': 'cross-site', origin: 'http://gateway.test', host: 'gateway.test' },
      { origin: 'null', host: 'gateway.test' },
    ]) {
      const res = await app.inject({ method: 'POST', url: `/sales/${saleId}/join`, headers: { ...form, ...headers }, payload: '' });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('data-code="FORBIDDEN_ORIGIN"');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const buy = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}/buy`,
      headers: { ...form, origin: 'https://evil.example', host: 'gateway.test' },
      payload: 'quantity=1',
    });
    expect(buy.statusCode).toBe(403);
    expect((await app.inject({ url: `/api/sales/${saleId}` })).json().waiting).toBe(0);
    // the page's own form, as Chromium sends it under Referrer-Policy: no-referrer
    const own = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}/join`,
      headers: { ...form, origin: 'null', 'sec-fetch-site': 'same-origin', host: 'gateway.test' },
      payload: '',
    });
    expect(own.statusCode).toBe(303);
  });

  it('says plainly that a sale with proof of work needs JavaScript to join', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${saleId}`,
      headers: adminHeaders,
      payload: { powDifficulty: 8 },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const res = await app.inject({ method: 'POST', url: `/sales/${saleId}`, headers: form, payload: '' });
    expect(res.statusCode).toBe(428);
    expect(res.body).toContain('data-code="POW_REQUIRED"');
    expect(res.body).toContain('needs JavaScript');
    expect((await app.inject({ url: `/api/sales/${saleId}` })).json().waiting).toBe(0);
  });

  it('answers a buy without a turn with a page, not JSON', async () => {
    const app = h.app();
    const saleId = await createSale(app, { ratePerMinute: 0 });
    const shopper = await join(app, saleId);
    const res = await app.inject({
      method: 'POST',
      url: `/sales/${saleId}/buy`,
      headers: { ...form, cookie: `vr_ticket=${shopper.cookies.vr_ticket}` },
      payload: 'quantity=1',
    });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('data-code="NOT_ADMITTED"');
    const none = await app.inject({ method: 'POST', url: `/sales/${saleId}/buy`, headers: form, payload: 'quantity=1' });
    expect(none.statusCode).toBe(401);
    expect(none.body).toContain('data-code="INVALID_TICKET"');
  });
});
