import { Type, type Static } from 'typebox';
import { DateTime, Nullable, QueueModeSchema, SaleStatusSchema } from './common.js';
import { SALE_ID_PATTERN } from '@velvet-rope/contracts';

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
  waiting: Type.Integer(),
  admitted: Type.Integer({ description: 'shoppers admitted and still in their checkout window' }),
  admittedTotal: Type.Integer({ description: 'shoppers admitted since the sale began' }),
  ratePerMinute: Type.Integer(),
  maxPerShopper: Type.Integer(),
  checkoutSeconds: Type.Integer(),
  queueMode: QueueModeSchema,
  windowSeconds: Type.Integer(),
  powDifficulty: Type.Integer({ description: 'leading zero bits a join proof of work needs; 0: none' }),
  serverTime: DateTime,
});

const saleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  stock: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  startsAt: DateTime,
  prequeueOpensAt: Nullable(DateTime),
  endsAt: Nullable(DateTime),
  ratePerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'shoppers admitted per minute' }),
  maxActive: Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'cap on shoppers admitted at once' }),
  checkoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, description: 'checkout window after admission' }),
  maxPerShopper: Type.Integer({ minimum: 1, maximum: 100 }),
  queueMode: QueueModeSchema,
  windowSeconds: Type.Integer({ minimum: 0, maximum: 86_400, description: 'fairness window after the start; 0 = strict FIFO' }),
  powDifficulty: Type.Integer({ minimum: 0, maximum: 32, description: 'proof of work on join: leading zero bits (0: off; 16 is ~65,000 hashes)' }),
  adaptiveRate: Type.Boolean({ description: 'closed loop: the rate follows downstream health, up to ratePerMinute' }),
  minRatePerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'the closed loop never goes below this' }),
};

export const CreateSaleBody = Type.Object(
  {
    id: Type.String({ pattern: SALE_ID_PATTERN }),
    name: saleFields.name,
    stock: saleFields.stock,
    startsAt: saleFields.startsAt,
    prequeueOpensAt: Type.Optional(saleFields.prequeueOpensAt),
    endsAt: Type.Optional(saleFields.endsAt),
    ratePerMinute: saleFields.ratePerMinute,
    maxActive: Type.Optional(saleFields.maxActive),
    checkoutSeconds: Type.Optional(saleFields.checkoutSeconds),
    maxPerShopper: Type.Optional(saleFields.maxPerShopper),
    queueMode: Type.Optional(saleFields.queueMode),
    windowSeconds: Type.Optional(saleFields.windowSeconds),
    paused: Type.Optional(Type.Boolean()),
    powDifficulty: Type.Optional(saleFields.powDifficulty),
    adaptiveRate: Type.Optional(saleFields.adaptiveRate),
    minRatePerMinute: Type.Optional(saleFields.minRatePerMinute),
  },
  { additionalProperties: false },
);
export type CreateSaleBody = Static<typeof CreateSaleBody>;

export const UpdateSaleBody = Type.Object(
  {
    name: Type.Optional(saleFields.name),
    stock: Type.Optional(saleFields.stock),
    startsAt: Type.Optional(saleFields.startsAt),
    prequeueOpensAt: Type.Optional(saleFields.prequeueOpensAt),
    endsAt: Type.Optional(saleFields.endsAt),
    ratePerMinute: Type.Optional(saleFields.ratePerMinute),
    maxActive: Type.Optional(saleFields.maxActive),
    checkoutSeconds: Type.Optional(saleFields.checkoutSeconds),
    maxPerShopper: Type.Optional(saleFields.maxPerShopper),
    queueMode: Type.Optional(saleFields.queueMode),
    windowSeconds: Type.Optional(saleFields.windowSeconds),
    paused: Type.Optional(Type.Boolean()),
    powDifficulty: Type.Optional(saleFields.powDifficulty),
    adaptiveRate: Type.Optional(saleFields.adaptiveRate),
    minRatePerMinute: Type.Optional(saleFields.minRatePerMinute),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateSaleBody = Static<typeof UpdateSaleBody>;

/** What the marketer sees: the whole configuration and the fairness commitment. */
export const AdminSale = Type.Object({
  id: Type.String(),
  name: Type.String(),
  stock: Type.Integer(),
  sold: Type.Integer(),
  startsAt: DateTime,
  prequeueOpensAt: Nullable(DateTime),
  endsAt: Nullable(DateTime),
  ratePerMinute: Type.Integer(),
  maxActive: Type.Integer(),
  checkoutSeconds: Type.Integer(),
  maxPerShopper: Type.Integer(),
  queueMode: QueueModeSchema,
  windowSeconds: Type.Integer(),
  paused: Type.Boolean(),
  powDifficulty: Type.Integer(),
  adaptiveRate: Type.Boolean(),
  minRatePerMinute: Type.Integer(),
  seedCommitment: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const SaleStats = Type.Object({
  id: Type.String(),
  status: SaleStatusSchema,
  stock: Type.Integer(),
  waiting: Type.Integer(),
  admitted: Type.Integer(),
  admittedTotal: Type.Integer(),
  remaining: Type.Integer({ description: 'units still reservable (Redis)' }),
  pending: Type.Integer({ description: 'orders accepted, not yet committed' }),
  sold: Type.Integer({ description: 'units committed (PostgreSQL)' }),
  confirmedOrders: Type.Integer(),
  rejectedOrders: Type.Integer(),
  ratePerMinute: Type.Integer(),
  effectiveRatePerMinute: Type.Integer({ description: 'the rate in force: the closed loop’s when adaptive, else ratePerMinute' }),
  adaptiveRate: Type.Boolean(),
  maxActive: Type.Integer(),
  paused: Type.Boolean(),
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
