/**
 * Loads the worker's Lua scripts into an ioredis client once, through the loader the gateway
 * uses too (contracts' lua-scripts.ts), and types them on every client through module
 * augmentation. Each script's header comment is its contract; confirm-orders.ts is the typed
 * function that calls it.
 */
import type { RedisKey, Result } from 'ioredis';
import { defineLuaScripts, type LuaScript, type RedisClient as Redis } from '@velvet-rope/contracts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** see scripts/confirm-orders.lua */
    confirmOrders(
      pending: RedisKey,
      pendingDue: RedisKey,
      events: RedisKey,
      saleId: string,
      ...orderTriples: string[]
    ): Result<number, Context>;
  }
}

/** KEYS: pending, pendingDue, events (scripts/confirm-orders.lua) */
const SCRIPTS: readonly LuaScript[] = [{ name: 'confirmOrders', file: 'confirm-orders', numberOfKeys: 3 }];

/** next to this module: src/redis/scripts under vitest, dist/redis/scripts when built */
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** Defines every script as a command on `redis`; idempotent. */
export function loadScripts(redis: Redis): void {
  defineLuaScripts(redis, SCRIPTS_DIR, SCRIPTS);
}
