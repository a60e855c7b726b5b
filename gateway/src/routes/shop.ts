/**
 * The shop's API (issue 14): the shop tells Velvet Rope what became of an order it was handed
 * (`paid`, `cancel`) and reads one, under its own key (`Authorization: Bearer <SHOP_API_KEY>`,
 * never the admin key; SHOP_API_KEY unset: every call is `401 UNAUTHORIZED`). The state changes
 * are contracts' order-lifecycle.ts (`payOrder`, `cancelOrder`): idempotent, so a shop that
 * retries after a lost answer gets the same `200` and the same state.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { cancelOrder, payOrder, type LifecycleOutcome } from '@velvet-rope/contracts';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { requireShopKey } from '../http/credentials.js';
import type { OrderView } from '../purchase/orders.js';
import { ErrorResponse, commonErrors } from '../schemas/common.js';
import { orderFields } from '../schemas/queue.js';

const ShopOrder = Type.Object({
  ...orderFields,
  shopperId: Type.String({ description: "the shopper's visitor id: the order token's `sub`" }),
  account: Type.Union([Type.String(), Type.Null()], {
    description:
      "the shop's own account id (its identity's `sub`) for a signed-in shopper: the order token's `acct`; null for an anonymous one",
  }),
});
const OrderParams = Type.Object({ orderId: Type.String({ format: 'uuid' }) });
const errors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...commonErrors };

type ShopOrderAnswer = OrderView & { shopperId: string; account: string | null };

/** what the answers and refusals say of an order the shop may not settle yet (or at all) */
const PENDING_MESSAGE = 'the order is accepted but not committed yet: retry in a moment';

const shop: FastifyPluginAsyncTypebox = async (app) => {
  // before the body or the parameters are read: a caller without the key learns nothing
  app.addHook(
    'onRequest',
    requireShopKey(app.config.shopApiKey, {
      redis: app.redis,
      keyFor: (address) => `${app.keyspace.prefix}:shop-auth-failures:${address}`,
      failures: app.config.adminAuthFailuresPerMinute,
      windowMs: 60_000,
    }),
  );

  /** the order as the shop API answers it, or the refusal for one it cannot see or settle */
  async function shopOrder(orderId: string): Promise<ShopOrderAnswer> {
    const found = await app.orders.findForShop(orderId);
    if (found.found === 'none') throw new AppError('ORDER_NOT_FOUND', `no order ${orderId}`);
    if (found.found === 'pending') throw new AppError('ORDER_PENDING', PENDING_MESSAGE, undefined, 1);
    if (!found.handsOff) throw new AppError('NO_CHECKOUT', "this order's sale hands nothing to a shop (it has no checkoutUrl)");
    return { ...found.order.view, shopperId: found.order.visitorId, account: found.order.account };
  }

  /** a lifecycle answer as the API gives it: the order again (with its shopper), or its refusal */
  async function settled(orderId: string, outcome: LifecycleOutcome): Promise<ShopOrderAnswer> {
    if (!outcome.ok) {
      switch (outcome.refused) {
        case 'ORDER_NOT_FOUND':
          // not committed: still in an outbox, or unknown
          return shopOrder(orderId);
        case 'NO_CHECKOUT':
          throw new AppError('NO_CHECKOUT', "this order's sale hands nothing to a shop (it has no checkoutUrl)");
        case 'ORDER_FINAL':
          throw new AppError('ORDER_FINAL', `the order is ${outcome.order?.status ?? 'final'} already: it cannot change`);
        case 'PAYMENT_WINDOW_OVER':
          throw new AppError('PAYMENT_WINDOW_OVER', "the order's payment window is over: its units go back on sale");
      }
    }
    return shopOrder(orderId);
  }

  const countSettlement = (action: 'paid' | 'cancel', outcome: LifecycleOutcome) =>
    app.metrics.shopSettlements.inc({ action, outcome: outcome.ok ? (outcome.changed ? 'changed' : 'repeated') : outcome.refused });

  app.get(
    '/api/shop/orders/:orderId',
    { schema: { tags: ['shop'], summary: 'an order handed to the shop', params: OrderParams, response: { 200: ShopOrder, ...errors } } },
    async (req) => shopOrder(req.params.orderId),
  );

  app.post(
    '/api/shop/orders/:orderId/paid',
    {
      schema: {
        tags: ['shop'],
        summary: 'the shop took the payment (idempotent)',
        params: OrderParams,
        response: { 200: ShopOrder, ...errors },
      },
    },
    async (req) => {
      const { orderId } = req.params;
      const outcome = await payOrder(app.pg, app.redis, orderId, app.keyspace.prefix);
      if (outcome.ok && outcome.changed) req.log.info({ orderId }, 'order paid');
      countSettlement('paid', outcome);
      return settled(orderId, outcome);
    },
  );

  app.post(
    '/api/shop/orders/:orderId/cancel',
    {
      schema: {
        tags: ['shop'],
        summary: 'the shop cancelled the order; its units go back on sale (idempotent)',
        params: OrderParams,
        response: { 200: ShopOrder, ...errors },
      },
    },
    async (req) => {
      const { orderId } = req.params;
      const outcome = await cancelOrder(app.pg, app.redis, orderId, app.keyspace.prefix);
      if (outcome.ok && outcome.changed) req.log.info({ orderId }, 'order cancelled by the shop');
      countSettlement('cancel', outcome);
      return settled(orderId, outcome);
    },
  );
};

export default shop;
