/**
 * A publish the broker refuses (a nack), forced for real: a RabbitMQ policy that applies only
 * to this test's own orders queue caps it at length 0 with `overflow: reject-publish`, so the
 * broker nacks every order message. The publisher answers the purchase's publish with
 * PublishUnavailableError (the purchase's 503; the order stays in the outbox), drops its
 * connection once for it (issue 17 item 2: a channel that nacks may keep nacking), reconnects,
 * and publishes again once the broker takes messages.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { OrderPublisher, PublishUnavailableError } from '../../src/purchase/order-publisher.js';
import { uniqueId } from '../../../test-support/databases.js';
import { waitFor } from '../../../test-support/waiting.js';
import { AMQP_URL, deleteQueues, queueDepth } from '../support/harness.js';

const run = promisify(execFile);
const queue = uniqueId('vr-test-nack-orders-');
const policy = `${queue}-reject`;
const escaped = queue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

afterAll(async () => {
  await run('rabbitmqctl', ['clear_policy', policy]).catch(() => undefined);
  await deleteQueues([queue, `${queue}.dead`]);
});

describe('the order publisher and a broker that refuses', () => {
  it('answers a nack as unavailable, drops its connection once, and publishes again once the broker takes messages', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const publisher = new OrderPublisher({ urls: [AMQP_URL], queue, confirmTimeoutMs: 10_000, logger });
    await publisher.start();
    try {
      await run('rabbitmqctl', [
        'set_policy',
        policy,
        `^${escaped}$`,
        JSON.stringify({ 'max-length': 0, overflow: 'reject-publish' }),
        '--apply-to',
        'queues',
        '--priority',
        '100',
      ]);
      // the policy reaches the queue shortly after it is set: publish until the broker refuses
      const refused = await waitFor('a refused publish', async () => {
        if (!publisher.ready) return undefined;
        const outcome = await publisher.publish(uniqueId('o-'), '{}').then(
          () => undefined,
          (err: unknown) => err,
        );
        return outcome;
      });
      expect(refused).toBeInstanceOf(PublishUnavailableError);
      expect((refused as Error).message).toBe('broker refused the message');
      const messages = () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      await waitFor('the reconnect', async () =>
        messages().filter((m) => m === 'RabbitMQ publisher ready').length >= 2 ? true : undefined,
      );
      expect(messages().filter((m) => m === 'RabbitMQ refused a publish; reconnecting')).toHaveLength(1);

      await run('rabbitmqctl', ['clear_policy', policy]);
      await waitFor('a confirmed publish', async () =>
        publisher.ready
          ? publisher.publish(uniqueId('o-'), '{}').then(
              () => true,
              () => undefined,
            )
          : undefined,
      );
      expect(await queueDepth(queue)).toBeGreaterThanOrEqual(1);
    } finally {
      await publisher.close();
    }
  });
});
