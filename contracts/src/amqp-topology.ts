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

/** deliveries of one message before RabbitMQ dead-letters it */
export const ORDER_DELIVERY_LIMIT = 5;

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
