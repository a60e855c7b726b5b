/**
 * Issue 12 item 2: nothing bounded a slow client. A body trickled a byte at a time
 * (Content-Length 10000) was never cut (requestTimeout 0), and slow headers took Node's
 * default 60 s plus its 30 s checking interval. The timeouts are small here (via env) so the
 * test can see them act; it asserts that the connection was cut with 408, against a deadline
 * far past the configured timeouts (a busy machine is slow, never that slow).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOneGateway, type OneGateway } from './one-gateway.js';

let gw: OneGateway;
let saleId: string;

beforeAll(async () => {
  gw = await startOneGateway({ HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '3000' });
  saleId = await gw.createSale();
});

afterAll(async () => {
  expect(await gw?.close()).toBe(0);
});

/**
 * Opens a connection, writes `head`, then `drip` once a second until the server closes the
 * connection or `deadlineMs` passes. Answers what the server sent and whether it closed.
 */
async function trickle(head: string, drip: string, deadlineMs = 45_000): Promise<{ closed: boolean; received: string }> {
  const socket: Socket = connect(gw.port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  const closed = new Promise<true>((resolve) => socket.once('close', () => resolve(true)));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(head);
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(drip);
  }, 1_000);
  const deadline = new Promise<false>((resolve) => setTimeout(() => resolve(false), deadlineMs));
  const result = await Promise.race([closed, deadline]);
  clearInterval(timer);
  socket.destroy();
  return { closed: result, received };
}

describe('issue 12 item 2: slow clients held their connections', () => {
  it('cuts a body trickled a byte at a time with 408 (request timeout)', async () => {
    const head = `POST /api/sales/${saleId}/queue HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n{`;
    const { closed, received } = await trickle(head, ' ');
    expect(closed).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts headers that never end with 408 (headers timeout)', async () => {
    const { closed, received } = await trickle('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'x-slow: 1\r\n');
    expect(closed).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('still serves a client that is not slow', async () => {
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
    expect(gw.alive()).toBe(true);
  });
});
