/**
 * After a commit: retire the sale's orders from the Redis outbox and publish their
 * outcomes in one `order:updates` event, in one script call per sale.
 */
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import { DEFAULT_KEY_PREFIX, saleKeys, type OrderOutcome } from '@velvet-rope/contracts';
import './script-loader.js';

/** an order's outcome, as the batch event carries it (contracts' one shape for it) */
export type OrderUpdate = OrderOutcome;

/** Returns how many pending entries were removed. `redis` must have had `loadScripts`. */
export async function confirmOrders(
  redis: Redis,
  saleId: string,
  updates: readonly OrderUpdate[],
  keyPrefix: string = DEFAULT_KEY_PREFIX,
): Promise<number> {
  if (updates.length === 0) return 0;
  const keys = saleKeys(saleId, keyPrefix);
  const triples = updates.flatMap((u) => [u.orderId, u.visitorId, u.status]);
  return redis.confirmOrders(keys.pending, keys.pendingDue, keys.events, saleId, ...triples);
}
