import type { Channel } from 'amqplib';

/**
 * The RabbitMQ topology both services declare (idempotently, with identical arguments:
 * RabbitMQ refuses a re-declaration whose arguments differ).
 *
 * `orders` is a durable quorum queue: replicated in a cluster, and with a delivery limit,
 * so a message that keeps failing is dead-lettered instead of blocking the queue forever.
 */
export interface OrderTopology {
  readonly queue: string;
  readonly deadLetterQueue: string;
  readonly queueArguments: Readonly<Record<string, unknown>>;
}

/**
 * deliveries of one message before RabbitMQ dead-letters it. Malformed messages are
 * dead-lettered at once by the worker; this bound only catches a message that keeps killing
 * workers. It is generous because a quorum queue also counts redeliveries after a worker
 * crash or reconnect, and a good order must survive several of those (the gateway's outbox
 * would still re-publish it, but it should not need to).
 */
export const ORDER_DELIVERY_LIMIT = 20;

export function orderTopology(queue = 'orders'): OrderTopology {
  const deadLetterQueue = `${queue}.dead`;
  return {
    queue,
    deadLetterQueue,
    queueArguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue,
      'x-delivery-limit': ORDER_DELIVERY_LIMIT,
    },
  };
}

/**
 * Declares the `orders` queue and its dead-letter queue on `channel`: the one place the topology
 * is asserted (gateway publisher, order worker, load tests). Idempotent.
 */
export async function assertOrderTopology(channel: Channel, queue?: string): Promise<OrderTopology> {
  const topology = orderTopology(queue);
  await channel.assertQueue(topology.queue, { durable: true, arguments: { ...topology.queueArguments } });
  await channel.assertQueue(topology.deadLetterQueue, { durable: true });
  return topology;
}

/**
 * Declares the topic exchange the shop's events are published on (issue 14: `EVENTS_EXCHANGE`,
 * routing key = the event type): durable, so bindings of the shop's queues survive a broker
 * restart. Only the order worker's dispatcher publishes to it; the shop binds its own queues.
 */
export async function assertEventsExchange(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}
