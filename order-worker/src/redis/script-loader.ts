/**
 * Loads the worker's Lua scripts into an ioredis client once (`defineCommand`: EVALSHA with
 * a transparent EVAL fallback), and types them on every client through module augmentation.
 * Each script's header comment is its contract.
 */
import { readFileSync } from 'node:fs';
import type { RedisKey, Result } from 'ioredis';
import type { RedisClient as Redis } from '@velvet-rope/contracts';

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

const SCRIPTS = {
  confirmOrders: { file: 'confirm-orders.lua', numberOfKeys: 3 },
} as const;

const sources = new Map<string, string>();

function source(file: string): string {
  let lua = sources.get(file);
  if (lua === undefined) {
    // next to this module: src/redis/scripts under vitest, dist/redis/scripts when built
    lua = readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');
    sources.set(file, lua);
  }
  return lua;
}

/** Defines every script as a command on `redis`; idempotent. */
export function loadScripts(redis: Redis): void {
  for (const [name, { file, numberOfKeys }] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { lua: source(file), numberOfKeys });
  }
}
