import type { Channel, ChannelModel } from 'amqplib';

/**
 * The RabbitMQ topology both services declare (idempotently, with identical arguments:
 * RabbitMQ refuses a re-declaration whose arguments differ).
 *
 * `orders` is a durable quorum queue: replicated in a cluster, and with a delivery limit,
 * so a message that keeps failing is dead-lettered instead of blocking the queue forever.
 * Its dead-letter queue is a quorum queue too: a classic queue lives on one node, and while
 * that node is down every declaration of it fails (404 "home node ... is down"), which kept
 * every gateway and worker from reconnecting to the nodes still up.
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

/** How the dead-letter queue stands after `assertOrderTopology`. */
export type DeadLetterQueueState =
  /** a quorum queue: replicated like `orders` */
  | 'quorum'
  /** a classic queue of that name was there already (declared before it became quorum): kept */
  | 'classic'
  /** a classic queue whose node is down: dead-lettered messages are dropped until it returns */
  | 'unavailable';

/**
 * Declares the `orders` queue on `channel` and its dead-letter queue on a channel of its own
 * (a refused declaration closes its channel): the one place the topology is asserted (gateway
 * publisher, order worker, load tests). Idempotent. A dead-letter queue declared as a classic
 * queue by an older version is left as it is (RabbitMQ refuses to change a queue's type:
 * docs/operations.md says how to replace it), and a classic one whose node is down does not
 * stop the caller from using `orders`: `deadLetter` says which, for the caller to log.
 */
export async function assertOrderTopology(
  connection: ChannelModel,
  channel: Channel,
  queue?: string,
): Promise<OrderTopology & { readonly deadLetter: DeadLetterQueueState }> {
  const topology = orderTopology(queue);
  await channel.assertQueue(topology.queue, { durable: true, arguments: { ...topology.queueArguments } });
  const deadLetter = await assertDeadLetterQueue(connection, topology.deadLetterQueue);
  return { ...topology, deadLetter };
}

async function assertDeadLetterQueue(connection: ChannelModel, name: string): Promise<DeadLetterQueueState> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined); // a refusal closes this channel only; it is answered below
  try {
    await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.close();
    return 'quorum';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 406) return 'classic'; // PRECONDITION_FAILED: there, with another type
    if (code === 404 && /home node/.test((err as Error).message)) return 'unavailable';
    throw err;
  }
}

/**
 * Declares the topic exchange the shop's events are published on (issue 14: `EVENTS_EXCHANGE`,
 * routing key = the event type): durable, so bindings of the shop's queues survive a broker
 * restart. Only the order worker's dispatcher publishes to it; the shop binds its own queues.
 */
export async function assertEventsExchange(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}

/** Logs (warn) a dead-letter queue that is not a replicated quorum queue; quiet when it is. */
export function warnDeadLetterQueue(
  topology: { readonly deadLetterQueue: string; readonly deadLetter: DeadLetterQueueState },
  logger: { warn(obj: object, msg: string): void },
): void {
  if (topology.deadLetter === 'classic') {
    logger.warn(
      { queue: topology.deadLetterQueue },
      'the dead-letter queue is a classic queue (declared by an older version): not replicated; replace it with a quorum queue (docs/operations.md)',
    );
  } else if (topology.deadLetter === 'unavailable') {
    logger.warn(
      { queue: topology.deadLetterQueue },
      'the dead-letter queue is a classic queue whose node is down: dead-lettered orders are dropped until it returns',
    );
  }
}
