/**
 * Every running sale's hot copy back in Redis: at boot, and whenever Redis turns out to have
 * lost its data (the generation marker is gone: restarted empty, or failed over to a replica
 * that may lack the last writes, scripts/generation.lua). Sales that already started then go into
 * recovery (the `recovering` flag): their orders in flight must be committed before the stock
 * can be known (admission/recovery.ts finishes it).
 */
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { KeySpace } from '../redis/keyspace.js';
import { RedisCommands } from '../redis/commands.js';
import type { SaleStore } from './sale-store.js';

export class SaleRepublisher {
  readonly #commands: RedisCommands;

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly sales: SaleStore,
    /** other hot copies of the running sales to put back (their notices: sale-notice.ts) */
    private readonly restoreAlso?: (saleIds: readonly string[]) => Promise<unknown>,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
  }

  /**
   * Makes sure every sale that is not over has its hot copy in Redis. Returns whether this
   * call found Redis empty (and did the recovery).
   */
  async publishAll(generationId: string): Promise<{ sales: number; recovered: boolean }> {
    const recovered = (await this.redis.get(this.keyspace.generation)) === null;
    if (recovered) {
      // one gateway re-publishes; the marker is set only once every sale is back, so until
      // then requests about a sale Redis does not know are told to retry (SaleStore.missing)
      const lock = `${this.keyspace.generation}:recovering`;
      if ((await this.redis.set(lock, generationId, 'PX', 30_000, 'NX')) !== 'OK') return { sales: 0, recovered: false };
      try {
        const sales = await this.#publishRunning(true);
        await this.#commands.setGeneration(generationId);
        return { sales, recovered: true };
      } finally {
        await this.redis.del(lock);
      }
    }
    return { sales: await this.#publishRunning(false), recovered: false };
  }

  async #publishRunning(recovering: boolean): Promise<number> {
    const running = await this.sales.running();
    const now = Date.now();
    for (const sale of running) {
      await this.sales.publish(sale, recovering && sale.startsAt <= now);
    }
    await this.restoreAlso?.(running.map((s) => s.id));
    return running.length;
  }
}
