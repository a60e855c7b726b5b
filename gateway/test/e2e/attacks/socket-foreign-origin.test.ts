/**
 * Issue 12 item 10: socket.io accepted any Origin, so a page on another origin, opened by a
 * shopper whose browser sends the ticket cookie along, received `queue:admitted { token }`.
 * Against the built gateway (no PUBLIC_URL: its own origin only).
 */
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOneGateway, type OneGateway } from './one-gateway.js';

let gw: OneGateway;

beforeAll(async () => {
  gw = await startOneGateway({ TICK_MS: '100' });
});

afterAll(async () => {
  expect(await gw?.close()).toBe(0);
});

type Outcome = { connected: false; error: string } | { connected: true; admitted: Promise<string> };

/** a page with the victim's cookie, from `origin` (undefined: no Origin header, as a non-browser client) */
function open(ticket: string, saleId: string, origin: string | undefined): Promise<Outcome> {
  const socket = connect(gw.base, {
    auth: { saleId },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { cookie: `vr_ticket=${ticket}`, ...(origin ? { origin } : {}) },
  });
  const admitted = new Promise<string>((resolve) => socket.once('queue:admitted', (e: { token: string }) => resolve(e.token)));
  return new Promise<Outcome>((resolve) => {
    socket.once('connect', () => resolve({ connected: true, admitted: admitted.finally(() => socket.disconnect()) }));
    socket.once('connect_error', (err: Error & { description?: unknown }) => {
      socket.disconnect();
      resolve({ connected: false, error: err.message });
    });
  });
}

describe('issue 12 item 10: socket.io accepted any Origin', () => {
  it('refuses a handshake from another origin carrying the victim cookie, over websocket and polling', async () => {
    const saleId = await gw.createSale({ ratePerMinute: 0 });
    const victim = await gw.join(saleId);
    const evil = await open(victim.ticket, saleId, 'https://evil.example');
    expect(evil.connected).toBe(false);
    const polling = await fetch(`${gw.base}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: 'https://evil.example', cookie: `vr_ticket=${victim.ticket}` },
    });
    expect(polling.status).toBe(403);
    expect(await polling.text()).toContain('FORBIDDEN_ORIGIN');
    // a sibling subdomain, and an origin that cannot be a page's
    for (const origin of [`http://evil.127.0.0.1:${gw.port}`, 'null']) {
      expect((await open(victim.ticket, saleId, origin)).connected).toBe(false);
    }
  });

  it("accepts the gateway's own origin and clients without an Origin, which get their admission", async () => {
    const saleId = await gw.createSale({ ratePerMinute: 0 });
    const sameOrigin = await gw.join(saleId);
    const noOrigin = await gw.join(saleId);
    const pages = await Promise.all([open(sameOrigin.ticket, saleId, gw.base), open(noOrigin.ticket, saleId, undefined)]);
    expect(pages.map((p) => p.connected)).toEqual([true, true]);
    // let both in: their pages hear of it
    const res = await fetch(`${gw.base}/api/admin/sales/${saleId}`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer attack-admin-key-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ ratePerMinute: 60_000 }),
    });
    expect(res.status).toBe(200);
    for (const p of pages) if (p.connected) expect(await p.admitted).toBeTypeOf('string');
  });
});
