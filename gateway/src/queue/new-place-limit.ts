/**
 * The per-address limit on new places: every join that may create a new place in a queue (it
 * carries no valid ticket of that very sale: a new visitor, a sealed cookie or a ticket of
 * another sale) counts against its sender's address, across every sale of the deployment, in
 * fixed one-minute windows. This is what bounds a client that mints identities: without it one
 * client took thousands of places a second, and a count per sale let identities made on one
 * sale join another past the spent budget.
 *
 * In Redis (every gateway counts the same) the joins of one event-loop turn are counted in one
 * `newPlaces` script call (turn-batcher.ts), in the counter's own hash slot; with
 * `RATE_LIMIT_STORE=memory` each gateway counts alone, as the other limits do.
 */
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import { TurnBatcher } from '../lib/turn-batcher.js';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';

export interface NewPlaceLimit {
  /** new places per address and minute */
  readonly perMinute: number;
  /** counts one join that may create a new place; answers the ms until the window ends when refused, else 0 */
  count(address: string): Promise<number>;
}

/** at most this many joins counted in one script call */
const MAX_BATCH = 512;
const WINDOW_MS = 60_000;

export class RedisNewPlaceLimit implements NewPlaceLimit {
  readonly #turns: TurnBatcher<string, number>;

  constructor(
    redis: Redis,
    /** the counter lives under KeySpace.newPlaces */
    keyspace: KeySpace,
    readonly perMinute: number,
  ) {
    const commands = new RedisCommands(redis, keyspace);
    this.#turns = new TurnBatcher((_key, callers) => commands.newPlaces({ perMinute, callers }), MAX_BATCH);
  }

  count(address: string): Promise<number> {
    return this.#turns.add('', `ip:${address}`);
  }
}

export class MemoryNewPlaceLimit implements NewPlaceLimit {
  #window = -1;
  #counts = new Map<string, number>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  async count(address: string): Promise<number> {
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts = new Map();
    }
    const n = (this.#counts.get(address) ?? 0) + 1;
    this.#counts.set(address, n);
    return n > this.perMinute ? (window + 1) * WINDOW_MS - now : 0;
  }
}
