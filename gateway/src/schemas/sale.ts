import { Type, type Static, type TOptional, type TSchema } from 'typebox';
import { DateTime, Nullable, QueueModeSchema, SaleFlowSchema, SaleIdentitySchema, SaleStatusSchema } from './common.js';
import { SALE_ID_PATTERN } from '@velvet-rope/contracts';
import { NoticeSchema } from './notice.js';

/** What a sale sells, as a marketer sends it (sales/product.ts checks the content: 422 INVALID_SALE_CONFIG). */
const ProductRequest = Type.Object(
  {
    description: Type.Optional(Type.String({ description: 'plain text, at most 1000 characters' })),
    imageUrl: Type.Optional(Type.String({ description: 'an https URL or a path on this site, at most 2048 characters' })),
    price: Type.Optional(
      // a request schema only (an anyOf is slow to serialize, never to validate)
      Type.Union([Type.String(), Type.Number()], { description: 'a non-negative decimal, as a string or a number' }),
    ),
    currency: Type.Optional(Type.String({ description: 'ISO 4217 (EUR, USD...): required with a price' })),
  },
  { additionalProperties: false },
);

/** What a sale sells, as the answers show it: the price as a decimal string. */
const ProductResponse = Type.Object({
  description: Type.Optional(Type.String()),
  imageUrl: Type.Optional(Type.String()),
  price: Type.Optional(Type.String()),
  currency: Type.Optional(Type.String()),
});

/** What a shopper (and the waiting-room page) sees of a sale. */
export const PublicSale = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: SaleStatusSchema,
  startsAt: DateTime,
  prequeueOpensAt: Nullable(DateTime),
  endsAt: Nullable(DateTime),
  stock: Type.Integer(),
  remaining: Type.Integer(),
  waiting: Type.Integer({ description: 'shoppers in line still waiting for a unit (0 once the sale is sold out or ended)' }),
  admitted: Type.Integer({ description: 'shoppers admitted and still in their checkout window' }),
  admittedTotal: Type.Integer({ description: 'shoppers admitted since the sale began' }),
  ratePerMinute: Type.Integer(),
  maxPerShopper: Type.Integer(),
  checkoutSeconds: Type.Integer(),
  queueMode: QueueModeSchema,
  windowSeconds: Type.Integer(),
  powDifficulty: Type.Integer({ description: 'leading zero bits a join proof of work needs; 0: none' }),
  handsOff: Type.Boolean({ description: "true: a confirmed order is handed to the shop's checkout and held for payment" }),
  paymentSeconds: Type.Integer({ description: 'the payment window after an order is confirmed (sales that hand off)' }),
  flow: SaleFlowSchema,
  identity: SaleIdentitySchema,
  inviteOnly: Type.Boolean({ description: 'true: only the accounts on the sale’s invite list may take a place' }),
  queueing: Type.Boolean({
    description:
      'true: a join takes a place in the queue now; false: it goes straight to its turn (standby, passthrough) or is refused (suspended)',
  }),
  serverTime: DateTime,
  notice: Type.Optional(NoticeSchema),
  product: Nullable(ProductResponse),
});

/** One setting of a sale as the marketer API checks it (requests) and shows it (answers). */
interface Setting<
  In extends TSchema = TSchema,
  Out extends TSchema = TSchema,
  C extends 'required' | 'optional' = 'required' | 'optional',
> {
  readonly request: In;
  readonly response: Out;
  /** whether a create must give it (else the sale's default applies, sales/sale.ts) */
  readonly create: C;
}

function setting<In extends TSchema, Out extends TSchema, C extends 'required' | 'optional'>(
  request: In,
  response: Out,
  create: C,
): Setting<In, Out, C> {
  return { request, response, create };
}

/**
 * Every setting a marketer gives a sale, in the order the API lists them: create, change and
 * answer are all made from this table (a new setting is one entry here and one in
 * sales/sale.ts's field table, which the compiler holds to this one).
 */
export const saleSettings = {
  name: setting(Type.String({ minLength: 1, maxLength: 200 }), Type.String(), 'required'),
  stock: setting(Type.Integer({ minimum: 0, maximum: 100_000_000 }), Type.Integer(), 'required'),
  startsAt: setting(DateTime, DateTime, 'required'),
  prequeueOpensAt: setting(Nullable(DateTime), Nullable(DateTime), 'optional'),
  endsAt: setting(Nullable(DateTime), Nullable(DateTime), 'optional'),
  ratePerMinute: setting(
    Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'shoppers admitted per minute' }),
    Type.Integer(),
    'required',
  ),
  maxActive: setting(
    Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'cap on shoppers admitted at once' }),
    Type.Integer(),
    'optional',
  ),
  checkoutSeconds: setting(
    Type.Integer({ minimum: 1, maximum: 3600, description: 'checkout window after admission' }),
    Type.Integer(),
    'optional',
  ),
  maxPerShopper: setting(Type.Integer({ minimum: 1, maximum: 100 }), Type.Integer(), 'optional'),
  queueMode: setting(QueueModeSchema, QueueModeSchema, 'optional'),
  windowSeconds: setting(
    Type.Integer({ minimum: 0, maximum: 86_400, description: 'fairness window after the start; 0 = strict FIFO' }),
    Type.Integer(),
    'optional',
  ),
  paused: setting(Type.Boolean(), Type.Boolean(), 'optional'),
  powDifficulty: setting(
    Type.Integer({ minimum: 0, maximum: 32, description: 'proof of work on join: leading zero bits (0: off; 16 is ~65,000 hashes)' }),
    Type.Integer(),
    'optional',
  ),
  adaptiveRate: setting(
    Type.Boolean({ description: 'closed loop: the rate follows downstream health, up to ratePerMinute' }),
    Type.Boolean(),
    'optional',
  ),
  minRatePerMinute: setting(
    Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'the closed loop never goes below this' }),
    Type.Integer(),
    'optional',
  ),
  checkoutUrl: setting(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: "the shop's checkout page (absolute http(s), no credentials): set, each confirmed order is handed to it",
      }),
    ),
    Nullable(Type.String()),
    'optional',
  ),
  paymentSeconds: setting(
    Type.Integer({ minimum: 1, maximum: 86_400, description: 'payment window after an order is confirmed (default 600)' }),
    Type.Integer(),
    'optional',
  ),
  flow: setting(SaleFlowSchema, SaleFlowSchema, 'optional'),
  maxQueue: setting(
    Nullable(
      Type.Integer({
        minimum: 0,
        maximum: 100_000_000,
        description: 'the longest the queue may grow (null: no cap); joins beyond it get 409 QUEUE_FULL',
      }),
    ),
    Nullable(Type.Integer()),
    'optional',
  ),
  product: setting(Nullable(ProductRequest), Nullable(ProductResponse), 'optional'),
  identity: setting(SaleIdentitySchema, SaleIdentitySchema, 'optional'),
  protectedPaths: setting(
    Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      maxItems: 20,
      description: "path prefixes of the shop's site (PROTECTED_ORIGIN) that only admitted visitors reach through the gateway",
    }),
    Type.Array(Type.String()),
    'optional',
  ),
  inviteOnly: setting(
    Type.Boolean({ description: 'only accounts on the invite list (PUT /api/admin/sales/:id/invites) may join; needs identity shop' }),
    Type.Boolean(),
    'optional',
  ),
  shards: setting(
    Type.Integer({
      minimum: 1,
      maximum: 16,
      description: 'sub-queues over this many Redis hash tags (1: one, the default); set at creation only',
    }),
    Type.Integer(),
    'optional',
  ),
};
export type SaleSettingSchemas = typeof saleSettings;

type S = SaleSettingSchemas;
type CreateProperties = { [K in keyof S]: S[K]['create'] extends 'required' ? S[K]['request'] : TOptional<S[K]['request']> };
type UpdateProperties = { [K in keyof S]: TOptional<S[K]['request']> };
type ResponseProperties = { [K in keyof S]: S[K]['response'] };

/** the table's schemas, one per setting, in its order */
function properties<P>(schemaOf: (s: Setting) => TSchema): P {
  return Object.fromEntries(Object.entries(saleSettings).map(([name, s]) => [name, schemaOf(s)])) as P;
}

export const CreateSaleBody = Type.Object(
  {
    id: Type.String({ pattern: SALE_ID_PATTERN }),
    ...properties<CreateProperties>((s) => (s.create === 'required' ? s.request : Type.Optional(s.request))),
  },
  { additionalProperties: false },
);
export type CreateSaleBody = Static<typeof CreateSaleBody>;

export const UpdateSaleBody = Type.Object(
  properties<UpdateProperties>((s) => Type.Optional(s.request)),
  {
    additionalProperties: false,
    minProperties: 1,
  },
);
export type UpdateSaleBody = Static<typeof UpdateSaleBody>;

// `sold` next to `stock`, where the answers have always had it
const { name, stock, ...laterSettings } = properties<ResponseProperties>((s) => s.response);

/** What the marketer sees: the whole configuration and the fairness commitment. */
export const AdminSale = Type.Object({
  id: Type.String(),
  name,
  stock,
  sold: Type.Integer(),
  ...laterSettings,
  seedCommitment: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
  retiredAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'when the finished sale left Redis: PostgreSQL answers for it from then on' }),
  ),
});
export type AdminSale = Static<typeof AdminSale>;

export const SaleStats = Type.Object({
  id: Type.String(),
  status: SaleStatusSchema,
  stock: Type.Integer(),
  waiting: Type.Integer({ description: 'shoppers in line still waiting for a unit (0 once the sale is sold out or ended)' }),
  toldSoldOut: Type.Integer({ description: 'shoppers still in line who were told the sale sold out or ended' }),
  admitted: Type.Integer(),
  admittedTotal: Type.Integer(),
  remaining: Type.Integer({ description: 'units still reservable (Redis)' }),
  pending: Type.Integer({ description: 'orders accepted, not yet committed' }),
  sold: Type.Integer({ description: 'units committed (PostgreSQL)' }),
  confirmedOrders: Type.Integer(),
  rejectedOrders: Type.Integer(),
  paid: Type.Integer({ description: 'units paid (without a checkout URL: every sold unit)' }),
  held: Type.Integer({ description: "units confirmed and waiting for payment in the shop's checkout" }),
  returned: Type.Integer({ description: 'units of cancelled orders, back on sale' }),
  ratePerMinute: Type.Integer(),
  effectiveRatePerMinute: Type.Integer({ description: 'the rate in force: the closed loop’s when adaptive, else ratePerMinute' }),
  adaptiveRate: Type.Boolean(),
  maxActive: Type.Integer(),
  paused: Type.Boolean(),
  flow: SaleFlowSchema,
  queueing: Type.Boolean({ description: 'whether joins take a place in the queue now (see PublicSale.queueing)' }),
  maxQueue: Nullable(Type.Integer()),
  at: DateTime,
});

export const Fairness = Type.Object({
  saleId: Type.String(),
  mode: QueueModeSchema,
  windowSeconds: Type.Integer(),
  startsAt: DateTime,
  endsAt: Nullable(DateTime),
  seedCommitment: Type.String({ description: 'sha256(seed), hex: published before the sale' }),
  seed: Nullable(Type.String(), { description: 'hex; revealed once the sale has ended' }),
  algorithm: Type.String(),
  auditUrl: Nullable(Type.String()),
});
