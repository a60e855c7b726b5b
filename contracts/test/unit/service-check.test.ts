/**
 * The boot checks' messages: which service, which address, how it failed. Real TCP on
 * 127.0.0.1: a port that listens (a server this test opens) and ports nobody listens on.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAnyService, requireService, ServiceUnreachableError } from '../../src/service-check.js';

let server: Server;
let open: number;
/** ports that were free a moment ago: closed servers' ports */
let closed: number[];

async function listening(): Promise<Server> {
  const s = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}
const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
  server = await listening();
  open = portOf(server);
  const gone = await Promise.all([listening(), listening()]);
  closed = gone.map(portOf);
  await Promise.all(gone.map((s) => new Promise((r) => s.close(r))));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('requireService and requireAnyService', () => {
  it('resolve when the address, or any one of the addresses, answers', async () => {
    await expect(requireService('RabbitMQ', `amqp://127.0.0.1:${open}`, 5672)).resolves.toBeUndefined();
    await expect(
      requireAnyService('RabbitMQ', [`amqp://127.0.0.1:${closed[0]}`, `amqp://127.0.0.1:${open}`], () => 5672),
    ).resolves.toBeUndefined();
  });

  it('name every address and how each failed when none answers, the password hidden', async () => {
    const urls = closed.map((p) => `amqp://guest:secret@127.0.0.1:${p}`);
    const err = await requireAnyService('RabbitMQ', urls, () => 5672).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceUnreachableError);
    const message = (err as Error).message;
    expect(message).toContain('RabbitMQ is unreachable at any of 2 addresses');
    for (const p of closed) expect(message).toContain(`amqp://guest:***@127.0.0.1:${p}: connect ECONNREFUSED 127.0.0.1:${p}`);
    expect(message).not.toContain('secret');
  });
});
