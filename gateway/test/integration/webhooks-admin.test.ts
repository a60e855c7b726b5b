/**
 * The webhook admin API (issue 14): endpoints registered with their secret shown once, listed
 * without it, removed; their delivery log read newest first and a failed delivery put back in
 * line. The deliveries are rows as the worker's dispatcher writes them; nothing is sent here.
 * WEBHOOK_URL + WEBHOOK_SECRET register one endpoint at boot, replaced when they change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = adminHeaders) =>
  payload === undefined
    ? h.app().inject({ method, url: `/api/admin/webhooks${url}`, headers })
    : h.app().inject({ method, url: `/api/admin/webhooks${url}`, headers, payload });

async function delivery(webhookId: string, seq: number, status: string, extra: Record<string, unknown> = {}): Promise<number> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, event_seq, ordering_key, body, status, attempts, response_status, last_error)
     VALUES ($1, $2, 'order.paid', $3, 'order-1', '{}', $4, $5, $6, $7) RETURNING id`,
    [webhookId, `evt_order_paid_${seq}`, seq, status, extra.attempts ?? 0, extra.responseStatus ?? null, extra.lastError ?? null],
  );
  return Number(rows[0]!.id);
}

describe('the webhook admin API', () => {
  it('asks for the admin key', async () => {
    const res = await api('GET', '', undefined, {});
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('shows a new endpoint’s secret once, lists endpoints without secrets, and removes one', async () => {
    const created = await api('POST', '', { url: 'https://shop.example/hooks', events: ['order.paid', 'order.cancelled'] });
    expect(created.statusCode).toBe(201);
    const wh = created.json();
    expect(wh).toMatchObject({ url: 'https://shop.example/hooks', events: ['order.paid', 'order.cancelled'], source: 'api' });
    expect(wh.id).toMatch(/^wh_/);
    expect(wh.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const all = (await api('POST', '', { url: 'http://127.0.0.1:4000/hooks' })).json();
    expect(all.events).toEqual([
      'order.confirmed',
      'order.paid',
      'order.cancelled',
      'order.rejected',
      'sale.held',
      'sale.sold_out',
      'sale.ended',
    ]);

    const listed = await api('GET', '');
    expect(listed.statusCode).toBe(200);
    const ids = listed.json().webhooks.map((w: { id: string }) => w.id);
    expect(ids).toEqual(expect.arrayContaining([wh.id, all.id]));
    expect(listed.body).not.toContain('whsec_');
    expect(listed.json().webhooks[0]).not.toHaveProperty('secret');

    expect((await api('DELETE', `/${all.id}`)).statusCode).toBe(204);
    const again = await api('DELETE', `/${all.id}`);
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('WEBHOOK_NOT_FOUND');
    expect((await api('GET', '')).json().webhooks.map((w: { id: string }) => w.id)).not.toContain(all.id);
    expect((await api('DELETE', '/wh_unknown')).json().code).toBe('WEBHOOK_NOT_FOUND');
  });

  it('refuses a bad URL or event list with 400 VALIDATION_FAILED, storing nothing', async () => {
    const before = (await h.db.pool.query('SELECT count(*)::int AS n FROM webhooks')).rows[0].n as number;
    for (const payload of [
      { url: 'not a url' },
      { url: '/relative/hooks' },
      { url: 'ftp://shop.example/hooks' },
      { url: 'https://user:pw@shop.example/hooks' },
      { url: `https://shop.example/${'a'.repeat(2048)}` },
      { url: 'https://shop.example/hooks', events: [] },
      { url: 'https://shop.example/hooks', events: ['order.shipped'] },
      { url: 'https://shop.example/hooks', events: ['order.paid', 'order.paid'] },
      { url: 'https://shop.example/hooks', extra: true },
      {},
    ]) {
      const res = await api('POST', '', payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM webhooks')).rows[0].n).toBe(before);
  });

  it('reads the delivery log newest first and retries a failed delivery, not a delivered one', async () => {
    const wh = (await api('POST', '', { url: 'https://shop.example/log' })).json();
    const delivered = await delivery(wh.id, 1, 'delivered', { attempts: 1, responseStatus: 204 });
    const failed = await delivery(wh.id, 2, 'failed', { attempts: 8, responseStatus: 500, lastError: 'HTTP 500' });
    const pending = await delivery(wh.id, 3, 'pending');

    const log = await api('GET', `/${wh.id}/deliveries`);
    expect(log.statusCode).toBe(200);
    const entries = log.json().deliveries;
    expect(entries.map((d: { id: number }) => d.id)).toEqual([pending, failed, delivered]);
    expect(entries[1]).toMatchObject({
      eventId: 'evt_order_paid_2',
      eventType: 'order.paid',
      status: 'failed',
      attempts: 8,
      responseStatus: 500,
      lastError: 'HTTP 500',
      nextAttemptAt: null,
    });
    expect((await api('GET', `/${wh.id}/deliveries?limit=1`)).json().deliveries.map((d: { id: number }) => d.id)).toEqual([pending]);
    expect((await api('GET', `/${wh.id}/deliveries?limit=0`)).statusCode).toBe(400);

    const retried = await api('POST', `/${wh.id}/deliveries/${failed}/retry`);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id: failed, status: 'pending', attempts: 8 });
    const { rows } = await h.db.pool.query(
      'SELECT status, attempts, next_attempt_at <= now() AS due FROM webhook_deliveries WHERE id = $1',
      [failed],
    );
    expect(rows[0]).toEqual({ status: 'pending', attempts: 8, due: true });

    const done = await api('POST', `/${wh.id}/deliveries/${delivered}/retry`);
    expect(done.statusCode).toBe(409);
    expect(done.json().code).toBe('DELIVERY_NOT_RETRYABLE');
    const unknown = await api('POST', `/${wh.id}/deliveries/999999999/retry`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('DELIVERY_NOT_FOUND');
    expect((await api('GET', '/wh_nobody/deliveries')).json().code).toBe('WEBHOOK_NOT_FOUND');

    // a removed endpoint keeps its log readable
    await api('DELETE', `/${wh.id}`);
    expect((await api('GET', `/${wh.id}/deliveries`)).json().deliveries).toHaveLength(3);
  });

  it('registers WEBHOOK_URL at boot once, and replaces it when the URL or secret changes', async () => {
    const secret = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    const configured = async () =>
      (await h.db.pool.query("SELECT id, url FROM webhooks WHERE source = 'config' AND deleted_at IS NULL")).rows as {
        id: string;
        url: string;
      }[];
    await h.addGateway({ WEBHOOK_URL: 'https://shop.example/boot', WEBHOOK_SECRET: secret });
    const first = await configured();
    expect(first).toHaveLength(1);
    await h.addGateway({ WEBHOOK_URL: 'https://shop.example/boot', WEBHOOK_SECRET: secret });
    expect(await configured()).toEqual(first);
    await h.addGateway({ WEBHOOK_URL: 'https://shop.example/boot-2', WEBHOOK_SECRET: secret });
    const replaced = await configured();
    expect(replaced).toHaveLength(1);
    expect(replaced[0]!.url).toBe('https://shop.example/boot-2');
    expect(replaced[0]!.id).not.toBe(first[0]!.id);
  });
});
