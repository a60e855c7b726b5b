/**
 * Which shoppers still have a page open (issue 16: turns freed when the page is gone).
 *
 * Every socket that speaks for a visitor (it authenticated with a queue ticket) is counted in
 * the sale's `presence` hash when it opens and when it closes, across every gateway
 * (presence.lua); when a visitor's count falls to 0 they enter the sale's `presenceGone` set,
 * and the admission leader frees their turn once they stayed gone past the grace
 * (release-gone.lua). The cost: one script call per sale and event-loop turn for all the
 * sockets that opened or closed in it (TurnBatcher), two hash/zset writes per event; nothing
 * while a socket stays open. A close is sent only for an open that Redis applied, so a failed
 * write can leave a count too high (that shopper keeps the whole checkout window, as before),
 * never too low.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient } from '@velvet-rope/contracts';
import { TurnBatcher } from '../lib/turn-batcher.js';
import { MAX_SCRIPT_BATCH, RedisCommands, type PresenceEvent } from '../redis/commands.js';
import type { KeySpace } from '../redis/keyspace.js';

export class Presence {
  readonly #batcher: TurnBatcher<PresenceEvent, true>;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    redis: RedisClient,
    keyspace: KeySpace,
    private readonly logger: FastifyBaseLogger,
  ) {
    const commands = new RedisCommands(redis, keyspace);
    this.#batcher = new TurnBatcher<PresenceEvent, true>(async (saleId, events) => {
      await commands.presence(saleId, events);
      return events.map(() => true as const);
    }, MAX_SCRIPT_BATCH);
  }

  /**
   * A visitor's socket opened; returns what to call when it closes. Never throws, never
   * rejects: a write that fails is logged (the shopper is then not tracked by this socket).
   */
  opened(saleId: string, visitorId: string): () => void {
    const counted = this.#track(this.#batcher.add(saleId, { op: '+', visitorId })).then(
      () => true,
      (err: unknown) => {
        this.logger.warn({ err, saleId }, 'a socket could not be counted as open');
        return false;
      },
    );
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      void this.#track(
        counted.then(async (ok) => {
          if (!ok) return;
          await this.#batcher.add(saleId, { op: '-', visitorId }).catch((err: unknown) => {
            this.logger.warn({ err, saleId }, 'a closed socket could not be counted');
          });
        }),
      );
    };
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    const done = () => this.#inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for every write already started (before Redis closes). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}
