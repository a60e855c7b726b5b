/**
 * Issue 12 item 1: a socket.io handshake carrying `Cookie: vr_ticket=%E0%A4%A` made the socket
 * middleware's decodeURIComponent throw inside socket.io's namespace join; the rejection was
 * unhandled and the gateway process exited. Against the built process, over both transports.
 */
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOneGateway, type OneGateway } from './one-gateway.js';

const BAD_COOKIE = 'vr_ticket=%E0%A4%A';
let gw: OneGateway;
let saleId: string;

beforeAll(async () => {
  gw = await startOneGateway();
  saleId = await gw.createSale();
});

afterAll(async () => {
  // a clean exit on SIGTERM: the process was still there to be stopped
  expect(await gw?.close()).toBe(0);
});

/** the still-running gateway answers /healthz and lets a real shopper connect */
async function stillServing(): Promise<void> {
  expect(gw.alive(), gw.service.output()).toBe(true);
  expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  const { ticket } = await gw.join(saleId);
  const socket = connect(gw.base, { auth: { ticket }, transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
  } finally {
    socket.disconnect();
  }
}

describe('issue 12 item 1: a socket.io handshake with a malformed cookie killed the gateway', () => {
  it('answers a polling handshake and connect packet with the cookie with a connect error, and keeps serving', async () => {
    const url = `${gw.base}/socket.io/?EIO=4&transport=polling`;
    const open = await fetch(url, { headers: { cookie: BAD_COOKIE } });
    expect(open.status).toBe(200);
    const sid = (JSON.parse((await open.text()).slice(1)) as { sid: string }).sid;
    const sent = await fetch(`${url}&sid=${sid}`, {
      method: 'POST',
      headers: { cookie: BAD_COOKIE, 'content-type': 'text/plain;charset=UTF-8' },
      body: '40',
    });
    expect(sent.status).toBe(200);
    // the server's answer to the connect packet: a connect error (44), never a dropped process
    const answer = await fetch(`${url}&sid=${sid}`, { headers: { cookie: BAD_COOKIE } }).then(
      (r) => r.text(),
      (err: unknown) => `request failed: ${String(err)}`,
    );
    expect(answer).toMatch(/^44/);
    expect(answer).toContain('INVALID_TICKET');
    await stillServing();
  });

  it('refuses the same cookie over the websocket transport with a connect error, and keeps serving', async () => {
    const socket = connect(gw.base, {
      transports: ['websocket'],
      extraHeaders: { cookie: BAD_COOKIE },
      reconnection: false,
      forceNew: true,
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) =>
        resolve(err.data?.code ?? `connect_error: ${err.message}`),
      );
      socket.once('disconnect', (reason) => resolve(`disconnected: ${reason}`));
    });
    socket.disconnect();
    expect(outcome).toBe('INVALID_TICKET');
    await stillServing();
  });

  it('refuses a handshake whose auth is not an object, or whose saleId or ticket is not a string', async () => {
    for (const auth of [{ ticket: 12 }, { saleId: { $gt: '' } }, { ticket: 'x'.repeat(5000) }]) {
      const socket = connect(gw.base, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
      const outcome = await new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (err: Error & { data?: { code?: string } }) =>
          resolve(err.data?.code ?? `connect_error: ${err.message}`),
        );
      });
      socket.disconnect();
      expect(outcome).toBe('INVALID_TICKET');
    }
    await stillServing();
  });
});
