import { SALE_ID_PATTERN } from '@velvet-rope/contracts';
import { Type } from 'typebox';

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
  },
  { $id: 'ErrorResponse', description: 'every error answer' },
);

export const SaleIdParams = Type.Object({
  saleId: Type.String({ pattern: SALE_ID_PATTERN, description: 'sale id' }),
});

export const SaleStatusSchema = Type.Union([Type.Literal('scheduled'), Type.Literal('prequeue'), Type.Literal('open'), Type.Literal('paused'), Type.Literal('sold_out'), Type.Literal('ended')]);

export const QueueModeSchema = Type.Union([Type.Literal('prequeue-random'), Type.Literal('fifo'), Type.Literal('random')]);

export const DateTime = Type.String({ format: 'date-time' });

/** the answers every route may give besides its own */
export const commonErrors = {
  400: ErrorResponse,
  429: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
} as const;
