/**
 * AmqpConnection over a list of addresses (AMQP_URL with several nodes), against the shared
 * broker and a port nothing listens on: it boots on the first address that answers, and after
 * a loss tries the next address in turn until one answers. Nothing is declared on the broker.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AmqpConnection } from '../../src/amqp-connection.js';
import { redactUrl } from '../../src/service-check.js';

const BROKER = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** a port that refuses connections: bound, then closed again */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `amqp://guest:guest@127.0.0.1:${port}`;
}

function connection(urls: string[], events: string[]) {
  const logger = { info: () => undefined, warn: (_o: object, msg: string) => void events.push(msg) };
  return new AmqpConnection({
    urls,
    setup: async (conn, watch) => {
      const channel = await conn.createChannel();
      watch(channel);
      return { channel };
    },
    onReady: (_s, reconnected) => void events.push(reconnected ? 'reconnected' : 'ready'),
    backoff: () => 20,
    logger,
  });
}

describe('AmqpConnection with several addresses', () => {
  it('boots on the first address that answers, trying a dead one first', async () => {
    const dead = await deadUrl();
    const events: string[] = [];
    const amqp = connection([dead, BROKER], events);
    await amqp.start();
    expect(amqp.ready).toBe(true);
    expect(amqp.address).toBe(redactUrl(BROKER));
    expect(events).toEqual(['connecting to RabbitMQ failed; trying the next address', 'ready']);
    await amqp.close();
  });

  it('fails at boot only when no address answers', async () => {
    const amqp = connection([await deadUrl(), await deadUrl()], []);
    await expect(amqp.start()).rejects.toThrow(/ECONNREFUSED/);
    expect(amqp.ready).toBe(false);
  });

  it('after a loss, reconnects to the next address in turn, the lost one last', async () => {
    const dead = await deadUrl();
    const events: string[] = [];
    const amqp = connection([BROKER, dead], events);
    await amqp.start();
    amqp.drop('test');
    await expect.poll(() => amqp.ready, { timeout: 10_000 }).toBe(true);
    // the attempt after the loss went to the dead address, the one after it back to the broker
    expect(events).toEqual(['ready', 'reconnecting to RabbitMQ failed', 'reconnected']);
    await amqp.close();
  });
});
