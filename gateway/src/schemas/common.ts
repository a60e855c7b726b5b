import { SALE_ID_PATTERN } from '@velvet-rope/contracts';
import { Type, type Static, type TSchema } from 'typebox';

/*
 * Answers are serialized by fast-json-stringify, which can only serialize an `anyOf` by
 * running Ajv against each branch, on every answer: a status poll spent more on its five
 * unions than on its Redis call. Unions of literals are therefore written as `enum` and
 * nullable values as a type array (which @fastify/swagger turns into `nullable: true` for
 * OpenAPI 3.0); the TypeScript types stay the same.
 */

/** one of these strings */
export function StringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** the schema's value, or null */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  const { type, ...rest } = schema as unknown as { type: string } & Record<string, unknown>;
  return Type.Unsafe<Static<T> | null>({ ...rest, type: [type, 'null'], ...options });
}

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'stable error code: clients switch on it' }),
    error: Type.String(),
    message: Type.String(),
    orderId: Type.Optional(Type.String()),
    remaining: Type.Optional(Type.Integer()),
    difficulty: Type.Optional(Type.Integer()),
    challengeUrl: Type.Optional(Type.String()),
    signInUrl: Type.Optional(
      Type.String({ description: 'IDENTITY_REQUIRED: where the shopper signs in (OpenID Connect), when this gateway has it' }),
    ),
    maxQueue: Type.Optional(Type.Integer({ description: 'QUEUE_FULL: the sale’s cap on the queue' })),
    retryAfterSeconds: Type.Optional(Type.Integer({ description: 'QUEUE_FULL: when trying again is worth it (also Retry-After)' })),
  },
  { $id: 'ErrorResponse', description: 'every error answer' },
);

export const SaleIdParams = Type.Object({
  saleId: Type.String({ pattern: SALE_ID_PATTERN, description: 'sale id' }),
});

export const SaleStatusSchema = StringEnum(['scheduled', 'prequeue', 'open', 'paused', 'suspended', 'held', 'sold_out', 'ended']);

export const QueueModeSchema = StringEnum(['prequeue-random', 'fifo', 'random']);

/**
 * How shoppers reach their turn: `queue` (the fair queue, always), `standby` (straight to
 * their turn while active < maxActive and arrivals stay under the rate; the queue starts by
 * itself beyond either and stops once it drained), `passthrough` (straight to their turn
 * whatever the rate, never beyond the stock), `suspended` (maintenance: nobody joins, buys
 * or is admitted; places are kept).
 */
export const SaleFlowSchema = StringEnum(['queue', 'standby', 'passthrough', 'suspended']);

/**
 * Who may join: `anonymous` (anyone, one place per browser) or `shop` (the shop's signed-in
 * shoppers only: a join carries an identity the shop signed, and each account holds one place
 * and one order limit whatever browser, device or cookie jar it comes from)
 */
export const SaleIdentitySchema = StringEnum(['anonymous', 'shop']);

export const DateTime = Type.String({ format: 'date-time' });

/** the answers every route may give besides its own */
export const commonErrors = {
  400: ErrorResponse,
  429: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
} as const;
