/**
 * Issue 12 item 2: with an fd limit of 600, 620 idle TCP connections made the gateway exit
 * (EMFILE thrown from @fastify/under-pressure's memory sampler, or from accept with no error
 * listener). The built gateway runs here under `prlimit --nofile`: connections past
 * MAX_CONNECTIONS (below the limit by default) are closed at once, and even with the limit set
 * too high, running out of descriptors is survived; both serve again once the flood is gone.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startOneGateway, type OneGateway } from './one-gateway.js';

const NOFILE = 300;
const FLOOD = 420;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let gw: OneGateway | undefined;
let sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets = [];
  await gw?.close();
  gw = undefined;
});

/** idle connections: they connect and send nothing; counts those the server closed */
async function flood(port: number, n: number): Promise<{ closedByServer: () => number }> {
  let closedByServer = 0;
  const opened = Array.from({ length: n }, () => {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('close', () => {
      if (!s.destroyedByUs) closedByServer++;
    });
    return new Promise<void>((resolve) => {
      s.once('connect', () => resolve());
      s.once('close', () => resolve());
    });
  });
  await Promise.all(opened);
  return { closedByServer: () => closedByServer };
}

async function pollUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(200);
  }
  return false;
}

const healthy = async (base: string) => {
  try {
    return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) })).status === 200;
  } catch {
    return false;
  }
};

async function servesAgain(g: OneGateway): Promise<void> {
  for (const s of sockets) {
    s.destroyedByUs = true;
    s.destroy();
  }
  sockets = [];
  expect(await pollUntil(() => healthy(g.base)), g.service.output()).toBe(true);
  expect(g.alive(), g.service.output()).toBe(true);
  const saleId = await g.createSale();
  expect((await g.join(saleId)).ticket).toBeTypeOf('string');
}

declare module 'node:net' {
  interface Socket {
    destroyedByUs?: boolean;
  }
}

const slowTimeouts = { HEADERS_TIMEOUT_MS: '120000', REQUEST_TIMEOUT_MS: '120000', CONNECTION_TIMEOUT_MS: '0' };

describe('issue 12 item 2: running out of file descriptors crashed the gateway', () => {
  it(`refuses idle connections past MAX_CONNECTIONS under an fd limit of ${NOFILE}, stays up, and serves once they close`, async () => {
    gw = await startOneGateway(slowTimeouts, ['prlimit', `--nofile=${NOFILE}:${NOFILE}`]);
    const g = gw;
    const { closedByServer } = await flood(g.port, FLOOD);
    // the default keeps a reserve below the limit: part of the flood is refused
    expect(await pollUntil(() => closedByServer() > 0 || !g.alive())).toBe(true);
    await sleep(1_000);
    expect(g.alive(), g.service.output()).toBe(true);
    expect(closedByServer()).toBeLessThan(FLOOD);
    expect(g.service.output()).toContain('refusing connections past MAX_CONNECTIONS');
    await servesAgain(g);
  });

  it('survives running out of descriptors when MAX_CONNECTIONS is set past the limit, and serves once they come back', async () => {
    gw = await startOneGateway({ ...slowTimeouts, MAX_CONNECTIONS: '100000' }, ['prlimit', `--nofile=${NOFILE}:${NOFILE}`]);
    const g = gw;
    const { closedByServer } = await flood(g.port, FLOOD);
    // the process runs out: accepts fail with EMFILE and libuv closes the connections it cannot
    // take (the memory sampler that threw on EMFILE is gone)
    expect(await pollUntil(() => closedByServer() > 0 || !g.alive())).toBe(true);
    // a couple of the old sampler's one-second rounds with the descriptors gone
    await sleep(3_000);
    expect(g.alive(), g.service.output()).toBe(true);
    await servesAgain(g);
  });
});
