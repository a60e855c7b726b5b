/**
 * One error catalogue: every refusal the API gives is an AppError with a stable code whose
 * HTTP status is fixed in the contracts. Expected outcomes inside the domain are values;
 * they become AppErrors only at the HTTP edge.
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@velvet-rope/contracts';
import { STATUS_CODES } from 'node:http';
import type { JoinRefusal, ReserveAnswer, SaleNotFound } from './redis/commands.js';

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** extra fields merged into the body (e.g. the existing orderId) */
    readonly details?: Readonly<Record<string, unknown>>,
    /** seconds, for 429 and 503 */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ERROR_CODES[code];
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  const statusCode = ERROR_CODES[code];
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/** Redis lost data (restarted empty, failed over) and the sales are being rebuilt: retry in a second. */
export function recoveringError(): AppError {
  return new AppError('UNAVAILABLE', 'the waiting room is recovering its state; retry in a moment', undefined, 1);
}

/**
 * A script's refusal of a shopper's request (decoded in redis/commands.ts), but those the
 * services answer themselves: NOT_FOUND (`SaleStore.missing`: a 503 while Redis recovers),
 * RATE_LIMITED (`rateLimited`: each route words its limit) and CLAIMS (not a refusal: the
 * token is verified, then bought with as verified).
 */
export type ScriptRefusal = Exclude<
  JoinRefusal | ReserveAnswer,
  // HANDED: a sub-queue's hand-over, resolved by queue/sharded-queue.ts, never an answer
  { readonly outcome: string } | SaleNotFound | { readonly refused: 'RATE_LIMITED' | 'CLAIMS' | 'HANDED' }
>;

/**
 * The one table from the scripts' refusal codes to the error catalogue: each refusal's code
 * and message, as the API answers it.
 */
export function refusalError(r: ScriptRefusal, saleId: string): AppError {
  switch (r.refused) {
    // join.lua
    case 'UNKNOWN':
      return new AppError('INVALID_TICKET', 'this ticket holds no place in the queue');
    case 'REFUSED':
      if (r.saleStatus === 'sold_out') return new AppError('SOLD_OUT', SOLD_OUT_MESSAGE);
      if (r.saleStatus === 'ended') return new AppError('SALE_ENDED', SALE_ENDED_MESSAGE);
      return new AppError('SALE_NOT_OPEN', 'the queue for this sale is not open yet');
    case 'POW_REQUIRED':
      return new AppError('POW_REQUIRED', 'this sale asks for a proof of work: solve a challenge first', {
        difficulty: r.difficulty,
        challengeUrl: `/api/sales/${saleId}/challenge`,
      });
    case 'POW_REUSED':
      return new AppError('POW_INVALID', 'this proof of work was used already');
    case 'SUSPENDED':
      return new AppError('SALE_SUSPENDED', SUSPENDED_MESSAGE, undefined, SUSPENDED_RETRY_SECONDS);
    case 'NOT_INVITED':
      return new AppError('NOT_INVITED', 'this sale is by invitation only, and this account is not on its list');
    case 'RECOVERING':
      // the admission stays: the purchase is bought with the same token once the stock is known
      return recoveringError();
    case 'QUEUE_FULL': {
      // places free up as the queue moves, one per admission: the time for a hundredth of the cap
      // to be admitted at the rate in force (5 s to 5 min; a line that does not move: a minute)
      const perMinute = r.ratePerMinute;
      const retryAfterSeconds =
        perMinute > 0 ? Math.min(300, Math.max(5, Math.ceil((Math.max(1, r.maxQueue / 100) * 60) / perMinute))) : 60;
      return new AppError(
        'QUEUE_FULL',
        `the queue is full (${r.maxQueue} waiting): nobody was placed. Places free up as shoppers are admitted; try again in about ${retryAfterSeconds} s`,
        { maxQueue: r.maxQueue, retryAfterSeconds },
        retryAfterSeconds,
      );
    }
    // reserve.lua
    case 'NOT_ADMITTED':
      return new AppError('NOT_ADMITTED', 'this admission is not (or no longer) valid for buying');
    case 'EXPIRED':
      return new AppError('TOKEN_EXPIRED', 'the checkout window is over');
    case 'SALE_ENDED':
      return new AppError('SALE_ENDED', SALE_ENDED_MESSAGE);
    case 'LIMIT':
      return new AppError('QUANTITY_OUT_OF_RANGE', `at most ${r.maxPerShopper} per shopper`);
    case 'SOLD_OUT':
      return new AppError('SOLD_OUT', SOLD_OUT_MESSAGE);
    case 'INSUFFICIENT':
      return new AppError('INSUFFICIENT_STOCK', `only ${r.remaining} left`, { remaining: r.remaining });
  }
}

const SOLD_OUT_MESSAGE = 'this sale is sold out';
const SUSPENDED_MESSAGE = 'the sale is paused for maintenance: places in line are kept; try again in a moment';
const SUSPENDED_RETRY_SECONDS = 30;
const SALE_ENDED_MESSAGE = 'this sale has ended';

/** A script's RATE_LIMITED (or the new-place limit's refusal): Retry-After the window's rest, in whole seconds. */
export function rateLimited(retryAfterMs: number, message: string): AppError {
  return new AppError('RATE_LIMITED', message, undefined, Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
