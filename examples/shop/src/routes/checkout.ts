/**
 * The checkout Velvet Rope hands the shopper to (`GET /checkout?order=&token=`) and the
 * pretend payment (`POST /checkout/pay`). The order token is verified on both: nothing the
 * link or the form says is trusted until the signature, issuer, sale and deadline check out.
 * A payment that went through marks the order paid on Velvet Rope, a declined one cancels it
 * (its unit goes back on sale); then the shopper goes back to the waiting-room page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, wantsJson, type Problem } from '../answers.js';
import type { ShopConfig } from '../config.js';
import type { OrderTokenVerifier, TokenRefusal } from '../order-token.js';
import { checkoutPage } from '../pages.js';
import { cardChoice, type PretendPayments } from '../pretend-payment.js';
import type { ShopCallOutcome, VelvetRopeClient } from '../velvet-rope-client.js';

export interface CheckoutDeps {
  readonly config: ShopConfig;
  readonly verifier: OrderTokenVerifier;
  readonly payments: PretendPayments;
  readonly velvetRope: VelvetRopeClient;
}

const TOKEN_PROBLEMS: Record<TokenRefusal, Omit<Problem, 'backUrl'>> = {
  INVALID_TOKEN: {
    statusCode: 401,
    code: 'INVALID_TOKEN',
    title: 'This checkout link is not valid',
    message: 'The link was not issued by the waiting room for this shop. Go back to the waiting room and follow its checkout link.',
  },
  TOKEN_EXPIRED: {
    statusCode: 401,
    code: 'TOKEN_EXPIRED',
    title: 'Your payment window is over',
    message: 'The time to pay for this order has run out, and its unit went back on sale. You have not been charged.',
  },
  ORDER_MISMATCH: {
    statusCode: 400,
    code: 'ORDER_MISMATCH',
    title: 'This checkout link is broken',
    message: 'The link names another order than its token. Go back to the waiting room and follow its checkout link again.',
  },
  UNAVAILABLE: {
    statusCode: 503,
    code: 'UNAVAILABLE',
    title: 'Checkout is busy',
    message: 'The shop cannot check your order right now. Try again in a few seconds.',
    retryAfterSeconds: 2,
  },
};

function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const v = (source as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' && v.length <= 8192 ? v : undefined;
}

export function checkoutRoutes(deps: CheckoutDeps) {
  const { config, verifier, payments, velvetRope } = deps;
  const waitingRoom = (saleId: string) => `${config.velvetRopeUrl}/sales/${encodeURIComponent(saleId)}`;
  const missing = (request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(request, reply, {
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      title: 'This checkout link is incomplete',
      message: 'A checkout link names an order and carries its token (?order=…&token=…).',
    });

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/checkout', async (request, reply) => {
      const order = field(request.query, 'order');
      const token = field(request.query, 'token');
      if (!order || !token) return missing(request, reply);
      const check = await verifier.verify(token, order);
      if (!check.ok) return sendProblem(request, reply, TOKEN_PROBLEMS[check.refused]);
      const c = check.claims;
      if (wantsJson(request)) {
        return reply.send({
          orderId: c.orderId,
          saleId: c.saleId,
          shopperId: c.shopperId,
          account: c.account,
          quantity: c.quantity,
          paymentDueAt: c.paymentDueAt.toISOString(),
        });
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(checkoutPage(c, token));
    });

    app.post('/checkout/pay', async (request, reply) => {
      const order = field(request.body, 'order');
      const token = field(request.body, 'token');
      if (!order || !token) return missing(request, reply);
      const check = await verifier.verify(token, order);
      if (!check.ok) return sendProblem(request, reply, TOKEN_PROBLEMS[check.refused]);
      const { saleId } = check.claims;
      const charged = payments.charge(cardChoice(field(request.body, 'card')));
      const outcome = await velvetRope.settle(order, charged ? 'paid' : 'cancel');
      request.log.info({ orderId: order, charged, outcome: outcome.ok ? outcome.order.status : outcome.code }, 'payment settled');
      if (!outcome.ok) return sendProblem(request, reply, settleProblem(outcome, charged, waitingRoom(saleId)));
      const returnUrl = waitingRoom(saleId);
      if (wantsJson(request)) return reply.send({ result: charged ? 'paid' : 'declined', order: outcome.order, returnUrl });
      // 303: the browser follows with a GET of the waiting-room page, which shows the order's new state
      return reply.redirect(returnUrl, 303);
    });
  };
}

/** A refusal or failure of the paid/cancel call, as the shopper is told it. */
export function settleProblem(outcome: Extract<ShopCallOutcome, { ok: false }>, charged: boolean, backUrl: string): Problem {
  switch (outcome.code) {
    case 'PAYMENT_WINDOW_OVER':
      return {
        statusCode: 409,
        code: 'PAYMENT_WINDOW_OVER',
        title: 'Your payment window closed',
        message: 'The payment came in after the time to pay had run out: it was not taken, and the unit went back on sale.',
        backUrl,
      };
    case 'ORDER_FINAL':
      return {
        statusCode: 409,
        code: 'ORDER_FINAL',
        title: 'This order is already settled',
        message: 'It was paid or cancelled before (another tab, or the payment window ran out). Nothing more was charged.',
        backUrl,
      };
    case 'UNAVAILABLE':
      return {
        statusCode: 503,
        code: 'UNAVAILABLE',
        title: charged ? 'Your payment is being confirmed' : 'Checkout is busy',
        message:
          'The shop could not reach the waiting room to settle the order. Try again in a few seconds: the waiting room settles each order once.',
        retryAfterSeconds: 2,
        backUrl,
      };
    default:
      // the shop's own set-up is wrong (its key, a sale without a checkout): not the shopper's doing
      return {
        statusCode: 502,
        code: 'VELVET_ROPE_REFUSED',
        title: 'Checkout could not finish',
        message: `The waiting room refused the shop's call (${outcome.code}: ${outcome.message}).`,
        backUrl,
      };
  }
}
