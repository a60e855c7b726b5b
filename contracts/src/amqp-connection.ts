/**
 * One RabbitMQ connection that heals itself, for the gateway's publisher and the order worker.
 *
 * It is given the addresses of one or more nodes of a cluster (`urls`) and tries them in
 * turn (`AmqpAddresses`: round robin). `start` tries each address once and throws when no
 * node can be reached (boot fails loudly). After that, a lost connection (or a lost channel
 * that `setup` watched: one recovery path rebuilds both) is reconnected with backoff, each
 * attempt to the next address in the list (the node that went is tried last), and `setup`
 * runs again on every new connection:
 * it opens the channels and declares the topology, and returns the session (the channels) that
 * the service uses until the next loss. While the connection is down, `session` is undefined.
 *
 * A broker short of memory or disk raises a resource alarm and blocks the connections that
 * publish (it stops reading from them): `blocked` then names the alarm until the broker
 * unblocks the connection, so that a publisher fails fast instead of waiting on confirms that
 * cannot come.
 */
import { connect } from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { AmqpAddresses } from './amqp-addresses.js';
import { sleep } from './backoff.js';
import { redactUrl } from './service-check.js';

/** What the connection logs through (pino's and Fastify's loggers both fit). */
/** the longest a connect may take to open (TCP, TLS and the AMQP handshake) */
const CONNECT_TIMEOUT_MS = 5_000;

export interface AmqpLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AmqpConnectionOptions<S> {
  /** the nodes of one broker (a cluster's, or one node's): at least one address */
  readonly urls: readonly string[];
  /** amqplib's socket options (`noDelay`, `timeout`, `clientProperties`, ...) */
  readonly socketOptions?: Record<string, unknown>;
  /**
   * Opens the channels and declares the topology on a new connection; runs on every
   * (re)connect. A channel passed to `watch` that closes takes the connection with it.
   */
  readonly setup: (connection: ChannelModel, watch: (channel: Channel) => void) => Promise<S>;
  /** runs once `session` is current (e.g. start consuming); a throw counts as a failed connect */
  readonly onReady?: (session: S, reconnected: boolean) => Promise<void> | void;
  /** the session is gone (connection or a watched channel closed); a reconnect follows unless closing */
  readonly onLost?: (session: S, reason: string) => void;
  /** delay before reconnect attempt `attempt` (0-based; counts from 0 again after every loss) */
  readonly backoff: (attempt: number) => number;
  readonly logger: AmqpLogger;
  /** the backoff timer does not keep the process alive */
  readonly unref?: boolean;
  /**
   * the AMQP heartbeat asked for when the URL names none (`?heartbeat=N` in it wins): a
   * connection whose peer went silent without closing (a partition) is declared dead after
   * two missed heartbeats. Default 10 s (the broker would offer 60, two minutes to notice).
   */
  readonly heartbeatSeconds?: number;
  /** the broker blocked (reason) or unblocked (undefined) the current connection */
  readonly onBlocked?: (reason: string | undefined) => void;
}

export const DEFAULT_HEARTBEAT_SECONDS = 10;

/** `url` with `heartbeat=<seconds>` in its query, unless it names a heartbeat already */
export function withHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  if (u.searchParams.has('heartbeat')) return url;
  u.searchParams.set('heartbeat', String(seconds));
  return u.toString();
}

export class AmqpConnection<S> {
  #connection: ChannelModel | undefined;
  #session: S | undefined;
  #lastError: string | undefined;
  #blocked: string | undefined;
  #closing = false;
  #reconnecting: Promise<void> | undefined;
  readonly #stop = new AbortController();
  readonly #addresses: AmqpAddresses;

  constructor(private readonly opts: AmqpConnectionOptions<S>) {
    this.#addresses = new AmqpAddresses(opts.urls);
  }

  /** the address of the node connected to (or tried last, while down), password hidden */
  get address(): string {
    return redactUrl(this.#addresses.current);
  }

  /** the channels of the current connection; undefined while it is down */
  get session(): S | undefined {
    return this.#session;
  }

  /** the current connection; undefined while it is down */
  get connection(): ChannelModel | undefined {
    return this.#connection;
  }

  get ready(): boolean {
    return this.#session !== undefined;
  }

  /** the broker's reason while it blocks the current connection (a resource alarm); else undefined */
  get blocked(): string | undefined {
    return this.#blocked;
  }

  /** why the connection is down (or the last error it reported); cleared on every connect */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Connects to the first address that answers (each tried once, in turn); throws the last
   * failure when none does (and then reconnects no more).
   */
  async start(): Promise<void> {
    for (let tried = 1; ; tried++) {
      try {
        await this.#connect(false);
        return;
      } catch (err) {
        // a loss during setup may have begun a reconnect: that one goes on, and no second
        // connect races it; close() below ends it
        if (tried < this.#addresses.size && !this.#closing && this.#reconnecting === undefined) {
          this.opts.logger.warn({ err, amqp: this.address }, 'connecting to RabbitMQ failed; trying the next address');
          continue;
        }
        await this.close(); // also ends a reconnect that a loss during setup may have begun
        throw err;
      }
    }
  }

  /** Drops the current connection (consumer cancelled, a bug): the loss path reconnects. */
  drop(reason: string): void {
    if (this.#connection) this.#lost(this.#connection, reason);
  }

  /**
   * A publish the broker refused (a nack) on a channel of `session`. In a cluster, a channel
   * opened on a node while the queue had no leader yet (its node had just died) was seen to
   * nack every publish after the new leader was elected too (RabbitMQ 3.10), so a nack drops
   * the connection once: the reconnect opens a new channel, on the next node of the list.
   * Nothing when `session` is gone already (dropped for an earlier nack, or lost).
   */
  refusedPublish(session: S, context: Record<string, unknown> = {}): void {
    if (this.#session !== session) return;
    this.opts.logger.warn({ ...context, amqp: this.address }, 'RabbitMQ refused a publish; reconnecting');
    this.drop('broker refused a publish');
  }

  /**
   * Reconnects no more: wakes a reconnect from its backoff; one already connecting finishes
   * first, so that `close` closes its connection. The current connection stays open.
   */
  async stopReconnecting(): Promise<void> {
    this.#closing = true;
    this.#stop.abort();
    await this.#reconnecting;
  }

  /** Stops reconnecting, then closes the connection (and with it its channels). */
  async close(): Promise<void> {
    await this.stopReconnecting();
    const connection = this.#connection;
    this.#connection = undefined;
    this.#session = undefined;
    // acknowledgements already written go out before the close on the same socket
    await connection?.close().catch((err: unknown) => {
      this.opts.logger.warn({ err }, 'closing the RabbitMQ connection failed');
    });
  }

  async #connect(reconnected: boolean): Promise<void> {
    const { logger } = this.opts;
    const connection = await connect(
      withHeartbeat(this.#addresses.take(), this.opts.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS),
      // a bounded handshake (amqplib clears it once open): a node that takes the TCP connection
      // and never answers would otherwise hold the attempt, and the turn to the next node, forever
      { timeout: CONNECT_TIMEOUT_MS, ...this.opts.socketOptions },
    );
    this.#blocked = undefined;
    // only the connection being set up or in use: a late notice from an old one says nothing
    const current = () => this.#connection === connection || this.#connection === undefined;
    try {
      connection.on('blocked', (reason: unknown) => {
        if (!current()) return;
        this.#blocked = typeof reason === 'string' && reason !== '' ? reason : 'resource alarm';
        logger.warn({ reason: this.#blocked }, 'RabbitMQ blocked this connection: a resource alarm (memory or disk) is in effect');
        this.opts.onBlocked?.(this.#blocked);
      });
      connection.on('unblocked', () => {
        if (!current() || this.#blocked === undefined) return;
        this.#blocked = undefined;
        logger.info({}, 'RabbitMQ unblocked this connection: the resource alarm cleared');
        this.opts.onBlocked?.(undefined);
      });
      connection.on('error', (err: Error) => {
        this.#lastError = err.message;
        logger.warn({ err }, 'RabbitMQ connection error');
      });
      connection.on('close', () => this.#lost(connection, 'connection closed'));
      const session = await this.opts.setup(connection, (channel) => {
        channel.on('error', (err: Error) => {
          this.#lastError = err.message;
          logger.warn({ err }, 'RabbitMQ channel error');
        });
        channel.on('close', () => this.#lost(connection, 'channel closed'));
      });
      if (this.#closing) {
        await connection.close();
        return;
      }
      this.#connection = connection;
      this.#session = session;
      this.#lastError = undefined;
      await this.opts.onReady?.(session, reconnected);
    } catch (err) {
      if (this.#connection === connection) {
        this.#connection = undefined;
        this.#session = undefined;
      }
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  #lost(connection: ChannelModel, reason: string): void {
    if (connection !== this.#connection) return; // closed by us, or a failed connect
    const session = this.#session as S;
    this.#connection = undefined;
    this.#session = undefined;
    this.#blocked = undefined;
    connection.close().catch(() => undefined); // a lost channel: its connection goes too
    this.#lastError ??= reason;
    this.opts.onLost?.(session, reason);
    if (this.#closing) return;
    this.#reconnecting ??= this.#reconnect().finally(() => {
      this.#reconnecting = undefined;
    });
  }

  async #reconnect(): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      await sleep(this.opts.backoff(attempt), this.#stop.signal, this.opts.unref ?? false);
      if (this.#closing) return;
      try {
        await this.#connect(true);
        return;
      } catch (err) {
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.opts.logger.warn({ err, attempt, amqp: this.address }, 'reconnecting to RabbitMQ failed');
      }
    }
  }
}
