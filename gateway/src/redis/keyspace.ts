import { activeSalesKey, DEFAULT_KEY_PREFIX, saleKeys, type SaleKeys } from '@velvet-rope/contracts';

/**
 * The Redis keys of one deployment: the contracts' key builder under this deployment's
 * prefix (REDIS_KEY_PREFIX), so that separate fleets or test runs can share one Redis.
 */
export class KeySpace {
  readonly activeSales: string;
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {
    this.activeSales = activeSalesKey(prefix);
  }
  sale(saleId: string): SaleKeys {
    return saleKeys(saleId, this.prefix);
  }
}
