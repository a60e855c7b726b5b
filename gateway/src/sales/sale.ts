/**
 * A sale, in one place: its types, its rules, and every spelling of it.
 *
 * One sale is spelled four ways: the PostgreSQL row (the source of truth), the record the
 * gateway works with, the Redis `config` hash that every gateway and every Lua script reads
 * (with its own field names and units: `rate`, `mode`, `checkoutMs`, ...), and the API
 * objects. The field table below gives each setting's column, hash field and unit, and API
 * spelling; every codec in this file is driven by it, so a new setting is one entry here, one
 * in `schemas/sale.ts` (its validation), a migration, and the Lua that reads it, if any
 * (docs/architecture.md, "A sale's shape").
 */
import type { SaleInfo } from '../redis/commands.js';
import type { SaleStatus } from '@velvet-rope/contracts';
import type { Static } from 'typebox';
import { AppError } from '../errors.js';
import { shopUrlProblem } from '../lib/shop-url.js';
import { parseProduct, type Product, type ProductInput } from './product.js';
import { seedCommitment, type QueueMode } from './fairness-score.js';
import type { AdminSale, CreateSaleBody, PublicSale, SaleSettingSchemas, SaleStats, UpdateSaleBody } from '../schemas/sale.js';
import type { SaleFlowSchema, SaleIdentitySchema } from '../schemas/common.js';
import { MAX_PROTECTED_PATHS, protectedPathProblem } from '../gate/protected-paths.js';

export type SaleFlow = Static<typeof SaleFlowSchema>;
export type SaleIdentity = Static<typeof SaleIdentitySchema>;

/**
 * Whether joins take a place in the queue now, rather than going straight to their turn: always
 * with the `queue` flow; with `standby` and `passthrough` while anybody waits (a join then
 * queues behind them: nobody skips the line); never while `suspended` (joins are refused).
 */
export function queueing(flow: SaleFlow, waiting: number): boolean {
  if (flow === 'queue') return true;
  if (flow === 'suspended') return false;
  return waiting > 0;
}

/** How one kind of value is spelled in each place. */
interface Kind<T, Api> {
  /** the record's value from what pg returns for the column */
  fromColumn(v: unknown): T;
  /** the SQL expression that stores a record's value given as parameter `p` */
  toColumn(p: string): string;
  toHash(v: T): string;
  fromHash(v: string | undefined): T;
  toApi(v: T): Api;
  fromApi(v: Api): T;
}

const same = <T>(v: T): T => v;
const param = (p: string) => p;
const iso = (ms: number) => new Date(ms).toISOString();
const fromTimestamp = (p: string) => `to_timestamp(${p} / 1000.0)`;

const text = <T extends string = string>(): Kind<T, T> => ({
  fromColumn: (v) => v as T,
  toColumn: param,
  toHash: same,
  fromHash: (v) => v as T,
  toApi: same,
  fromApi: same,
});
const integer: Kind<number, number> = {
  fromColumn: (v) => v as number,
  toColumn: param,
  toHash: (v) => String(v),
  fromHash: (v) => Number(v),
  toApi: same,
  fromApi: same,
};
/** seconds in PostgreSQL and the API, milliseconds in the hot copy */
const seconds: Kind<number, number> = { ...integer, toHash: (s) => String(s * 1000), fromHash: (ms) => Number(ms) / 1000 };
const flag: Kind<boolean, boolean> = {
  fromColumn: (v) => v as boolean,
  toColumn: param,
  toHash: (b) => (b ? '1' : '0'),
  fromHash: (v) => v === '1',
  toApi: same,
  fromApi: same,
};
/** epoch milliseconds; a timestamp column, an ISO string in the API */
const time: Kind<number, string> = {
  fromColumn: (v) => (v as Date).getTime(),
  toColumn: fromTimestamp,
  toHash: (ms) => String(ms),
  fromHash: (v) => Number(v),
  toApi: iso,
  fromApi: (s) => Date.parse(s),
};
/** a time or none: NULL, '' in the hot copy, null in the API */
const optionalTime: Kind<number | null, string | null> = {
  fromColumn: (v) => (v as Date | null)?.getTime() ?? null,
  toColumn: fromTimestamp,
  toHash: (ms) => (ms === null ? '' : String(ms)),
  fromHash: (v) => (v ? Number(v) : null),
  toApi: (ms) => (ms === null ? null : iso(ms)),
  fromApi: (s) => (s === null ? null : Date.parse(s)),
};

/** a text or none: NULL, '' in the hot copy (what the Lua tests for), null in the API */
const optionalText: Kind<string | null, string | null> = {
  fromColumn: (v) => (v as string | null) ?? null,
  toColumn: param,
  toHash: (v) => v ?? '',
  fromHash: (v) => (v ? v : null),
  toApi: same,
  fromApi: same,
};

/** a whole number or none: NULL, '' in the hot copy (what the Lua tests for), null in the API */
const optionalInteger: Kind<number | null, number | null> = {
  fromColumn: (v) => (v as number | null) ?? null,
  toColumn: param,
  toHash: (v) => (v === null ? '' : String(v)),
  fromHash: (v) => (v ? Number(v) : null),
  toApi: same,
  fromApi: same,
};

/** path prefixes the sale gates on the shop's site: jsonb array, JSON in the hot copy; checked on the way in */
const pathList: Kind<string[], string[]> = {
  fromColumn: (v) => (v as string[] | null) ?? [],
  // pg sends a JS array as a PostgreSQL array: made a JSON one in SQL
  toColumn: (p) => `to_jsonb(${p}::text[])`,
  toHash: (v) => JSON.stringify(v),
  fromHash: (v) => (v ? (JSON.parse(v) as string[]) : []),
  toApi: same,
  fromApi: (v) => {
    if (v.length > MAX_PROTECTED_PATHS) throw new AppError('INVALID_SALE_CONFIG', `protectedPaths: at most ${MAX_PROTECTED_PATHS}`);
    for (const path of v) {
      const problem = protectedPathProblem(path);
      if (problem) throw new AppError('INVALID_SALE_CONFIG', `protectedPaths: ${JSON.stringify(path)} ${problem}`);
    }
    return [...new Set(v)];
  },
};

/** what a sale sells: jsonb (pg parses it), JSON in the hot copy, '' for none; checked on the way in */
const product: Kind<Product | null, Product | null> = {
  fromColumn: (v) => (v as Product | null) ?? null,
  toColumn: (p) => `${p}::jsonb`,
  toHash: (v) => (v === null ? '' : JSON.stringify(v)),
  fromHash: (v) => (v ? (JSON.parse(v) as Product) : null),
  toApi: same,
  fromApi: (v: ProductInput | null) => {
    if (v === null) return null;
    const parsed = parseProduct(v);
    if (!parsed.ok) throw new AppError('INVALID_SALE_CONFIG', parsed.problem);
    return Object.keys(parsed.product).length === 0 ? null : parsed.product;
  },
};

interface Field<T, Api> {
  readonly column: string;
  /** its field in the Redis config hash (the Lua scripts read these names) */
  readonly hash: string;
  readonly kind: Kind<T, Api>;
  /** the value a create that does not give it gets (none: the API requires it) */
  readonly default?: (given: { readonly stock: number }) => T;
  /** what a hot copy without this field reads as (one written before the field existed) */
  readonly absent?: (saleId: string) => string;
}

function field<T, Api>(
  column: string,
  hash: string,
  kind: Kind<T, Api>,
  more: NoInfer<Pick<Field<T, Api>, 'default' | 'absent'>> = {},
): Field<T, Api> {
  return { column, hash, kind, ...more };
}

/**
 * Every setting of a sale: its column, its hot-copy field (names and units exactly as the
 * Lua scripts read them) and its kind, which says how it is spelled in each place. The API
 * names are the keys; their schemas are `schemas/sale.ts`'s table, which must list the same
 * settings with the same API types (checked by `satisfies`).
 */
const FIELDS = {
  name: field('name', 'name', text(), { absent: (saleId) => saleId }),
  stock: field('stock', 'stock', integer),
  startsAt: field('starts_at', 'startsAt', time),
  prequeueOpensAt: field('prequeue_opens_at', 'prequeueOpensAt', optionalTime, { default: () => null }),
  endsAt: field('ends_at', 'endsAt', optionalTime, { default: () => null }),
  ratePerMinute: field('rate_per_minute', 'rate', integer),
  maxActive: field('max_active', 'maxActive', integer, { default: (given) => Math.max(1, given.stock) }),
  checkoutSeconds: field('checkout_seconds', 'checkoutMs', seconds, { default: () => 120 }),
  maxPerShopper: field('max_per_shopper', 'maxPerShopper', integer, { default: () => 1 }),
  queueMode: field('queue_mode', 'mode', text<QueueMode>(), { default: () => 'prequeue-random' }),
  windowSeconds: field('window_seconds', 'windowMs', seconds, { default: () => 30 }),
  paused: field('paused', 'paused', flag, { default: () => false }),
  /** leading zero bits a join's proof of work must have; 0: none asked */
  powDifficulty: field('pow_difficulty', 'powDifficulty', integer, { default: () => 0, absent: () => '0' }),
  /** closed loop: the rate follows downstream health between minRatePerMinute and ratePerMinute */
  adaptiveRate: field('adaptive_rate', 'adaptive', flag, { default: () => false }),
  minRatePerMinute: field('min_rate_per_minute', 'minRate', integer, { default: () => 0, absent: () => '0' }),
  /** the shop's checkout page: set, the sale hands each confirmed order to the shop for payment (issue 14) */
  checkoutUrl: field('checkout_url', 'checkoutUrl', optionalText, { default: () => null, absent: () => '' }),
  /** the payment window after an order's commit (the worker sets the deadline from the row) */
  paymentSeconds: field('payment_seconds', 'paymentSeconds', integer, { default: () => 600, absent: () => '600' }),
  /** how shoppers reach their turn (issue 16): queue, standby, passthrough, suspended (join.lua, admit.lua, reserve.lua) */
  flow: field('flow', 'flow', text<SaleFlow>(), { default: () => 'queue', absent: () => 'queue' }),
  /** the longest the queue may grow; null: no cap (join.lua answers QUEUE_FULL beyond it) */
  maxQueue: field('max_queue', 'maxQueue', optionalInteger, { default: () => null, absent: () => '' }),
  /** what the sale sells, as the shopper's page shows it (issue 15 item 5; sales/product.ts) */
  product: field('product', 'product', product, { default: () => null, absent: () => '' }),
  /** who may join: anyone, or the shop's signed-in shoppers, one place per account (issue 15; set at creation only) */
  identity: field('identity', 'identity', text<SaleIdentity>(), { default: () => 'anonymous', absent: () => 'anonymous' }),
  /** only the accounts on the invite list take a place (join.lua, `invites`) */
  inviteOnly: field('invite_only', 'inviteOnly', flag, { default: () => false, absent: () => '0' }),
  /** path prefixes of the shop's site only admitted visitors reach through the gateway (gate/gate.ts) */
  protectedPaths: field('protected_paths', 'protectedPaths', pathList, { default: () => [], absent: () => '[]' }),
  /** sub-queues over this many hash tags (issue 17; redis/sharded-queue.ts): 1 is one tag, as before */
  shards: field('shards', 'shards', integer, { default: () => 1, absent: () => '1' }),
} satisfies { readonly [K in keyof SaleSettingSchemas]: Field<unknown, Static<SaleSettingSchemas[K]['response']>> };

type Fields = typeof FIELDS;
type ValueOf<F> = F extends { readonly kind: { fromColumn(v: unknown): infer T } } ? T : never;

/** What a marketer sets on a sale. */
export type SaleSettings = { readonly [K in keyof Fields]: ValueOf<Fields[K]> };
export type SaleSetting = keyof SaleSettings;

/** the table as a list, each field with its value type widened (the codecs are loops) */
const FIELD_LIST = Object.entries(FIELDS) as [SaleSetting, Field<unknown, unknown>][];

export interface SaleConfig extends SaleSettings {
  readonly id: string;
}

export interface SaleRecord extends SaleConfig {
  readonly sold: number;
  /** units of paid orders (a sale with a checkout URL; settle-units' `paidUnits` in Redis) */
  readonly paid: number;
  readonly seed: Buffer;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** counts the committed changes of the configuration: orders the Redis hot copy's writes */
  readonly configVersion: number;
  /** when the sale left Redis for PostgreSQL (sales/retirement.ts); null while it has not */
  readonly retiredAt: number | null;
}

export type SaleChanges = Partial<SaleSettings>;

/** The sale as the hot copy and the live figures show it (sale-info.lua: `SaleInfo`). */
export interface LiveSale extends SaleConfig, Omit<SaleInfo, 'config'> {}

// ---- PostgreSQL ------------------------------------------------------------------------

/** A `sales` row as pg returns it: the settings' columns (FIELDS) and these. */
export interface SaleRow {
  readonly id: string;
  readonly sold: number;
  readonly paid: number;
  readonly fairness_seed: Buffer;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly config_version: string;
  /** migration 0008 */
  readonly retired_at?: Date | null;
  readonly [column: string]: unknown;
}

export function fromRow(r: SaleRow): SaleRecord {
  const sale: Record<string, unknown> = { id: r.id };
  for (const [name, f] of FIELD_LIST) sale[name] = f.kind.fromColumn(r[f.column]);
  sale.sold = r.sold;
  sale.paid = r.paid;
  sale.seed = r.fairness_seed;
  sale.createdAt = r.created_at.getTime();
  sale.updatedAt = r.updated_at.getTime();
  sale.configVersion = Number(r.config_version);
  sale.retiredAt = r.retired_at?.getTime() ?? null;
  return sale as unknown as SaleRecord;
}

const INSERT_SALE = `INSERT INTO sales (id, ${FIELD_LIST.map(([, f]) => f.column).join(', ')}, fairness_seed)
  VALUES ($1, ${FIELD_LIST.map(([, f], i) => f.kind.toColumn(`$${i + 2}`)).join(', ')}, $${FIELD_LIST.length + 2})
  RETURNING *`;

/** The INSERT of a new sale with its seed, every setting in its column; returns the row. */
export function insertSale(config: SaleConfig, seed: Buffer): { text: string; values: unknown[] } {
  return { text: INSERT_SALE, values: [config.id, ...FIELD_LIST.map(([name]) => config[name]), seed] };
}

/** `column = <parameter p>` for an UPDATE of one setting (p holds the record's value). */
export function assignment(name: SaleSetting, p: string): string {
  const f: Field<unknown, unknown> = FIELDS[name];
  return `${f.column} = ${f.kind.toColumn(p)}`;
}

// ---- the Redis hot copy ----------------------------------------------------------------

/** The Redis config hash of a sale: everything the Lua scripts read. */
export function configHash(s: SaleConfig & { readonly seed: Buffer }): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [name, f] of FIELD_LIST) h[f.hash] = f.kind.toHash(s[name]);
  h.seed = s.seed.toString('hex');
  return h;
}

export function fromConfigHash(id: string, h: Readonly<Record<string, string>>): SaleConfig {
  const sale: Record<string, unknown> = { id };
  for (const [name, f] of FIELD_LIST) sale[name] = f.kind.fromHash(h[f.hash] ?? f.absent?.(id));
  return sale as unknown as SaleConfig;
}

// ---- the API ---------------------------------------------------------------------------

/** A new sale from the create body: what the marketer left out takes its default. */
export function configFromApi(b: CreateSaleBody): SaleConfig {
  const sale: Record<string, unknown> = { id: b.id };
  for (const [name, f] of FIELD_LIST) {
    const given: unknown = b[name];
    if (given !== undefined) sale[name] = f.kind.fromApi(given);
    else if (f.default) sale[name] = f.default(b);
    else throw new AppError('INVALID_SALE_CONFIG', `${name} is required`);
  }
  return sale as unknown as SaleConfig;
}

/** The changes a PATCH body asks for: only the keys sent (an absent key keeps its value). */
export function changesFromApi(b: UpdateSaleBody): SaleChanges {
  const changes: Record<string, unknown> = {};
  for (const [name, f] of FIELD_LIST) {
    const given: unknown = b[name];
    if (given !== undefined) changes[name] = f.kind.fromApi(given);
  }
  return changes as SaleChanges;
}

/** The marketer's view: the whole configuration and the fairness commitment. */
export function adminView(s: SaleRecord): AdminSale {
  const view: Record<string, unknown> = { id: s.id };
  for (const [name, f] of FIELD_LIST) view[name] = f.kind.toApi(s[name]);
  view.sold = s.sold;
  view.seedCommitment = seedCommitment(s.seed);
  view.createdAt = iso(s.createdAt);
  view.updatedAt = iso(s.updatedAt);
  if (s.retiredAt !== null) view.retiredAt = iso(s.retiredAt);
  return view as AdminSale;
}

/**
 * Shoppers still waiting for a unit. Once a sale is over (sold out for good, or ended) nobody
 * in its queue is: each was told so, and keeps a place only for the audit and the report (a
 * marketer reading "waiting 89,000" after the sell-out reads 89,000 people still hoping).
 * While units are held in checkouts (`held`) the line does wait: an unpaid unit comes back to it.
 */
export function stillWaiting(status: SaleStatus, inLine: number): number {
  return status === 'sold_out' || status === 'ended' ? 0 : inLine;
}

/** Shoppers still in the queue who were told the sale is over (see stillWaiting). */
export function toldItIsOver(status: SaleStatus, inLine: number): number {
  return inLine - stillWaiting(status, inLine);
}

/** What a shopper sees: the settings that concern them and the live figures. */
export function publicView(sale: LiveSale): Static<typeof PublicSale> {
  return {
    id: sale.id,
    name: sale.name,
    status: sale.status,
    startsAt: iso(sale.startsAt),
    prequeueOpensAt: optionalTime.toApi(sale.prequeueOpensAt),
    endsAt: optionalTime.toApi(sale.endsAt),
    stock: sale.stock,
    remaining: sale.remaining,
    waiting: stillWaiting(sale.status, sale.waiting),
    admitted: sale.admitted,
    admittedTotal: sale.admittedTotal,
    // the rate in force (the closed loop's when on): what the page's ETA needs
    ratePerMinute: sale.effectiveRatePerMinute,
    maxPerShopper: sale.maxPerShopper,
    checkoutSeconds: sale.checkoutSeconds,
    queueMode: sale.queueMode,
    windowSeconds: sale.windowSeconds,
    powDifficulty: sale.powDifficulty,
    handsOff: sale.checkoutUrl !== null,
    paymentSeconds: sale.paymentSeconds,
    flow: sale.flow,
    identity: sale.identity,
    inviteOnly: sale.inviteOnly,
    queueing: queueing(sale.flow, sale.waiting),
    serverTime: iso(sale.now),
    product: sale.product,
  };
}

/** The stats page: live figures from Redis, committed ones from PostgreSQL. */
export function statsView(
  live: LiveSale,
  committed: {
    readonly sold: number;
    readonly paid: number;
    readonly returned: number;
    readonly confirmedOrders: number;
    readonly rejectedOrders: number;
  },
): Static<typeof SaleStats> {
  const handsOff = live.checkoutUrl !== null;
  return {
    id: live.id,
    status: live.status,
    stock: live.stock,
    waiting: stillWaiting(live.status, live.waiting),
    toldSoldOut: toldItIsOver(live.status, live.waiting),
    admitted: live.admitted,
    admittedTotal: live.admittedTotal,
    remaining: live.remaining,
    pending: live.pending,
    sold: committed.sold,
    confirmedOrders: committed.confirmedOrders,
    rejectedOrders: committed.rejectedOrders,
    // a sale without a checkout URL: every sold unit counts as paid, none held (shop-events.ts)
    paid: handsOff ? committed.paid : committed.sold,
    held: handsOff ? Math.max(0, committed.sold - committed.paid) : 0,
    returned: committed.returned,
    ratePerMinute: live.ratePerMinute,
    effectiveRatePerMinute: live.effectiveRatePerMinute,
    adaptiveRate: live.adaptiveRate,
    maxActive: live.maxActive,
    paused: live.paused,
    flow: live.flow,
    queueing: queueing(live.flow, live.waiting),
    maxQueue: live.maxQueue,
    at: iso(live.now),
  };
}

// ---- rules -----------------------------------------------------------------------------

/** Cross-field rules a schema cannot express; throws INVALID_SALE_CONFIG. */
export function checkSaleConfig(s: SaleConfig): void {
  if (s.endsAt !== null && s.endsAt <= s.startsAt) {
    throw new AppError('INVALID_SALE_CONFIG', 'endsAt must be after startsAt');
  }
  if (s.prequeueOpensAt !== null && s.prequeueOpensAt > s.startsAt) {
    throw new AppError('INVALID_SALE_CONFIG', 'prequeueOpensAt must not be after startsAt');
  }
  if (s.checkoutUrl !== null) {
    const problem = shopUrlProblem(s.checkoutUrl);
    if (problem) throw new AppError('INVALID_SALE_CONFIG', `checkoutUrl ${problem}`);
  }
  if (s.inviteOnly && s.identity !== 'shop') {
    throw new AppError('INVALID_SALE_CONFIG', 'inviteOnly needs identity "shop": an invite names an account of the shop');
  }
  if (s.shards > 1) checkShardedConfig(s);
}

/**
 * What a sale over several sub-queues cannot do yet (docs/architecture.md, "One sale over K
 * shards"): an arrival sequence is one counter on one slot (strict FIFO), admission at join
 * needs the admitted set and stock of the main tag (standby, passthrough), the invite list
 * and a proof's spent nonce are kept per slot, and a sub-queue's join sees only its own
 * length (maxQueue would let K times as many wait).
 */
function checkShardedConfig(s: SaleConfig): void {
  const problem =
    s.queueMode === 'fifo' || s.windowSeconds === 0
      ? 'strict FIFO (queueMode fifo, or windowSeconds 0) needs one arrival counter'
      : s.flow === 'standby' || s.flow === 'passthrough'
        ? `flow ${s.flow} admits at join`
        : s.inviteOnly
          ? 'inviteOnly'
          : s.powDifficulty > 0
            ? 'a proof of work (powDifficulty)'
            : s.maxQueue !== null
              ? 'maxQueue (each sub-queue would count only its own places)'
              : null;
  if (problem) throw new AppError('INVALID_SALE_CONFIG', `shards > 1 does not support ${problem} (yet): use shards 1`);
}

/**
 * The settings a change writes, after checking it against the sale as it is: the merged sale
 * obeys the same rules as a new one; the fairness rules bind once the sale has started; and
 * once it has ended (its seed is public) its end cannot move, so it can never reopen.
 * Throws INVALID_SALE_CONFIG, SALE_STARTED or SALE_ENDED.
 */
export function checkChanges(before: SaleRecord, given: SaleChanges, now: number): [SaleSetting, unknown][] {
  const entries = (Object.entries(given) as [SaleSetting, unknown][]).filter(([, v]) => v !== undefined);
  const after: SaleConfig = { ...before, ...(Object.fromEntries(entries) as SaleChanges) };
  checkSaleConfig(after);
  // every place and ticket of the sale was made for one kind of shopper (and gateways keep it)
  if (after.identity !== before.identity)
    throw new AppError('INVALID_SALE_CONFIG', 'identity is set when a sale is created and cannot change');
  // every place sits in the sub-queue its visitor id hashes to among `shards`, and gateways
  // keep the count with the seed: a change would lose places (so, like identity, never)
  if (after.shards !== before.shards) {
    throw new AppError('INVALID_SALE_CONFIG', 'shards is set when a sale is created and cannot change');
  }
  if (now >= before.startsAt) {
    for (const f of ['queueMode', 'windowSeconds', 'startsAt', 'prequeueOpensAt'] as const) {
      if (after[f] !== before[f]) throw new AppError('SALE_STARTED', `${f} cannot change once the sale has started`);
    }
  }
  if (before.endsAt !== null && now >= before.endsAt && after.endsAt !== before.endsAt) {
    throw new AppError('SALE_ENDED', 'the sale has ended and its fairness seed is public: endsAt cannot change');
  }
  return entries;
}
