/**
 * Every Redis key of a sale, made in one place.
 *
 * All keys of one sale share the hash tag `{sale:<id>}`, so every Lua script that touches a
 * sale touches one slot and runs unchanged on Redis Cluster. Cluster safety is a property of
 * this file: nothing else builds a key by hand.
 */

/** Sale ids are short, URL-safe and never contain the hash-tag braces. */
export const SALE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const saleIdRe = new RegExp(SALE_ID_PATTERN);

export function isSaleId(value: string): boolean {
  return saleIdRe.test(value);
}

export interface SaleKeys {
  /** hash: the hot copy of the sale's configuration (PostgreSQL holds the original). */
  readonly config: string;
  /** hash: admission loop state (rate credit, last tick, counters). */
  readonly state: string;
  /** sorted set: waiting visitors, score = fairness score. */
  readonly queue: string;
  /** sorted set: admitted visitors who have not bought yet, score = expiry (ms). */
  readonly admitted: string;
  /** integer: units that can still be reserved. */
  readonly stock: string;
  /** hash: orderId -> order message, accepted but not yet confirmed by the worker (the outbox). */
  readonly pending: string;
  /** sorted set: orderId -> when the reconciler should next re-publish it (ms). */
  readonly pendingDue: string;
  /** hash: visitorId -> state record (its codec: gateway/src/redis/visitor-record.ts). */
  readonly visitors: string;
  /** integer: arrival sequence, for FIFO scores. */
  readonly seq: string;
  /** string: the admission leader's owner id, with an expiry. */
  readonly leader: string;
  /** integer: fencing token, incremented at every change of leader. */
  readonly leaderEpoch: string;
  /** stream (capped): one entry per admission tick, with the leader's fencing token: the audit of who admitted when. */
  readonly tickLog: string;
  /** pub/sub channel: sale ticks and order events for this sale. */
  readonly events: string;
  /** set: ids of cancelled orders whose units were put back in `stock` (each once: settle-units.lua). */
  readonly returned: string;
  /**
   * hash: the sale report's counters not yet written to PostgreSQL, each incremented where it
   * happens (HINCRBY, in the Lua that makes the change): joined, admitted, bought, walkedAway,
   * lapsed, toldSoldOut, refused, freed. The report recorder moves them to PostgreSQL each tick.
   */
  readonly report: string;
  /**
   * hash: visitorId -> the shopper's open sockets across every gateway (`<n>`, or `<n>w` once
   * counted as walked away), written on socket connect and disconnect (presence.lua); only
   * visitors who ever opened a socket have a field. Pages gone are freed early (issue 16).
   */
  readonly presence: string;
  /**
   * sorted set: visitors whose pages are all closed, score = since when (ms; for an admission
   * made while gone, the admission's time), until the admission loop dealt with them past the
   * grace (release-gone.lua).
   */
  readonly presenceGone: string;
  /** string: the notice shown to every page of the sale, JSON (its codec: gateway/src/sales/sale-notice.ts); PostgreSQL's sale_notices holds the original. */
  readonly notice: string;
  /**
   * hash: visitorId -> record of a bypassing visitor (staff, monitoring: BYPASS_KEYS,
   * BYPASS_CIDRS), in the visitor record's codec but apart from `visitors`, so a bypass is in
   * no queue figure, report counter or fairness audit (gateway's bypass.lua, reserve.lua).
   */
  readonly bypass: string;
  /**
   * hash: the report counters taken out of `report` for one write to PostgreSQL, with their
   * snapshot id (`_id`) and time (`_at`); removed once PostgreSQL holds them (report-snapshot.lua).
   */
  readonly reportSnapshot: string;
  /**
   * set: the visitor ids of the accounts invited to an invite-only sale (each the visitor id
   * an account of the shop joins as: gateway's tokens/shopper-identity.ts); PostgreSQL's
   * sale_invites holds the accounts themselves. join.lua refuses a new place to anyone else.
   */
  readonly invites: string;
}

/** Key prefixes separate deployments (and test runs) sharing one Redis. */
export const DEFAULT_KEY_PREFIX = 'vr';
const PREFIX_RE = /^[A-Za-z0-9_.-]{1,40}$/;

export function isKeyPrefix(value: string): boolean {
  return PREFIX_RE.test(value);
}

export function saleKeys(saleId: string, prefix: string = DEFAULT_KEY_PREFIX): SaleKeys {
  if (!isSaleId(saleId)) throw new TypeError(`invalid sale id: ${JSON.stringify(saleId)}`);
  if (!isKeyPrefix(prefix)) throw new TypeError(`invalid key prefix: ${JSON.stringify(prefix)}`);
  const p = `${prefix}:{sale:${saleId}}`;
  return {
    config: `${p}:config`,
    state: `${p}:state`,
    queue: `${p}:queue`,
    admitted: `${p}:admitted`,
    stock: `${p}:stock`,
    pending: `${p}:pending`,
    pendingDue: `${p}:pending-due`,
    visitors: `${p}:visitors`,
    seq: `${p}:seq`,
    leader: `${p}:leader`,
    leaderEpoch: `${p}:leader-epoch`,
    tickLog: `${p}:ticks`,
    events: `${p}:events`,
    returned: `${p}:returned`,
    report: `${p}:report`,
    presence: `${p}:presence`,
    presenceGone: `${p}:presence-gone`,
    notice: `${p}:notice`,
    bypass: `${p}:bypass`,
    reportSnapshot: `${p}:report-snapshot`,
    invites: `${p}:invites`,
  };
}

/**
 * The keys of sub-queue `shard` of a sale over several shards (the sale's `shards` > 1; the
 * gateway's redis/sharded-queue.ts): their own hash tag `{sale:<id>:q<shard>}`, so each
 * sub-queue lands on its own slot and a join runs one script on one shard. They hold the
 * waiting shoppers (`queue`, `visitors`) and what a join reads, copied by the admission leader
 * from the main tag each tick (`config`, `stock`, `state`); `seq`, `admitted` and `invites`
 * are named for join.lua and stay empty (sharded sales admit nobody at join and have no
 * arrival counter or invite list). A sale of one shard has no such keys.
 */
export interface ShardKeys {
  readonly config: string;
  readonly queue: string;
  readonly visitors: string;
  readonly seq: string;
  readonly stock: string;
  readonly admitted: string;
  readonly state: string;
  readonly report: string;
  readonly invites: string;
}

export function shardKeys(saleId: string, shard: number, prefix: string = DEFAULT_KEY_PREFIX): ShardKeys {
  if (!isSaleId(saleId)) throw new TypeError(`invalid sale id: ${JSON.stringify(saleId)}`);
  if (!isKeyPrefix(prefix)) throw new TypeError(`invalid key prefix: ${JSON.stringify(prefix)}`);
  if (!Number.isInteger(shard) || shard < 0 || shard > 15) throw new TypeError(`invalid shard: ${shard}`);
  const p = `${prefix}:{sale:${saleId}:q${shard}}`;
  return {
    config: `${p}:config`,
    queue: `${p}:queue`,
    visitors: `${p}:visitors`,
    seq: `${p}:seq`,
    stock: `${p}:stock`,
    admitted: `${p}:admitted`,
    state: `${p}:state`,
    report: `${p}:report`,
    invites: `${p}:invites`,
  };
}

/**
 * string: the generation marker, set once per Redis dataset (scripts/generation.lua). Gone, it
 * tells a gateway that Redis lost its data, and the running sales are re-published from
 * PostgreSQL (the gateway's admission/recovery.ts). No hash tag: the whole name is hashed.
 */
export function generationKey(prefix: string = DEFAULT_KEY_PREFIX): string {
  if (!isKeyPrefix(prefix)) throw new TypeError(`invalid key prefix: ${JSON.stringify(prefix)}`);
  return `${prefix}:generation`;
}

/**
 * set: ids of sales the admission loop must look after. Its hash tag is the generation marker's
 * name, so on a Redis Cluster it lives in the marker's slot: a master that restarts empty loses
 * both or neither, and a lost set is seen (the marker is gone) and refilled with every running
 * sale. In a slot of its own, a restart of its master emptied it unseen: every gateway found no
 * sale to tick, and admission stopped for good while the sales' own keys were intact.
 */
export function activeSalesKey(prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:sales:active:{${generationKey(prefix)}}`;
}

/**
 * base of the per-address new-place counters, counted across every sale (the gateway's
 * new-places.lua appends `:rl:join:<minute>`, a hash with a field per address): its own hash
 * tag, so one script call counts a turn's joins in one slot whatever their sales.
 */
export function newPlacesKey(prefix: string = DEFAULT_KEY_PREFIX): string {
  if (!isKeyPrefix(prefix)) throw new TypeError(`invalid key prefix: ${JSON.stringify(prefix)}`);
  return `${prefix}:{new-places}`;
}

/** pattern matching every sale's events channel (gateways psubscribe to it). */
export function saleEventsPattern(prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:{sale:*}:events`;
}
