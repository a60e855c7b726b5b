/**
 * The fault proxy (test-support/fault-proxy.ts) between a client and a real echo server on
 * 127.0.0.1: bytes pass, arrive late under latency, are held by a blackhole and delivered
 * in order by heal, and connections are reset by cut and half-closed by halfClose.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';

let echo: net.Server;
/** what the echo server has read, all connections together */
let echoed = '';
let proxy: FaultProxy;

beforeAll(async () => {
  echo = net.createServer((s: net.Socket) => {
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => (echoed += d.toString()));
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  proxy = await FaultProxy.start({ port: (echo.address() as net.AddressInfo).port });
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

async function connect(): Promise<{ socket: net.Socket; received: () => string; ended: Promise<void>; closed: Promise<boolean> }> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((r) => socket.once('end', () => r()));
  const closed = new Promise<boolean>((r) => socket.once('close', (hadError: boolean) => r(hadError)));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, received: () => text, ended, closed };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

describe('fault proxy', () => {
  it('passes bytes both ways', async () => {
    const c = await connect();
    c.socket.write('hello');
    expect(await until(() => c.received() === 'hello')).toBe(true);
    c.socket.destroy();
  });

  it('delays each chunk under latency, in order', async () => {
    const c = await connect();
    proxy.latency(150);
    const t0 = Date.now();
    c.socket.write('a');
    c.socket.write('b');
    expect(await until(() => c.received() === 'ab')).toBe(true);
    // up and down each wait 150 ms: a round trip cannot be quicker than that
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    proxy.heal();
    c.socket.destroy();
  });

  it('keeps stream order when the latency changes under chunks still on their way', async () => {
    const c = await connect();
    let sent = '';
    for (let i = 0; i < 60; i++) {
      if (i === 20) proxy.latency(120);
      if (i === 40) proxy.latency(5);
      if (i === 50) proxy.heal();
      const part = `${i},`;
      sent += part;
      c.socket.write(part);
      await new Promise((r) => setTimeout(r, i % 7));
    }
    expect(await until(() => c.received().length === sent.length)).toBe(true);
    expect(c.received()).toBe(sent);
    c.socket.destroy();
  });

  it('holds everything in a blackhole, closes nothing, and delivers it in order on heal', async () => {
    const c = await connect();
    proxy.blackhole();
    const late = await connect(); // accepted while blackholed: answered by nobody
    c.socket.write('one,');
    c.socket.write('two');
    late.socket.write('late');
    await new Promise((r) => setTimeout(r, 200));
    expect([c.received(), late.received()]).toEqual(['', '']);
    expect(proxy.stats.heldBytes).toBeGreaterThan(0);
    expect([c.socket.destroyed, late.socket.destroyed]).toEqual([false, false]);
    proxy.heal();
    expect(await until(() => c.received() === 'one,two' && late.received() === 'late')).toBe(true);
    c.socket.destroy();
    late.socket.destroy();
  });

  it("blackhole('down') lets requests reach the server and holds only its answers", async () => {
    const c = await connect();
    proxy.blackhole('down');
    echoed = '';
    c.socket.write('commit;');
    expect(await until(() => echoed === 'commit;')).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.received()).toBe('');
    proxy.heal();
    expect(await until(() => c.received() === 'commit;')).toBe(true);
    c.socket.destroy();
  });

  it("holdAnswersAfter passes bytes until the request it names, then holds that connection's answers", async () => {
    const c = await connect();
    proxy.holdAnswersAfter('COMMIT');
    c.socket.write('BEGIN;');
    expect(await until(() => c.received() === 'BEGIN;')).toBe(true);
    echoed = '';
    c.socket.write('COMMIT;');
    expect(await until(() => echoed === 'COMMIT;')).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.received()).toBe('BEGIN;');
    expect(proxy.holding).toBe(1);
    proxy.heal();
    expect(await until(() => c.received() === 'BEGIN;COMMIT;')).toBe(true);
    c.socket.destroy();
  });

  it('cut resets open connections; new ones pass', async () => {
    const c = await connect();
    proxy.cut();
    expect(await c.closed).toBe(true);
    const d = await connect();
    d.socket.write('again');
    expect(await until(() => d.received() === 'again')).toBe(true);
    d.socket.destroy();
  });

  it('halfClose ends the side toward the client while its writes still go through', async () => {
    const c = await connect();
    proxy.halfClose();
    await c.ended;
    expect(c.socket.writable).toBe(true);
    c.socket.destroy();
  });
});
