/**
 * Stable error codes of the HTTP API. Clients switch on `code`; messages are for people.
 * The HTTP status of each code is part of the contract.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  /** a sale notice that is empty, too long or holds control characters (issue 16 item 8) */
  INVALID_NOTICE: 400,
  /** an invite list that is not a JSON array of account ids or CSV of them (issue 15 item 2) */
  INVALID_INVITES: 400,
  /** `/auth/login` asked to return somewhere that is not a path of this gateway (no open redirect) */
  INVALID_RETURN_PATH: 400,
  /** an OpenID Connect callback this browser did not start: no sign-in cookie, a tampered or expired one, or a `state` that is not its own */
  SIGN_IN_STATE_INVALID: 400,
  /** the code of a callback could not be exchanged, or its ID token did not validate (a code used twice, a wrong nonce) */
  SIGN_IN_FAILED: 400,
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  INVALID_TICKET: 401,
  /** a sale for the shop's signed-in shoppers (`identity: shop`) joined without a shopper identity (issue 15) */
  IDENTITY_REQUIRED: 401,
  /** a shopper identity that is not the shop's: bad signature, issuer, audience, algorithm, or expired */
  INVALID_IDENTITY: 401,
  /** the OpenID provider sent the shopper back with an error (`access_denied`: the shopper or the provider said no) */
  SIGN_IN_DENIED: 403,
  WRONG_SALE: 403,
  POW_INVALID: 403,
  FORBIDDEN_ORIGIN: 403,
  NOT_ADMITTED: 403,
  /** an invite-only sale joined by an account not on its invite list */
  NOT_INVITED: 403,
  SALE_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  /** the shop API (issue 14) and the webhook admin API */
  WEBHOOK_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  SALE_EXISTS: 409,
  SALE_NOT_OPEN: 409,
  SALE_ENDED: 409,
  SOLD_OUT: 409,
  INSUFFICIENT_STOCK: 409,
  SALE_STARTED: 409,
  /** paid after cancelled, cancelled after paid, either of a rejected order */
  ORDER_FINAL: 409,
  /** paid after the payment deadline */
  PAYMENT_WINDOW_OVER: 409,
  /** the order's sale hands nothing to a shop (no checkoutUrl) */
  NO_CHECKOUT: 409,
  /** accepted but not committed yet: retry in a moment (Retry-After) */
  ORDER_PENDING: 409,
  /** a webhook delivery that was delivered already, or is being delivered now */
  DELIVERY_NOT_RETRYABLE: 409,
  /** the sale's queue holds `maxQueue` shoppers already: nobody was placed (try again later) */
  QUEUE_FULL: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUANTITY_OUT_OF_RANGE: 422,
  POW_REQUIRED: 428,
  INVALID_SALE_CONFIG: 422,
  RATE_LIMITED: 429,
  /** a page the gate keeps (a sale's protectedPaths) asked for without a live admission: wait in the waiting room */
  IN_WAITING_ROOM: 429,
  INTERNAL: 500,
  /** the shop's OpenID provider failed the code exchange (answered 5xx, or could not be reached): sign in again shortly */
  IDENTITY_PROVIDER_UNAVAILABLE: 502,
  UNAVAILABLE: 503,
  /** the marketer switched the sale to `suspended` (maintenance): joins and purchases wait (Retry-After) */
  SALE_SUSPENDED: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every error answer (Fastify's shape plus a stable code). */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly error: string;
  readonly message: string;
}
