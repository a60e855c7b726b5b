/**
 * Loads the gateway's Lua scripts once, at boot, as ioredis commands: exactly those that
 * commands.ts lists (it is their only caller), through the loader the worker uses too
 * (contracts' lua-scripts.ts: `--@include` support, EVALSHA with a fallback to EVAL).
 */
import { defineLuaScripts, loadLifecycleScripts, type RedisClient } from '@velvet-rope/contracts';
import { SCRIPTS } from './commands.js';

/** next to this module: src/redis/scripts under vitest, dist/redis/scripts when built */
const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

export function defineScripts(redis: RedisClient): void {
  defineLuaScripts(redis, SCRIPTS_DIR, SCRIPTS);
  // the shop's paid / cancel calls (contracts' order-lifecycle.ts) and paidUnits from PostgreSQL
  loadLifecycleScripts(redis);
}
