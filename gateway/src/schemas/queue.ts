import { Type } from 'typebox';
import { DateTime } from './common.js';

export const VisitorStatusSchema = Type.Union([Type.Literal('prequeue'), Type.Literal('queued'), Type.Literal('admitted'), Type.Literal('expired'), Type.Literal('ordered'), Type.Literal('sold_out'), Type.Literal('ended')]);

const standingFields = {
  status: VisitorStatusSchema,
  position: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
    description: 'place in the queue, 1 = next; null in the pre-queue (drawn at the start) and once out of the queue',
  }),
  waiting: Type.Integer(),
  admittedTotal: Type.Integer({ description: 'shoppers admitted so far: position + admittedTotal stays about constant while waiting' }),
  etaSeconds: Type.Union([Type.Integer(), Type.Null()]),
  retryAfterMs: Type.Union([Type.Integer(), Type.Null()], {
    description: 'when to ask again, for clients without live updates; null: no need to ask again',
  }),
  admission: Type.Optional(Type.Object({ token: Type.String(), expiresAt: DateTime })),
  orderId: Type.Optional(Type.String()),
};

export const JoinBody = Type.Union([Type.Object({}, { additionalProperties: false }), Type.Null()]);

export const JoinResponse = Type.Object({
  visitorId: Type.String(),
  ticket: Type.String({ description: 'queue ticket: send it as Authorization: Bearer <ticket>' }),
  ...standingFields,
});

export const StandingResponse = Type.Object(standingFields);

export const PurchaseBody = Type.Object(
  { quantity: Type.Number({ description: 'a whole number from 1 to the per-shopper limit' }) },
  { additionalProperties: false },
);

export const PurchaseResponse = Type.Object({
  orderId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('rejected')]),
});

export const OrderResponse = Type.Object({
  orderId: Type.String(),
  saleId: Type.String(),
  quantity: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('rejected')]),
  createdAt: DateTime,
  confirmedAt: Type.Union([DateTime, Type.Null()]),
});
