/**
 * The one Lua script loader of the gateway and the order worker: each process lists its
 * scripts (name, file, number of KEYS) next to the typed functions that call them, and this
 * defines them on an ioredis client once, at boot (`defineCommand`: EVALSHA with a fallback to
 * EVAL, so a restarted Redis that lost its script cache keeps working).
 *
 * A script may pull in a shared file with a line `--@include "name"` (from `includes/` next to
 * it), the way BullMQ shares helpers between its scripts: Redis has no modules for Lua.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-client.js';

/** One script as a process lists it: the ioredis command it becomes, its file and its KEYS count. */
export interface LuaScript {
  /** the command's name on the client (`redis.<name>(...keys, ...args)`) */
  readonly name: string;
  /** the file in the scripts directory, without `.lua` */
  readonly file: string;
  /** how many of the command's arguments are KEYS (the script's header lists them) */
  readonly numberOfKeys: number;
}

const INCLUDE_RE = /^--@include "([a-z0-9-]+)"\s*$/gm;

/** sources read so far, by URL: defining the scripts on another client reads no file again */
const sources = new Map<string, string>();

/** A script's source from `dir` (a directory URL ending in '/'), with its includes pasted in. */
export function readLuaScript(dir: URL, file: string): string {
  const url = new URL(`${file}.lua`, dir);
  let lua = sources.get(url.href);
  if (lua === undefined) {
    lua = readFileSync(url, 'utf8').replace(INCLUDE_RE, (_, inc: string) => readFileSync(new URL(`includes/${inc}.lua`, dir), 'utf8'));
    sources.set(url.href, lua);
  }
  return lua;
}

/** Defines every listed script as a command on `redis`; idempotent. */
export function defineLuaScripts(redis: RedisClient, dir: URL, scripts: readonly LuaScript[]): void {
  for (const { name, file, numberOfKeys } of scripts) {
    redis.defineCommand(name, { numberOfKeys, lua: readLuaScript(dir, file) });
  }
}
