/**
 * The RabbitMQ nodes a process may connect to (`AMQP_URL`, one or more comma-separated
 * addresses of one cluster) and the order it tries them in: round robin. Every connect
 * attempt takes the next address, so a process whose node died tries the node after it
 * first and the dead one last, and a node that stays down is skipped after one failed
 * attempt per turn. `AmqpConnection` is the only user: the rotation lives here and nowhere else.
 */
export class AmqpAddresses {
  #next = 0;
  #current: string | undefined;

  constructor(readonly urls: readonly string[]) {
    if (urls.length === 0) throw new Error('AmqpAddresses: at least one RabbitMQ address is needed');
  }

  get size(): number {
    return this.urls.length;
  }

  /** the address of the last attempt (the connected node while a connection is up) */
  get current(): string {
    return this.#current ?? this.urls[0]!;
  }

  /** The address to try now; the attempt after it tries the next one in the list. */
  take(): string {
    const url = this.urls[this.#next]!;
    this.#next = (this.#next + 1) % this.urls.length;
    this.#current = url;
    return url;
  }
}
