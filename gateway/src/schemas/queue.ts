import { Type } from 'typebox';
import { DateTime, Nullable, StringEnum } from './common.js';
import { NoticeSchema } from './notice.js';

export const VisitorStatusSchema = StringEnum(['prequeue', 'queued', 'admitted', 'expired', 'ordered', 'sold_out', 'ended']);

const standingFields = {
  status: VisitorStatusSchema,
  position: Nullable(Type.Integer({ minimum: 1 }), {
    description: 'place in the queue, 1 = next; null in the pre-queue (drawn at the start) and once out of the queue',
  }),
  waiting: Type.Integer(),
  admittedTotal: Type.Integer({ description: 'shoppers admitted so far: position + admittedTotal stays about constant while waiting' }),
  etaSeconds: Nullable(Type.Integer()),
  retryAfterMs: Nullable(Type.Integer(), {
    description: 'when to ask again, for clients without live updates; null: no need to ask again',
  }),
  admission: Type.Optional(Type.Object({ token: Type.String(), expiresAt: DateTime })),
  orderId: Type.Optional(Type.String()),
  notice: Type.Optional(NoticeSchema),
  auditId: Type.String({
    description:
      "the shopper's pseudonym in this sale's fairness audit (their line once the sale ended); reveals nothing before the seed is out",
  }),
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

/** `paid` and `cancelled`: orders of a sale that hands them to the shop's checkout (checkoutUrl) */
export const OrderStatusSchema = StringEnum(['pending', 'confirmed', 'rejected', 'paid', 'cancelled']);

export const PurchaseResponse = Type.Object({
  orderId: Type.String(),
  status: OrderStatusSchema,
});

/** An order, as its owner and the shop see it (contracts' `OrderEventData` plus the hand-off). */
export const orderFields = {
  orderId: Type.String(),
  saleId: Type.String(),
  quantity: Type.Integer(),
  status: OrderStatusSchema,
  createdAt: DateTime,
  confirmedAt: Nullable(DateTime),
  paymentDueAt: Nullable(DateTime, { description: 'the end of the payment window (a sale that hands off), else null' }),
  paidAt: Nullable(DateTime),
  cancelledAt: Nullable(DateTime),
  cancelReason: Nullable(Type.String({ description: "'shop' (the shop cancelled it) or 'payment_timeout'" })),
};

export const OrderResponse = Type.Object({
  ...orderFields,
  checkout: Type.Optional(
    Type.Object(
      {
        url: Type.String({ description: "the shop's checkout page with order=<orderId>&token=<order token> in its query" }),
        token: Type.String({ description: 'the order token: an EdDSA JWT the shop verifies with /.well-known/jwks.json' }),
      },
      { description: 'while the order is confirmed and its sale has a checkout URL' },
    ),
  ),
});

/** one of a shop account's orders (`GET /api/me/orders`): the order as its owner reads it, and its sale's name */
export const MyOrder = Type.Object({ ...OrderResponse.properties, saleName: Type.String() });
