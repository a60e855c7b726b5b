/**
 * The seam between TypeScript and Lua: the only module that calls the gateway's scripts.
 *
 * Each script has one typed method here that takes named arguments, builds the KEYS from the
 * keyspace and the ARGV in the order the script's header lists them, and returns a named,
 * typed reply decoded once, in this file (the pure decoders are exported for the unit tests).
 * The script's header (scripts/<file>.lua) stays the authority for what each argument and
 * answer means; a reply's shape changes there and here, nowhere else. Each script's KEYS
 * count sits next to its method (`RedisCommands.JOIN`, ...); `SCRIPTS` lists them all for
 * the loader (script-loader.ts).
 *
 * Answers come in two kinds: what the script did (`outcome`), and what it refused to do
 * (`refused`, with the script's own code; errors.ts maps each to the error catalogue).
 */
import type { ChainableCommander, Result } from 'ioredis';
import type { LuaScript, RedisClient, SaleKeys, SaleStatus } from '@velvet-rope/contracts';
import { saleKeys } from '@velvet-rope/contracts';
import type { KeySpace } from './keyspace.js';
import { randomId128 } from '../tokens/visitor-id.js';

type Arg = string | number;

/** The raw commands the loader defines; only this module calls them. */
declare module 'ioredis' {
  interface RedisCommander<Context> {
    join(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    admit(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    reserve(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    leader(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    claimDuePending(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    saleInfo(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    adjustStock(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    writeConfig(...keysAndArgs: Arg[]): Result<unknown, Context>;
    finishRecovery(...keysAndArgs: Arg[]): Result<unknown, Context>;
    newPlaces(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    reportSnapshot(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    reportDrop(...keysAndArgs: Arg[]): Result<unknown, Context>;
    restore(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    presence(...keysAndArgs: Arg[]): Result<unknown, Context>;
    releaseGone(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    bypass(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    retire(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    generation(...keysAndArgs: Arg[]): Result<unknown, Context>;
    shardHeads(...keysAndArgs: Arg[]): Result<unknown[], Context>;
    shardSettle(...keysAndArgs: Arg[]): Result<unknown, Context>;
    shardRanks(...keysAndArgs: Arg[]): Result<unknown[], Context>;
  }
}

const script = (name: string, file: string, numberOfKeys: number): LuaScript => ({ name, file, numberOfKeys });

/**
 * At most this many requests in one batched script call (join, reserve): a script runs
 * atomically, holding up the sale's shard while it runs.
 */
export const MAX_SCRIPT_BATCH = 256;

/** The sale does not exist in Redis: a batched script answers this once for the whole batch. */
export interface SaleNotFound {
  readonly refused: 'NOT_FOUND';
}
export const NOT_FOUND: SaleNotFound = Object.freeze({ refused: 'NOT_FOUND' });

/** One admission as admit.lua makes it (and as finish-recovery.lua puts it back). */
export interface Admission {
  readonly visitorId: string;
  readonly jti: string;
  /** ms */
  readonly expiresAt: number;
  /** the admission sequence number */
  readonly sequence: number;
}

// ---------------------------------------------------------------------------------------------
// join.lua

/** One request of a join batch (see scripts/join.lua, ARGV). */
export interface JoinRequest {
  readonly visitorId: string;
  /** the visitor's random part in [0, 1), as a decimal string */
  readonly fraction: string;
  /** the score from a valid ticket, '' when none */
  readonly ticketScore: string;
  /** 'rejoin': only in a sub-queue, a join after the main tag's admission lapsed (join.lua) */
  readonly op: 'join' | 'status' | 'rejoin';
  /** '' when none */
  readonly powNonce: string;
  readonly powBits: number;
  /** the rate-limit bucket, '' for none */
  readonly caller: string;
  /** requests per minute for that bucket, 0 for none */
  readonly limit: number;
}

/** The sale's figures, once per join batch: every answer of the batch shares this object. */
export interface JoinSale {
  readonly status: SaleStatus;
  readonly remaining: number;
  readonly startsAt: number;
  readonly ratePerMinute: number;
  readonly maxPerShopper: number;
  /** shoppers admitted so far in this sale */
  readonly admittedTotal: number;
}

export type PlaceState = 'queued' | 'admitted' | 'expired' | 'ordered';

/** Where a visitor stands, as join.lua answers a request it did not refuse. */
export interface JoinPlace {
  /** 'NEW' placed now, 'RESTORED' placed again at the ticket's score, 'EXISTING' */
  readonly outcome: 'NEW' | 'EXISTING' | 'RESTORED';
  readonly state: PlaceState;
  /** the fairness score; null when the answer carries none (ordered) */
  readonly score: number | null;
  /** 0-based place in the queue, -1 when not queued or while the pre-queue is unordered */
  readonly rank: number;
  /** the queue's length once this request was done */
  readonly waiting: number;
  /** admitted: the admission's jti, expiry (ms) and sequence number, else null */
  readonly jti: string | null;
  readonly expiresAt: number | null;
  readonly admission: number | null;
  /** ordered: the order's id, else null */
  readonly orderId: string | null;
  readonly sale: JoinSale;
}

export type JoinRefusal =
  | SaleNotFound
  | { readonly refused: 'RATE_LIMITED'; readonly retryAfterMs: number }
  /** 'status' for a visitor never seen, without a ticket */
  | { readonly refused: 'UNKNOWN' }
  /** 'join' while the sale is scheduled, sold out or ended */
  | { readonly refused: 'REFUSED'; readonly saleStatus: SaleStatus }
  | { readonly refused: 'POW_REQUIRED'; readonly difficulty: number }
  | { readonly refused: 'POW_REUSED' }
  /** 'join' while the sale's flow is suspended (maintenance) */
  | { readonly refused: 'SUSPENDED' }
  /** a new place in an invite-only sale for a visitor not on its invite list */
  | { readonly refused: 'NOT_INVITED' }
  /** a new place would make the queue longer than the sale's maxQueue; nobody was placed */
  | { readonly refused: 'QUEUE_FULL'; readonly waiting: number; readonly maxQueue: number; readonly ratePerMinute: number }
  /**
   * only from a sub-queue (a sale over several shards): the main tag admitted this place; its
   * record there tells the rest (queue/sharded-queue.ts reads it; never an answer to a client)
   */
  | { readonly refused: 'HANDED'; readonly score: number };

export type JoinAnswer = JoinPlace | JoinRefusal;

const UNKNOWN: JoinRefusal = Object.freeze({ refused: 'UNKNOWN' });
const POW_REUSED: JoinRefusal = Object.freeze({ refused: 'POW_REUSED' });
const SUSPENDED: JoinRefusal = Object.freeze({ refused: 'SUSPENDED' });
const NOT_INVITED: JoinRefusal = Object.freeze({ refused: 'NOT_INVITED' });

/** the fields of one join answer: outcome|state|score|rank|waiting|jti|expiresAt|admSeq|orderId */
type PlaceFields = [string, string, string, string, string, string, string, string, string];

const orNull = (s: string): string | null => (s === '' ? null : s);
const numOrNull = (s: string): number | null => (s === '' ? null : Number(s));

function placeOutcome(s: string): JoinPlace['outcome'] {
  if (s === 'NEW' || s === 'EXISTING' || s === 'RESTORED') return s;
  throw new Error(`join script: unknown outcome ${JSON.stringify(s)}`);
}

function placeState(s: string): PlaceState {
  if (s === 'queued' || s === 'admitted' || s === 'expired' || s === 'ordered') return s;
  throw new Error(`join script: unknown state ${JSON.stringify(s)}`);
}

/** 'OK' and the sale's figures come before the answers */
const JOIN_SALE_FIELDS = 7;

/**
 * Decodes a join batch's reply: one answer per request, in order. Each answer string is split
 * once and becomes its final object at once (the sale's figures are decoded once per batch).
 */
export function decodeJoin(reply: readonly unknown[], requests: number): JoinAnswer[] {
  return decodeJoinBatch(reply, requests).answers;
}

/** decodeJoin, with the sale's figures of the batch (none when the sale is not found) */
export function decodeJoinBatch(reply: readonly unknown[], requests: number): { readonly sale?: JoinSale; readonly answers: JoinAnswer[] } {
  if (reply[0] === 'NOT_FOUND') return { answers: new Array<JoinAnswer>(requests).fill(NOT_FOUND) };
  if (reply[0] !== 'OK' || reply.length !== JOIN_SALE_FIELDS + requests) {
    throw new Error(`join script: ${reply.length} values for ${requests} requests (${String(reply[0])})`);
  }
  const [, status, remaining, startsAt, rate, maxPerShopper, admittedTotal] = reply;
  const sale: JoinSale = {
    status: status as SaleStatus,
    remaining: Number(remaining),
    startsAt: Number(startsAt),
    ratePerMinute: Number(rate),
    maxPerShopper: Number(maxPerShopper),
    admittedTotal: Number(admittedTotal),
  };
  const answers = new Array<JoinAnswer>(requests);
  for (let i = 0; i < requests; i++) {
    const answer = reply[JOIN_SALE_FIELDS + i];
    if (typeof answer !== 'string') throw new Error(`join script: no answer for request ${i} of ${requests}`);
    answers[i] = decodeJoinAnswer(answer, sale);
  }
  return { sale, answers };
}

function decodeJoinAnswer(answer: string, sale: JoinSale): JoinAnswer {
  const f = answer.split('|');
  if (f.length < 9) {
    const [code, detail = ''] = f as [string, string?];
    switch (code) {
      case 'RATE_LIMITED':
        return { refused: 'RATE_LIMITED', retryAfterMs: Number(detail) };
      case 'UNKNOWN':
        return UNKNOWN;
      case 'REFUSED':
        return { refused: 'REFUSED', saleStatus: sale.status };
      case 'POW_REQUIRED':
        return { refused: 'POW_REQUIRED', difficulty: Number(detail) };
      case 'POW_REUSED':
        return POW_REUSED;
      case 'SUSPENDED':
        return SUSPENDED;
      case 'NOT_INVITED':
        return NOT_INVITED;
      case 'HANDED':
        return { refused: 'HANDED', score: Number(detail) };
      case 'QUEUE_FULL':
        return { refused: 'QUEUE_FULL', waiting: Number(detail), maxQueue: Number(f[2]), ratePerMinute: sale.ratePerMinute };
      default:
        throw new Error(`join script answered ${JSON.stringify(answer)}`);
    }
  }
  const [outcome, state, score, rank, waiting, jti, expiresAt, admSeq, orderId] = f as PlaceFields;
  return {
    outcome: placeOutcome(outcome),
    state: placeState(state),
    score: numOrNull(score),
    rank: Number(rank),
    waiting: Number(waiting),
    jti: orNull(jti),
    expiresAt: numOrNull(expiresAt),
    admission: numOrNull(admSeq),
    orderId: orNull(orderId),
    sale,
  };
}

// ---------------------------------------------------------------------------------------------
// admit.lua

/** One tick's figures and admissions, as admit.lua answers its leader. */
export interface AdmitTick {
  readonly outcome: 'OK';
  readonly status: SaleStatus;
  readonly waiting: number;
  readonly active: number;
  readonly remaining: number;
  readonly admittedTotal: number;
  /** the rate in force: the closed loop's when the sale is adaptive, else the marketer's */
  readonly ratePerMinute: number;
  readonly expired: number;
  readonly maxPerShopper: number;
  readonly adaptive: boolean;
  /** the closed loop's bounds: the sale's minimum rate and the marketer's rate */
  readonly minRate: number;
  readonly maxRate: number;
  /** the visitors admitted in this tick */
  readonly admissions: Admission[];
  /**
   * ('given' ticks of a sale over several shards) candidates found admitted or ordered already:
   * their sub-queues let them go (shard-settle.lua) with the admitted ones
   */
  readonly settled: { readonly visitorId: string; readonly sequence: string }[];
}

/** One place at the head of a sub-queue (shard-heads.lua), as admit.lua's 'given' mode takes it. */
export interface SubQueueHead {
  readonly visitorId: string;
  /** as Redis wrote it (the exact decimal: it goes back to admit.lua unchanged) */
  readonly score: string;
  readonly joinedAt: string;
  readonly after: string;
  readonly rounds: string;
}

export type AdmitReply =
  | AdmitTick
  /** this gateway does not hold the lock (any more) */
  | { readonly refused: 'NOT_LEADER' }
  | SaleNotFound
  /** Redis lost its data: the leader must finish the recovery first */
  | { readonly refused: 'RECOVERING' };

const ADMIT_FIELDS = 13;

export function decodeAdmit(reply: readonly unknown[]): AdmitReply {
  const code = reply[0];
  if (code === 'NOT_FOUND') return NOT_FOUND;
  if (code === 'NOT_LEADER' || code === 'RECOVERING') return { refused: code };
  if (code !== 'OK' || reply.length < ADMIT_FIELDS) throw new Error(`admit script answered ${String(code)} (${reply.length} values)`);
  const [, status, waiting, active, remaining, admittedTotal, rate, expired, admittedCount, maxPerShopper, adaptive, minRate, maxRate] =
    reply;
  const admissions: Admission[] = [];
  const end = ADMIT_FIELDS + 4 * Number(admittedCount);
  for (let i = ADMIT_FIELDS; i + 3 < end; i += 4) {
    admissions.push({
      visitorId: String(reply[i]),
      jti: String(reply[i + 1]),
      expiresAt: Number(reply[i + 2]),
      sequence: Number(reply[i + 3]),
    });
  }
  const settled: AdmitTick['settled'] = [];
  for (let i = end; i + 1 < reply.length; i += 2) settled.push({ visitorId: String(reply[i]), sequence: String(reply[i + 1]) });
  return {
    outcome: 'OK',
    status: status as SaleStatus,
    waiting: Number(waiting),
    active: Number(active),
    remaining: Number(remaining),
    admittedTotal: Number(admittedTotal),
    ratePerMinute: Number(rate),
    expired: Number(expired),
    maxPerShopper: Number(maxPerShopper),
    adaptive: Number(adaptive) === 1,
    minRate: Number(minRate),
    maxRate: Number(maxRate),
    admissions,
    settled,
  };
}

/** admit.lua's 'peek' answer: the tick's budget, or what it refused */
export type AdmitBudget = { readonly outcome: 'BUDGET'; readonly budget: number } | Exclude<AdmitReply, AdmitTick>;

export function decodeAdmitBudget(reply: readonly unknown[]): AdmitBudget {
  if (reply[0] === 'BUDGET') return { outcome: 'BUDGET', budget: Number(reply[1]) };
  const decoded = decodeAdmit(reply);
  if ('refused' in decoded) return decoded;
  throw new Error('admit script answered a tick to a peek');
}

/** shard-heads.lua's answer: the sub-queue's length, the report counters it handed over, its lowest places */
export interface ShardHeads {
  readonly waiting: number;
  readonly report: Record<string, number>;
  readonly heads: SubQueueHead[];
}

export function decodeShardHeads(reply: readonly unknown[]): ShardHeads {
  const report: Record<string, number> = {};
  const m = Number(reply[1]);
  for (let j = 0; j < m; j++) report[String(reply[2 + 2 * j])] = Number(reply[3 + 2 * j]);
  const heads: SubQueueHead[] = [];
  for (let i = 2 + 2 * m; i + 4 < reply.length; i += 5) {
    heads.push({
      visitorId: String(reply[i]),
      score: String(reply[i + 1]),
      joinedAt: String(reply[i + 2]),
      after: String(reply[i + 3]),
      rounds: String(reply[i + 4]),
    });
  }
  return { waiting: Number(reply[0]), report, heads };
}

// ---------------------------------------------------------------------------------------------
// reserve.lua

/** One purchase of a reserve batch (see scripts/reserve.lua, ARGV). */
export interface ReserveRequest {
  /** '' for an attempt that only counts against its sender (a token that failed verification) */
  readonly visitorId: string;
  readonly jti: string;
  /** an unverified token's claims, for the script to compare with the admission; none when verified */
  readonly claims: { readonly exp: number; readonly adm: number; readonly max_qty: number } | undefined;
  readonly quantity: number;
  readonly orderId: string;
  /** the order message kept in the outbox */
  readonly message: string;
  /** the sender's rate-limit bucket (`ip:<address>`): pays for attempts that prove no admission */
  readonly sender: string;
}

export type ReserveAnswer =
  | { readonly outcome: 'OK'; readonly remaining: number }
  /** this visitor ordered already: that order, and its outbox message while still pending ('' when not) */
  | { readonly outcome: 'TOKEN_USED'; readonly orderId: string; readonly pendingMessage: string }
  | SaleNotFound
  /** perMinute: the limit that refused (the visitor's or the sender's), when the script says */
  | { readonly refused: 'RATE_LIMITED'; readonly retryAfterMs: number; readonly perMinute: number | undefined }
  | { readonly refused: 'NOT_ADMITTED' }
  /** the token's claims are not what this admission holds: verify the token, then buy as verified */
  | { readonly refused: 'CLAIMS' }
  | { readonly refused: 'EXPIRED' }
  | { readonly refused: 'SALE_ENDED' }
  | { readonly refused: 'SOLD_OUT' }
  /** the sale's flow is suspended (maintenance) */
  | { readonly refused: 'SUSPENDED' }
  /** Redis lost data and the stock is being rebuilt from PostgreSQL (admission/recovery.ts) */
  | { readonly refused: 'RECOVERING' }
  | { readonly refused: 'LIMIT'; readonly maxPerShopper: number }
  | { readonly refused: 'INSUFFICIENT'; readonly remaining: number };

/** Decodes a reserve batch's reply: one answer per purchase, in order. */
export function decodeReserve(reply: readonly unknown[], requests: number): ReserveAnswer[] {
  if (reply[0] === 'NOT_FOUND') return new Array<ReserveAnswer>(requests).fill(NOT_FOUND);
  if (reply.length !== requests) throw new Error(`reserve script: ${reply.length} answers for ${requests} purchases`);
  return reply.map(decodeReserveAnswer);
}

/** the refusals without values: one object each, shared */
const BARE_REFUSALS = {
  NOT_ADMITTED: Object.freeze({ refused: 'NOT_ADMITTED' }),
  CLAIMS: Object.freeze({ refused: 'CLAIMS' }),
  EXPIRED: Object.freeze({ refused: 'EXPIRED' }),
  SALE_ENDED: Object.freeze({ refused: 'SALE_ENDED' }),
  SOLD_OUT: Object.freeze({ refused: 'SOLD_OUT' }),
  SUSPENDED: Object.freeze({ refused: 'SUSPENDED' }),
  RECOVERING: Object.freeze({ refused: 'RECOVERING' }),
} as const satisfies Record<string, ReserveAnswer>;

function decodeReserveAnswer(a: unknown): ReserveAnswer {
  if (!Array.isArray(a)) throw new Error(`reserve script answered ${JSON.stringify(a)}`);
  const [code, x, y] = a as unknown[];
  switch (code) {
    case 'OK':
      return { outcome: 'OK', remaining: Number(x) };
    case 'TOKEN_USED':
      return { outcome: 'TOKEN_USED', orderId: String(x), pendingMessage: y === undefined ? '' : String(y) };
    case 'RATE_LIMITED':
      return { refused: 'RATE_LIMITED', retryAfterMs: Number(x), perMinute: y === undefined ? undefined : Number(y) };
    case 'NOT_ADMITTED':
    case 'CLAIMS':
    case 'EXPIRED':
    case 'SALE_ENDED':
    case 'SOLD_OUT':
    case 'SUSPENDED':
    case 'RECOVERING':
      return BARE_REFUSALS[code];
    case 'LIMIT':
      return { refused: 'LIMIT', maxPerShopper: Number(x) };
    case 'INSUFFICIENT':
      return { refused: 'INSUFFICIENT', remaining: Number(x) };
    default:
      throw new Error(`reserve script answered ${JSON.stringify(a)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// leader.lua, claim-due-pending.lua, sale-info.lua, adjust-stock.lua, restore.lua

export interface Leadership {
  /** this gateway holds the lock now */
  readonly held: boolean;
  /** the fencing token */
  readonly epoch: number;
  /** this call made this gateway the leader */
  readonly changed: boolean;
  /** Redis does not know the sale (its hot copy is gone: retired, or lost): nobody leads it */
  readonly missing: boolean;
}

export function decodeLeader(reply: readonly unknown[]): Leadership {
  const [held, epoch, changed, missing] = reply;
  return { held: Number(held) === 1, epoch: Number(epoch), changed: Number(changed) === 1, missing: Number(missing) === 1 };
}

export interface DuePending {
  readonly orderId: string;
  /** the order message from the outbox */
  readonly message: string;
}

export function decodeClaimDuePending(reply: readonly unknown[]): DuePending[] {
  const due: DuePending[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) due.push({ orderId: String(reply[i]), message: String(reply[i + 1]) });
  return due;
}

/** A sale's live figures and its configuration hash, as sale-info.lua answers. */
export interface SaleInfo {
  readonly status: SaleStatus;
  /** Redis's clock, ms */
  readonly now: number;
  readonly waiting: number;
  readonly admitted: number;
  readonly remaining: number;
  readonly pending: number;
  readonly admittedTotal: number;
  /** the rate in force (the closed loop's when adaptive) */
  readonly effectiveRatePerMinute: number;
  /** the sale's config hash, field by field */
  readonly config: Readonly<Record<string, string>>;
}

const SALE_INFO_FIELDS = 9;

/** undefined: no such sale in Redis */
export function decodeSaleInfo(reply: readonly unknown[]): SaleInfo | undefined {
  if (reply[0] !== 'OK') return undefined;
  const config: Record<string, string> = {};
  for (let i = SALE_INFO_FIELDS; i + 1 < reply.length; i += 2) config[String(reply[i])] = String(reply[i + 1]);
  const [, status, now, waiting, admitted, remaining, pending, admittedTotal, effectiveRate] = reply;
  return {
    status: status as SaleStatus,
    now: Number(now),
    waiting: Number(waiting),
    admitted: Number(admitted),
    remaining: Number(remaining),
    pending: Number(pending),
    admittedTotal: Number(admittedTotal),
    effectiveRatePerMinute: Number(effectiveRate),
    config,
  };
}

export interface StockAdjustment {
  /** 'REFUSED': it would take back units already reserved; 'MISSING': Redis lost the sale's stock */
  readonly outcome: 'OK' | 'REFUSED' | 'MISSING';
  /** the units reservable now (REFUSED: by how much the stock could go down at most) */
  readonly remaining: number;
}

export function decodeAdjustStock(reply: readonly unknown[]): StockAdjustment {
  const [outcome, remaining] = reply;
  if (outcome !== 'OK' && outcome !== 'REFUSED' && outcome !== 'MISSING')
    throw new Error(`adjust-stock script answered ${String(outcome)}`);
  return { outcome, remaining: Number(remaining) };
}

/** What PostgreSQL knows of one visitor that Redis had forgotten (restore.lua). */
export interface KnownToRestore {
  readonly visitorId: string;
  readonly orderId: string | undefined;
  readonly admission: Omit<Admission, 'visitorId'> | undefined;
}

export type Restored =
  /** 'queued': unchanged */
  | { readonly state: 'queued' | 'ordered' | 'expired' }
  | { readonly state: 'admitted'; readonly jti: string; readonly expiresAt: number; readonly admission: number };

export function decodeRestore(reply: readonly unknown[]): Restored[] {
  const out: Restored[] = [];
  for (let i = 0; i + 3 < reply.length; i += 4) {
    const state = reply[i];
    if (state === 'admitted') {
      out.push({ state, jti: String(reply[i + 1]), expiresAt: Number(reply[i + 2]), admission: Number(reply[i + 3]) });
    } else if (state === 'queued' || state === 'ordered' || state === 'expired') {
      out.push({ state });
    } else {
      throw new Error(`restore script answered ${String(state)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// bypass.lua

/** A bypassing visitor's admission (or order), as bypass.lua answers. */
export type BypassAnswer =
  | SaleNotFound
  | { readonly refused: 'REFUSED'; readonly saleStatus: SaleStatus }
  | {
      readonly outcome: 'OK';
      readonly state: 'admitted' | 'ordered';
      readonly jti: string | null;
      /** ms */
      readonly expiresAt: number | null;
      readonly orderId: string | null;
      readonly maxPerShopper: number;
    };

export function decodeBypass(reply: readonly unknown[]): BypassAnswer {
  const [code, a, b, c, d, e] = reply;
  if (code === 'NOT_FOUND') return NOT_FOUND;
  if (code === 'REFUSED') return { refused: 'REFUSED', saleStatus: a as SaleStatus };
  if (code !== 'OK' || (a !== 'admitted' && a !== 'ordered')) throw new Error(`bypass script answered ${String(code)} ${String(a)}`);
  return {
    outcome: 'OK',
    state: a,
    jti: orNull(String(b)),
    expiresAt: numOrNull(String(c)),
    orderId: orNull(String(d)),
    maxPerShopper: Number(e),
  };
}

// ---------------------------------------------------------------------------------------------

/** join.lua's KEYS: a sale's own, or one sub-queue's (ShardKeys) */
type JoinKeys = Pick<SaleKeys, 'config' | 'queue' | 'visitors' | 'seq' | 'stock' | 'admitted' | 'state' | 'report' | 'invites'>;

/** The gateway's scripts, each as one typed method (the only callers of the scripts). */
export class RedisCommands {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: KeySpace,
  ) {}

  /** KEYS config, queue, visitors, seq, stock, admitted, state, report, invites */
  static readonly JOIN = script('join', 'join', 9);
  /**
   * Joins and status requests of one sale, at most MAX_SCRIPT_BATCH (scripts/join.lua):
   * one answer per request, in order.
   */
  async join(saleId: string, requests: readonly JoinRequest[]): Promise<JoinAnswer[]> {
    return (await this.#join(this.keyspace.sale(saleId), requests)).answers;
  }

  async #join(k: JoinKeys, requests: readonly JoinRequest[]): Promise<ReturnType<typeof decodeJoinBatch>> {
    const args: Arg[] = [k.config, k.queue, k.visitors, k.seq, k.stock, k.admitted, k.state, k.report, k.invites, requests.length];
    for (const o of requests) args.push(o.visitorId, o.fraction, o.ticketScore, o.op, o.powNonce, o.powBits, o.caller, o.limit);
    // the secret of any admission made at join (standby, passthrough): fresh per call, like a tick's
    args.push(randomId128());
    return decodeJoinBatch(await this.redis.join(...args), requests.length);
  }

  /** KEYS config, state, queue, admitted, stock, visitors, leader, tickLog, presence, presenceGone, report */
  static readonly ADMIT = script('admit', 'admit', 11);
  /** One tick of a sale's admission, run by its leader (scripts/admit.lua). */
  async admit(a: {
    readonly saleId: string;
    readonly owner: string;
    /** the tick's secret for the admissions' jti (never leaves Redis and this call) */
    readonly jtiKey: string;
    readonly oversubscription: number;
    readonly maxBatch: number;
    readonly maxElapsedMs: number;
    readonly epoch: number;
    readonly maxOversubscription: number;
  }): Promise<AdmitReply> {
    return decodeAdmit(await this.#admit(a, []));
  }

  /** A sale over several shards, first call of a tick: its budget (admit.lua 'peek'). */
  async admitBudget(a: Parameters<RedisCommands['admit']>[0]): Promise<AdmitBudget> {
    return decodeAdmitBudget(await this.#admit(a, ['peek']));
  }

  /**
   * A sale over several shards, second call of a tick: admits from the sub-queues' heads,
   * merged lowest score first (admit.lua 'given'); `waitingElsewhere`: the sub-queues' places.
   */
  async admitGiven(
    a: Parameters<RedisCommands['admit']>[0],
    waitingElsewhere: number,
    candidates: readonly SubQueueHead[],
  ): Promise<AdmitReply> {
    const args: Arg[] = ['given', waitingElsewhere];
    for (const c of candidates) args.push(c.visitorId, c.score, c.joinedAt, c.after, c.rounds);
    return decodeAdmit(await this.#admit(a, args));
  }

  async #admit(a: Parameters<RedisCommands['admit']>[0], mode: readonly Arg[]): Promise<unknown[]> {
    const k = this.keyspace.sale(a.saleId);
    return this.redis.admit(
      k.config,
      k.state,
      k.queue,
      k.admitted,
      k.stock,
      k.visitors,
      k.leader,
      k.tickLog,
      k.presence,
      k.presenceGone,
      k.report,
      a.owner,
      a.jtiKey,
      a.oversubscription,
      a.maxBatch,
      a.maxElapsedMs,
      a.epoch,
      a.maxOversubscription,
      ...mode,
    );
  }

  /** KEYS config, stock, state, queue, visitors, report (of one sub-queue) */
  static readonly SHARD_HEADS = script('shardHeads', 'shard-heads', 6);
  /**
   * Writes sub-queue `shard`'s copy of the main tag (a config hash, or `{}` to leave it) and
   * answers its length and its `n` lowest places (scripts/shard-heads.lua).
   */
  async shardHeads(a: {
    readonly saleId: string;
    readonly shard: number;
    readonly n: number;
    readonly remaining: number | null;
    readonly admittedTotal: number | null;
    readonly paidUnits: number | null;
    readonly config: Readonly<Record<string, string>>;
  }): Promise<ShardHeads> {
    const k = this.keyspace.shard(a.saleId, a.shard);
    const opt = (v: number | null) => (v === null ? '' : v);
    const args: Arg[] = [
      k.config,
      k.stock,
      k.state,
      k.queue,
      k.visitors,
      k.report,
      opt(a.remaining),
      opt(a.admittedTotal),
      opt(a.paidUnits),
      a.n,
    ];
    for (const [field, value] of Object.entries(a.config)) args.push(field, value);
    return decodeShardHeads(await this.redis.shardHeads(...args));
  }

  /** What a sub-queue's copy holds of the main tag (shard-heads.lua's arguments), read from the main tag. */
  async mainCopy(saleId: string): Promise<{
    readonly config: Record<string, string>;
    readonly remaining: number;
    readonly admittedTotal: number;
    readonly paidUnits: number;
  }> {
    const k = this.keyspace.sale(saleId);
    // one slot: sent together
    const [config, stock, [admittedTotal, paidUnits]] = await Promise.all([
      this.redis.hgetall(k.config),
      this.redis.get(k.stock),
      this.redis.hmget(k.state, 'admittedTotal', 'paidUnits'),
    ]);
    return { config, remaining: Number(stock ?? '0'), admittedTotal: Number(admittedTotal ?? '0'), paidUnits: Number(paidUnits ?? '0') };
  }

  /** KEYS queue, visitors (of one sub-queue) */
  static readonly SHARD_SETTLE = script('shardSettle', 'shard-settle', 2);
  /** The places the main tag admitted leave sub-queue `shard` (scripts/shard-settle.lua); its length after. */
  async shardSettle(
    saleId: string,
    shard: number,
    settled: readonly { readonly visitorId: string; readonly sequence: string }[],
  ): Promise<number> {
    const k = this.keyspace.shard(saleId, shard);
    const args: Arg[] = [k.queue, k.visitors, settled.length];
    for (const s of settled) args.push(s.visitorId, s.sequence);
    return Number(await this.redis.shardSettle(...args));
  }

  /** KEYS queue (of one sub-queue) */
  static readonly SHARD_RANKS = script('shardRanks', 'shard-ranks', 1);
  /** Sub-queue `shard`'s length and, per score, its places scoring lower (scripts/shard-ranks.lua). */
  async shardRanks(
    saleId: string,
    shard: number,
    scores: readonly string[],
  ): Promise<{ readonly waiting: number; readonly lower: number[] }> {
    const reply = await this.redis.shardRanks(this.keyspace.shard(saleId, shard).queue, ...scores);
    return { waiting: Number(reply[0]), lower: reply.slice(1).map(Number) };
  }

  /**
   * Joins and status requests of sub-queue `shard` of a sale over several shards: join.lua on
   * the sub-queue's keys (its copy of the configuration, stock and state).
   */
  async joinShard(saleId: string, shard: number, requests: readonly JoinRequest[]): Promise<ReturnType<typeof decodeJoinBatch>> {
    return this.#join(this.keyspace.shard(saleId, shard), requests);
  }

  /** KEYS config, visitors, admitted, stock, pending, pendingDue, bypass, report */
  static readonly RESERVE = script('reserve', 'reserve', 8);
  /** Purchases of one sale, at most MAX_SCRIPT_BATCH (scripts/reserve.lua): one answer per purchase, in order. */
  async reserve(
    saleId: string,
    limits: {
      readonly republishAfterMs: number;
      /** each visitor's purchase rate limit (0: not counted here) */
      readonly purchasesPerMinute: number;
      /** the limit on unproven attempts per sender (0: not counted here) */
      readonly perSenderPerMinute: number;
    },
    purchases: readonly ReserveRequest[],
  ): Promise<ReserveAnswer[]> {
    const k = this.keyspace.sale(saleId);
    const args: Arg[] = [k.config, k.visitors, k.admitted, k.stock, k.pending, k.pendingDue, k.bypass, k.report];
    args.push(limits.republishAfterMs, limits.purchasesPerMinute, limits.perSenderPerMinute, purchases.length);
    for (const r of purchases) {
      const c = r.claims;
      args.push(r.visitorId, r.jti, c ? c.exp : '', c ? c.adm : '', c ? c.max_qty : '', r.quantity, r.orderId, r.message, r.sender);
    }
    return decodeReserve(await this.redis.reserve(...args), purchases.length);
  }

  /** KEYS leader, leaderEpoch, config */
  static readonly LEADER = script('leader', 'leader', 3);
  /** Takes or keeps a sale's admission lock, or gives it up (`release`) (scripts/leader.lua). */
  async leader(a: {
    readonly saleId: string;
    readonly owner: string;
    readonly ttlMs: number;
    readonly release: boolean;
  }): Promise<Leadership> {
    const k = this.keyspace.sale(a.saleId);
    return decodeLeader(await this.redis.leader(k.leader, k.leaderEpoch, k.config, a.owner, a.ttlMs, a.release ? '1' : '0'));
  }

  /** KEYS pending, pendingDue */
  static readonly CLAIM_DUE_PENDING = script('claimDuePending', 'claim-due-pending', 2);
  /** The outbox entries due for a re-publish, their next due time pushed on (scripts/claim-due-pending.lua). */
  async claimDuePending(a: { readonly saleId: string; readonly limit: number; readonly retryAfterMs: number }): Promise<DuePending[]> {
    const k = this.keyspace.sale(a.saleId);
    return decodeClaimDuePending(await this.redis.claimDuePending(k.pending, k.pendingDue, a.limit, a.retryAfterMs));
  }

  /** KEYS config, state, queue, admitted, stock, pending */
  static readonly SALE_INFO = script('saleInfo', 'sale-info', 6);
  /** A sale's configuration and live figures, one round trip (scripts/sale-info.lua); undefined: no such sale. */
  async saleInfo(saleId: string): Promise<SaleInfo | undefined> {
    const k = this.keyspace.sale(saleId);
    return decodeSaleInfo(await this.redis.saleInfo(k.config, k.state, k.queue, k.admitted, k.stock, k.pending));
  }

  /** KEYS stock */
  static readonly ADJUST_STOCK = script('adjustStock', 'adjust-stock', 1);
  /** Moves the reservable units by `delta` (new stock - old stock), never below what is reserved (scripts/adjust-stock.lua). */
  async adjustStock(a: { readonly saleId: string; readonly delta: number }): Promise<StockAdjustment> {
    return decodeAdjustStock(await this.redis.adjustStock(this.keyspace.sale(a.saleId).stock, a.delta));
  }

  /** KEYS config */
  static readonly WRITE_CONFIG = script('writeConfig', 'write-config', 1);
  /**
   * Writes a sale's hot copy unless Redis holds a later version (scripts/write-config.lua);
   * true when written.
   */
  async writeConfig(a: WriteConfig): Promise<boolean> {
    return Number(await this.redis.writeConfig(...this.#writeConfigArgs(a))) === 1;
  }

  /** The same write, queued on a MULTI/pipeline (its answer is the raw 1 or 0 in `exec()`'s results). */
  writeConfigIn(multi: ChainableCommander, a: WriteConfig): ChainableCommander {
    return multi.writeConfig(...this.#writeConfigArgs(a));
  }

  #writeConfigArgs(a: WriteConfig): Arg[] {
    const args: Arg[] = [this.keyspace.sale(a.saleId).config, a.version];
    for (const [field, value] of Object.entries(a.fields)) args.push(field, value);
    return args;
  }

  /** KEYS config, stock, visitors, queue, admitted, state, returned */
  static readonly FINISH_RECOVERY = script('finishRecovery', 'finish-recovery', 7);
  /**
   * Ends a sale's recovery after a Redis data loss: its stock, orders and admissions from
   * PostgreSQL (scripts/finish-recovery.lua). Returns the number of visitors marked ordered.
   */
  async finishRecovery(a: {
    readonly saleId: string;
    /** stock - sold, from PostgreSQL */
    readonly remaining: number;
    /** sales.paid */
    readonly paidUnits: number;
    /** cancelled orders whose units `remaining` counts (contracts' markReturnsCounted) */
    readonly returnedOrderIds: readonly string[];
    /** the highest admission sequence PostgreSQL recorded (0: none) */
    readonly maxSequence: number;
    readonly orders: readonly { readonly visitorId: string; readonly orderId: string }[];
    /** each visitor's last recorded admission (visitors without an order) */
    readonly admissions: readonly Admission[];
  }): Promise<number> {
    const k = this.keyspace.sale(a.saleId);
    const args: Arg[] = [k.config, k.stock, k.visitors, k.queue, k.admitted, k.state, k.returned, a.remaining, a.maxSequence, a.paidUnits];
    args.push(a.returnedOrderIds.length, ...a.returnedOrderIds, a.orders.length);
    for (const o of a.orders) args.push(o.visitorId, o.orderId);
    for (const v of a.admissions) args.push(v.visitorId, v.jti, v.expiresAt, v.sequence);
    return Number(await this.redis.finishRecovery(...args));
  }

  /** KEYS the deployment's new-place counter base */
  static readonly NEW_PLACES = script('newPlaces', 'new-places', 1);
  /**
   * Counts joins that may create a new place, per address bucket (scripts/new-places.lua):
   * per caller, 0 when counted, else the ms until the window ends (refused).
   */
  async newPlaces(a: { readonly perMinute: number; readonly callers: readonly string[] }): Promise<number[]> {
    const answers = await this.redis.newPlaces(this.keyspace.newPlaces, a.perMinute, ...a.callers);
    return answers.map(Number);
  }

  /** KEYS report, reportSnapshot */
  static readonly REPORT_SNAPSHOT = script('reportSnapshot', 'report-snapshot', 2);
  /**
   * Takes the sale's report counters out for one write to PostgreSQL, or the snapshot an
   * earlier call left (scripts/report-snapshot.lua); undefined: nothing to write.
   */
  async reportSnapshot(saleId: string, newId: string): Promise<ReportSnapshot | undefined> {
    const k = this.keyspace.sale(saleId);
    return decodeReportSnapshot(await this.redis.reportSnapshot(k.report, k.reportSnapshot, newId));
  }

  /** KEYS reportSnapshot */
  static readonly REPORT_DROP = script('reportDrop', 'report-drop', 1);
  /** Removes the snapshot `id` once PostgreSQL holds it (scripts/report-drop.lua); true when removed. */
  async reportDrop(saleId: string, id: string): Promise<boolean> {
    return Number(await this.redis.reportDrop(this.keyspace.sale(saleId).reportSnapshot, id)) === 1;
  }

  /** KEYS config, visitors, queue, admitted */
  static readonly RESTORE = script('restore', 'restore', 4);
  /**
   * Applies what PostgreSQL knows of visitors join.lua restored from their tickets
   * (scripts/restore.lua): one answer per visitor, in order.
   */
  async restore(saleId: string, visitors: readonly KnownToRestore[]): Promise<Restored[]> {
    const k = this.keyspace.sale(saleId);
    const args: Arg[] = [k.config, k.visitors, k.queue, k.admitted];
    for (const v of visitors) {
      const a = v.admission;
      args.push(v.visitorId, v.orderId ?? '', a?.jti ?? '', a?.expiresAt ?? '', a?.sequence ?? '');
    }
    return decodeRestore(await this.redis.restore(...args));
  }

  /** KEYS config, bypass, stock, state */
  static readonly BYPASS = script('bypass', 'bypass', 4);
  /** A bypassing visitor's admission, made now or the one it holds (scripts/bypass.lua). */
  async bypass(saleId: string, visitorId: string): Promise<BypassAnswer> {
    const k = this.keyspace.sale(saleId);
    return decodeBypass(await this.redis.bypass(k.config, k.bypass, k.stock, k.state, visitorId, randomId128()));
  }

  /** KEYS presence, presenceGone, config */
  static readonly PRESENCE = script('presence', 'presence', 3);
  /**
   * Sockets of one sale opened ('+') and closed ('-'), in order (scripts/presence.lua). A '-'
   * must only be sent for a '+' that was applied.
   */
  async presence(saleId: string, events: readonly PresenceEvent[]): Promise<void> {
    const k = this.keyspace.sale(saleId);
    const args: Arg[] = [k.presence, k.presenceGone, k.config, events.length];
    for (const e of events) args.push(e.op, e.visitorId);
    await this.redis.presence(...args);
  }

  /** KEYS config, state, admitted, visitors, stock, presence, presenceGone, report */
  static readonly RELEASE_GONE = script('releaseGone', 'release-gone', 8);
  /**
   * The leader frees the turns of shoppers whose pages stayed gone past the grace, and counts
   * those who walked away while waiting (scripts/release-gone.lua).
   */
  async releaseGone(a: { readonly saleId: string; readonly graceMs: number; readonly limit: number }): Promise<ReleaseGoneReply> {
    const k = this.keyspace.sale(a.saleId);
    const reply = await this.redis.releaseGone(
      k.config,
      k.state,
      k.admitted,
      k.visitors,
      k.stock,
      k.presence,
      k.presenceGone,
      k.report,
      a.graceMs,
      a.limit,
    );
    return decodeReleaseGone(reply);
  }
  /**
   * KEYS every key of the sale but its pub/sub channel (retiringKeys): the outbox and the
   * report's two hashes first, which must be empty, then the config (whose name the keys derived
   * from it share), then the rest in saleKeys' order, so a key added to saleKeys is removed too
   */
  static readonly RETIRE = script('retire', 'retire', retiringKeys(saleKeys('x')).length);
  /**
   * Removes every key of a sale PostgreSQL has taken over (scripts/retire.lua), unless its
   * outbox or its report counters still hold something.
   */
  async retire(saleId: string): Promise<Retirement> {
    const reply = await this.redis.retire(...retiringKeys(this.keyspace.sale(saleId)));
    return decodeRetire(reply);
  }

  /** KEYS generation */
  static readonly GENERATION = script('generation', 'generation', 1);
  /**
   * Is this still the dataset the sales were published to (scripts/generation.lua)? The
   * marker's id, or null when it is gone: Redis restarted empty, or a failover replaced the
   * primary (`failover`: the marker was removed for that).
   */
  async generation(): Promise<{ readonly id: string | null; readonly failover?: { readonly from: string; readonly to: string } }> {
    const reply = (await this.redis.generation(this.keyspace.generation, 'check')) as unknown[];
    if (reply[1] === 'FAILOVER') return { id: null, failover: { from: String(reply[2]), to: String(reply[3]) } };
    return { id: reply[0] == null ? null : String(reply[0]) };
  }

  /** Sets the marker to `id`, with the replication id of the server that holds it. */
  async setGeneration(id: string): Promise<void> {
    await this.redis.generation(this.keyspace.generation, 'set', id);
  }
}

/** One socket of a shopper opened or closed (presence.lua). */
export interface PresenceEvent {
  readonly op: '+' | '-';
  readonly visitorId: string;
}

export type ReleaseGoneReply =
  | SaleNotFound
  | {
      readonly outcome: 'OK';
      /** admitted shoppers whose turn was released */
      readonly freed: number;
      /** queued shoppers counted as walked away */
      readonly walkedAway: number;
      /** visitors looked at (gone past the grace) */
      readonly looked: number;
    };

export function decodeReleaseGone(reply: readonly unknown[]): ReleaseGoneReply {
  if (reply[0] === 'NOT_FOUND') return NOT_FOUND;
  if (reply[0] !== 'OK' || reply.length < 4) throw new Error(`release-gone script answered ${String(reply[0])}`);
  return { outcome: 'OK', freed: Number(reply[1]), walkedAway: Number(reply[2]), looked: Number(reply[3]) };
}

/** A sale's report counters taken out of Redis for one write (report-snapshot.lua). */
export interface ReportSnapshot {
  readonly id: string;
  /** when it was taken (Redis ms) */
  readonly at: number;
  /** every counter field and its value (funnel counts, `w:<window>:<bucket>`, soldOutAt, endedAt) */
  readonly fields: ReadonlyMap<string, number>;
}

export function decodeReportSnapshot(reply: readonly unknown[]): ReportSnapshot | undefined {
  if (reply.length === 0) return undefined;
  let id = '';
  let at = 0;
  const fields = new Map<string, number>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = String(reply[i]);
    const value = String(reply[i + 1]);
    if (field === '_id') id = value;
    else if (field === '_at') at = Number(value);
    else fields.set(field, Number(value));
  }
  if (id === '') throw new Error('report snapshot without an id');
  return { id, at, fields };
}

/** retire.lua's KEYS: every key of a sale a script can name, in the order the script reads them */
export function retiringKeys(k: SaleKeys): string[] {
  const first = [k.pending, k.report, k.reportSnapshot, k.config];
  const rest = Object.entries(k)
    .filter(([name, key]) => name !== 'events' && !first.includes(key))
    .map(([, key]) => key);
  return [...first, ...rest];
}

/** retire.lua's answer: what it removed, or what it found still there */
export type Retirement =
  { readonly outcome: 'OK'; readonly removed: number } | { readonly refused: 'PENDING' | 'REPORT'; readonly count: number };

export function decodeRetire(reply: readonly unknown[]): Retirement {
  const [code, n] = reply;
  if (code === 'OK') return { outcome: 'OK', removed: Number(n) };
  if (code === 'PENDING' || code === 'REPORT') return { refused: code, count: Number(n) };
  throw new Error(`retire script answered ${String(code)}`);
}

export interface WriteConfig {
  readonly saleId: string;
  /** sales.config_version of the row written */
  readonly version: number;
  /** the hash's fields */
  readonly fields: Readonly<Record<string, string>>;
}

/** Every script the gateway defines (script-loader.ts): exactly those RedisCommands calls. */
export const SCRIPTS: readonly LuaScript[] = [
  RedisCommands.JOIN,
  RedisCommands.ADMIT,
  RedisCommands.RESERVE,
  RedisCommands.LEADER,
  RedisCommands.CLAIM_DUE_PENDING,
  RedisCommands.SALE_INFO,
  RedisCommands.ADJUST_STOCK,
  RedisCommands.WRITE_CONFIG,
  RedisCommands.FINISH_RECOVERY,
  RedisCommands.NEW_PLACES,
  RedisCommands.RESTORE,
  RedisCommands.PRESENCE,
  RedisCommands.RELEASE_GONE,
  RedisCommands.BYPASS,
  RedisCommands.REPORT_SNAPSHOT,
  RedisCommands.REPORT_DROP,
  RedisCommands.RETIRE,
  RedisCommands.GENERATION,
  RedisCommands.SHARD_HEADS,
  RedisCommands.SHARD_SETTLE,
  RedisCommands.SHARD_RANKS,
];
