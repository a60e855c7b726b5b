/**
 * Loads the gateway's Lua scripts once, at boot, as ioredis commands (`defineCommand`: EVALSHA
 * with a fallback to EVAL, so a restarted Redis that lost its script cache keeps working).
 *
 * A script may pull in a shared file with a line `--@include "name"` (from `includes/`), the
 * way BullMQ shares helpers between its scripts: Redis has no modules for Lua.
 */
import { readFileSync } from 'node:fs';
import type { Redis, Cluster, Result } from 'ioredis';

const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

export function loadScript(name: string, dir: URL = SCRIPTS_DIR): string {
  const source = readFileSync(new URL(`${name}.lua`, dir), 'utf8');
  return source.replace(/^--@include "([a-z0-9-]+)"\s*$/gm, (_, inc: string) =>
    readFileSync(new URL(`includes/${inc}.lua`, dir), 'utf8'),
  );
}

/** Every script: name -> number of KEYS it takes. */
export const SCRIPTS = {
  join: 7,
  admit: 8,
  reserve: 6,
  leader: 2,
  claimDuePending: 2,
  saleInfo: 6,
  adjustStock: 1,
  writeConfig: 1,
  finishRecovery: 6,
  newPlaces: 1,
  restore: 4,
} as const;

type ScriptName = keyof typeof SCRIPTS;

const FILES: Record<ScriptName, string> = {
  join: 'join',
  admit: 'admit',
  reserve: 'reserve',
  leader: 'leader',
  claimDuePending: 'claim-due-pending',
  saleInfo: 'sale-info',
  adjustStock: 'adjust-stock',
  writeConfig: 'write-config',
  finishRecovery: 'finish-recovery',
  newPlaces: 'new-places',
  restore: 'restore',
};

type Arg = string | number;
type Reply = (string | number)[];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** a batch: 'OK', the sale's figures, then one answer string per request; or { 'NOT_FOUND' } */
    join(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    admit(...keysAndArgs: Arg[]): Result<Reply, Context>;
    /** a batch: one answer (an array) per purchase, or { 'NOT_FOUND' } */
    reserve(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    leader(...keysAndArgs: Arg[]): Result<[number, number, number], Context>;
    claimDuePending(...keysAndArgs: Arg[]): Result<string[], Context>;
    saleInfo(...keysAndArgs: Arg[]): Result<Reply, Context>;
    adjustStock(...keysAndArgs: Arg[]): Result<[string, number], Context>;
    writeConfig(...keysAndArgs: Arg[]): Result<number, Context>;
    finishRecovery(...keysAndArgs: Arg[]): Result<number, Context>;
    /** one number per address: 0 counted, else ms until the window ends (refused) */
    newPlaces(...keysAndArgs: Arg[]): Result<number[], Context>;
    /** per visitor: state, jti, expiresAt, seq */
    restore(...keysAndArgs: Arg[]): Result<string[], Context>;
  }
}

export function defineScripts(redis: Redis | Cluster): void {
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
    redis.defineCommand(name, { numberOfKeys, lua: loadScript(FILES[name]) });
  }
}
