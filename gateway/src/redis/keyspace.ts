import {
  activeSalesKey,
  DEFAULT_KEY_PREFIX,
  generationKey,
  newPlacesKey,
  saleKeys,
  shardKeys,
  type SaleKeys,
  type ShardKeys,
} from '@velvet-rope/contracts';

/**
 * The Redis keys of one deployment: the contracts' key builder under this deployment's
 * prefix (REDIS_KEY_PREFIX), so that separate fleets or test runs can share one Redis.
 */
export class KeySpace {
  /** set: the sales the admission loop looks after; in the generation marker's slot (contracts' activeSalesKey) */
  readonly activeSales: string;
  /**
   * string: set once per Redis dataset. When it is gone, Redis restarted empty (or was
   * flushed): sales must be re-published from PostgreSQL before admission resumes.
   */
  readonly generation: string;
  /**
   * the base of the per-address new-place counters, across sales (new-places.lua): its own
   * hash tag, since no sale's slot can hold what every sale counts
   */
  readonly newPlaces: string;
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {
    this.activeSales = activeSalesKey(prefix);
    this.generation = generationKey(prefix);
    this.newPlaces = newPlacesKey(prefix);
  }
  sale(saleId: string): SaleKeys {
    return saleKeys(saleId, this.prefix);
  }
  /** sub-queue `shard` of a sale over several shards (redis/sharded-queue.ts) */
  shard(saleId: string, shard: number): ShardKeys {
    return shardKeys(saleId, shard, this.prefix);
  }
}
