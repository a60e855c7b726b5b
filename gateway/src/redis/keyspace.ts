import { activeSalesKey, DEFAULT_KEY_PREFIX, saleKeys, type SaleKeys } from '@velvet-rope/contracts';

/**
 * The Redis keys of one deployment: the contracts' key builder under this deployment's
 * prefix (REDIS_KEY_PREFIX), so that separate fleets or test runs can share one Redis.
 */
export class KeySpace {
  readonly activeSales: string;
  /**
   * string: set once per Redis dataset. When it is gone, Redis restarted empty (or was
   * flushed): sales must be re-published from PostgreSQL before admission resumes.
   */
  readonly generation: string;
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {
    this.activeSales = activeSalesKey(prefix);
    this.generation = `${prefix}:generation`;
  }
  sale(saleId: string): SaleKeys {
    return saleKeys(saleId, this.prefix);
  }
}
