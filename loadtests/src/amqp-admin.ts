/**
 * RabbitMQ as the load tools use it: fill a run's own orders queue with order messages in
 * the contracts' format (for the worker benchmark), read its depth, delete the queues a run
 * made. Never touches any other queue.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { assertOrderTopology, encodeOrderMessage, ORDER_MESSAGE_VERSION, type OrderMessage } from '@velvet-rope/contracts';

export async function deleteQueues(url: string, queues: readonly string[]): Promise<void> {
  if (queues.length === 0) return;
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    await ch.close();
  } finally {
    await conn.close();
  }
}

export async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close();
  }
}

/** A well-formed order for `saleId` by a fresh visitor. */
export function syntheticOrder(saleId: string, createdAt = Date.now()): OrderMessage {
  return {
    v: ORDER_MESSAGE_VERSION,
    orderId: randomUUID(),
    saleId,
    visitorId: randomBytes(16).toString('base64url'),
    quantity: 1,
    createdAt,
  };
}

/**
 * Declares `queue` with the contracts' topology and publishes `count` orders for `saleId` on a
 * confirm channel, persistent, message id = order id (as the gateway does). Resolves once the
 * broker confirmed them all.
 */
export async function fillOrdersQueue(url: string, queue: string, saleId: string, count: number): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    const topology = await assertOrderTopology(conn, ch, queue);
    const CHUNK = 1000;
    for (let sent = 0; sent < count;) {
      const n = Math.min(CHUNK, count - sent);
      for (let i = 0; i < n; i++) {
        const order = syntheticOrder(saleId);
        const ok = ch.sendToQueue(topology.queue, Buffer.from(encodeOrderMessage(order)), {
          persistent: true,
          messageId: order.orderId,
          contentType: 'application/json',
          timestamp: order.createdAt,
        });
        if (!ok) await new Promise<void>((r) => ch.once('drain', () => r()));
      }
      await ch.waitForConfirms();
      sent += n;
    }
    await ch.close();
  } finally {
    await conn.close();
  }
}
